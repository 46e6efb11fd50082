import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { FieldMap } from '../../src/core/field-map.js';
import { internKey, newLogEvent, PEvent } from '../../src/core/event.js';
import { goJson } from '../../src/expr/go-json.js';
import { compileExpr } from '../../src/expr/index.js';

/** Entries in iteration order, through every way of iterating. */
function views(m: Map<string, string>): { entries: [string, string][]; forEach: [string, string][]; keys: string[]; values: string[] } {
  const forEach: [string, string][] = [];
  m.forEach((v, k, self) => {
    assert.equal(self, m);
    forEach.push([k, v]);
  });
  return { entries: [...m], forEach, keys: [...m.keys()], values: [...m.values()] };
}

/** Asserts `fm` holds exactly the entries of `ref` (a plain Map given the same operations), in order. */
function sameAs(fm: FieldMap, ref: Map<string, string>): void {
  assert.equal(fm.size, ref.size);
  const a = views(fm);
  assert.deepEqual(a.entries, [...ref]);
  assert.deepEqual(a.forEach, [...ref]);
  assert.deepEqual(a.keys, [...ref.keys()]);
  assert.deepEqual(a.values, [...ref.values()]);
  assert.deepEqual([...fm.entries()], [...ref.entries()]);
  for (const [k, v] of ref) {
    assert.equal(fm.get(k), v, k);
    assert.equal(fm.has(k), true, k);
  }
}

test('FieldMap: get/set/has/size/delete like a Map, insertion order kept, overwrite in place', () => {
  const fm = new FieldMap();
  const ref = new Map<string, string>();
  assert.equal(fm.size, 0);
  assert.equal(fm.get('x'), undefined);
  assert.equal(fm.has('x'), false);
  for (const [k, v] of [['program', 'sshd'], ['pid', '12'], ['', 'empty key'], ['message', ''], ['pid', '13'], ['program', 'nginx']] as const) {
    assert.equal(fm.set(k, v), fm, 'set returns the map');
    ref.set(k, v);
    sameAs(fm, ref);
  }
  assert.deepEqual(fm.get(''), 'empty key');
  assert.deepEqual(fm.get('message'), '', 'an empty value is a value');
  // Overwriting keeps the key's first position (program, pid, '', message).
  assert.deepEqual([...fm.keys()], ['program', 'pid', '', 'message']);
  assert.equal(fm.delete('pid'), true);
  assert.equal(fm.delete('pid'), false);
  assert.equal(fm.delete('never'), false);
  ref.delete('pid');
  sameAs(fm, ref);
  assert.equal(fm.get('pid'), undefined);
  // A deleted key set again goes last, as in a Map.
  fm.set('pid', '99');
  ref.set('pid', '99');
  sameAs(fm, ref);
  // Non-string keys are never present (SameValueZero: 1 is not '1').
  fm.set('1', 'one');
  assert.equal((fm as Map<unknown, string>).get(1), undefined);
  assert.equal((fm as Map<unknown, string>).has(1), false);
  assert.equal(fm.has('1'), true);
});

test('FieldMap: many keys (growth), colliding and non-interned keys', () => {
  const fm = new FieldMap();
  const ref = new Map<string, string>();
  // 300 keys forces several doublings; same length, same first/last characters collide.
  for (let i = 0; i < 300; i++) {
    const k = i % 2 === 0 ? `k${String(i).padStart(3, '0')}x` : internKey(`field_${i}`);
    fm.set(k, `v${i}`);
    ref.set(k, `v${i}`);
  }
  for (let i = 0; i < 300; i += 7) {
    const k = [...ref.keys()][i]!;
    fm.delete(k);
    ref.delete(k);
  }
  sameAs(fm, ref);
  // A key built at run time (not the interned copy) finds the same entry.
  const built = ['field', '_', '1'].join('');
  assert.equal(fm.get(built), ref.get('field_1'));
  assert.equal(fm.has(`k${'004'}x`), true);
});

