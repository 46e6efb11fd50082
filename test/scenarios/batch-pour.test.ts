/**
 * Batched pours (BucketEngine.beginBatch + pour records with table records, the pool's path)
 * give exactly the alerts, in the same order, and the same counters as pouring the same
 * events one by one — across chunk cuts (8,192 records, automatic sweeps, conditional and
 * bayesian checks, reprocess), evictions at the cap, idle expiry, distinct and cancel_on —
 * on the WebAssembly table and on its TS twin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenarioText } from '../../src/config/scenario.js';
import { BucketEngine, PreparedRoutes, type EngineOptions, type OverflowResult } from '../../src/scenarios/engine.js';
import { PourBatch, PourRecordWriter } from '../../src/pipeline/pour-records.js';
import { ALL_FIELDS } from '../../src/pipeline/field-needs.js';
import { ExpectMode, type PEvent } from '../../src/core/event.js';
import type { LapiAlert } from '../../src/scenarios/overflow.js';
import { makeEvent, t } from './support.js';

const common = (n: string, extra = ''): string =>
  `name: test/${n}\ndescription: "${n}"\nfilter: "evt.Meta.to_${n} == 'y'"\ngroupby: evt.Meta.source_ip\nlabels:\n remediation: true\n${extra}`;

const YAML = [
  'type: leaky\ncapacity: 4\nleakspeed: 10s\nblackhole: 2m\n' + common('a'),
  'type: leaky\ncapacity: 5\nleakspeed: 5s\n' + common('b', 'distinct: evt.Meta.user\n'),
  'type: leaky\ncapacity: 3\nleakspeed: 2s\n' + common('c', "cancel_on: \"evt.Meta.cancel == 'y'\"\n"),
  'type: trigger\n' + common('d', 'blackhole: 1m\n'),
  'type: counter\ncapacity: -1\nduration: 20s\n' + common('e'),
  'type: conditional\ncapacity: -1\nleakspeed: 5s\ncondition: "len(queue.Queue) >= 3 && leaky.Total_count > 2"\n' + common('f'),
  'type: bayesian\ncapacity: -1\nleakspeed: 5s\nbayesian_prior: 0.1\nbayesian_threshold: 0.5\nbayesian_conditions:\n  - condition: evt.Meta.user == "root"\n    prob_given_evil: 0.8\n    prob_given_benign: 0.2\n    guillotine: true\n  - condition: len(queue.Queue) > 2\n    prob_given_evil: 0.9\n    prob_given_benign: 0.3\n' + common('g'),
  'type: leaky\ncapacity: 1\nleakspeed: 30s\n' + common('h', 'reprocess: true\n'),
  // Takes the overflows reprocessed from h back in (one bucket for all of them).
  'type: leaky\ncapacity: 2\nleakspeed: 30s\nname: test/ovflw\ndescription: ovflw\nfilter: "evt.Type == 1"\nlabels:\n remediation: true\n',
].join('---\n');

const P: Record<string, number> = { a: 0.7, b: 0.4, c: 0.4, d: 0.02, e: 0.2, f: 0.3, g: 0.2, h: 0.15 };

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A seeded stream: sub-second gaps, some repeated or older times, a few events without a clock. */
function events(seed: number, n: number, keys: number): PEvent[] {
  const rand = prng(seed);
  let ms = Date.parse('2026-02-12T14:00:00Z');
  const out: PEvent[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.85) ms += Math.floor(rand() * 200);
    const at = r > 0.97 ? ms - Math.floor(rand() * 3000) : ms;
    const meta: Record<string, string> = {
      source_ip: `10.0.${Math.floor(rand() * rand() * keys) >> 8}.${Math.floor(rand() * rand() * keys) & 255}`,
      user: ['root', 'admin', 'bob', 'alice'][Math.floor(rand() * 4)]!,
      cancel: rand() < 0.01 ? 'y' : 'n',
    };
    for (const [k, p] of Object.entries(P)) if (rand() < p) meta[`to_${k}`] = 'y';
    const time = rand() < 0.002 ? 'not a time' : new Date(at).toISOString().replace('Z', `${String(Math.floor(rand() * 1e6)).padStart(6, '0')}Z`);
    out.push(makeEvent({ time, meta }));
  }
  return out;
}

