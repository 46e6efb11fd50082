/**
 * The scenario routing index: which filter shapes give a guard, and — the property that
 * matters — a scenario the index leaves out for an event has a filter that is false for it
 * (and does not throw), over the shipped rules and the Debian hub scenarios, with events
 * carrying every guard value, values no guard names, and missing fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { extractGuard, guardAlternatives, RouteIndex } from '../../src/scenarios/route-index.js';
import { loadScenarioFiles, type ScenarioSpec } from '../../src/config/scenario.js';
import { DataFiles } from '../../src/config/data-files.js';
import { loadRulesDir, SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';
import { requireDebianReference } from '../support/debian.js';
import { makeEvent } from './support.js';
import type { PEvent } from '../../src/core/event.js';
import { yamlFiles } from '../support/yaml-files.js';

test('extractGuard: the shapes that give a guard', () => {
  const g = (s: string) => {
    const r = extractGuard(s);
    return r && { f: `${r.map}.${r.key}`, v: [...r.values].sort(), whole: r.whole };
  };
  assert.deepEqual(g("evt.Meta.log_type == 'ssh_failed-auth'"), { f: 'Meta.log_type', v: ['ssh_failed-auth'], whole: true });
  assert.deepEqual(g("'x' == evt.Meta.log_type && evt.Meta.y != ''"), { f: 'Meta.log_type', v: ['x'], whole: false });
  assert.deepEqual(g("evt.Meta.log_type in ['a', 'b'] && evt.Meta.http_path != '' && Lower(evt.Meta.http_path) contains 'x'"), { f: 'Meta.log_type', v: ['a', 'b'], whole: false });
  assert.deepEqual(g("evt.Meta['service'] == 'http' and true"), { f: 'Meta.service', v: ['http'], whole: false });
  assert.deepEqual(g("evt.Parsed.program == 'sshd'"), { f: 'Parsed.program', v: ['sshd'], whole: true });
  assert.deepEqual(g("evt.Enriched.IsoCode == 'FR' && 1 == 1"), { f: 'Enriched.IsoCode', v: ['FR'], whole: false });
  assert.deepEqual(g("evt.Line.Labels.type == 'nginx'"), { f: 'Labels.type', v: ['nginx'], whole: true });
  assert.deepEqual(g("(evt.Meta.log_type == 'a' && evt.Meta.s == '1') || (evt.Meta.log_type == 'b' && evt.Meta.s == '2')"), { f: 'Meta.log_type', v: ['a', 'b'], whole: false });
  assert.deepEqual(g("(evt.Meta.t == 'a' || evt.Meta.t in ['b', 'c']) && evt.Meta.s == '1'"), { f: 'Meta.t', v: ['a', 'b', 'c'], whole: false });
  assert.deepEqual(g("evt.Meta.t == ''"), { f: 'Meta.t', v: [''], whole: true });
  // Not usable: the guard is not evaluated first, or is not an equality on one map field.
  for (const s of [
    "evt.Meta.a == 'x' || evt.Meta.b == 'y'",
    "evt.Meta.a == 'x' || true",
    "evt.Meta.a != 'x'",
    "not (evt.Meta.a == 'x')",
    "evt.Meta.a in ['x', 1]",
    "evt.Meta.a in []",
    "evt.Meta.a in evt.Meta",
    "evt.Meta.a == evt.Meta.b",
    "evt.Meta.a == 1",
    "Lower(evt.Meta.a) == 'x'",
    "evt.Meta.a startsWith 'x'",
    "evt.Stage == 's01'",
    "evt.Unmarshaled.a == 'x'",
    "evt.Meta.a.b == 'x'",
    "evt.GetMeta('a') == 'x'",
    "true && evt.Meta.a == 'x'",
    "evt.Meta.a == 'x' ? true : false",
    'this is not an expression ((',
  ]) assert.equal(extractGuard(s), null, s);
});

test('guardAlternatives: an `||` of guards on different fields gives one alternative per field', () => {
  const g = (s: string) => {
    const r = guardAlternatives(s);
    return r && { alts: r.alts.map((a) => `${a.map}.${a.key}=${[...a.values].sort().join(',')}`), whole: r.whole };
  };
  assert.deepEqual(g("evt.Meta.a == 'x' || evt.Meta.b == 'y'"), { alts: ['Meta.a=x', 'Meta.b=y'], whole: false });
  assert.deepEqual(g("evt.Meta.log_type_enh == 'spam-attempt' || (evt.Meta.log_type == 'postfix' && evt.Meta.action == 'reject')"),
    { alts: ['Meta.log_type_enh=spam-attempt', 'Meta.log_type=postfix'], whole: false });
  assert.deepEqual(g("(evt.Meta.a == 'x' || evt.Parsed.b in ['y', 'z']) || evt.Meta.a == 'w'"), { alts: ['Meta.a=w,x', 'Parsed.b=y,z'], whole: false });
  assert.deepEqual(g("evt.Meta.a == 'x'"), { alts: ['Meta.a=x'], whole: true });
  // One side without a guard: the filter may be true whatever the guarded side says.
  for (const s of ["evt.Meta.a == 'x' || true", "evt.Meta.a == 'x' || evt.Meta.b != 'y'", "true && (evt.Meta.a == 'x' || evt.Meta.b == 'y')"]) {
    assert.equal(guardAlternatives(s), null, s);
  }
});

test('RouteIndex: a scenario guarded by alternatives is a candidate when either passes', () => {
  const ix = RouteIndex.fromFilters([
    "evt.Meta.t2 == 'spam' || (evt.Meta.t == 'postfix' && evt.Meta.action == 'reject')",
    "evt.Meta.t == 'ssh'",
  ]);
  assert.equal(ix.guarded, 2);
  assert.deepEqual(ix.whole, [false, true]);
  const ev = (meta: Record<string, string>) => makeEvent({ time: '2026-01-01T00:00:00Z', meta });
  assert.deepEqual(ix.candidates(ev({ t: 'ssh' })), [1]);
  assert.deepEqual(ix.candidates(ev({ t: 'postfix' })), [0]);
  assert.deepEqual(ix.candidates(ev({ t: 'ssh', t2: 'spam' })), [0, 1]);
  assert.deepEqual(ix.candidates(ev({ t2: 'ham' })), []);
  assert.deepEqual(ix.candidates(ev({})), []);
});

test('RouteIndex: candidates per field value, in load order, unguarded scenarios always in', () => {
  const ix = RouteIndex.fromFilters([
    "evt.Meta.log_type == 'a' && evt.Meta.x == '1'",
    'true',
    "evt.Meta.service in ['s', 't']",
    "evt.Meta.log_type in ['a', 'b']",
    "evt.Meta.log_type == ''",
  ]);
  assert.equal(ix.guarded, 4);
  assert.deepEqual(ix.whole, [false, false, true, true, true]);
  const ev = (meta: Record<string, string>) => makeEvent({ time: '2026-01-01T00:00:00Z', meta });
  assert.deepEqual(ix.candidates(ev({ log_type: 'a' })), [0, 1, 3]);
  assert.deepEqual(ix.candidates(ev({ log_type: 'b', service: 't' })), [1, 2, 3]);
  assert.deepEqual(ix.candidates(ev({ log_type: 'zzz', service: 'q' })), [1]);
  // A missing field reads "" as in expressions.
  assert.deepEqual(ix.candidates(ev({})), [1, 4]);
  assert.deepEqual(ix.candidates(ev({ log_type: '', service: 's' })), [1, 2, 4]);
  // Lists are shared per combination, not rebuilt per event.
  assert.equal(ix.candidates(ev({ log_type: 'a' })), ix.candidates(ev({ log_type: 'a', x: '2' })));
  // An event whose fields are not maps: no answer, every filter must run.
  const odd = ev({ log_type: 'a' });
  (odd as unknown as { Meta: unknown }).Meta = null;
  assert.equal(ix.candidates(odd), null);
});


/** Events covering every guard value (alone and with the other fields set), unknown values, missing fields. */
function probeEvents(scenarios: readonly ScenarioSpec[]): PEvent[] {
  const guards = scenarios.flatMap((s) => guardAlternatives(s.filter.source)?.alts ?? []);
  const values = new Map<string, Set<string>>();
  for (const g of guards) {
    const k = `${g.map}.${g.key}`;
    if (!values.has(k)) values.set(k, new Set(['', 'no-such-value']));
    for (const v of g.values) values.get(k)!.add(v);
  }
  const out: PEvent[] = [makeEvent({ time: '2026-01-01T00:00:00Z' })];
  const fill = { http_path: '/.env', http_status: '404', http_verb: 'GET', http_user_agent: 'sqlmap', sub_type: 'auth_fail', target_user: 'root', source_ip: '1.2.3.4' };
  const fields = [...values.keys()];
  for (const f of fields) {
    for (const v of values.get(f)!) {
      for (const other of [null, ...fields.filter((x) => x !== f)]) {
        for (const otherV of other ? [...values.get(other)!].slice(0, 4) : [null]) {
          const e = makeEvent({ time: '2026-01-01T00:00:00Z', meta: fill });
          for (const [k, val] of [[f, v], [other, otherV]] as const) {
            if (k === null || val === null) continue;
            const [map, key] = k.split('.') as [string, string];
            const m = map === 'Labels' ? e.Line.Labels : (e as unknown as Record<string, Map<string, string>>)[map]!;
            m.set(key, val);
          }
          out.push(e);
        }
      }
    }
  }
  return out;
}

