/**
 * Expression statics that are a pure function of one or two map entries remember their last
 * inputs and result (statics.ts memoInputs). Held to the plain interpreter over a stream of
 * events whose values repeat, change, go missing, make the expression fail, return a
 * non-string (an integer is remembered, a float drops the event, an array warns each time).
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
description: inputs from the labels
filter: "1 == 1"
onsuccess: next_stage
statics:
  - parsed: ext
    expression: evt.Line.Labels.ext
  - parsed: status
    expression: evt.Line.Labels.status
  - meta: path
    expression: evt.Line.Labels.path
`,
  'parsers/s01-parse/p.yaml': `
name: t/memo
description: memoisable statics
statics:
  - meta: static_ressource
    expression: "Upper(evt.Parsed.ext) in ['.CSS', '.JS'] ? 'true' : 'false'"
  - meta: impact
    expression: "evt.Parsed.status in ['404', '403'] ? 'false' : 'true'"
  - parsed: file
    expression: evt.Meta.path + evt.Parsed.ext
  - meta: ext_len
    expression: len(evt.Parsed.ext)
  - meta: fmt
    expression: "evt.Parsed.ts matches '[+-][0-9]{4}$' ? 'zone' : (evt.Parsed.ts matches '^[0-9-]+T' ? 'local' : '')"
  - meta: list
    expression: "filter([evt.Parsed.status], {# == 'list'})"
  - meta: ratio
    expression: "evt.Parsed.status == 'float' ? 1 / 3 : 'x'"
  - meta: slice
    expression: "evt.Parsed.status[1:2]"
  - meta: lower
    expression: Lower(evt.Meta.path)
`,
};

function snapshot(outcome: string, e: PEvent): unknown {
  return [outcome, e.Stage, [...e.Parsed], [...e.Meta], [...e.Enriched]];
}

test('memoised expression statics write what the plain interpreter writes, line after line', async () => {
  const { set, rtA, rtB, warnA, warnB } = await pairedRuntimes(RULES, NOW);
  const rows: Record<string, string>[] = [
    { ext: '.css', status: '200', path: '/A' },
    { ext: '.css', status: '200', path: '/A' },
    { ext: '.js', status: '404', path: '/A' },
    { ext: '.js', status: '404', path: '/b' },
    { ext: '', status: '', path: '' },
    { ext: '', status: '', path: '' },
    { status: 'list', path: '/b' },
    { status: 'list', path: '/b' },
    { status: 'float', path: '/b' },
    { status: 'float', path: '/b' },
    { ext: '.PNG', status: 'x', path: '/Ü' },
    { ext: '.PNG', status: 'x', path: '/Ü' },
    { ext: '.css', status: '200', path: '/A' },
  ];
  let n = 0;
  for (const labels of rows) {
    const mk = (): PEvent => newLogEvent(`line ${n}`, { src: 's', labels: { type: 'x', ...labels }, time: NOW, mode: ExpectMode.TIMEMACHINE });
    const a = mk();
    const b = mk();
    assert.deepEqual(snapshot(parseEvent(set, a, rtA), a), snapshot(referenceParse(set, b, rtB), b), `row ${n}: ${JSON.stringify(labels)}`);
    n++;
  }
  assert.deepEqual(rtA.counters, rtB.counters);
  assert.deepEqual(warnA, warnB);
  // The stream did exercise the failing paths (warnings per evaluation, drops).
  assert.ok(warnA.length >= 2, 'array and slice warnings');
  assert.ok(rtA.counters.dropped >= 2 || rtA.counters.staticErrors >= 2, 'float results drop, every time');
});
