import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { loadScenarioText } from '../../src/config/scenario.js';
import { BucketEngine } from '../../src/scenarios/engine.js';
import { BucketRow } from '../../src/scenarios/table.js';
import { rateFor, takeToken } from '../../src/scenarios/leaky.js';
import { bayesUpdate } from '../../src/scenarios/bayesian.js';
import { Blackhole } from '../../src/scenarios/blackhole.js';
import { EventType } from '../../src/core/event.js';
import { FakeClock, makeEvent, t } from './support.js';

const SSH = `type: leaky
name: crowdsecurity/ssh-bf
description: "Detect ssh bruteforce"
filter: "evt.Meta.log_type == 'ssh_failed-auth'"
leakspeed: "10s"
capacity: 5
groupby: evt.Meta.source_ip
blackhole: 1m
reprocess: true
labels:
 service: ssh
 type: bruteforce
 remediation: true
`;

function scenarios(text: string) {
  const r = loadScenarioText(text, 'test.yaml');
  assert.deepEqual(r.failures.map((f) => f.error.message), []);
  return r.scenarios;
}

const fail = (time: string, ip = '35.188.49.176', extra: Record<string, string> = {}) =>
  makeEvent({ time, meta: { log_type: 'ssh_failed-auth', source_ip: ip, ...extra } });

test('limiter: tokens 4, 3, 2.1, 1.1, 0.2 then refusal with state unchanged (spec §4.4)', () => {
  const [spec] = scenarios(SSH);
  const row = new BucketRow(spec!, 0, 'k', 5);
  const limit = rateFor(10e9);
  const want = [4, 3, 2.1, 1.1, 0.2];
  ['21', '21', '22', '22', '23'].forEach((s, i) => {
    assert.equal(takeToken(row, 5, limit, t(`2026-02-12T14:10:${s}Z`)), true);
    assert.ok(Math.abs(row.tokens - want[i]!) < 1e-9, `after pour ${i + 1}: ${row.tokens}`);
  });
  const before = row.tokens;
  assert.equal(takeToken(row, 5, limit, t('2026-02-12T14:10:23Z')), false);
  assert.equal(row.tokens, before);
});

test('six events within one second always overflow ssh-bf (seeded sub-second times)', () => {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let run = 0; run < 200; run++) {
    const engine = new BucketEngine(scenarios(SSH), { mode: 'replay', now: () => t('2026-01-01T00:00:00Z') });
    const ns = Array.from({ length: 6 }, () => Math.floor(rnd() * 1e9)).sort((a, b) => a - b);
    const out = ns.flatMap((n) => engine.pour(fail(`2026-02-12T14:10:21.${String(n).padStart(9, '0')}Z`)));
    assert.equal(out.length, 1, `run ${run}`);
    assert.equal(out[0]!.alerts[0]!.events_count, 6);
  }
});

