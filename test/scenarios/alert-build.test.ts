/**
 * The main thread's cheaper ways through alert building give the same alerts and the same
 * errors: events' meta items shared between consecutive events, the checks alone for an
 * overflow a blackhole drops (validateOverflowAlert vs checkOverflowAlert), and events rebuilt
 * from pour records (PooledEvent) read through their flat entries instead of a Meta map.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenarioText } from '../../src/config/scenario.js';
import { BucketRow } from '../../src/scenarios/table.js';
import { checkOverflowAlert, eventsFromQueue, validateOverflowAlert, AlertBuildError, buildOverflowAlert, type LapiEvent } from '../../src/scenarios/overflow.js';
import { EventType, ExpectMode, newLogEvent, type PEvent } from '../../src/core/event.js';
import { PourBatch, PourRecordWriter } from '../../src/pipeline/pour-records.js';
import { PooledEvent } from '../../src/pipeline/pooled-event.js';
import { PreparedRoutes } from '../../src/scenarios/engine.js';
import { makeEvent, t } from './support.js';

const SPEC = (scope = '') => `type: leaky
name: test/bf
description: test
filter: "evt.Meta.log_type == 'x'"
leakspeed: "10s"
capacity: 3
groupby: evt.Meta.source_ip
${scope}labels:
 remediation: true
`;

function spec(scope = '') {
  const r = loadScenarioText(SPEC(scope), 'test.yaml');
  assert.deepEqual(r.failures.map((f) => f.error.message), []);
  return r.scenarios[0]!;
}

function rowOf(events: PEvent[], scope = ''): BucketRow {
  const row = new BucketRow(spec(scope), 0, 'k', 10);
  row.queue.Queue.push(...events);
  row.firstTs = t('2026-01-05T00:00:00Z');
  row.lastTs = row.ovflwTs = t('2026-01-05T00:00:03Z');
  row.totalCount = events.length;
  return row;
}

const ev = (i: number, meta: Record<string, string>) => makeEvent({ time: `2026-01-05T00:00:0${i}Z`, meta: { log_type: 'x', ...meta } });

/** The meta items as built one object per item (what eventsFromQueue built before sharing them). */
function naive(queue: readonly PEvent[]): LapiEvent[] {
  return queue.map((e) => ({ meta: [...e.Meta.keys()].sort().map((key) => ({ key, value: e.Meta.get(key)! })), timestamp: e.MarshaledTime }));
}

test('alert events: unchanged meta items are shared between consecutive events, the JSON is the same', () => {
  const queue = [
    ev(0, { source_ip: '1.2.3.4', user: 'root', z: 'a' }),
    ev(1, { source_ip: '1.2.3.4', user: 'admin', z: 'a' }),
    ev(2, { source_ip: '1.2.3.4', user: 'admin', z: 'a' }),
    // other keys: nothing is shared with the event before
    ev(3, { source_ip: '1.2.3.4', other: 'a' }),
    ev(4, { source_ip: '1.2.3.4', other: 'b' }),
    // the same keys in another insertion order: the key list is compared in order, so a new one
    ev(5, { other: 'b', source_ip: '1.2.3.4', log_type: 'x' }),
  ];
  const got = eventsFromQueue(queue);
  assert.equal(JSON.stringify(got), JSON.stringify(naive(queue)));
  const item = (e: number, key: string) => got[e]!.meta.find((m) => m.key === key)!;
  assert.equal(item(1, 'source_ip'), item(0, 'source_ip'), 'unchanged value: same object');
  assert.notEqual(item(1, 'user'), item(0, 'user'), 'changed value: a new item');
  assert.equal(item(2, 'user'), item(1, 'user'));
  assert.notEqual(item(3, 'source_ip'), item(2, 'source_ip'), 'new key list: nothing reused');
  assert.equal(item(4, 'source_ip'), item(3, 'source_ip'));
  assert.notEqual(item(4, 'other'), item(3, 'other'));
  assert.notEqual(item(5, 'other'), item(4, 'other'), 'keys in another order: new items');
});