/** What DetectionEngine does with overflows: reprocess pours the OVFLW event back at once. */
function alertsOf(engine: BucketEngine, results: OverflowResult[], into: string[]): void {
  const queue = [...results];
  while (queue.length > 0) {
    const r = queue.shift()!;
    for (const a of r.alerts) into.push(`${r.kind} ${JSON.stringify(a)}`);
    if (r.reprocess) queue.push(...engine.pour(r.event));
  }
}

function run(impl: 'wasm' | 'ts', batched: boolean, evts: PEvent[], o: Partial<EngineOptions>, batchSize: number) {
  const loaded = loadScenarioText(YAML, 'batch.yaml');
  assert.deepEqual(loaded.failures.map((f) => f.error.message), []);
  const specs = loaded.scenarios;
  const opts: EngineOptions = { mode: 'replay', now: () => t('2030-01-01T00:00:00Z'), bucketTable: impl, ...o };
  const engine = new BucketEngine(specs, opts);
  const router = new BucketEngine(specs, opts);
  const got: string[] = [];
  if (!batched) {
    for (const e of evts) alertsOf(engine, engine.pour(e), got);
  } else {
    const writer = new PourRecordWriter(ALL_FIELDS, specs);
    const target = {
      buckets: engine,
      pourPrepared: (evt: PEvent | null, now: Parameters<BucketEngine['pourPrepared']>[1], mt: string, routes: PreparedRoutes): LapiAlert[] => {
        alertsOf(engine, engine.pourPrepared(evt, now, mt, routes), got);
        return [];
      },
    };
    const routes = new PreparedRoutes();
    for (let b = 0; b < evts.length; b += batchSize) {
      for (const e of evts.slice(b, b + batchSize)) writer.add(e, router.routeInto(e, routes));
      const batch = PourBatch.read(writer.finish({ lines: 0, parsed: 0, unparsed: 0, whitelisted: 0, dropped: 0 }));
      assert.ok(batch.table !== null, 'a writer with scenarios writes table records');
      batch.apply(target, 'src', new Map([['type', 'syslog']]), ExpectMode.TIMEMACHINE);
    }
  }
  return { got, stats: engine.stats, impl: engine.tableImpl };
}

for (const impl of ['wasm', 'ts'] as const) {
  test(`${impl}: batched pours = one-by-one pours (alerts in order, counters), evictions, sweeps, every cut`, (t) => {
    const evts = events(20261128, 24_000, 1200);
    const o = { maxBuckets: 1500, autoSweepEvery: 700 };
    const one = run(impl, false, evts, o, 0);
    const batch = run(impl, true, evts, o, 9000);
    assert.equal(one.impl, impl);
    const s = one.stats;
    t.diagnostic(`${s.pours} pours, ${one.got.length} alerts, ${s.evictions} evictions, ${s.expired} expired, ${s.distinctDropped} distinct, ${s.cancelled} cancelled, ${s.blackholed} blackholed`);
    // The stream reaches every path the cuts and outcomes have.
    assert.ok(s.pours > 40_000 && s.evictions > 1000 && s.expired > 100 && s.distinctDropped > 100 && s.cancelled > 10 && s.blackholed > 5 && s.noTime > 10, JSON.stringify(s));
    for (const name of ['a', 'd', 'f', 'g', 'h', 'ovflw']) assert.ok(one.got.some((a) => a.includes(`"scenario":"test/${name}"`)), `alerts of ${name}`);
    assert.equal(batch.got.length, one.got.length);
    for (let i = 0; i < one.got.length; i++) assert.equal(batch.got[i], one.got[i], `alert #${i}`);
    assert.deepEqual(batch.stats, s);
  });
}

test('wasm and ts tables give the same alerts and counters (large cap, small batches)', () => {
  const evts = events(7, 12_000, 500);
  const a = run('wasm', true, evts, {}, 700);
  const b = run('ts', true, evts, {}, 700);
  assert.ok(a.got.length > 100);
  assert.deepEqual(a.got, b.got);
  assert.deepEqual(a.stats, b.stats);
});