test('alert JSON is the LAPI shape of spec §7.6 and the OVFLW event carries the RuntimeAlert', () => {
  const [spec] = scenarios(SSH);
  const engine = new BucketEngine([spec!], { mode: 'replay', now: () => t('2026-01-01T00:00:00Z') });
  const out = ['21', '21', '22', '22', '23', '23'].flatMap((s) => engine.pour(fail(`2026-02-12T14:10:${s}Z`)));
  assert.equal(out.length, 1);
  const r = out[0]!;
  const ev = (s: string) => `{"meta":[{"key":"log_type","value":"ssh_failed-auth"},{"key":"source_ip","value":"35.188.49.176"}],"timestamp":"2026-02-12T14:10:${s}Z"}`;
  assert.equal(JSON.stringify(r.alerts[0]),
    `{"capacity":5,"decisions":null,"events":[${['21', '21', '22', '22', '23', '23'].map(ev).join(',')}],"events_count":6,"labels":null,"leakspeed":"10s",` +
    `"message":"Ip 35.188.49.176 performed 'crowdsecurity/ssh-bf' (6 events over 2s) at 2026-02-12 14:10:23 +0000 UTC","remediation":true,` +
    `"scenario":"crowdsecurity/ssh-bf","scenario_hash":"${spec!.hash}","scenario_version":"","simulated":false,` +
    `"source":{"ip":"35.188.49.176","scope":"Ip","value":"35.188.49.176"},"start_at":"2026-02-12T14:10:21Z","stop_at":"2026-02-12T14:10:23Z"}`);
  const mapkey = createHash('sha1').update(spec!.filterSource + '35.188.49.176' + spec!.name).digest('hex');
  assert.equal(r.alert.Mapkey, mapkey);
  assert.equal(r.alert.BucketId, mapkey);
  assert.equal(r.alert.Reprocess, true);
  assert.deepEqual(r.alert.GetSources(), ['35.188.49.176']);
  assert.equal(r.event.Type, EventType.OVFLW);
  assert.equal(r.event.GetType(), 'overflow');
  assert.equal(r.event.MarshaledTime, '2026-02-12T14:10:23Z');
  assert.equal(r.event.GetMeta('source_ip'), '35.188.49.176');
  assert.equal(r.alert.Alert!.Source.IP, '35.188.49.176');
  assert.equal(r.alert.Alert!.GetScope(), 'Ip');
  // A postoverflow rewriting the source (ipv6_to_range style) changes what is POSTed.
  r.alert.Alert!.Source.Value = '35.188.49.0/24';
  r.alert.Alert!.Source.Scope = 'Range';
  assert.equal(r.alerts[0]!.source.value, '35.188.49.0/24');
  assert.equal(r.alerts[0]!.source.scope, 'Range');
});

test('replay: events without MarshaledTime are ignored and counted, with one warning', () => {
  const logs: string[] = [];
  const engine = new BucketEngine(scenarios(SSH), { mode: 'replay', now: () => t('2026-01-01T00:00:00Z'), log: (l, m) => logs.push(`${l} ${m}`) });
  for (let i = 0; i < 10; i++) assert.deepEqual(engine.pour(fail('')), []);
  engine.pour(fail('not a time'));
  assert.equal(engine.stats.noTime, 11);
  assert.equal(engine.stats.pours, 0);
  assert.equal(logs.length, 1);
  assert.match(logs[0]!, /^warn replay: event without a valid MarshaledTime/);
});

test('live mode: idle rows expire lazily on access and are reclaimed by sweep(now)', () => {
  const clock = new FakeClock(t('2026-02-12T14:00:00Z'));
  const engine = new BucketEngine(scenarios(SSH), { mode: 'live', now: clock.now, autoSweepEvery: 0 });
  for (let i = 0; i < 1000; i++) engine.pour(fail('2026-02-12T14:00:00Z', `10.0.${i >> 8}.${i & 255}`));
  assert.equal(engine.stats.buckets, 1000);
  clock.set('2026-02-12T14:00:59Z');
  engine.sweep(clock.current);
  assert.equal(engine.stats.buckets, 1000, 'not idle yet: (5+1) x 10s = 60s');
  // Lazily: the next pour into an idle key finds the row expired and starts a new bucket.
  clock.set('2026-02-12T14:01:01Z');
  engine.pour(fail('', '10.0.0.0'));
  assert.equal(engine.stats.expired, 1);
  assert.equal(engine.stats.created, 1001);
  engine.sweep(clock.current);
  assert.equal(engine.stats.buckets, 1, 'only the freshly touched row survives');
  assert.equal(engine.stats.expired, 1000);
});