function checkIndex(scenarios: readonly ScenarioSpec[]): { events: number; skipped: number } {
  const ix = RouteIndex.fromFilters(scenarios.map((s) => s.filter.source));
  let skipped = 0;
  const events = probeEvents(scenarios);
  for (const evt of events) {
    const cand = new Set(ix.candidates(evt));
    scenarios.forEach((s, i) => {
      let r: unknown;
      let err: unknown = null;
      try {
        r = s.filter.run({ evt });
      } catch (e) {
        err = e;
      }
      if (!cand.has(i)) {
        skipped++;
        assert.equal(err, null, `${s.name}: a skipped filter must not throw`);
        assert.equal(r, false, `${s.name}: skipped for ${JSON.stringify([...evt.Meta])} but its filter is ${String(r)}`);
      } else if (ix.whole[i]) {
        assert.equal(r, true, `${s.name}: the guard is the whole filter`);
      }
    });
  }
  return { events: events.length, skipped };
}

test('RouteIndex on the shipped scenarios: a skipped filter is always false', () => {
  const rules = loadRulesDir(SHIPPED_RULES_DIR, { strict: true });
  const loaded = loadScenarioFiles(rules.scenarioFiles, { helpers: rules.helpers, data: rules.data });
  assert.equal(loaded.failures.length, 0);
  const ix = RouteIndex.fromFilters(loaded.scenarios.map((s) => s.filter.source));
  assert.equal(ix.guarded, loaded.scenarios.length, 'every shipped scenario has a guard');
  const r = checkIndex(loaded.scenarios);
  assert.ok(r.skipped > r.events, `the index leaves filters out (${r.skipped} over ${r.events} events)`);
});

test('RouteIndex on the Debian hub scenarios: a skipped filter is always false', (t) => {
  const ref = requireDebianReference(t);
  if (!ref) return;
  const data = new DataFiles(ref.data);
  const r = loadScenarioFiles(yamlFiles(join(ref.hub, 'scenarios')), { data, helpers: { data } });
  const ix = RouteIndex.fromFilters(r.scenarios.map((s) => s.filter.source));
  t.diagnostic(`${ix.guarded} of ${r.scenarios.length} hub scenarios guarded; ${ix.size} field-value combinations`);
  assert.ok(ix.guarded >= 120, `${ix.guarded} guarded`);
  const c = checkIndex(r.scenarios);
  t.diagnostic(`${c.events} probe events, ${c.skipped} filter runs skipped`);
});
