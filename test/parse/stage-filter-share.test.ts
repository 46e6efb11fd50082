/**
 * Shared filter evaluations of a stage (stages.ts): top-level filters that are pure functions
 * of one map entry are looked up per value of that entry. Held to the plain interpreter
 * (reference-parse.ts), with nodes that rewrite the entry mid-stage (a static, a child grok),
 * filters that error for some values, filters on another entry, and values repeated across
 * events in seeded orders (rows reused), so every outcome, field, counter and warning must be
 * the same as evaluating each filter each time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpectMode, newLogEvent, type PEvent } from '../../src/core/event.js';
import { parseEvent, type NodeTrace } from '../../src/parse/stages.js';
import { referenceParse } from './reference-parse.js';
import { pairedRuntimes } from './compiled-vs-reference.js';
import { mulberry32 as rng } from '../../fixtures/seeded.js';

const NOW = new Date('2026-02-01T12:00:00Z');

const node = (name: string, filter: string, rest: string): string =>
  `name: ${name}\ndescription: d\nfilter: ${JSON.stringify(filter)}\n${rest}`;

const RULES = {
  'parsers/s00-raw/raw.yaml': `
name: t/raw
description: program and message
filter: "1 == 1"
onsuccess: next_stage
grok:
  pattern: '^%{NOTSPACE:program} %{GREEDYDATA:message}$'
  apply_on: Line.Raw
`,
  // Rewrites program and goes on (continue): the later filters must see "beta".
  'parsers/s01-parse/a.yaml': node('a-rewrite', "evt.Parsed.program startsWith 're'", 'statics:\n  - parsed: program\n    value: beta\n  - meta: rewritten\n    value: "yes"\n'),
  'parsers/s01-parse/b.yaml': node('b-alpha', "evt.Parsed.program == 'alpha'", 'onsuccess: next_stage\nstatics:\n  - meta: who\n    value: alpha\n'),
  // Errors for programs shorter than 5 characters (index out of range).
  'parsers/s01-parse/c.yaml': node('c-err', 'evt.Parsed.program[4] == 120', 'onsuccess: next_stage\nstatics:\n  - meta: who\n    value: err\n'),
  // A continue node whose child grok may capture a new program while the node itself fails.
  'parsers/s01-parse/d.yaml': node('d-gamma', "evt.Parsed.program in ['gamma', 'delta']", `
nodes:
  - grok:
      pattern: '^%{WORD:program}!$'
      apply_on: message
  - grok:
      pattern: '^never$'
      apply_on: message
`),
  'parsers/s01-parse/e.yaml': node('e-meta1', "evt.Meta.rewritten == 'yes'", 'statics:\n  - meta: seen\n    value: "1"\n'),
  'parsers/s01-parse/f.yaml': node('f-beta', "evt.Parsed.program in ['beta', 'zeta']", 'onsuccess: next_stage\nstatics:\n  - meta: who\n    expression: evt.Parsed.program\n'),
  'parsers/s01-parse/g.yaml': node('g-meta2', "evt.Meta.rewritten != 'yes'", 'statics:\n  - meta: seen2\n    value: "1"\n'),
  'parsers/s01-parse/h.yaml': node('h-two-reads', "evt.Parsed.program == 'omega' && evt.Parsed.message contains 'x'", 'onsuccess: next_stage\nstatics:\n  - meta: who\n    value: omega\n'),
  'parsers/s01-parse/i.yaml': node('i-len', 'len(evt.Parsed.program) > 6', 'onsuccess: next_stage\nstatics:\n  - meta: who\n    value: long\n'),
  'parsers/s02-enrich/z.yaml': node('z-last', '1 == 1', 'statics:\n  - meta: done\n    value: "1"\n'),
};

const LINES = [
  'alpha one', 'rex two', 'beta three', 'gamma zeta!', 'gamma nothing', 'delta alpha!', 'omega x', 'omega y',
  'abcdx q', 'ab q', 'zeta q', 'longprogram q', 'nospace', 'revert x', 'gammax q', ' lead',
];

function snapshot(outcome: string, e: PEvent): unknown {
  return [outcome, e.Stage, e.Process, [...e.Parsed], [...e.Meta], [...e.Enriched]];
}

test('stage filters shared per entry value give the plain interpreter\'s results, counters and warnings', async () => {
  const { set, rtA, rtB, warnA, warnB } = await pairedRuntimes(RULES, NOW);
  const r = rng(20261128);
  const outcomes = new Map<string, number>();
  for (let round = 0; round < 40; round++) {
    const line = LINES[Math.floor(r() * LINES.length)]!;
    const mk = (): PEvent => newLogEvent(line, { src: 'x.log', labels: { type: 't' }, time: NOW, mode: ExpectMode.TIMEMACHINE });
    const a = mk();
    const b = mk();
    const oa = parseEvent(set, a, rtA);
    const ob = referenceParse(set, b, rtB);
    assert.deepEqual(snapshot(oa, a), snapshot(ob, b), line);
    const who = `${oa}:${a.Meta.get('who') ?? ''}`;
    outcomes.set(who, (outcomes.get(who) ?? 0) + 1);
  }
  for (const line of LINES) {
    const a = newLogEvent(line, { src: 'x.log', labels: { type: 't' }, time: NOW, mode: ExpectMode.TIMEMACHINE });
    const b = newLogEvent(line, { src: 'x.log', labels: { type: 't' }, time: NOW, mode: ExpectMode.TIMEMACHINE });
    assert.deepEqual(snapshot(parseEvent(set, a, rtA), a), snapshot(referenceParse(set, b, rtB), b), line);
  }
  assert.deepEqual(rtA.counters, rtB.counters);
  assert.deepEqual(warnA, warnB);
  // The fixture reaches the paths it is meant to: errors, a rewrite, a child's capture.
  assert.ok(rtA.counters.filterErrors > 0, 'some filter errored');
  const check = (line: string, who: string | undefined, outcome = 'parsed'): void => {
    const e = newLogEvent(line, { src: 'x.log', labels: { type: 't' }, time: NOW, mode: ExpectMode.TIMEMACHINE });
    assert.equal(parseEvent(set, e, rtA), outcome, line);
    assert.equal(e.Meta.get('who'), who, line);
  };
  check('rex two', 'beta'); // rewritten by a-rewrite, then f-beta sees "beta"
  check('gamma zeta!', 'zeta'); // d-gamma's child captured "zeta" although d-gamma failed
  check('gamma nothing', undefined, 'unparsed');
  check('abcdx q', 'err'); // c-err: program[4] is 'x' (120)
  check('longprogram q', 'long');
  check('omega x', 'omega');
  check('omega y', undefined, 'unparsed');
});

test('the trace lists every node evaluation as before, shared or not', async () => {
  const { set, rtA: rt } = await pairedRuntimes(RULES, NOW);
  const run = (line: string): string[] => {
    const trace: NodeTrace[] = [];
    parseEvent(set, newLogEvent(line, { src: 'x.log', labels: { type: 't' }, time: NOW, mode: ExpectMode.TIMEMACHINE }), rt, trace);
    return trace.filter((t) => t.stage === 's01-parse').map((t) => `${t.name}:${t.success}`);
  };
  // Twice each: the second run reads the remembered rows.
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(run('rex two'), ['a-rewrite:true', 'b-alpha:false', 'c-err:false', 'd-gamma:false', 'e-meta1:true', 'f-beta:true']);
    assert.deepEqual(run('gamma zeta!'), ['a-rewrite:false', 'b-alpha:false', 'c-err:false', 'd-gamma:false', 'e-meta1:false', 'f-beta:true']);
  }
});