test('beginBatch: a pour of its own mid-chunk and events that do not match the records are refused; live mode pours one by one', () => {
  // Without the scenarios that cut chunks, so a chunk spans many events.
  const specs = loadScenarioText(YAML, 'batch.yaml').scenarios.filter((s) => s.type !== 'conditional' && s.type !== 'bayesian' && !s.reprocess);
  const opts: EngineOptions = { mode: 'replay', now: () => t('2030-01-01T00:00:00Z') };
  const evts = events(3, 200, 10).filter((e) => e.MarshaledTime !== 'not a time');
  const records = (engine: BucketEngine): PourBatch => {
    const writer = new PourRecordWriter(ALL_FIELDS, specs);
    const routes = new PreparedRoutes();
    for (const e of evts) writer.add(e, engine.routeInto(e, routes));
    return PourBatch.read(writer.finish({ lines: 0, parsed: 0, unparsed: 0, whitelisted: 0, dropped: 0 }));
  };

  const a = new BucketEngine(specs, opts);
  const batch = records(a);
  assert.equal(a.beginBatch(batch.table!), true);
  assert.throws(() => a.beginBatch(batch.table!), /already being applied/);
  let poured = 0;
  assert.throws(() => batch.forEach('s', new Map(), 0, (evt, now, mt, r) => {
    a.pourPrepared(evt, now, mt, r);
    if (r.count > 0 && ++poured === 2) a.pour(evts[0]!);
  }), /pour while a batch is applied/);
  assert.throws(() => a.sweep(), /sweep while a batch is applied/);
  a.endBatch(false);

  const b = new BucketEngine(specs, opts);
  const batchB = records(b);
  b.beginBatch(batchB.table!);
  assert.throws(() => batchB.forEach('s', new Map(), 0, (evt, now, mt, r) => {
    if (r.count > 0) r.count--;
    b.pourPrepared(evt, now, mt, r);
  }), /has \d+ routes, the batch \d+ records/);

  const live = new BucketEngine(specs, { ...opts, mode: 'live' });
  assert.equal(live.beginBatch(records(live).table!), false, 'live pours take the wall clock when applied');
  const c = new BucketEngine(specs, opts);
  const batchC = records(c);
  c.beginBatch(batchC.table!);
  let n = 0;
  batchC.forEach('s', new Map(), 0, (evt, now, mt, r) => {
    if (n++ < evts.length - 1) c.pourPrepared(evt, now, mt, r);
  });
  assert.throws(() => c.endBatch(), /of \d+ events and \d+ of \d+ records poured/);
});

test('a conditional overflow removes its row before the next record of the chunk is poured (same key, one batch)', () => {
  const specs = loadScenarioText(
    'type: conditional\ncapacity: -1\nleakspeed: 1m\ncondition: "leaky.Total_count >= 2"\n' + common('f') + '---\n' +
    'type: leaky\ncapacity: 50\nleakspeed: 1m\n' + common('a'), 'cond.yaml').scenarios;
  const opts: EngineOptions = { mode: 'replay', now: () => t('2030-01-01T00:00:00Z') };
  const evts = Array.from({ length: 9 }, (_, i) => makeEvent({ time: `2026-02-12T14:00:0${i}Z`, meta: { source_ip: '1.2.3.4', to_f: 'y', to_a: 'y' } }));
  const one = new BucketEngine(specs, opts);
  const want = evts.flatMap((e) => one.pour(e)).map((r) => JSON.stringify(r.alerts));
  assert.equal(want.length, 4, 'every second event overflows the conditional bucket');
  const engine = new BucketEngine(specs, opts);
  const writer = new PourRecordWriter(ALL_FIELDS, specs);
  const routes = new PreparedRoutes();
  for (const e of evts) writer.add(e, engine.routeInto(e, routes));
  const batch = PourBatch.read(writer.finish({ lines: 0, parsed: 0, unparsed: 0, whitelisted: 0, dropped: 0 }));
  const got: string[] = [];
  batch.apply({ buckets: engine, pourPrepared: (e, n, mt, r) => { got.push(...engine.pourPrepared(e, n, mt, r).map((x) => JSON.stringify(x.alerts))); return []; } }, 's', new Map(), 0);
  assert.deepEqual(got, want);
  assert.deepEqual(engine.stats, one.stats);
});
