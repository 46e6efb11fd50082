/**
 * Statics whose expression is a plain read of an event string field (`evt.Line.Raw`,
 * `evt.Line.Src`, `evt.Line.Module`, `evt.Line.Labels.k`, `evt.StrTime`...) are read
 * directly (statics.ts fieldCopy): held to the plain interpreter, with present, empty and
 * missing values, every target kind, and ParseDate, which runs on "" too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpectMode, newLogEvent, type PEvent } from '../../src/core/event.js';
import { parseEvent } from '../../src/parse/stages.js';
import { referenceParse } from './reference-parse.js';
import { pairedRuntimes } from './compiled-vs-reference.js';

const NOW = new Date('2026-02-01T12:00:00Z');

const RULES = {
  'parsers/s00-raw/raw.yaml': `
name: t/raw
description: field reads
filter: "1 == 1"
onsuccess: next_stage
statics:
  - parsed: message
    expression: evt.Line.Raw
  - meta: src
    expression: evt.Line.Src
  - enriched: module
    expression: evt.Line.Module
  - parsed: type
    expression: evt.Line.Labels.type
  - meta: missing_label
    expression: evt.Line.Labels.nosuch
  - meta: label_index
    expression: evt.Line.Labels['type']
  - meta: stage
    expression: evt.Stage
  - target: evt.StrTime
    expression: evt.Line.Labels.when
  - meta: strtime
    expression: evt.StrTime
  - parsed: strtime_copy
    expression: (evt.StrTime)
`,
  'parsers/s01-parse/p.yaml': `
name: t/date
description: ParseDate on a field read, even ""
statics:
  - method: ParseDate
    expression: evt.StrTime
  - meta: marshaled
    expression: evt.Enriched.MarshaledTime
  - meta: whitelist_reason
    expression: evt.WhitelistReason
`,
};

function snapshot(outcome: string, e: PEvent): unknown {
  return [outcome, e.Stage, e.StrTime, e.MarshaledTime, [...e.Parsed], [...e.Meta], [...e.Enriched]];
}

test('statics reading event string fields write what the expression gives', async () => {
  const { set, rtA, rtB, warnA, warnB } = await pairedRuntimes(RULES, NOW);
  const cases: { line: string; src: string; labels: Record<string, string>; module?: string }[] = [
    { line: 'hello', src: '/var/log/x.log', labels: { type: 'syslog', when: '2026-01-05T10:00:00Z' } },
    { line: '', src: '', labels: { type: '' } },
    { line: 'x', src: 'a', labels: {}, module: '' },
    { line: 'y', src: 'b', labels: { when: 'not a date' }, module: 'journalctl' },
  ];
  for (const c of cases) {
    const mk = (): PEvent => newLogEvent(c.line, { src: c.src, labels: c.labels, time: NOW, mode: ExpectMode.TIMEMACHINE, ...(c.module !== undefined ? { module: c.module } : {}) });
    const a = mk();
    const b = mk();
    assert.deepEqual(snapshot(parseEvent(set, a, rtA), a), snapshot(referenceParse(set, b, rtB), b), JSON.stringify(c));
  }
  assert.deepEqual(rtA.counters, rtB.counters);
  assert.deepEqual(warnA, warnB);
  // The reads reach their fields: a spot check beyond the comparison.
  const e = newLogEvent('hello', { src: '/var/log/x.log', labels: { type: 'syslog', when: '2026-01-05T10:00:00Z' }, time: NOW, mode: ExpectMode.TIMEMACHINE });
  assert.equal(parseEvent(set, e, rtA), 'parsed');
  assert.equal(e.Parsed.get('message'), 'hello');
  assert.equal(e.Meta.get('src'), '/var/log/x.log');
  assert.equal(e.Parsed.get('type'), 'syslog');
  assert.equal(e.Meta.get('label_index'), 'syslog');
  assert.equal(e.Meta.has('missing_label'), false);
  assert.equal(e.Meta.get('stage'), 's00-raw');
  assert.equal(e.Meta.get('strtime'), '2026-01-05T10:00:00Z');
  assert.equal(e.Parsed.get('strtime_copy'), '2026-01-05T10:00:00Z');
  assert.equal(e.Meta.get('marshaled'), '2026-01-05T10:00:00Z');
});
