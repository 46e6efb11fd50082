/**
 * The field-needs analysis that lets pour records leave out Line.Raw, Parsed and the Enriched
 * keys alerts do not read: the shipped rules need none of them; an expression that runs on
 * the main thread and names a field brings it back (distinct / cancel_on do not: the worker
 * evaluates them); anything that could reach a whole event brings everything back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpr } from '../../src/expr/index.js';
import type { ScenarioSpec } from '../../src/config/scenario.js';
import type { ParserSet, ParserNode } from '../../src/parse/types.js';
import { ALL_FIELDS, fieldNeeds } from '../../src/pipeline/field-needs.js';
import { DetectionEngine } from '../../src/pipeline/engine.js';

const NO_POST: ParserSet = { stages: [], byStage: new Map() };
const expr = (src: string, env: string[] = ['evt']) => compileExpr(src, { env });

function scenario(over: Partial<Record<'distinct' | 'cancelOn' | 'overflowFilter' | 'condition', string>>, scope?: string): ScenarioSpec {
  return {
    distinct: over.distinct ? expr(over.distinct) : null,
    cancelOn: over.cancelOn ? expr(over.cancelOn) : null,
    overflowFilter: over.overflowFilter ? expr(over.overflowFilter, ['queue', 'signal', 'leaky']) : null,
    condition: over.condition ? expr(over.condition, ['queue', 'leaky', 'evt']) : null,
    scope: { type: 'Ip', expression: scope ? expr(scope) : null },
    bayesianConditions: [],
  } as unknown as ScenarioSpec;
}

test('shipped rules: the main thread reads neither Line.Raw nor Parsed', async () => {
  const e = await DetectionEngine.create({ mode: 'replay', geoipDir: null, warn: () => {} });
  assert.deepEqual(fieldNeeds(e.scenarios, e.rules.postoverflows.set), { raw: false, parsed: false, enriched: false });
});

test('main-thread expressions that name a field bring it back', () => {
  assert.deepEqual(fieldNeeds([scenario({}, 'evt.Parsed.user')], NO_POST), { raw: false, parsed: true, enriched: false });
  assert.deepEqual(fieldNeeds([scenario({}, "evt.Line.Raw + evt.Enriched.IsoCode")], NO_POST), { raw: true, parsed: false, enriched: true });
  assert.deepEqual(fieldNeeds([scenario({ condition: "evt.Parsed.x == 'y'" })], NO_POST), { raw: false, parsed: true, enriched: false });
});

test('distinct and cancel_on run in the worker: they bring nothing back', () => {
  assert.deepEqual(fieldNeeds([scenario({ distinct: 'evt.Parsed.request' })], NO_POST), { raw: false, parsed: false, enriched: false });
  assert.deepEqual(fieldNeeds([scenario({ cancelOn: "evt.Line.Raw contains 'x'" })], NO_POST), { raw: false, parsed: false, enriched: false });
  assert.deepEqual(fieldNeeds([scenario({ distinct: "evt == nil ? '' : 'x'" })], NO_POST), { raw: false, parsed: false, enriched: false });
});

test('whole events (bare evt, queue, leaky) bring everything back', () => {
  assert.equal(fieldNeeds([scenario({ condition: 'len(queue.Queue) > 2' })], NO_POST), ALL_FIELDS);
  assert.equal(fieldNeeds([scenario({ overflowFilter: 'len(queue.Queue) > 0' })], NO_POST), ALL_FIELDS);
  assert.equal(fieldNeeds([scenario({}, "evt == nil ? '' : 'x'")], NO_POST), ALL_FIELDS);
});

test('postoverflow parsers count too', () => {
  const node = { name: 'p', stage: 's01-whitelist', file: 'x', nextStage: false, filter: expr("evt.Parsed.program == 'x'"), grok: null, children: [], statics: [], whitelist: null, debug: false } as ParserNode;
  const post: ParserSet = { stages: ['s01-whitelist'], byStage: new Map([['s01-whitelist', [node]]]) };
  assert.deepEqual(fieldNeeds([], post), { raw: false, parsed: true, enriched: false });
});
