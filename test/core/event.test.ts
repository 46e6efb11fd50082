import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventType, newLogEvent, PEvent, reuseLogEvent, type Line } from '../../src/core/event.js';
import { FieldMap } from '../../src/core/field-map.js';

/** A value of the same kind as `v` that differs from it. */
function changed(v: unknown): unknown {
  if (typeof v === 'string') return `${v}-changed`;
  if (typeof v === 'number') return v + 7;
  if (typeof v === 'boolean') return !v;
  if (v instanceof Map) return new Map([...v, ['changed', 'yes']]);
  if (v instanceof Date) return new Date(v.getTime() + 1000);
  if (v === null) return { changed: true };
  if (typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) o[k] = changed(x);
    return o;
  }
  throw new Error(`no changed value for ${typeof v}`);
}

/** Sets every own property of `evt` (nested Line included) to a value unlike its current one. */
function dirty(evt: PEvent): void {
  const o = evt as unknown as Record<string, unknown>;
  for (const k of Object.keys(o)) o[k] = k === 'Line' ? evt.Line : changed(o[k]);
  const line = evt.Line as unknown as Record<string, unknown>;
  for (const k of Object.keys(line)) line[k] = changed(line[k]);
  evt.Parsed.set('program', 'sshd');
  evt.Meta.set('source_ip', '192.0.2.1');
  evt.Enriched.set('IsoCode', 'FR');
}

const STRING_MAPS = ['Parsed', 'Enriched', 'Meta'] as const;

/**
 * deepEqual of a reset event and a fresh one: a reset event's string maps are FieldMaps
 * (empty, as the fresh event's Maps), everything else equal as is.
 */
function assertSameAsFresh(evt: PEvent, fresh: PEvent): void {
  assert.deepEqual(Object.keys(evt), Object.keys(fresh));
  for (const k of STRING_MAPS) {
    assert.ok(evt[k] instanceof FieldMap, `${k} is a FieldMap`);
    assert.deepEqual([...evt[k]], [...fresh[k]], k);
    assert.equal(evt[k].size, fresh[k].size, k);
  }
  const rest = (e: PEvent): Record<string, unknown> => {
    const o: Record<string, unknown> = { ...e };
    for (const k of STRING_MAPS) delete o[k];
    return o;
  };
  assert.deepEqual(rest(evt), rest(fresh));
}

function lineOf(raw: string): Line {
  return { Raw: raw, Src: '/var/log/auth.log', Time: new Date(0), Labels: new Map([['type', 'syslog']]), Module: 'file', Process: true };
}

test('PEvent.reset: every own property back to what a fresh event has', () => {
  const used = new PEvent(lineOf('first'));
  dirty(used);
  // A sanity check of dirty(): no own property may still equal a fresh event's.
  const fresh = new PEvent(lineOf('second'));
  for (const k of Object.keys(fresh)) {
    if (k === 'Line') continue;
    assert.notDeepEqual((used as unknown as Record<string, unknown>)[k], (fresh as unknown as Record<string, unknown>)[k], k);
  }
  const line = lineOf('second');
  assert.equal(PEvent.reset(used, line), used);
  assertSameAsFresh(used, fresh);
  assert.equal(used.Line, line);
  // And again, now that the maps are FieldMaps emptied in place.
  dirty(used);
  for (const k of STRING_MAPS) assert.ok(used[k].size > 0);
  assert.equal(PEvent.reset(used, lineOf('second')), used);
  assert.equal(used.GetType(), 'log');
});

test('PEvent.reset: plain Maps are left to whoever kept them; FieldMaps are emptied in place', () => {
  const evt = new PEvent(lineOf('a'));
  const parsed = evt.Parsed;
  parsed.set('x', '1');
  PEvent.reset(evt, lineOf('b'));
  assert.notEqual(evt.Parsed, parsed);
  assert.ok(evt.Parsed instanceof FieldMap);
  assert.equal(evt.Parsed.size, 0);
  assert.equal(parsed.get('x'), '1');
  // From the second reset on, the same maps: nothing allocated per line.
  const maps = STRING_MAPS.map((k) => evt[k]);
  for (const m of maps) m.set('y', '2');
  PEvent.reset(evt, lineOf('c'));
  assert.deepEqual(STRING_MAPS.map((k) => evt[k]), maps);
  for (const m of maps) {
    assert.equal(m.size, 0);
    assert.equal(m.get('y'), undefined);
  }
});

test('reuseLogEvent: same event as newLogEvent, into the old object', () => {
  const labels = new Map([['type', 'nginx']]);
  const time = new Date(1_700_000_000_000);
  const evt = newLogEvent('old line', { src: 'x.log', labels, time: new Date(5), mode: 0 });
  dirty(evt);
  evt.Type = EventType.OVFLW;
  const again = reuseLogEvent(evt, 'new line', 'y.log', 'file', labels, time, 1);
  assert.equal(again, evt);
  const fresh = newLogEvent('new line', { src: 'y.log', module: 'file', labels, time, mode: 1 });
  assert.deepEqual(Object.keys(evt.Line), Object.keys(fresh.Line));
  assertSameAsFresh(evt, fresh);
  // A second reuse (maps emptied in place) gives the same again.
  evt.Parsed.set('program', 'x');
  evt.Meta.set('log_type', 'y');
  reuseLogEvent(evt, 'new line', 'y.log', 'file', labels, time, 1);
  assertSameAsFresh(evt, fresh);
  // The label copy is the event's own, never the caller's map.
  assert.notEqual(evt.Line.Labels, labels);
});

test('reuseLogEvent: a label copy changed by a static is copied again', () => {
  const labels = new Map([['type', 'syslog']]);
  const evt = newLogEvent('a', { labels });
  const copy = evt.Line.Labels;
  reuseLogEvent(evt, 'b', '', 'file', labels, new Date(0), 0);
  assert.equal(evt.Line.Labels, copy, 'unchanged copy kept');
  evt.Line.Labels.set('extra', '1');
  reuseLogEvent(evt, 'c', '', 'file', labels, new Date(0), 0);
  assert.deepEqual([...evt.Line.Labels], [['type', 'syslog']]);
  evt.Line.Labels.set('type', 'other');
  reuseLogEvent(evt, 'd', '', 'file', labels, new Date(0), 0);
  assert.equal(evt.Line.Labels.get('type'), 'syslog');
  // Other labels than the previous line's: a copy of the new ones.
  reuseLogEvent(evt, 'e', '', 'file', new Map([['type', 'nginx']]), new Date(0), 0);
  assert.equal(evt.Line.Labels.get('type'), 'nginx');
});