test('FieldMap: clear() and reuse, many times; nothing of an earlier line is visible', () => {
  const fm = new FieldMap();
  for (let line = 0; line < 2000; line++) {
    fm.clear();
    assert.equal(fm.size, 0);
    assert.equal(fm.get('a'), undefined);
    assert.deepEqual([...fm], []);
    const ref = new Map<string, string>();
    // Lines of different widths and key sets.
    const n = line % 37;
    for (let i = 0; i < n; i++) {
      const k = `f${(i * 7 + line) % 41}`;
      fm.set(k, `${line}.${i}`);
      ref.set(k, `${line}.${i}`);
    }
    if (line % 5 === 0 && n > 0) {
      const k = [...ref.keys()][0]!;
      fm.delete(k);
      ref.delete(k);
    }
    sameAs(fm, ref);
    for (let i = 0; i < 41; i++) assert.equal(fm.get(`f${i}`), ref.get(`f${i}`));
  }
});

test('FieldMap: iteration while the map changes follows Map rules', () => {
  for (const make of [() => new Map<string, string>(), () => new FieldMap() as Map<string, string>]) {
    const m = make();
    m.set('a', '1').set('b', '2').set('c', '3');
    const seen: string[] = [];
    for (const [k, v] of m) {
      seen.push(`${k}=${v}`);
      if (k === 'a') {
        m.set('b', '20'); // updated before it is reached: the new value is seen
        m.delete('c'); // deleted before it is reached: not seen
        m.set('d', '4'); // added during iteration: seen
      }
    }
    assert.deepEqual(seen, ['a=1', 'b=20', 'd=4'], m.constructor.name);
    // forEach sees entries added by its callback too.
    const fe: string[] = [];
    m.forEach((_v, k) => {
      fe.push(k);
      if (k === 'd') m.set('e', '5');
    });
    assert.deepEqual(fe, ['a', 'b', 'd', 'e'], m.constructor.name);
    // An iterator that lives across clear() goes on with what is set afterwards.
    const it = m.keys();
    assert.equal(it.next().value, 'a');
    assert.equal(it.next().value, 'b');
    m.clear();
    m.set('x', '1').set('y', '2');
    assert.deepEqual([...it], ['x', 'y'], m.constructor.name);
    // Once done, an iterator stays done.
    m.set('z', '3');
    assert.equal(it.next().done, true, m.constructor.name);
  }
});

test('FieldMap: a Map to every consumer (instanceof, new Map, Array.from, goJson, expressions, constructor entries)', () => {
  const fm = new FieldMap([['program', 'sshd'], ['source_ip', '192.0.2.1']]);
  assert.ok(fm instanceof Map);
  assert.equal(Object.prototype.toString.call(fm), '[object Map]');
  const copy = new Map(fm);
  assert.deepEqual([...copy], [['program', 'sshd'], ['source_ip', '192.0.2.1']]);
  // A copy is independent of later reuse of the FieldMap.
  fm.clear();
  fm.set('program', 'nginx');
  assert.equal(copy.get('program'), 'sshd');
  assert.deepEqual(Array.from(fm), [['program', 'nginx']]);
  assert.deepEqual(Object.fromEntries(fm), { program: 'nginx' });
  // Go-style JSON of a map, and expressions on an event whose maps are FieldMaps.
  fm.set('a', 'b');
  assert.equal(goJson(fm), goJson(new Map([['program', 'nginx'], ['a', 'b']])));
  const evt = newLogEvent('line', {});
  PEvent.reset(evt, evt.Line);
  assert.ok(evt.Parsed instanceof FieldMap && evt.Meta instanceof FieldMap && evt.Enriched instanceof FieldMap);
  evt.Parsed = fm;
  evt.Meta.set('service', 'ssh');
  const env = { evt };
  const run = (src: string): unknown => compileExpr(src, { env: ['evt'] }).run(env);
  assert.equal(run("evt.Parsed.program == 'nginx'"), true);
  assert.equal(run('evt.Parsed.missing'), '', 'a missing key reads ""');
  assert.equal(run("evt.Parsed['a'] + evt.Meta.service"), 'bssh');
  assert.equal(run("'a' in evt.Parsed"), true);
  assert.equal(run("'zz' in evt.Parsed"), false);
  assert.equal(run('len(evt.Parsed)'), 2);
  assert.equal(run("evt.GetMeta('service')"), 'ssh');
  assert.equal(run("evt.Enriched.IsoCode == ''"), true);
  assert.equal(inspect(fm), inspect(new Map([['program', 'nginx'], ['a', 'b']])));
  assert.throws(() => (fm as Map<unknown, string>).set(1, 'x'), TypeError);
  // The Map's native storage is never used (a structured clone sees an empty Map: documented).
  assert.equal(structuredClone(fm).size, 0);
});
