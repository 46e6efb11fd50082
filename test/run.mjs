// Runs every test file with node:test through tsx. Node 20's --test does not expand globs, so
// the file list is built here (no shell involved). Extra args narrow the list by substring:
//   npm test -- grok expr
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
const files = walk(join(root, 'test'))
  .map((p) => relative(root, p))
  .filter((p) => filters.length === 0 || filters.some((f) => p.includes(f)));
if (files.length === 0) {
  console.error('test/run.mjs: no test files matched');
  process.exit(1);
}
const args = [
  // Same V8 guard the CLI enables: a hostile line must never stall a grok match.
  '--enable-experimental-regexp-engine-on-excessive-backtracks',
  '--import', 'tsx',
  '--test', '--test-concurrency=2',
  ...files,
];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
