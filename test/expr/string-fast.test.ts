/**
 * compileStringExpr (expr/string-fast.ts): the direct closures of coalesce / concat / string
 * ternaries give exactly what the general compiler gives, on events whose entries are
 * present, empty or missing; every other shape is refused (null).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpr } from '../../src/expr/index.js';
import { compileStringExpr } from '../../src/expr/string-fast.js';
import { newLogEvent, type PEvent } from '../../src/core/event.js';

const SHAPES = [
  "evt.Meta.http_path != '' ? evt.Meta.http_path : evt.Parsed.request",
  "evt.Meta.a != '' ? evt.Parsed.b : evt.Meta.a",
  'evt.Parsed.file_frag + evt.Parsed.file_ext',
  "evt.Parsed.a + '-' + evt.Meta.b + evt.Line.Labels.type",
  "evt.Parsed.a == 'x' && !(evt.Meta.b != 'y') || evt.StrTime == '' ? 'one' : evt.Enriched.c",
  "evt.Parsed.a == evt.Meta.b ? evt.StrTimeFormat : 'no'",
];

const REFUSED = [
  "Upper(evt.Parsed.a)",
  "len(evt.Parsed.a) > 0 ? 'x' : 'y'",
  "evt.Parsed.a matches 'x' ? 'x' : 'y'",
  "evt.Parsed.a == 1 ? 'x' : 'y'",
  "evt.Parsed.a in ['x'] ? 'x' : 'y'",
  "evt.Parsed.a not in [] ? 'x' : 'y'",
  'evt.Time',
  "evt.Parsed.a != '' ? 1 : 2",
  'evt.Meta',
];

const VALUES = [undefined, '', 'x', 'y', '/a b', 'one'];

function events(): PEvent[] {
  const out: PEvent[] = [];
  for (const a of VALUES) for (const b of VALUES) {
    const e = newLogEvent('raw', { labels: new Map(b === undefined ? [] : [['type', b]]) });
    for (const [m, k, v] of [['Parsed', 'a', a], ['Meta', 'b', b], ['Meta', 'a', b], ['Parsed', 'b', a], ['Meta', 'http_path', a], ['Parsed', 'request', b],
      ['Parsed', 'file_frag', a], ['Parsed', 'file_ext', b], ['Enriched', 'c', a]] as const) {
      if (v !== undefined) e[m].set(k, v);
    }
    e.StrTime = a ?? '';
    e.StrTimeFormat = b ?? '';
    out.push(e);
  }
  return out;
}

test('the direct closure equals the compiled expression', () => {
  const evs = events();
  for (const src of SHAPES) {
    const fast = compileStringExpr(src);
    assert.ok(fast, `refused: ${src}`);
    const ref = compileExpr(src, { env: ['evt'] });
    for (const e of evs) assert.equal(fast(e), ref.run({ evt: e }), `${src} on ${JSON.stringify([...e.Parsed, ...e.Meta])}`);
  }
});

test('other shapes are refused', () => {
  for (const src of REFUSED) assert.equal(compileStringExpr(src), null, src);
  assert.equal(compileStringExpr('(('), null);
});