test('alert checks alone (blackholed overflow) throw exactly when and what the full build throws', () => {
  const ovflw = makeEvent({ time: '2026-01-05T00:00:02Z' });
  ovflw.Type = EventType.OVFLW;
  const cases: { name: string; events: PEvent[]; scope?: string; noTs?: boolean }[] = [
    { name: 'valid', events: [ev(0, { source_ip: '1.2.3.4' }), ev(1, { source_ip: '5.6.7.8', SourceRange: '5.6.0.0/16' })] },
    { name: 'second event without ip', events: [ev(0, { source_ip: '1.2.3.4' }), ev(1, {}), ev(2, { source_ip: 'bad' })] },
    { name: 'bad ip', events: [ev(0, { source_ip: '1.2.3' })] },
    { name: 'bad declared range', events: [ev(0, { source_ip: '1.2.3.4', SourceRange: '1.2.0.0/99' })] },
    { name: 'empty queue', events: [] },
    { name: 'no timestamps', events: [ev(0, { source_ip: '1.2.3.4' })], noTs: true },
    { name: 'an overflow in the queue', events: [ev(0, { source_ip: '1.2.3.4' }), ovflw] },
    { name: 'Range scope without range', events: [ev(0, { source_ip: '1.2.3.4' })], scope: 'scope:\n type: Range\n' },
    { name: 'Range scope', events: [ev(0, { source_ip: '1.2.3.4', SourceRange: '1.2.0.0/16' })], scope: 'scope:\n type: Range\n' },
  ];
  const outcome = (f: () => unknown): string => {
    try {
      f();
      return 'ok';
    } catch (e) {
      assert.ok(e instanceof AlertBuildError, String(e));
      return e.message;
    }
  };
  for (const c of cases) {
    const row = rowOf(c.events, c.scope);
    if (c.noTs) row.lastTs = null;
    const full = outcome(() => checkOverflowAlert(row));
    assert.equal(outcome(() => validateOverflowAlert(row)), full, c.name);
    if (c.name === 'valid') assert.equal(full, 'ok');
    if (c.name === 'bad ip') assert.match(full, /no valid Meta\.source_ip \('1\.2\.3'\)/);
  }
});

/** The events of `plain` as a pool worker sends them and the main thread rebuilds them (lazily). */
function pooled(plain: PEvent[]): PEvent[] {
  const labels = new Map([['type', 'syslog']]);
  const w = new PourRecordWriter({ raw: false, parsed: false, enriched: false });
  const routes = new PreparedRoutes();
  for (const e of plain) {
    routes.clear().push(0, 'k', undefined, undefined);
    w.add(e, routes);
  }
  const out: PEvent[] = [];
  PourBatch.read(w.finish({ lines: plain.length, parsed: plain.length, unparsed: 0, whitelisted: 0, dropped: 0 }))
    .forEach('src', labels, ExpectMode.TIMEMACHINE, (evt) => out.push(evt!));
  return out;
}

test('alerts from events rebuilt from pour records equal those from plain events, and leave Meta unbuilt', () => {
  const plain = [0, 1, 2].map((i) => {
    const e = newLogEvent('', { mode: ExpectMode.TIMEMACHINE, time: new Date(1_700_000_000_000) });
    e.MarshaledTime = `2026-01-05T00:00:0${i}Z`;
    e.Meta.set('source_ip', '1.2.3.4').set('log_type', 'x').set('target_user', ['root', 'admin', 'admin'][i]!).set('SourceRange', '1.2.0.0/16');
    e.Enriched.set('IsoCode', 'FR').set('ASNumber', '3215');
    return e;
  });
  const lazy = pooled(plain);
  assert.ok(lazy.every((e) => e instanceof PooledEvent));
  // Events with the same line time and no Raw share their Line (read-only after routing).
  assert.equal(lazy[0]!.Line, lazy[1]!.Line);
  const a = buildOverflowAlert(rowOf(plain));
  const b = buildOverflowAlert(rowOf(lazy));
  assert.equal(JSON.stringify(b.lapiAlerts()), JSON.stringify(a.lapiAlerts()));
  validateOverflowAlert(rowOf(lazy));
  for (const e of lazy as PooledEvent[]) {
    assert.equal(e.metaCount(), 4, 'Meta map never built');
    assert.equal(e.GetMeta('target_user'), e === lazy[0] ? 'root' : 'admin');
    assert.equal(e.GetMeta('missing'), '');
  }
  // Defaults shared through the prototype: setting one on an event leaves the others alone.
  lazy[1]!.Whitelisted = true;
  assert.equal(lazy[2]!.Whitelisted, false);
  assert.equal(lazy[2]!.Type, EventType.LOG);
  assert.equal(lazy[2]!.Process, true);
  // Once Meta is read as a map (and maybe changed), the map is what counts.
  const first = lazy[0] as PooledEvent;
  first.Meta.set('target_user', 'changed');
  assert.equal(first.metaCount(), -1);
  assert.equal(first.GetMeta('target_user'), 'changed');
  assert.equal(eventsFromQueue([first])[0]!.meta.find((m) => m.key === 'target_user')!.value, 'changed');
});
