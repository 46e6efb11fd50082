/**
 * The WebAssembly bucket table (assembly/buckets.ts through src/bindings/buckets-core.ts)
 * and its TS twin (src/bindings/bucket-table-twin.ts): one table of cases run on both, with
 * the numbers of crowdsec-compat §4.4–§4.6 and cross-checks against src/scenarios/leaky.ts;
 * then seeded differential fuzzes (replay and live) where WASM and twin must give identical
 * outcome words and row states, and both must agree with the JS BucketEngine
 * (src/scenarios/engine.ts) on every overflow, timed overflow, eviction, expiry, distinct
 * drop and cancel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as abi from '../../src/bindings/abi.generated.js';
import { BK, bucketConfigOf, hashKey128, validateBucketConfigs, type BucketBatchTable, type BucketScenarioConfig } from '../../src/bindings/buckets-core.js';
import { createBucketTable, createWasmBucketTable, wasmBucketTableError } from '../../src/bindings/buckets-wasm.js';
import { BucketTableTwin } from '../../src/bindings/bucket-table-twin.js';
import { WASM_PATH } from '../../src/bindings/wasm.js';
import { loadScenarioText } from '../../src/config/scenario.js';
import { BucketEngine, type OverflowResult } from '../../src/scenarios/engine.js';
import { BucketRow } from '../../src/scenarios/table.js';
import { rateFor, takeToken } from '../../src/scenarios/leaky.js';
import { addNs, formatRFC3339Nano, type GoTime } from '../../src/core/gotime.js';
import { makeEvent } from '../scenarios/support.js';
import { ensureWasm, prng } from './support.js';

ensureWasm();

const IMPLS: [string, (c: readonly BucketScenarioConfig[], maxRows: number) => BucketBatchTable][] = [
  ['wasm', (c, m) => createWasmBucketTable(c, m)],
  ['ts', (c, m) => new BucketTableTwin(c, m)],
];

const S = 1e9;
/** 2026-02-12T14:10:21Z, the day of the spec's ssh-bf example. */
const T0 = 1770905421;
const leaky = (capacity: number, leakspeedNs: number): BucketScenarioConfig => ({
  kind: 'leaky', capacity, leakspeedNs, idleNs: (capacity + 1) * leakspeedNs, durationNs: 0, timed: false,
});
const counter = (durationNs: number, timed: boolean): BucketScenarioConfig => ({ kind: 'counter', capacity: -1, leakspeedNs: 0, idleNs: durationNs, durationNs, timed });
const trigger: BucketScenarioConfig = { kind: 'trigger', capacity: 0, leakspeedNs: 0, idleNs: 0, durationNs: 0, timed: false };

interface One {
  flags: number;
  row: number;
  prev: number;
  victim: number;
}
/** Pours one record and returns its outcome. */
function pour1(t: BucketBatchTable, s: number, key: string, sec: number, nsec = 0, distinct: string | null = null, cancel = false): One {
  t.setPourKey(0, s, key, sec, nsec, distinct, cancel);
  const o = t.pour(1);
  return { flags: o[0]!, row: o[1]!, prev: o[2]!, victim: o[3]! };
}
const has = (flags: number, bit: number): boolean => (flags & bit) !== 0;
const words = (s: string): Uint32Array => {
  const w = new Uint32Array(4);
  hashKey128(s, w);
  return w;
};

const SSH = `type: leaky
name: crowdsecurity/ssh-bf
description: "Detect ssh bruteforce"
filter: "evt.Meta.log_type == 'ssh_failed-auth'"
leakspeed: "10s"
capacity: 5
groupby: evt.Meta.source_ip
labels:
 remediation: true
`;
function sshRow(): BucketRow {
  const r = loadScenarioText(SSH, 'ssh.yaml');
  assert.deepEqual(r.failures, []);
  return new BucketRow(r.scenarios[0]!, 0, 'k', 5);
}
const go = (sec: number, nsec = 0): GoTime => ({ unixSec: sec, nsec, offsetSec: 0, zoneName: 'UTC' });

