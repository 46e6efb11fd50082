/**
 * The bucket table works outside Node too: headless Chromium loads build/palisade.wasm
 * through the browser-safe binding (src/bindings/buckets-core.ts, transpiled on the fly, no
 * Node APIs), pours the same seeded batches, and must give the same outcome words and row
 * states as Node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWasmBucketTable } from '../../src/bindings/buckets-wasm.js';
import { BK, type BucketBatchTable, type BucketScenarioConfig } from '../../src/bindings/buckets-core.js';
import { prng, withModulePage } from './support.js';

const SERVED: Record<string, string> = {
  '/bindings/buckets-core.js': 'src/bindings/buckets-core.ts',
  '/bindings/abi.generated.js': 'src/bindings/abi.generated.ts',
};

type Pour = [number, string, number, number, string | null, boolean];

/** Pours the batches and returns every outcome word plus the count and tokens of each row named. */
function runCase(t: BucketBatchTable, batches: Pour[][]): number[] {
  const got: number[] = [];
  for (const b of batches) {
    b.forEach(([s, key, sec, ns, d, c], i) => t.setPourKey(i, s, key, sec, ns, d, c));
    const out = Array.from(t.pour(b.length));
    got.push(...out);
    for (let i = 0; i < b.length; i++) {
      const st = t.row(out[4 * i + 1]!);
      got.push(st.count, st.tokens);
    }
  }
  return got;
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>palisade.wasm bucket table</title>
<script type="module">
import { instantiateBucketTable } from '/bindings/buckets-core.js';
const mod = await WebAssembly.compile(await (await fetch('/palisade.wasm')).arrayBuffer());
const runCase = ${runCase.toString()};
window.runCase = (configs, batches) => runCase(instantiateBucketTable(mod, configs, 150), batches);
window.nodeLike = typeof process !== 'undefined' || typeof Buffer !== 'undefined';
window.ready = true;
</script>`;

const CONFIGS: BucketScenarioConfig[] = [
  { kind: 'leaky', capacity: 5, leakspeedNs: 10e9, idleNs: 60e9, durationNs: 0, timed: false },
  { kind: 'leaky', capacity: 2, leakspeedNs: 1.5e9, idleNs: 4.5e9, durationNs: 0, timed: false },
  { kind: 'counter', capacity: -1, leakspeedNs: 0, idleNs: 30e9, durationNs: 30e9, timed: true },
];

function data(): Pour[][] {
  const r = prng(777);
  let sec = 1770905421, ns = 0;
  return Array.from({ length: 20 }, () => Array.from({ length: 200 }, (): Pour => {
    ns += Math.floor(r() * 3e8);
    sec += Math.floor(ns / 1e9);
    ns %= 1e9;
    return [Math.floor(r() * 3), `10.0.${Math.floor(r() * 4)}.${Math.floor(r() * 20)}`, sec, ns, r() < 0.3 ? `u${Math.floor(r() * 3)}` : null, r() < 0.01];
  }));
}

test('headless Chromium pours like Node (same wasm, browser-safe binding)', (t) =>
  withModulePage(t, PAGE, SERVED, async ({ runCase: runInPage }) => {
    const batches = data();
    const got = await runInPage(CONFIGS, batches);
    const want = runCase(createWasmBucketTable(CONFIGS, 150), batches);
    assert.deepEqual(got, want);
    // The case is not trivial: overflows, timed counters and distinct drops all occur.
    const seen = new Set<number>();
    let at = 0;
    for (const b of batches) {
      for (let i = 0; i < b.length; i++) seen.add(want[at + 4 * i]!);
      at += 6 * b.length;
    }
    const any = (bit: number): boolean => [...seen].some((f) => (f & bit) !== 0);
    assert.ok(any(BK.OVERFLOW) && any(BK.TIMED) && any(BK.DISTINCT) && any(BK.EVICTED), `outcomes seen: ${[...seen].join(', ')}`);
  }));
