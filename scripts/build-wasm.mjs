#!/usr/bin/env node
// Builds build/palisade.wasm from assembly/index.ts (and refreshes the generated ABI copy).
// SIMD must be enabled explicitly: without it the scanners lose to V8 (stack-notes §2).
// Written to a temporary name then renamed, so a concurrent reader never sees half a file.
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}build/palisade.wasm`;
const tmp = `${out}.${process.pid}.tmp`;
const asc = `${root}node_modules/assemblyscript/bin/asc.js`;

function fail(msg) {
  console.error(`build-wasm: ${msg}`);
  process.exit(1);
}

if (!existsSync(asc)) fail(`AssemblyScript compiler not found at ${asc}; run npm ci first`);
const gen = spawnSync(process.execPath, [`${root}scripts/gen-abi.mjs`], { stdio: 'inherit' });
if (gen.status !== 0) fail('generating src/bindings/abi.generated.ts failed');

mkdirSync(`${root}build`, { recursive: true });
const args = [
  asc, `${root}assembly/index.ts`,
  '-O3', '--noAssert', '--runtime', 'stub', '--enable', 'simd',
  '--use', 'abort=', // no env.abort import: the module has no imports at all
  '-o', tmp,
];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.error) fail(`could not run asc: ${r.error.message}`);
if (r.status !== 0) fail(`asc exited with ${r.status} (command: node ${args.join(' ')})`);
renameSync(tmp, out);
console.log(`build-wasm: wrote ${out}`);