test('counter never emits in replay (the engine stops before its wall-clock timer)', () => {
  const engine = new BucketEngine(scenarios(`type: counter
name: test/counter
description: counter
filter: "evt.Meta.log_type == 'ssh_failed-auth'"
groupby: evt.Meta.source_ip
capacity: -1
duration: 30s
`), { mode: 'replay', now: () => t('2030-01-01T00:00:00Z') });
  const out = [];
  for (let i = 0; i < 50; i++) out.push(...engine.pour(fail(`2026-02-12T14:${10 + Math.floor(i / 6)}:${String((i % 6) * 10).padStart(2, '0')}Z`)));
  out.push(...engine.sweep(t('2026-02-12T15:00:00Z')));
  assert.equal(out.length, 0);
  assert.equal(engine.stats.buckets, 0, 'the idle counter row is reclaimed');
});

test('an Ip-scoped overflow with an event lacking a valid source_ip is lost and counted', () => {
  const logs: string[] = [];
  const engine = new BucketEngine(scenarios(SSH.replace('groupby: evt.Meta.source_ip\n', '')), {
    mode: 'replay', now: () => t('2026-01-01T00:00:00Z'), log: (l, m) => logs.push(`${l} ${m}`),
  });
  const out = [];
  for (let i = 0; i < 6; i++) out.push(...engine.pour(fail('2026-02-12T14:10:21Z', i === 2 ? 'not-an-ip' : '1.2.3.4')));
  assert.equal(out.length, 0);
  assert.equal(engine.stats.overflows, 1);
  assert.equal(engine.stats.alertErrors, 1);
  assert.ok(logs.some((l) => l.startsWith('error') && l.includes("'not-an-ip'")));
});

test('filter runtime errors and non-string groupby are counted as no match, never thrown', () => {
  const engine = new BucketEngine(scenarios(`type: trigger
name: test/nil
description: reads a nil pointer on LOG events
filter: "evt.Overflow.Alert.Scenario == 'x'"
---
type: trigger
name: test/intgroup
description: groupby returns an int
filter: "true"
groupby: "len(evt.Meta.source_ip)"
`), { mode: 'replay', now: () => t('2026-01-01T00:00:00Z') });
  assert.deepEqual(engine.pour(fail('2026-02-12T14:10:21Z')), []);
  assert.equal(engine.stats.filterErrors, 1);
  assert.equal(engine.stats.groupbyErrors, 1);
});

test('memory bound: a flood of 1,000,000 distinct IPs keeps the table at the cap, evictions counted and logged', () => {
  const clock = new FakeClock(t('2026-02-12T14:00:00Z'));
  const evictions: number[] = [];
  const logs: string[] = [];
  const cap = 10_000;
  const engine = new BucketEngine(scenarios(SSH), {
    mode: 'live', now: clock.now, maxBuckets: cap,
    onEviction: (e) => evictions.push(e.total),
    log: (l, m) => logs.push(`${l} ${m}`),
  });
  const evt = fail('2026-02-12T14:00:00Z');
  const started = Date.now();
  const N = 1_000_000;
  for (let i = 0; i < N; i++) {
    // One event object reused: the queue only holds references and nothing overflows.
    evt.Meta.set('source_ip', `${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}.1`);
    engine.pour(evt);
  }
  const ms = Date.now() - started;
  const st = engine.stats;
  assert.equal(st.buckets, cap);
  assert.equal(st.created, N);
  assert.equal(st.evictions, N - cap);
  assert.equal(evictions.length, N - cap);
  assert.equal(evictions.at(-1), N - cap);
  assert.equal(logs.filter((l) => l.includes('bucket table full')).length, 1 + Math.floor((N - cap) / 10_000));
  // Least recently used rows went first: the last IP is still there, the first one is not.
  const created = st.created;
  evt.Meta.set('source_ip', `${((N - 1) >>> 16) & 255}.${((N - 1) >>> 8) & 255}.${(N - 1) & 255}.1`);
  engine.pour(evt);
  assert.equal(engine.stats.created, created);
  evt.Meta.set('source_ip', '0.0.0.1');
  engine.pour(evt);
  assert.equal(engine.stats.created, created + 1);
  assert.ok(ms < 20_000, `flood took ${ms} ms`);
});

