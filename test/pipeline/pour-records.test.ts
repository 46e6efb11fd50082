/**
 * Pour records survive the trip from a worker: every field an event carries after parsing
 * comes back equal (maps with their order, times, stage), routes too, with the clock parsed
 * from MarshaledTime; distinct / cancel_on outcomes evaluated in the worker come back per
 * route; events no scenario wants come back as clock-only records without an event object;
 * events without a usable clock as counted-only records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpectMode, newLogEvent, PEvent } from '../../src/core/event.js';
import { parseRFC3339, type GoTime } from '../../src/core/gotime.js';
import { PourBatch, PourRecordWriter } from '../../src/pipeline/pour-records.js';
import { PreparedRoutes } from '../../src/scenarios/engine.js';
import { compileExpr } from '../../src/expr/index.js';
import type { ScenarioSpec } from '../../src/config/scenario.js';

const COUNTS = { lines: 10, parsed: 7, unparsed: 2, whitelisted: 1, dropped: 0 };

function routes(...rs: [number, string][]): PreparedRoutes {
  const r = new PreparedRoutes();
  for (const [i, k] of rs) r.push(i, k, undefined, undefined);
  return r;
}

interface Rec { evt: PEvent | null; now: GoTime | null; mt: string; routes: { index: number; key: string; distinct: unknown; cancel: unknown }[] }

function records(buf: Uint8Array, src: string, labels: Map<string, string>, mode: number): { batch: PourBatch; recs: Rec[] } {
  const batch = PourBatch.read(buf);
  const recs: Rec[] = [];
  batch.forEach(src, labels, mode, (evt, now, mt, r) => {
    const rs = [];
    for (let j = 0; j < r.count; j++) rs.push({ index: r.index[j]!, key: r.key[j]!, distinct: r.distinct[j], cancel: r.cancel[j] });
    recs.push({ evt, now, mt, routes: rs });
  });
  return { batch, recs };
}

function sshEvent(labels: Map<string, string>): PEvent {
  const a = newLogEvent('Feb 12 14:10:21 host sshd[1]: Failed password for root from 8.8.8.8 port 22 ssh2 é😀', { src: '/var/log/auth.log', labels, time: new Date(1_700_000_000_123), mode: ExpectMode.TIMEMACHINE });
  a.Stage = 's02-enrich';
  a.Time = new Date(1_700_000_001_456);
  a.MarshaledTime = '2026-02-12T14:10:21.5+01:00';
  a.StrTime = 'Feb 12 14:10:21';
  a.StrTimeFormat = '';
  a.Process = true;
  a.Parsed.set('program', 'sshd').set('message', 'Failed password…').set('empty', '');
  a.Enriched.set('MarshaledTime', '2026-02-12T14:10:21Z').set('ASNumber', '15169').set('IsoCode', 'US');
  a.Meta.set('source_ip', '8.8.8.8').set('service', 'ssh');
  return a;
}

test('pour records: round trip of routed, clock-only and clockless events, with counts', () => {
  const labels = new Map([['type', 'syslog']]);
  const a = sshEvent(labels);
  const b = newLogEvent('other', { src: '/var/log/auth.log', labels });
  b.MarshaledTime = '2026-02-12T14:10:22Z';
  const c = newLogEvent('no time', { labels });
  c.MarshaledTime = 'not a time';

  const w = new PourRecordWriter();
  w.add(a, routes([0, '8.8.8.8'], [3, '']));
  w.add(b, routes());
  w.add(c, routes([1, 'x']));
  const buf = w.finish(COUNTS);
  assert.equal(buf.buffer.byteLength, buf.byteLength, 'a buffer of its own (movable)');

  const { batch, recs } = records(buf, '/var/log/auth.log', labels, ExpectMode.TIMEMACHINE);
  assert.deepEqual(batch.counts, COUNTS);
  assert.equal(batch.events, 3);
  const [ra, rb, rc] = recs;
  assert.deepEqual(ra!.routes, [{ index: 0, key: '8.8.8.8', distinct: undefined, cancel: undefined }, { index: 3, key: '', distinct: undefined, cancel: undefined }]);
  assert.deepEqual(ra!.now, parseRFC3339(a.MarshaledTime));
  assert.equal(ra!.mt, a.MarshaledTime);
  const e = ra!.evt!;
  assert.equal(e.Line.Raw, a.Line.Raw);
  assert.equal(e.Line.Src, '/var/log/auth.log');
  assert.equal(e.Line.Time.getTime(), 1_700_000_000_123);
  assert.deepEqual(e.Line.Labels, labels);
  assert.notEqual(e.Line.Labels, labels, 'not the caller\'s labels map');
  assert.equal(e.Time!.getTime(), 1_700_000_001_456);
  for (const k of ['Stage', 'MarshaledTime', 'StrTime', 'StrTimeFormat', 'ExpectMode', 'Type', 'Whitelisted', 'Process'] as const) assert.equal(e[k], a[k], k);
  assert.deepEqual([...e.Parsed], [...a.Parsed]);
  assert.deepEqual([...e.Enriched], [...a.Enriched]);
  assert.deepEqual([...e.Meta], [...a.Meta]);
  // No scenario wants b: a clock, no event object.
  assert.equal(rb!.evt, null);
  assert.deepEqual(rb!.routes, []);
  assert.deepEqual(rb!.now, parseRFC3339('2026-02-12T14:10:22Z'));
  // c has no usable clock: counted only, its text kept for the warning.
  assert.deepEqual(rc, { evt: null, now: null, mt: 'not a time', routes: [] });

  // The writer starts over after finish().
  const empty = records(w.finish({ lines: 0, parsed: 0, unparsed: 0, whitelisted: 0, dropped: 0 }), 's', labels, 0);
  assert.equal(empty.batch.events, 0);
  assert.deepEqual(empty.recs, []);
});

test('pour records: events of a batch share one clock object per time and one labels map', () => {
  const labels = new Map([['type', 'syslog']]);
  const w = new PourRecordWriter();
  for (let i = 0; i < 3; i++) w.add(sshEvent(labels), routes([0, 'k']));
  const { recs } = records(w.finish(COUNTS), 's', labels, 1);
  assert.equal(recs[0]!.now, recs[2]!.now);
  assert.equal(recs[0]!.evt!.Line.Labels, recs[1]!.evt!.Line.Labels);
});

test('pour records: fields nothing reads on the main thread are left out', () => {
  const labels = new Map([['type', 'nginx']]);
  const a = sshEvent(labels);
  a.Enriched.set('Latitude', '1.5').set('IsInEU', 'false');
  const full = new PourRecordWriter();
  full.add(a, routes([1, 'k']));
  const lean = new PourRecordWriter({ raw: false, parsed: false, enriched: false });
  lean.add(a, routes([1, 'k']));
  const f = full.finish(COUNTS);
  const l = lean.finish(COUNTS);
  assert.ok(l.length < f.length);
  const e = records(l, 's', labels, 0).recs[0]!.evt!;
  assert.equal(e.Line.Raw, '');
  assert.equal(e.Parsed.size, 0);
  assert.deepEqual([...e.Meta], [...a.Meta]);
  // Only what the alert builder reads of Enriched.
  assert.deepEqual(Object.fromEntries(e.Enriched), { ASNumber: '15169', IsoCode: 'US', Latitude: '1.5' });
  assert.equal(e.MarshaledTime, a.MarshaledTime);
});

test('pour records: distinct and cancel_on are evaluated in the writer, per route', () => {
  const ex = (s: string) => compileExpr(s, { env: ['evt'] });
  const spec = (o: Partial<ScenarioSpec>) => ({ type: 'leaky', distinct: null, cancelOn: null, ...o }) as unknown as ScenarioSpec;
  const scenarios = [
    spec({ distinct: ex('evt.Meta.source_ip'), cancelOn: ex("evt.Meta.service == 'ssh'") }),
    spec({ distinct: ex("evt.Meta.nope + 'x'"), cancelOn: ex("evt.Meta.service == 'x'") }),
    spec({ distinct: ex('evt.Overflow.Mapkey'), cancelOn: ex('evt.Overflow.Reprocess') }),
    spec({ type: 'trigger', distinct: ex('evt.Meta.source_ip'), cancelOn: ex('true') }),
    spec({}),
  ];
  const labels = new Map([['type', 'syslog']]);
  const a = sshEvent(labels);
  const w = new PourRecordWriter(undefined, scenarios);
  w.add(a, routes([0, 'a'], [1, 'b'], [2, 'c'], [3, 'd'], [4, 'e']));
  const rs = records(w.finish(COUNTS), 's', labels, 1).recs[0]!.routes;
  assert.deepEqual(rs[0], { index: 0, key: 'a', distinct: '8.8.8.8', cancel: true });
  assert.deepEqual(rs[1], { index: 1, key: 'b', distinct: 'x', cancel: false });
  // A failing distinct accepts the event (null: nothing to compare); a failing cancel_on carries its message.
  assert.equal(rs[2]!.distinct, null);
  assert.equal(typeof rs[2]!.cancel, 'string');
  assert.ok((rs[2]!.cancel as string).length > 0);
  // Triggers overflow before distinct / cancel_on.
  assert.deepEqual(rs[3], { index: 3, key: 'd', distinct: null, cancel: false });
  assert.deepEqual(rs[4], { index: 4, key: 'e', distinct: null, cancel: false });
});

test('pour records: a buffer that is not one is refused', () => {
  assert.throws(() => PourBatch.read(new Uint8Array(8)), /truncated/);
  assert.throws(() => PourBatch.read(new Uint8Array(64)), /magic/);
  const w = new PourRecordWriter();
  const buf = w.finish(COUNTS);
  assert.throws(() => PourBatch.read(buf.subarray(0, buf.length - 1)), /sizes/);
});

test('pour records: lazy events (no expression reaches a whole event) read like plain ones', () => {
  const labels = new Map([['type', 'syslog']]);
  const a = sshEvent(labels);
  const needs = { raw: true, parsed: true, enriched: true };
  const lazyW = new PourRecordWriter(needs);
  const plainW = new PourRecordWriter({ ...needs, wholeEvents: true });
  lazyW.add(a, routes([0, 'k']));
  plainW.add(a, routes([0, 'k']));
  const lazy = records(lazyW.finish(COUNTS), 's', labels, ExpectMode.TIMEMACHINE);
  const plain = records(plainW.finish(COUNTS), 's', labels, ExpectMode.TIMEMACHINE);
  assert.equal(lazy.batch.lazy, true);
  assert.equal(plain.batch.lazy, false);
  const l = lazy.recs[0]!.evt!;
  const p = plain.recs[0]!.evt!;
  assert.ok(p instanceof PEvent);
  assert.equal(l instanceof PEvent, false, 'a PooledEvent');
  for (const k of ['Type', 'ExpectMode', 'Whitelisted', 'WhitelistReason', 'Stage', 'Overflow', 'StrTime', 'StrTimeFormat', 'MarshaledTime', 'Process'] as const) assert.equal(l[k], p[k], k);
  assert.deepEqual(l.Line, p.Line);
  assert.equal(l.Time!.getTime(), p.Time!.getTime());
  for (const k of ['Meta', 'Enriched', 'Parsed'] as const) {
    assert.deepEqual([...l[k]], [...p[k]], k);
    assert.equal(l[k], l[k], `${k} is built once`);
  }
  assert.equal(l.GetMeta('source_ip'), '8.8.8.8');
  assert.equal(l.GetType(), 'log');
  // Expressions read it through getters and methods, as they read a PEvent.
  for (const src of ["evt.Meta.source_ip + evt.Parsed.program + evt.Enriched.IsoCode", "evt.GetMeta('service')", "evt.Line.Labels.type + evt.Stage", 'len(evt.Meta)']) {
    const ex = compileExpr(src, { env: ['evt'] });
    assert.deepEqual(ex.run({ evt: l }), ex.run({ evt: p }), src);
  }
  // Assignments replace a map, as on a PEvent.
  l.Meta = new Map([['x', 'y']]);
  assert.equal(l.GetMeta('x'), 'y');
});

test('pour records: map values that repeat, change back and forth or are empty come back as written, across batches', () => {
  const labels = new Map([['type', 'syslog']]);
  // Per event: Parsed entries. Values repeat from the previous event, change, return, are ''
  // for a key never seen before, and the same value appears under several keys.
  const rows: [string, string][][] = [
    [['verb', 'GET'], ['status', '200'], ['empty', '']],
    [['verb', 'GET'], ['status', '404'], ['empty', ''], ['fresh', '']],
    [['verb', 'POST'], ['status', '200'], ['empty', 'now set'], ['fresh', 'GET']],
    [['status', 'GET'], ['verb', 'GET'], ['other', '200'], ['200', '']], // a key first met as a value
  ];
  const w = new PourRecordWriter();
  for (let batch = 0; batch < 2; batch++) {
    for (const row of rows) {
      const e = sshEvent(labels);
      e.Parsed.clear();
      for (const [k, v] of row) e.Parsed.set(k, v);
      w.add(e, routes([0, 'k']));
    }
    const { recs } = records(w.finish(COUNTS), '/var/log/auth.log', labels, ExpectMode.TIMEMACHINE);
    assert.deepEqual(recs.map((r) => [...r.evt!.Parsed]), rows, `batch ${batch}`);
  }
});

test('pour records: keys moving between positions and maps, and repeated or changing event fields, come back as written', () => {
  const labels = new Map([['type', 'syslog']]);
  // Per event: Meta, Enriched, Parsed entries and StrTime. Keys change place from event to
  // event (the writer remembers the key per position), a map grows or shrinks so that the
  // positions of the next map shift, one key appears in two maps, and fields repeat as equal
  // strings built apart (not the same object) or change.
  const rows: { meta: [string, string][]; enr: [string, string][]; parsed: [string, string][]; strTime: string }[] = [
    { meta: [['a', '1'], ['b', '2']], enr: [['IsoCode', 'FR'], ['x', 'y']], parsed: [['p', 'q']], strTime: 'T1' },
    { meta: [['b', '2'], ['a', '1']], enr: [['IsoCode', 'FR']], parsed: [['x', 'y'], ['p', 'q']], strTime: ['T', '1'].join('') },
    { meta: [['a', '1']], enr: [['x', 'z'], ['IsoCode', 'DE']], parsed: [['p', 'q'], ['a', '1']], strTime: 'T2' },
    { meta: [['a', '1'], ['b', '3'], ['c', '']], enr: [], parsed: [['p', 'r']], strTime: 'T2' },
    { meta: [['c', 'a'], ['b', '3'], ['a', 'c']], enr: [['IsoCode', 'DE'], ['x', 'z']], parsed: [], strTime: '' },
  ];
  const w = new PourRecordWriter();
  for (let batch = 0; batch < 2; batch++) {
    rows.forEach((row, i) => {
      const e = sshEvent(labels);
      e.Meta.clear();
      e.Enriched.clear();
      e.Parsed.clear();
      for (const [k, v] of row.meta) e.Meta.set(k, v);
      for (const [k, v] of row.enr) e.Enriched.set(k, v);
      for (const [k, v] of row.parsed) e.Parsed.set(k, v);
      e.StrTime = row.strTime;
      e.Stage = i % 2 === 0 ? 's02-enrich' : 's01-parse';
      w.add(e, routes([0, 'k']));
    });
    const { recs } = records(w.finish(COUNTS), '/var/log/auth.log', labels, ExpectMode.TIMEMACHINE);
    assert.deepEqual(recs.map((r) => ({ meta: [...r.evt!.Meta], enr: [...r.evt!.Enriched], parsed: [...r.evt!.Parsed], strTime: r.evt!.StrTime })), rows, `batch ${batch}`);
    assert.deepEqual(recs.map((r) => r.evt!.Stage), rows.map((_, i) => (i % 2 === 0 ? 's02-enrich' : 's01-parse')));
  }
  // Without the whole Enriched map, only the alert's keys travel, each with its own value.
  const lean = new PourRecordWriter({ raw: false, parsed: false, enriched: false });
  for (const row of rows) {
    const e = sshEvent(labels);
    e.Enriched.clear();
    for (const [k, v] of row.enr) e.Enriched.set(k, v);
    lean.add(e, routes([0, 'k']));
  }
  const { recs } = records(lean.finish(COUNTS), '/var/log/auth.log', labels, ExpectMode.TIMEMACHINE);
  assert.deepEqual(recs.map((r) => r.evt!.Enriched.get('IsoCode')), rows.map((row) => row.enr.find(([k]) => k === 'IsoCode')?.[1]));
  assert.deepEqual(recs.map((r) => r.evt!.Enriched.has('x')), rows.map(() => false));
});

test('pour records: the alert\'s Enriched values share the per-key memory with Meta\'s values, and still come back as written', () => {
  // The lean writer slots an Enriched value of SOURCE_ENRICHED_KEYS by its key's id, as
  // Meta's values are: a key in both maps with the same value, with different values in
  // the two maps, a value repeated or changing from event to event, a key only in Enriched,
  // an empty value, and equal strings built apart.
  const labels = new Map([['type', 'nginx']]);
  const rows: { meta: [string, string][]; enr: [string, string][] }[] = [
    { meta: [['IsoCode', 'FR'], ['ASNNumber', '3215']], enr: [['IsoCode', 'FR'], ['ASNNumber', '3215'], ['ASNOrg', 'Orange']] },
    { meta: [['IsoCode', 'FR'], ['ASNNumber', '3215']], enr: [['IsoCode', 'DE'], ['ASNNumber', ['32', '15'].join('')], ['ASNOrg', 'Orange']] },
    { meta: [['IsoCode', 'DE']], enr: [['IsoCode', 'FR'], ['Latitude', '48.85'], ['Longitude', '2.35']] },
    { meta: [['ASNOrg', 'Orange'], ['IsoCode', 'DE']], enr: [['ASNOrg', 'Free'], ['IsoCode', 'DE'], ['ASNumber', '']] },
    { meta: [], enr: [['ASNOrg', 'Orange'], ['IsoCode', ['D', 'E'].join('')], ['Latitude', '48.85']] },
    { meta: [['IsoCode', 'US']], enr: [] },
  ];
  const w = new PourRecordWriter({ raw: false, parsed: false, enriched: false });
  for (let batch = 0; batch < 2; batch++) {
    for (const row of rows) {
      const e = sshEvent(labels);
      e.Meta.clear();
      e.Enriched.clear();
      for (const [k, v] of row.meta) e.Meta.set(k, v);
      for (const [k, v] of row.enr) e.Enriched.set(k, v);
      w.add(e, routes([0, 'k']));
    }
    const { recs } = records(w.finish(COUNTS), '/var/log/nginx/access.log', labels, ExpectMode.TIMEMACHINE);
    assert.deepEqual(recs.map((r) => [...r.evt!.Meta]), rows.map((row) => row.meta), `batch ${batch}: Meta`);
    const keys = ['ASNumber', 'ASNNumber', 'ASNOrg', 'IsoCode', 'Latitude', 'Longitude'];
    assert.deepEqual(
      recs.map((r) => keys.map((k) => r.evt!.Enriched.get(k))),
      rows.map((row) => keys.map((k) => row.enr.find(([x]) => x === k)?.[1])),
      `batch ${batch}: Enriched`,
    );
  }
});
