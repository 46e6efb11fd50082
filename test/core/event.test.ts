import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventType, newLogEvent, PEvent, reuseLogEvent, type Line } from '../../src/core/event.js';

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
  assert.deepEqual(Object.keys(used), Object.keys(fresh));
  assert.deepEqual(used, fresh);
  assert.equal(used.Line, line);
  assert.equal(used.GetType(), 'log');
});

test('PEvent.reset: the maps are new ones, not the ones a previous holder may have kept', () => {
  const evt = new PEvent(lineOf('a'));
  const parsed = evt.Parsed;
  parsed.set('x', '1');
  PEvent.reset(evt, lineOf('b'));
  assert.notEqual(evt.Parsed, parsed);
  assert.equal(evt.Parsed.size, 0);
  assert.equal(parsed.get('x'), '1');
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
  assert.deepEqual(evt, fresh);
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