test('bayes update in float32 and blackhole window bookkeeping', () => {
  // 0.05 prior, P(e|evil) 0.8, P(e|benign) 0.1 -> 0.04 / 0.135
  assert.ok(Math.abs(bayesUpdate(Math.fround(0.05), Math.fround(0.8), Math.fround(0.1)) - 0.04 / 0.135) < 1e-6);
  assert.equal(bayesUpdate(0.3, 0.5, 0.5), Math.fround(0.3));
  const bh = new Blackhole(60e9);
  assert.equal(bh.admit('a', t('2026-02-12T14:00:00Z')), true);
  assert.equal(bh.admit('a', t('2026-02-12T14:00:59.999999999Z')), false);
  assert.equal(bh.admit('b', t('2026-02-12T14:00:30Z')), true);
  assert.equal(bh.admit('a', t('2026-02-12T14:01:00Z')), true, 'expiry <= Ovflw_ts is forgotten');
  bh.prune(t('2026-02-12T14:01:30Z'));
  assert.equal(bh.size, 1, "b's window ended at 14:01:30; a's runs to 14:02:00");
  bh.prune(t('2026-02-12T14:02:00Z'));
  assert.equal(bh.size, 0);
});

test('route() + pourRouted() give the same alerts as pour() (seeded random stream)', () => {
  const specs = scenarios(SSH + `---
type: leaky
name: test/user-enum
description: distinct users
filter: "evt.Meta.log_type == 'ssh_failed-auth'"
groupby: evt.Meta.source_ip
distinct: evt.Meta.target_user
capacity: 3
leakspeed: 20s
blackhole: 30s
---
type: trigger
name: test/root
description: root attempts
filter: "evt.Meta.target_user == 'root'"
groupby: evt.Meta.source_ip
blackhole: 10s
`);
  const a = new BucketEngine(specs, { mode: 'replay', now: () => t('2030-01-01T00:00:00Z'), autoSweepEvery: 64 });
  const b = new BucketEngine(specs, { mode: 'replay', now: () => t('2030-01-01T00:00:00Z'), autoSweepEvery: 64 });
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  let ms = Date.parse('2026-02-12T14:00:00Z');
  const gotA: string[] = [], gotB: string[] = [];
  for (let i = 0; i < 5000; i++) {
    ms += rnd(3000);
    const time = new Date(ms).toISOString();
    const meta = { target_user: ['root', 'admin', 'bob', 'alice', 'oracle'][rnd(5)]! };
    const ip = `10.0.0.${rnd(12)}`;
    for (const r of a.pour(fail(time, ip, meta))) gotA.push(JSON.stringify(r.alerts));
    const evt = fail(time, ip, meta);
    for (const r of b.pourRouted(evt, b.route(evt))) gotB.push(JSON.stringify(r.alerts));
  }
  assert.ok(gotA.length > 50, `only ${gotA.length} alerts`);
  assert.deepEqual(gotB, gotA);
  assert.deepEqual(b.stats, a.stats);
});

test('replay: expired rows are reclaimed by the automatic sweep, without any cap', () => {
  const engine = new BucketEngine(scenarios(SSH), { mode: 'replay', now: () => t('2030-01-01T00:00:00Z') });
  let ms = Date.parse('2026-02-12T14:00:00Z');
  let peak = 0;
  for (let i = 0; i < 50_000; i++) {
    ms += 100; // one new source every 100 ms; each bucket is idle after 60 s => ~600 live rows
    engine.pour(fail(new Date(ms).toISOString(), `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
    peak = Math.max(peak, engine.stats.buckets);
  }
  assert.equal(engine.stats.evictions, 0);
  assert.ok(peak <= 600 + 4096 + 1, `peak ${peak}`);
  assert.ok(engine.stats.expired >= 50_000 - peak);
  engine.sweep();
  assert.ok(engine.stats.buckets <= 601, `after sweep ${engine.stats.buckets}`);
});
