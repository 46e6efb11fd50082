/**
 * ownStrings (src/pipeline/pour-records.ts): the strings of a decoded pour-record batch keep
 * their content, and a kept one no longer holds the larger string it was sliced from (what
 * msgpackr's native string extraction returns), measured by the heap after a full GC in a
 * child process started with --expose-gc. (Round trips through PourBatch.read, which applies
 * it, are in pour-records.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ownStrings } from '../../src/pipeline/pour-records.js';

const pourRecords = fileURLToPath(new URL('../../src/pipeline/pour-records.ts', import.meta.url));

test('content is kept: short, long, non-ASCII, empty; the same array is returned', () => {
  const src = ['', 'GET', '2026-01-05T00:16:10Z', '/news/archive?page=2', 'Zürich – 東京 🚀 long enough', 'x'.repeat(5000)];
  const arr = [...src];
  assert.equal(ownStrings(arr), arr);
  assert.deepEqual(arr, src);
});

test('kept slices no longer hold their parents alive', () => {
  // 400 one-byte parents of ~100 KB (~40 MB), one 20-character slice of each kept.
  const script = `
    import { ownStrings } from ${JSON.stringify(pourRecords)};
    const live = () => { gc(); gc(); return process.memoryUsage().heapUsed; };
    const make = (own) => {
      const kept = [];
      for (let i = 0; i < 400; i++) {
        const parent = (i + ':' + 'abcdefghij'.repeat(10000)).split('').join('');
        kept.push(parent.slice(5, 25));
      }
      return own ? ownStrings(kept) : kept;
    };
    const base = live();
    const sliced = make(false);
    const withParents = live() - base;
    sliced.length = 0;
    const base2 = live();
    const owned = make(true);
    const withoutParents = live() - base2;
    process.stdout.write(JSON.stringify({ withParents, withoutParents, n: sliced.length + owned.length }));
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { withParents, withoutParents } = JSON.parse(r.stdout) as { withParents: number; withoutParents: number };
  assert.ok(withParents > 30e6, `plain slices hold their parents: ${withParents} bytes`);
  assert.ok(withoutParents < 1e6, `owned strings hold ~their own characters: ${withoutParents} bytes`);
});