for (const [name, make] of IMPLS) {
  test(`${name}: ssh-bf worked example — tokens 4, 3, 2.1, 1.1, 0.2, overflow on the 6th (spec §4.4), as leaky.ts`, () => {
    const t = make([leaky(5, 10 * S)], 100);
    const ref = sshRow();
    const limit = rateFor(10 * S);
    const secs = [0, 0, 1, 1, 2, 2];
    const rows = new Set<number>();
    secs.forEach((d, i) => {
      const o = pour1(t, 0, '35.188.49.176', T0 + d);
      rows.add(o.row);
      const refOk = takeToken(ref, 5, limit, go(T0 + d));
      const st = t.row(o.row);
      if (i < 5) {
        assert.equal(o.flags, BK.POURED | (i === 0 ? BK.NEW : 0), `pour ${i + 1}`);
        assert.equal(refOk, true);
        assert.equal(st.tokens, ref.tokens, `pour ${i + 1}: same bits as leaky.ts`);
        assert.ok(Math.abs(st.tokens - [4, 3, 2.1, 1.1, 0.2][i]!) < 1e-9, `pour ${i + 1}: ${st.tokens}`);
        assert.equal(st.state, abi.BK_STATE_LIVE);
      } else {
        assert.equal(o.flags, BK.POURED | BK.OVERFLOW, 'the 6th overflows');
        assert.equal(refOk, false);
        assert.equal(st.state, abi.BK_STATE_REMOVED, 'the overflowed row left the table');
        assert.equal(st.count, 6, 'events_count 6');
        assert.deepEqual([st.firstSec, st.firstNsec, st.lastSec, st.lastNsec], [T0, 0, T0 + 2, 0]);
      }
    });
    assert.equal(rows.size, 1, 'one bucket instance');
    assert.equal(t.size, 0);
    // Spec §4.5: the next event of the key gets a fresh bucket (full tokens).
    const again = pour1(t, 0, '35.188.49.176', T0 + 2);
    assert.equal(again.flags, BK.NEW | BK.POURED);
    assert.equal(t.row(again.row).tokens, 4);
    assert.equal(t.row(again.row).count, 1);
  });

  test(`${name}: exactly capacity pours pass, capacity+1 overflows; cadences 2 s (7th) and 10 s (never)`, () => {
    for (const cap of [1, 2, 5, 17]) {
      const t = make([leaky(cap, 10 * S)], 10);
      for (let i = 0; i < cap; i++) assert.equal(pour1(t, 0, 'k', T0, 5).flags & BK.OVERFLOW, 0, `cap ${cap}, pour ${i + 1}`);
      assert.ok(has(pour1(t, 0, 'k', T0, 5).flags, BK.OVERFLOW), `cap ${cap}: pour ${cap + 1} overflows`);
    }
    const t = make([leaky(5, 10 * S)], 10);
    let n = 0;
    while (!has(pour1(t, 0, 'every2s', T0 + 2 * n).flags, BK.OVERFLOW)) n++;
    assert.equal(n + 1, 7, 'one event every 2 s overflows on the 7th (5 − n + 0.2(n−1) < 0)');
    for (let i = 0; i < 60; i++) assert.equal(pour1(t, 0, 'every10s', T0 + 10 * i).flags & BK.OVERFLOW, 0, `10 s cadence, event ${i + 1}`);
  });

  test(`${name}: leak restores tokens continuously (fractional), capped at capacity`, () => {
    const t = make([leaky(5, 10 * S)], 10);
    let o: One = pour1(t, 0, 'k', T0);
    for (let i = 0; i < 4; i++) o = pour1(t, 0, 'k', T0);
    assert.equal(t.row(o.row).tokens, 0);
    o = pour1(t, 0, 'k', T0 + 25); // +2.5 tokens, minus this one
    assert.ok(Math.abs(t.row(o.row).tokens - 1.5) < 1e-12);
    o = pour1(t, 0, 'k', T0 + 25, 500_000_000); // +0.05
    assert.ok(Math.abs(t.row(o.row).tokens - 0.55) < 1e-12);
    o = pour1(t, 0, 'k', T0 + 59); // +3.35
    assert.ok(Math.abs(t.row(o.row).tokens - 2.9) < 1e-12);
    // Exactly the idle limit (60 s): kept. Refill stops at capacity: the elapsed time is cut
    // to the time a full refill takes, truncated to whole ns (Go's arithmetic), so 5 - 1e-10.
    o = pour1(t, 0, 'k', T0 + 119);
    assert.equal(o.flags, BK.POURED);
    assert.ok(Math.abs(t.row(o.row).tokens - 4) < 1e-9);
    const ref = sshRow();
    for (const [d, ns] of [[0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [25, 0], [25, 5e8], [59, 0], [119, 0]] as const) takeToken(ref, 5, rateFor(10 * S), go(T0 + d, ns));
    assert.equal(t.row(o.row).tokens, ref.tokens, 'same bits as leaky.ts');
  });

  test(`${name}: replay time going backwards or standing still takes tokens without refill (as leaky.ts)`, () => {
    const t = make([leaky(5, 10 * S)], 10);
    let ref = sshRow();
    const limit = rateFor(10 * S);
    const times: [number, number][] = [[100, 0], [90, 0], [90, 0], [100, 0], [95, 250_000_000], [95, 250_000_000], [96, 1], [130, 0], [129, 999_999_999]];
    let row = 0;
    for (const [d, ns] of times) {
      const o = pour1(t, 0, 'k', T0 + d, ns);
      const ok = takeToken(ref, 5, limit, go(T0 + d, ns));
      assert.equal(has(o.flags, BK.OVERFLOW), !ok, `at +${d}s ${ns}ns`);
      if (ok) assert.equal(t.row(o.row).tokens, ref.tokens, `tokens at +${d}s ${ns}ns`);
      else ref = sshRow(); // the engine replaces an overflowed bucket with a fresh one
      row = o.row;
    }
    // The limiter's last time follows the pours, backwards too.
    assert.deepEqual([t.row(row).lastSec, t.row(row).lastNsec], [T0 + 129, 999_999_999]);
    // Backwards time never makes a row idle.
    assert.equal(pour1(t, 0, 'k', T0 - 1000).flags, BK.POURED);
  });

  test(`${name}: idle rows are discarded on the next pour after (capacity+1) × leakspeed (strictly after)`, () => {
    const t = make([leaky(5, 10 * S)], 10);
    const first = pour1(t, 0, 'k', T0);
    const at = pour1(t, 0, 'k', T0 + 60); // exactly 60 s: kept
    assert.equal(at.flags, BK.POURED);
    assert.equal(at.row, first.row);
    const after = pour1(t, 0, 'k', T0 + 120, 1);
    assert.equal(after.flags, BK.EXPIRED | BK.NEW | BK.POURED);
    assert.equal(after.prev, first.row, 'the discarded row is named');
    assert.equal(t.row(after.prev).state, abi.BK_STATE_REMOVED);
    assert.equal(t.row(after.prev).count, 2, 'its state is readable until the next call');
    assert.equal(t.row(after.row).tokens, 4);
    assert.equal(t.size, 1);
  });

  test(`${name}: counter buckets never overflow; replay expires them after duration, live fires them (not reset by pours)`, () => {
    const t = make([counter(30 * S, false)], 10);
    let o!: One;
    for (let i = 0; i < 1000; i++) {
      o = pour1(t, 0, 'k', T0 + Math.floor(i / 100), (i % 100) * 1e7);
      assert.equal(o.flags & BK.OVERFLOW, 0);
    }
    assert.equal(t.row(o.row).count, 1000);
    assert.equal(pour1(t, 0, 'k', T0 + 39, 990_000_000).flags, BK.POURED, '30 s after the last pour: kept');
    assert.equal(pour1(t, 0, 'k', T0 + 69, 990_000_001).flags, BK.EXPIRED | BK.NEW | BK.POURED);

    const live = make([counter(30 * S, true)], 10);
    const a = pour1(live, 0, 'k', T0);
    for (let i = 1; i < 30; i++) assert.equal(pour1(live, 0, 'k', T0 + i).flags, BK.POURED, 'pours do not reset the deadline');
    const due = pour1(live, 0, 'k', T0 + 30);
    assert.equal(due.flags, BK.TIMED | BK.NEW | BK.POURED, 'first + duration: the old row fires, a new one starts');
    assert.equal(due.prev, a.row);
    assert.equal(live.row(a.row).count, 30);
    assert.deepEqual([live.row(a.row).firstSec, live.row(a.row).lastSec], [T0, T0 + 29]);
    // Sweep fires due counters in creation order, even if a later row was poured more recently.
    pour1(live, 0, 'j', T0 + 31);
    pour1(live, 0, 'k', T0 + 32);
    const sw = Array.from(live.sweep(T0 + 60, 500_000_000));
    assert.deepEqual(sw, [due.row, BK.TIMED], 'only k (first at +30) is due at +60.5; j (first at +31) is not');
    assert.equal(live.size, 1);
  });

  test(`${name}: trigger pours overflow at once, never stay in the table`, () => {
    const t = make([trigger, leaky(5, S)], 2);
    for (let i = 0; i < 5; i++) {
      const o = pour1(t, 0, `k${i % 2}`, T0 + i);
      assert.equal(o.flags, BK.NEW | BK.POURED | BK.OVERFLOW);
      const st = t.row(o.row);
      assert.deepEqual([st.count, st.firstSec, st.lastSec, st.state], [1, T0 + i, T0 + i, abi.BK_STATE_REMOVED]);
    }
    assert.equal(t.size, 0);
    // Like table.ts insert-then-remove, a trigger pour at the cap evicts first.
    pour1(t, 1, 'a', T0);
    pour1(t, 1, 'b', T0);
    const o = pour1(t, 0, 'x', T0);
    assert.equal(o.flags, BK.NEW | BK.POURED | BK.OVERFLOW | BK.EVICTED);
    assert.equal(t.row(o.victim).key[0], words('a')[0]);
    assert.equal(t.size, 1);
  });

  test(`${name}: eviction at maxRows — LRU of the same scenario, else of the first largest scenario`, () => {
    const t = make([leaky(5, 10 * S), leaky(5, 10 * S), leaky(5, 10 * S)], 4);
    const id = (s: number, k: string): number => t.find(s, words(k));
    pour1(t, 0, 'a', T0);
    pour1(t, 0, 'b', T0 + 1);
    pour1(t, 0, 'c', T0 + 2);
    pour1(t, 1, 'x', T0 + 3);
    pour1(t, 0, 'a', T0 + 4); // touch: a is now the most recent of scenario 0
    assert.equal(t.oldest(0), id(0, 'b'));
    const b = id(0, 'b');
    let o = pour1(t, 0, 'd', T0 + 5);
    assert.equal(o.flags, BK.NEW | BK.POURED | BK.EVICTED);
    assert.equal(o.victim, b, 'least recently touched row of the same scenario');
    assert.equal(id(0, 'b'), 0);
    // Scenario 2 holds nothing: the victim comes from the largest (scenario 0: a, c, d).
    const c = id(0, 'c');
    o = pour1(t, 2, 'z', T0 + 6);
    assert.equal(o.victim, c);
    assert.deepEqual([t.scenarioSize(0), t.scenarioSize(1), t.scenarioSize(2), t.size], [2, 1, 1, 4]);
    // Ties between largest scenarios go to the lowest index: sizes 2, 1, 1 -> make 1 and 0 equal.
    pour1(t, 1, 'y', T0 + 7); // evicts within scenario 1 (x), sizes stay 2, 1, 1
    assert.deepEqual([t.scenarioSize(0), t.scenarioSize(1), t.scenarioSize(2)], [2, 1, 1]);
    const t2 = make([leaky(5, S), leaky(5, S), leaky(5, S)], 4);
    pour1(t2, 1, 'p', T0); pour1(t2, 1, 'q', T0); pour1(t2, 0, 'r', T0); pour1(t2, 0, 's', T0);
    o = pour1(t2, 2, 'new', T0);
    assert.ok(has(o.flags, BK.EVICTED));
    assert.equal(t2.row(o.victim).scenario, 0, 'tie 2/2: scenario 0 (lowest index) gives the victim');
    assert.equal(t2.row(o.victim).key[0], words('r')[0]);
  });

  test(`${name}: sweep removes idle rows from each list head, stops at the first live row, in chunks`, () => {
    const t = make([leaky(1, S), leaky(5, 10 * S)], 1000);
    for (let i = 0; i < 10; i++) pour1(t, 0, `k${i}`, T0 + i); // idle after 2 s each
    for (let i = 0; i < 3; i++) pour1(t, 1, `m${i}`, T0 + i); // idle after 60 s
    // k0 again at +9: its row was idle (> 2 s) and is replaced by a new one at the back.
    assert.equal(pour1(t, 0, 'k0', T0 + 9).flags, BK.EXPIRED | BK.NEW | BK.POURED);
    // At +9.5: k1..k7 are idle (last <= +7 < 9.5 - 2); k8 (last +8) is not: the walk stops there.
    const first = Array.from(t.sweep(T0 + 9, 500_000_000, 4));
    assert.equal(first.length, 8, 'a chunk of at most 4');
    assert.ok(first.every((v, i) => i % 2 === 0 || v === BK.EXPIRED));
    const rest = Array.from(t.sweep(T0 + 9, 500_000_000, 4));
    assert.equal(rest.length, 6, 'k5, k6, k7');
    assert.equal(t.sweep(T0 + 9, 500_000_000).length, 0);
    assert.deepEqual([t.scenarioSize(0), t.scenarioSize(1)], [3, 3]);
    const late = Array.from(t.sweep(T0 + 100, 0));
    assert.equal(late.length, 12, 'everything is idle at +100');
    assert.equal(t.size, 0);
    assert.throws(() => t.sweep(T0, 1e9), /bad arguments/);
  });

  test(`${name}: distinct drops repeated values before the pour; cancel removes the row without a pour`, () => {
    const t = make([leaky(3, 10 * S)], 10);
    let o = pour1(t, 0, 'k', T0, 0, 'root');
    assert.equal(o.flags, BK.NEW | BK.POURED);
    o = pour1(t, 0, 'k', T0, 0, 'root');
    assert.equal(o.flags, BK.DISTINCT, 'a value already seen is not poured');
    assert.equal(t.row(o.row).count, 1);
    assert.equal(pour1(t, 0, 'k', T0, 0, 'admin').flags, BK.POURED);
    assert.equal(pour1(t, 0, 'k', T0, 0, 'x').flags, BK.POURED);
    assert.equal(t.distinctCount, 3);
    assert.equal(pour1(t, 0, 'k', T0, 0, 'y').flags, BK.POURED | BK.OVERFLOW, 'capacity 3: the 4th distinct value overflows');
    o = pour1(t, 0, 'k', T0, 0, 'root');
    assert.equal(o.flags, BK.NEW | BK.POURED, 'the new instance has an empty distinct set');
    assert.equal(t.distinctCount, 1, 'the dead row released its values');
    o = pour1(t, 0, 'k', T0 + 1, 0, null, true);
    assert.equal(o.flags, BK.CANCELLED);
    assert.equal(t.row(o.row).state, abi.BK_STATE_REMOVED);
    assert.equal(t.size, 0);
    o = pour1(t, 0, 'k', T0 + 1, 0, 'root', true);
    assert.equal(o.flags, BK.NEW | BK.CANCELLED, 'a fresh row: distinct passes, then cancel_on removes it');
    // distinct is checked before cancel_on: a dropped value does not cancel.
    pour1(t, 0, 'k', T0 + 2, 0, 'root');
    assert.equal(pour1(t, 0, 'k', T0 + 2, 0, 'root', true).flags, BK.DISTINCT);
    assert.equal(t.size, 1);
  });

  test(`${name}: batches — records in order, removed rows readable until the next call, ids reused last-removed first`, () => {
    const t = make([leaky(1, 10 * S), trigger], 100);
    // One call: a fills, overflows (removed), comes back as a new row: three records.
    t.setPourKey(0, 0, 'a', T0, 0);
    t.setPourKey(1, 0, 'a', T0, 0);
    t.setPourKey(2, 0, 'a', T0, 0);
    t.setPourKey(3, 1, 't', T0, 0);
    t.setPourKey(4, 7, 'bad scenario', T0, 0);
    t.setPour(5, 0, words('b'), 0, T0, 1e9);
    t.setPour(6, 0, words('b'), 0, Number.NaN, 0);
    const out = Array.from(t.pour(7));
    const [f0, r0, , , f1, r1, , , f2, r2, , , f3, r3] = out;
    assert.deepEqual([f0, f1, f2, f3], [BK.NEW | BK.POURED, BK.POURED | BK.OVERFLOW, BK.NEW | BK.POURED, BK.NEW | BK.POURED | BK.OVERFLOW]);
    assert.equal(r0, r1);
    assert.notEqual(r2, r1, 'a row removed in this call is not reused in the same call');
    assert.deepEqual(out.slice(16, 28), [BK.INVALID, 0, 0, 0, BK.INVALID, 0, 0, 0, BK.INVALID, 0, 0, 0], 'bad scenario, nsec >= 1e9, NaN time');
    assert.equal(t.row(r1!).state, abi.BK_STATE_REMOVED);
    assert.equal(t.row(r3!).state, abi.BK_STATE_REMOVED);
    // Next call: the removed rows are free again, the last removed (the trigger's) first.
    const o = pour1(t, 0, 'c', T0);
    assert.equal(o.row, r3);
    assert.equal(pour1(t, 0, 'd', T0).row, r1);
    assert.throws(() => t.row(100_000), /no row/);
    assert.throws(() => t.pour(BK.MAX_BATCH + 1), /at most/);
    assert.throws(() => t.setPour(BK.MAX_BATCH, 0, words('x'), 0, T0, 0), /outside/);
    t.reset();
    assert.equal(t.size, 0);
    assert.equal(t.find(0, words('a')), 0);
  });

  test(`${name}: the hash grows with the live rows (50,000 keys), every key found, reset empties it`, () => {
    const t = make([leaky(5, S), counter(60 * S, false)], 60_000);
    const keys = Array.from({ length: 50_000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    const rows: number[] = [];
    for (let b = 0; b < keys.length; b += 8192) {
      const n = Math.min(8192, keys.length - b);
      for (let i = 0; i < n; i++) t.setPourKey(i, (b + i) & 1, keys[b + i]!, T0 + 1, 0);
      const o = t.pour(n);
      for (let i = 0; i < n; i++) {
        assert.equal(o[4 * i]! & (BK.NEW | BK.POURED | BK.EVICTED), BK.NEW | BK.POURED, `key ${b + i}`);
        rows.push(o[4 * i + 1]!);
      }
    }
    assert.equal(t.size, keys.length);
    keys.forEach((k, i) => assert.equal(t.find(i & 1, words(k)), rows[i], k));
    assert.equal(t.find(0, words(keys[1]!)), 0, 'a key lives in its scenario only');
    // The leaky half is idle after 6 s, the counters after 60 s: a sweep at +30 s (in chunks)
    // removes the first half, and the hash still finds the other (backward-shift deletes).
    let swept = 0;
    for (let k = 8192; k === 8192; swept += k) k = t.sweep(T0 + 31, 0, 8192).length / 2;
    assert.equal(swept, keys.length / 2);
    keys.forEach((k, i) => assert.equal(t.find(i & 1, words(k)), i & 1 ? rows[i] : 0, k));
    t.reset();
    assert.equal(t.size, 0);
    for (const k of keys.slice(0, 2000)) assert.equal(t.find(0, words(k)), 0, 'reset forgets every key');
    // Growing again after the reset must not meet the slots the old table left behind.
    for (let b = 0; b < 10_000; b += 8192) {
      const n = Math.min(8192, 10_000 - b);
      for (let i = 0; i < n; i++) t.setPourKey(i, 1, keys[2 * (b + i) + 1]!, T0 + 2, 0);
      const o = t.pour(n);
      for (let i = 0; i < n; i++) assert.equal(o[4 * i]! & BK.NEW, BK.NEW, `key ${2 * (b + i) + 1} after reset`);
    }
    assert.equal(t.size, 10_000);
  });

  test(`${name}: configuration errors name the scenario`, () => {
    assert.throws(() => make([leaky(0, S)], 10), /scenario #0 \(leaky\): capacity must be an integer >= 1/);
    assert.throws(() => make([leaky(5, S), leaky(5, 0)], 10), /scenario #1 \(leaky\): leakspeedNs must be > 0/);
    assert.throws(() => make([{ ...counter(S, false), capacity: 3 }], 10), /scenario #0 \(counter\): capacity must be <= 0/);
    assert.throws(() => make([{ ...leaky(5, S), timed: true }], 10), /only a counter with durationNs > 0 can be timed/);
    assert.throws(() => make([leaky(5, S)], 0), /maxRows must be an integer/);
    assert.throws(() => make([{ ...leaky(5, S), idleNs: Number.NaN }], 10), /finite/);
  });
}

test('createBucketTable: the WASM table by default, the twin when the module is missing (reason kept), config errors thrown', () => {
  assert.equal(createBucketTable([leaky(5, S)], 10).impl, 'wasm');
  assert.equal(wasmBucketTableError(), null);
  const missing = '/nonexistent/palisade.wasm';
  const t = createBucketTable([leaky(5, S)], 10, 'auto', missing);
  assert.equal(t.impl, 'ts');
  assert.match(wasmBucketTableError(missing)!.message, /cannot read \/nonexistent\/palisade.wasm.*npm run build:wasm/);
  assert.ok(has(pour1(t, 0, 'k', T0).flags, BK.POURED), 'the twin works in its place');
  assert.equal(createBucketTable([leaky(5, S)], 10, 'ts').impl, 'ts');
  assert.throws(() => createBucketTable([leaky(0, S)], 10), /scenario #0 \(leaky\): capacity must be an integer >= 1/);
  assert.throws(() => createBucketTable([leaky(0, S)], 10, 'auto', missing), /scenario #0 \(leaky\): capacity must be an integer >= 1/);
});

test('bucketConfigOf follows engine.ts idleDuration; conditional and bayesian stay in JS', () => {
  assert.deepEqual(bucketConfigOf({ type: 'leaky', capacity: 5, leakspeedNs: 10 * S, durationNs: 0 }, 'replay'), leaky(5, 10 * S));
  assert.deepEqual(bucketConfigOf({ type: 'counter', capacity: -1, leakspeedNs: 0, durationNs: 30 * S }, 'live'), counter(30 * S, true));
  assert.deepEqual(bucketConfigOf({ type: 'counter', capacity: -1, leakspeedNs: 0, durationNs: 30 * S }, 'replay'), counter(30 * S, false));
  assert.equal(bucketConfigOf({ type: 'trigger', capacity: 0, leakspeedNs: 0, durationNs: 0 }, 'live')!.kind, 'trigger');
  assert.equal(bucketConfigOf({ type: 'conditional', capacity: -1, leakspeedNs: S, durationNs: 0 }, 'live'), null);
  assert.equal(bucketConfigOf({ type: 'bayesian', capacity: -1, leakspeedNs: S, durationNs: 0 }, 'live'), null);
  validateBucketConfigs([leaky(5, S), counter(S, true), trigger], 1);
});

test('hashKey128: 128 bits, deterministic, no collision over 200k keys, every output bit balanced', () => {
  const a = new Uint32Array(4), b = new Uint32Array(4);
  hashKey128('', a);
  assert.deepEqual(Array.from(a), [0, 0, 0, 0], 'MurmurHash3 x86_128 of nothing with seed 0');
  hashKey128('35.188.49.176', a);
  hashKey128('35.188.49.176', b);
  assert.deepEqual(a, b);
  const seen = new Set<string>();
  const ones = new Array<number>(128).fill(0);
  const N = 200_000;
  for (let i = 0; i < N; i++) {
    // Keys that differ little: IPs, IPv6, IP/user pairs, lengths 0..40 (all tail sizes).
    const k = i % 3 === 0 ? `${i >>> 16}.${(i >>> 8) & 255}.${i & 255}.1` : i % 3 === 1 ? `2001:db8::${i.toString(16)}` : `10.0.0.${i & 255}/user${i >>> 8}`;
    hashKey128(k, a);
    seen.add(`${a[0]},${a[1]},${a[2]},${a[3]}`);
    for (let w = 0; w < 4; w++) for (let bit = 0; bit < 32; bit++) ones[w * 32 + bit]! += (a[w]! >>> bit) & 1;
  }
  assert.equal(seen.size, N);
  for (const c of ones) assert.ok(Math.abs(c / N - 0.5) < 0.01, `bit balance ${c / N}`);
  hashKey128('\u00e9\u4e2d\ud83d\ude00x', a);
  hashKey128('\u00e9\u4e2d\ud83d\ude01x', b);
  assert.notDeepEqual(a, b, 'all 16 bits of a code unit count');
});

test('raw ABI: pour and sweep before init report BK_NOT_READY; init validates the scenario records', () => {
  interface WasmApi {
    Module: new (b: Uint8Array) => object;
    Instance: new (m: object, i: object) => { exports: Record<string, (...a: number[]) => number> & { memory: { buffer: ArrayBuffer } } };
  }
  const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const x = new WA.Instance(new WA.Module(readFileSync(WASM_PATH)), {}).exports;
  const status = (): number => new Uint32Array(x.memory.buffer)[(abi.BK_STATUS_OFFSET >>> 2) + abi.BK_STATUS_ERROR]!;
  assert.equal(x.bucketsInit!(1, 10), abi.BK_NOT_READY, 'fixed regions not grown yet');
  assert.equal(x.bucketsPrepare!(), abi.BK_OK);
  assert.equal(x.bucketsPour!(1), 0);
  assert.equal(status(), abi.BK_NOT_READY);
  assert.equal(x.bucketsSweep!(1), 0);
  assert.equal(status(), abi.BK_NOT_READY);
  const rec = (kind: number, flags: number, cap: number, leak: number, idle: number, dur: number): void => {
    // Fresh views each time: bucketsInit grows the memory, which detaches older ones.
    const u32 = new Uint32Array(x.memory.buffer);
    const f64 = new Float64Array(x.memory.buffer);
    u32[abi.BK_SCEN_OFFSET >>> 2] = kind;
    u32[(abi.BK_SCEN_OFFSET >>> 2) + 1] = flags;
    f64.set([cap, leak, idle, dur], (abi.BK_SCEN_OFFSET >>> 3) + 1);
  };
  rec(abi.BK_KIND_LEAKY, 0, 5, 10e9, 60e9, 0);
  assert.equal(x.bucketsInit!(1, 0), abi.BK_BAD_ARGS);
  assert.equal(x.bucketsInit!(abi.BK_MAX_SCENARIOS + 1, 10), abi.BK_BAD_ARGS);
  assert.equal(x.bucketsInit!(1, 10), abi.BK_OK);
  rec(abi.BK_KIND_LEAKY, 0, 2.5, 10e9, 60e9, 0);
  assert.equal(x.bucketsInit!(1, 10), abi.BK_BAD_SCENARIO, 'fractional capacity');
  rec(abi.BK_KIND_COUNTER, abi.BK_FLAG_TIMED, -1, 0, 0, 0);
  assert.equal(x.bucketsInit!(1, 10), abi.BK_BAD_SCENARIO, 'timed counter without duration');
  rec(9, 0, 5, 1, 1, 1);
  assert.equal(x.bucketsInit!(1, 10), abi.BK_BAD_SCENARIO, 'unknown kind');
  assert.equal(x.bucketsPour!(1), 0, 'a failed init leaves the table unusable');
  assert.equal(status(), abi.BK_NOT_READY);
});

// ---- differential fuzz: WASM vs twin vs BucketEngine ---------------------------------------------

const FUZZ_YAML = [
  ['a', 'type: leaky\ncapacity: 5\nleakspeed: 10s'],
  ['b', 'type: leaky\ncapacity: 1\nleakspeed: 500ms'],
  ['c', 'type: leaky\ncapacity: 20\nleakspeed: 1s\ndistinct: evt.Meta.user'],
  ['d', 'type: counter\ncapacity: -1\nduration: 30s'],
  ['e', 'type: trigger'],
  ['f', 'type: leaky\ncapacity: 3\nleakspeed: 1500ms\ncancel_on: "evt.Meta.cancel == \'y\'"'],
  ['g', 'type: leaky\ncapacity: 10\nleakspeed: 130ms\ngroupby: evt.Meta.source_ip + "/" + evt.Meta.user'],
].map(([n, body]) => `${body}\nname: fuzz/${n}\ndescription: "${n}"\nfilter: "evt.Meta.to_${n} == 'y'"\n${body!.includes('groupby') ? '' : 'groupby: evt.Meta.source_ip\n'}labels:\n remediation: true\n`).join('---\n');

const ROUTE_P: Record<string, number> = { a: 0.6, b: 0.3, c: 0.3, d: 0.2, e: 0.01, f: 0.2, g: 0.3 };

interface Summary {
  /** scenario name, Mapkey, events_count, start_at, stop_at, kind */
  overflows: string[];
  /** scenario name + group key */
  evictions: string[];
  created: number;
  expired: number;
  pours: number;
  cancelled: number;
  distinctDropped: number;
  buckets: number;
}

const timeText = (sec: number, nsec: number): string => formatRFC3339Nano(go(sec, nsec));

/**
 * One seeded run: events poured into a BucketEngine one by one, and the same routes as
 * batches of random size into the WASM table and the twin (which must agree word for word).
 */
function fuzzRun(mode: 'replay' | 'live', seed: number, events: number, keys: number, maxRows: number): { engine: Summary; table: Summary; pours: number } {
  const loaded = loadScenarioText(FUZZ_YAML, 'fuzz.yaml');
  assert.deepEqual(loaded.failures.map((f) => f.error.message), []);
  const specs = loaded.scenarios;
  const configs = specs.map((s) => bucketConfigOf(s, mode)!);
  const rand = prng(seed);
  let clock = go(T0, 0);
  const eng: Summary = { overflows: [], evictions: [], created: 0, expired: 0, pours: 0, cancelled: 0, distinctDropped: 0, buckets: 0 };
  // The engine on the TS twin: the raw WASM table is checked against both.
  const engine = new BucketEngine(specs, {
    mode, now: () => clock, maxBuckets: maxRows, autoSweepEvery: 0, bucketTable: 'ts',
    onEviction: (e) => eng.evictions.push(`${e.scenario} ${e.groupKey}`),
  });
  const mapkey = (s: number, key: string): string => createHash('sha1').update(specs[s]!.filterSource + key + specs[s]!.name).digest('hex');
  const fromEngine = (r: OverflowResult): string => {
    const a = r.alerts[0]!;
    return `${r.scenario.name} ${r.alert.Mapkey} ${a.events_count} ${a.start_at} ${a.stop_at} ${r.kind}`;
  };

  const w = createWasmBucketTable(configs, maxRows);
  const tw = new BucketTableTwin(configs, maxRows);
  const tab: Summary = { overflows: [], evictions: [], created: 0, expired: 0, pours: 0, cancelled: 0, distinctDropped: 0, buckets: 0 };
  const rowKey: string[] = [];
  interface Pending { s: number; key: string; sec: number; nsec: number }
  const pending: Pending[] = [];
  let totalPours = 0;

  const rowOverflow = (s: number, row: number, ovSec: number, ovNs: number, kind: string): void => {
    const st = w.row(row);
    tab.overflows.push(`${specs[s]!.name} ${mapkey(s, rowKey[row]!)} ${st.count} ${timeText(st.firstSec, st.firstNsec)} ${timeText(ovSec, ovNs)} ${kind}`);
  };
  const sameRow = (id: number, what: string): void => {
    const a = w.row(id), b = tw.row(id);
    assert.deepEqual(a, b, `${what}: row ${id} differs between WASM and twin`);
  };
  const flush = (): void => {
    const n = pending.length;
    if (n === 0) return;
    const ow = Array.from(w.pour(n));
    const ot = Array.from(tw.pour(n));
    assert.deepEqual(ow, ot, `batch of ${n}: outcome words differ between WASM and twin`);
    totalPours += n;
    for (let i = 0; i < n; i++) {
      const p = pending[i]!;
      const [f, row, prev, victim] = [ow[4 * i]!, ow[4 * i + 1]!, ow[4 * i + 2]!, ow[4 * i + 3]!];
      assert.equal(f & BK.INVALID, 0);
      sameRow(row, `record ${i}`);
      if (prev) sameRow(prev, `record ${i} prev`);
      if (victim) sameRow(victim, `record ${i} victim`);
      if (f & BK.TIMED) {
        const st = w.row(prev);
        const due = addNs(go(st.firstSec, st.firstNsec), specs[p.s]!.durationNs);
        rowOverflow(p.s, prev, due.unixSec, due.nsec, 'timed');
      }
      if (f & BK.EXPIRED) tab.expired++;
      if (f & BK.EVICTED) tab.evictions.push(`${specs[w.row(victim).scenario]!.name} ${rowKey[victim]}`);
      if (f & BK.NEW) {
        tab.created++;
        rowKey[row] = p.key;
      }
      if (f & BK.POURED) tab.pours++;
      if (f & BK.DISTINCT) tab.distinctDropped++;
      if (f & BK.CANCELLED) tab.cancelled++;
      if (f & BK.OVERFLOW) rowOverflow(p.s, row, p.sec, p.nsec, 'overflow');
    }
    assert.equal(w.size, tw.size);
    assert.equal(w.distinctCount, tw.distinctCount);
    pending.length = 0;
  };
  const sweep = (now: GoTime): void => {
    flush();
    for (const r of engine.sweep(now)) eng.overflows.push(fromEngine(r));
    for (;;) {
      const sw = Array.from(w.sweep(now.unixSec, now.nsec, 64));
      assert.deepEqual(sw, Array.from(tw.sweep(now.unixSec, now.nsec, 64)), 'sweep differs between WASM and twin');
      for (let k = 0; k < sw.length; k += 2) {
        const row = sw[k]!;
        sameRow(row, 'swept');
        const s = w.row(row).scenario;
        if (sw[k + 1] === BK.TIMED) {
          const st = w.row(row);
          const due = addNs(go(st.firstSec, st.firstNsec), specs[s]!.durationNs);
          rowOverflow(s, row, due.unixSec, due.nsec, 'timed');
        } else tab.expired++;
      }
      if (sw.length < 128) break;
    }
  };

  let latest = clock;
  let batchLimit = 1 + Math.floor(rand() * 2000);
  const users = Array.from({ length: 30 }, (_, i) => `user${i}`);
  for (let e = 0; e < events; e++) {
    // The log's clock moves forward by sub-second gaps; in replay an event may also repeat the
    // previous event's time or be up to 3 s older than the latest (out of order).
    const r = rand();
    let sec = clock.unixSec, nsec = clock.nsec;
    if (mode === 'live' || r < 0.85) {
      const gap = Math.floor(-Math.log(1 - rand()) * 25e6); // mean 25 ms
      nsec = latest.nsec + gap;
      sec = latest.unixSec + Math.floor(nsec / 1e9);
      nsec %= 1e9;
      latest = go(sec, nsec);
    } else if (r >= 0.95) {
      const back = Math.floor(rand() * 3e9);
      sec = latest.unixSec - Math.ceil(back / 1e9);
      nsec = latest.nsec + Math.ceil(back / 1e9) * 1e9 - back;
      sec += Math.floor(nsec / 1e9);
      nsec %= 1e9;
    }
    clock = go(sec, nsec);
    const ip = `10.${(Math.floor(keys * rand() ** 3) >>> 8) & 255}.${Math.floor(keys * rand() ** 3) & 255}.7`;
    const meta: Record<string, string> = { source_ip: ip, user: users[Math.floor(rand() * rand() * users.length)]!, cancel: rand() < 0.005 ? 'y' : 'n' };
    for (const [n, p] of Object.entries(ROUTE_P)) if (rand() < p) meta[`to_${n}`] = 'y';
    const evt = makeEvent({ time: timeText(sec, nsec), meta }, mode);
    const routes = engine.route(evt);
    for (const res of engine.pour(evt)) eng.overflows.push(fromEngine(res));
    for (const [s, key] of routes) {
      const spec = specs[s]!;
      const distinct = spec.distinct ? meta.user! : null;
      const cancel = spec.cancelOn ? meta.cancel === 'y' : false;
      const i = pending.length;
      w.setPourKey(i, s, key, sec, nsec, distinct, cancel);
      tw.setPourKey(i, s, key, sec, nsec, distinct, cancel);
      pending.push({ s, key, sec, nsec });
      if (pending.length >= batchLimit) {
        flush();
        batchLimit = 1 + Math.floor(rand() * 2000);
      }
    }
    if (e % 5000 === 4999) sweep(mode === 'live' ? clock : latest);
  }
  flush();
  const st = engine.stats;
  Object.assign(eng, { created: st.created, expired: st.expired, pours: st.pours, cancelled: st.cancelled, distinctDropped: st.distinctDropped, buckets: st.buckets });
  tab.buckets = w.size;
  assert.equal(st.alertErrors, 0);
  assert.equal(st.overflows, eng.overflows.length, 'every engine overflow was emitted');
  return { engine: eng, table: tab, pours: totalPours };
}

const describe = (pours: number, e: Summary): string =>
  `${pours} pours: ${e.overflows.length} overflows, ${e.evictions.length} evictions, ${e.expired} expiries, ${e.created} rows created, ${e.distinctDropped} distinct drops, ${e.cancelled} cancels, ${e.buckets} rows left`;

function assertSameSummary(engine: Summary, table: Summary): void {
  for (const k of ['created', 'expired', 'pours', 'cancelled', 'distinctDropped', 'buckets'] as const) assert.equal(table[k], engine[k], k);
  assert.equal(table.evictions.length, engine.evictions.length, 'eviction count');
  for (let i = 0; i < engine.evictions.length; i++) assert.equal(table.evictions[i], engine.evictions[i], `eviction #${i}`);
  assert.equal(table.overflows.length, engine.overflows.length, 'overflow count');
  for (let i = 0; i < engine.overflows.length; i++) assert.equal(table.overflows[i], engine.overflows[i], `overflow #${i}`);
}

test('differential fuzz, replay: ≥100k pours over thousands of keys — WASM = twin = BucketEngine (overflows, evictions, expiry, distinct, cancel)', (t) => {
  const { engine, table, pours } = fuzzRun('replay', 20261127, 60_000, 4000, 5000);
  t.diagnostic(describe(pours, engine));
  assert.ok(pours >= 100_000, `${pours} pours`);
  assert.ok(engine.overflows.length > 1000, `${engine.overflows.length} overflows`);
  assert.ok(engine.evictions.length > 100, `${engine.evictions.length} evictions`);
  assert.ok(engine.expired > 100, `${engine.expired} expiries`);
  assert.ok(engine.distinctDropped > 100 && engine.cancelled > 10, `${engine.distinctDropped} distinct drops, ${engine.cancelled} cancels`);
  assertSameSummary(engine, table);
});

test('differential fuzz, replay without evictions (large cap): idle expiry and sweeps dominate', (t) => {
  const { engine, table, pours } = fuzzRun('replay', 7, 30_000, 3000, 100_000);
  t.diagnostic(describe(pours, engine));
  assert.equal(engine.evictions.length, 0);
  assert.ok(engine.expired > 100, `${engine.expired} expiries`);
  assertSameSummary(engine, table);
});

test('differential fuzz, live: timed counters fire on pour and on sweep — WASM = twin = BucketEngine', (t) => {
  const { engine, table, pours } = fuzzRun('live', 99, 30_000, 2000, 3000);
  t.diagnostic(describe(pours, engine));
  assert.ok(engine.overflows.some((o) => o.endsWith(' timed')), 'some counters fired');
  assertSameSummary(engine, table);
});
