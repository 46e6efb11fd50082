// Runs every test file with node:test through tsx. Node 20's --test does not expand globs, so
// the file list is built here (no shell involved). Extra args narrow the list by substring:
//   npm test -- grok expr
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
// Caches (ASN table, compiled groks) go to a directory of this run, not the user's ~/.cache,
// unless PALISADE_CACHE_DIR says otherwise; shared by the run's test files, removed after.
const ownCache = process.env.PALISADE_CACHE_DIR ? null : mkdtempSync(join(tmpdir(), 'palisade-test-cache-'));
const env = ownCache ? { ...process.env, PALISADE_CACHE_DIR: ownCache } : process.env;
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
if (ownCache) rmSync(ownCache, { recursive: true, force: true });
process.exit(r.status ?? 1);
