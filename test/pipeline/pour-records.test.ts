/**
 * Pour records survive the trip from a worker: every field an event carries after parsing
 * comes back equal (maps with their order, times, stage), routes too, and events that no
 * scenario wants come back as clock-only records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpectMode, newLogEvent } from '../../src/core/event.js';
import { decodePourRecords, PourRecordWriter } from '../../src/pipeline/pour-records.js';

test('pour records: round trip of routed and clock-only events, with counts', () => {
  const labels = new Map([['type', 'syslog']]);
  const a = newLogEvent('Feb 12 14:10:21 host sshd[1]: Failed password for root from 8.8.8.8 port 22 ssh2 é😀', { src: '/var/log/auth.log', labels, time: new Date(1_700_000_000_123), mode: ExpectMode.TIMEMACHINE });
  a.Stage = 's02-enrich';
  a.Time = new Date(1_700_000_001_456);
  a.MarshaledTime = '2026-02-12T14:10:21Z';
  a.StrTime = 'Feb 12 14:10:21';
  a.StrTimeFormat = '';
  a.Process = true;
  a.Parsed.set('program', 'sshd').set('message', 'Failed password…').set('empty', '');
  a.Enriched.set('MarshaledTime', '2026-02-12T14:10:21Z');
  a.Meta.set('source_ip', '8.8.8.8').set('service', 'ssh');
  const b = newLogEvent('other', { src: '/var/log/auth.log', labels });
  b.MarshaledTime = '2026-02-12T14:10:22Z';

  const w = new PourRecordWriter();
  w.add(a, [[0, '8.8.8.8'], [3, '']]);
  w.add(b, []);
  const buf = w.finish({ lines: 10, parsed: 7, unparsed: 2, whitelisted: 1, dropped: 0 });
  assert.ok(buf.buffer.byteLength === buf.byteLength, 'a buffer of its own (movable)');

  const d = decodePourRecords(buf, '/var/log/auth.log', labels, ExpectMode.TIMEMACHINE);
  assert.deepEqual(d.counts, { lines: 10, parsed: 7, unparsed: 2, whitelisted: 1, dropped: 0 });
  assert.equal(d.events.length, 2);
  const [ra, rb] = d.events;
  assert.deepEqual(ra!.routes, [[0, '8.8.8.8'], [3, '']]);
  const e = ra!.evt;
  assert.equal(e.Line.Raw, a.Line.Raw);
  assert.equal(e.Line.Src, '/var/log/auth.log');
  assert.equal(e.Line.Time.getTime(), 1_700_000_000_123);
  assert.deepEqual(e.Line.Labels, labels);
  assert.notEqual(e.Line.Labels, labels, 'each event owns its labels map');
  assert.equal(e.Time!.getTime(), 1_700_000_001_456);
  for (const k of ['Stage', 'MarshaledTime', 'StrTime', 'StrTimeFormat', 'ExpectMode', 'Type', 'Whitelisted', 'Process'] as const) assert.equal(e[k], a[k], k);
  assert.deepEqual([...e.Parsed], [...a.Parsed]);
  assert.deepEqual([...e.Enriched], [...a.Enriched]);
  assert.deepEqual([...e.Meta], [...a.Meta]);
  assert.deepEqual(rb!.routes, []);
  assert.equal(rb!.evt.MarshaledTime, '2026-02-12T14:10:22Z');

  // The writer starts over after finish().
  const empty = decodePourRecords(w.finish({ lines: 0, parsed: 0, unparsed: 0, whitelisted: 0, dropped: 0 }), 's', labels, 0);
  assert.deepEqual(empty.events, []);
});

test('pour records: fields nothing reads on the main thread are left out', () => {
  const labels = new Map([['type', 'nginx']]);
  const a = newLogEvent('GET / HTTP/1.1', { labels });
  a.Parsed.set('verb', 'GET');
  a.Meta.set('http_verb', 'GET');
  a.MarshaledTime = '2026-02-12T14:10:21Z';
  const full = new PourRecordWriter();
  full.add(a, [[1, 'k']]);
  const lean = new PourRecordWriter({ raw: false, parsed: false });
  lean.add(a, [[1, 'k']]);
  const counts = { lines: 1, parsed: 1, unparsed: 0, whitelisted: 0, dropped: 0 };
  const f = full.finish(counts);
  const l = lean.finish(counts);
  assert.ok(l.length < f.length);
  const e = decodePourRecords(l, 's', labels, 0).events[0]!.evt;
  assert.equal(e.Line.Raw, '');
  assert.equal(e.Parsed.size, 0);
  assert.deepEqual([...e.Meta], [['http_verb', 'GET']]);
  assert.equal(e.MarshaledTime, '2026-02-12T14:10:21Z');
});
