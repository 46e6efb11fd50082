/**
 * fieldReads: every event field an expression reads, helpers included, or null when a read
 * cannot be named (whole map, bare evt, event method); alwaysString: results that are
 * strings and never throw (what a deferred static may compute).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alwaysString, fieldReads } from '../../src/expr/field-reads.js';

const keys = (src: string): string[] | null =>
  fieldReads(src)?.map((r) => (r.kind === 'map' ? `${r.map}.${r.key}` : r.path.join('.'))).sort() ?? null;

test('map entries and fields, through any helper', () => {
  assert.deepEqual(keys("evt.Meta.log_type == 'x' && evt.Meta['target_user'] != ''"), ['Meta.log_type', 'Meta.target_user']);
  assert.deepEqual(keys("RegexpInFile(Upper(evt.Parsed.request), 'f.txt') || evt.Line.Labels.type == 'x'"), ['Labels.type', 'Parsed.request']);
  assert.deepEqual(keys('evt.Line.Raw contains evt.StrTime'), ['Line.Raw', 'StrTime']);
  assert.deepEqual(keys("any(['a'], {# == evt.Enriched.IsoCode})"), ['Enriched.IsoCode']);
  assert.deepEqual(keys("'literal'"), []);
});

test('unknown reads: whole maps, bare evt, methods, other names', () => {
  assert.equal(keys('ToJsonString(evt.Meta)'), null);
  assert.equal(keys('len(evt.Enriched) > 0'), null);
  assert.equal(keys("evt == nil ? '' : 'x'"), null);
  assert.equal(keys("evt.GetMeta('IsoCode')"), null);
  assert.equal(keys('len(queue.Queue) > 2'), null);
  assert.equal(keys('evt.Line.Labels'), null);
  assert.equal(keys('evt.Overflow.Alert'), null);
  assert.equal(keys('(('), null);
});

test('alwaysString: reads, literals, +, case mapping and safe ternaries only', () => {
  assert.equal(alwaysString('evt.Enriched.IsoCode'), true);
  assert.equal(alwaysString("evt.Enriched.ASNumber != '' ? evt.Enriched.ASNumber : evt.Enriched.ASNNumber"), true);
  assert.equal(alwaysString("evt.Parsed.a + '-' + evt.Meta.b"), true);
  assert.equal(alwaysString('evt.StrTime'), true);
  assert.equal(alwaysString("evt.Enriched.IsInEU == 'true'"), false); // a bool: the static drops the event
  assert.equal(alwaysString('len(evt.Parsed.x)'), false);
  // Case mapping of a string read cannot fail (deferred.ts planTails); of a non-string it can.
  assert.equal(alwaysString('Upper(evt.Parsed.x)'), true);
  assert.equal(alwaysString('Lower(evt.Time)'), false);
  assert.equal(alwaysString("evt.Parsed.x in ['a', 'b'] ? 'y' : 'n'"), true);
  assert.equal(alwaysString("evt.Parsed.x in evt.Parsed.y ? 'y' : 'n'"), false);
  assert.equal(alwaysString("evt.Parsed.x matches 'a' ? 'y' : 'n'"), false); // a bad regexp throws
  assert.equal(alwaysString('evt.Time'), false);
});
