/**
 * Memoised scenario filters: which filters are provably pure and what they read; results
 * equal to running the filter every time (unit cases, and whole seeded sshd / nginx logs
 * through the detection engine with the memo on and off: same routes, same alerts); errors
 * are never stored; the tables stay within their bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FilterMemo } from '../../src/scenarios/filter-memo.js';
import { pureInputs } from '../../src/expr/pure-inputs.js';
import { compileExpr } from '../../src/expr/index.js';
import { DetectionEngine } from '../../src/pipeline/engine.js';
import { forEachLine } from '../../src/pipeline/batcher.js';
import { generateNginx, generateSshd } from '../../fixtures/generate-bf-logs.js';
import { makeEvent } from './support.js';

const reads = (s: string) => pureInputs(s)?.map((r) => (r.kind === 'map' ? `${r.map}.${r.key}` : r.path.join('.'))).sort();

test('pureInputs: pure filters and the fields they read', () => {
  assert.deepEqual(reads("evt.Meta.log_type == 'ssh_failed-auth'"), ['Meta.log_type']);
  assert.deepEqual(
    reads("evt.Meta.log_type in ['http_access-log', 'http_error-log'] && evt.Meta.http_path != '' && RegexpInFile(Lower(PathUnescape(evt.Meta.http_path)), 'x.regex')"),
    ['Meta.http_path', 'Meta.log_type'],
  );
  assert.deepEqual(reads("evt.Parsed['a'] + evt.Enriched.b matches '^x' || evt.Line.Labels.type == 'nginx'"), ['Enriched.b', 'Labels.type', 'Parsed.a']);
  assert.deepEqual(reads("any(['a', 'b'], {# == evt.Meta.x}) && len(evt.Stage) > 0 ? true : evt.Line.Src == ''"), ['Line.Src', 'Meta.x', 'Stage']);
  assert.deepEqual(reads('true'), []);
  // Not provably pure, or reading something that is not a plain field value.
  for (const s of [
    "TimeNow() != ''",
    "LookupHost(evt.Meta.ip) != ''",
    'GetDecisionsCount(evt.Meta.ip) > 0',
    "evt.GetMeta('x') == 'y'",
    "evt.GetType() == 'overflow'",
    "evt.Line.Raw contains 'x'",
    "len(evt.Meta) > 0",
    "evt.Overflow.Alert.Remediation == true",
    "evt.Meta[evt.Meta.k] == 'x'",
    "evt.Time == nil",
    "Unknown(evt.Meta.a)",
    'bogus ((',
  ]) assert.equal(pureInputs(s), null, s);
});

test('FilterMemo: same results as the filter, per combination of the values read', () => {
  const srcs = [
    "evt.Meta.t == 'a' && evt.Meta.p contains 'x'",
    "evt.Meta.t == 'a' && evt.Meta.p startsWith '/'",
    "evt.Meta.u != ''",
    "TimeNow() != '' && evt.Meta.t == 'a'",
  ];
  const f = srcs.map((s) => compileExpr(s, { env: ['evt'] }));
  let calls = 0;
  const run = (i: number) => (env: { evt: never }) => {
    calls++;
    return f[i]!.run(env);
  };
  const memo = new FilterMemo(srcs);
  assert.equal(memo.stats.memoised, 3);
  const metas: Record<string, string>[] = [{ t: 'a', p: '/x' }, { t: 'a', p: 'y' }, { t: 'b', p: '/x' }, { t: 'a', p: '/x', u: 'z' }, {}];
  for (let round = 0; round < 3; round++) {
    for (const meta of metas) {
      const evt = makeEvent({ time: '2026-01-01T00:00:00Z', meta });
      memo.reset();
      for (let i = 0; i < srcs.length; i++) assert.equal(memo.run(i, { evt }, run(i) as never), f[i]!.run({ evt }), `${srcs[i]} on ${JSON.stringify(meta)}`);
    }
  }
  // Round 1 runs filters 0-1 once per distinct (t, p) (4 of them), filter 2 once per distinct
  // u ('' and 'z'); rounds 2 and 3 only run the impure filter 3.
  assert.equal(calls, 4 * 2 + 2 + 3 * metas.length);
  assert.deepEqual(memo.stats, { memoised: 3, hits: 3 * metas.length * 3 - 10, misses: 10, clears: 0, pauses: 0 });
});

test('FilterMemo: levels indexed by value id, sparse ones included, stay exact across reorders and clears', () => {
  // p takes thousands of values, t two: once reordered, t is the first level and p the last, so
  // the level under t == 'a' only holds the ids of every 97th p value (a sparse array).
  const src = "evt.Meta.t == 'a' && evt.Meta.p endsWith '7'";
  const f = compileExpr(src, { env: ['evt'] });
  const memo = new FilterMemo([src]);
  let calls = 0;
  const check = (t: string, p: string) => {
    memo.reset();
    const evt = makeEvent({ time: '2026-01-01T00:00:00Z', meta: { t, p } });
    const r = memo.run(0, { evt }, (env) => {
      calls++;
      return f.run(env);
    });
    assert.equal(r, f.run({ evt }), `${t} ${p}`);
  };
  // First window: p has more distinct values than t, so t becomes the first level.
  for (let i = 0; i < 4096; i++) check('b', `/w/${i % 50}`);
  assert.equal(calls, 50 + 1); // the table restarts in the new order at the window's end
  const values = Array.from({ length: 5000 }, (_, i) => `/p/${i}`);
  for (let round = 0; round < 3; round++) {
    calls = 0;
    // Each value twice in a row: half the lookups find their combination, so storing goes on.
    values.forEach((p, i) => {
      check(i % 97 === 0 ? 'a' : 'b', p);
      check(i % 97 === 0 ? 'a' : 'b', p);
    });
    assert.equal(calls, round === 0 ? values.length : 0, `round ${round}`);
  }
  // Another value of t for known p values, ids more than 1024 apart (V8 then keeps the
  // level's array as a dictionary): new combinations, each run once, then found.
  calls = 0;
  for (let round = 0; round < 2; round++) for (let i = 0; i < 5000; i += 1201) check('c', values[i]!);
  assert.equal(calls, 5);
  assert.equal(memo.stats.pauses, 0);
  assert.equal(memo.stats.clears, 0);
  // A small bound: the tables empty and refill, results unchanged.
  const small = new FilterMemo([src], 20_000);
  for (let round = 0; round < 2; round++) {
    for (let k = 0; k < 4000; k++) {
      const i = k >> 1; // each value twice in a row
      small.reset();
      const evt = makeEvent({ time: '2026-01-01T00:00:00Z', meta: { t: i % 3 === 0 ? 'a' : 'b', p: values[i]! } });
      assert.equal(small.run(0, { evt }, (env) => f.run(env)), f.run({ evt }));
    }
  }
  assert.ok(small.stats.clears > 0 && small.stats.hits > 0, JSON.stringify(small.stats));
});

test('FilterMemo: values that do not repeat stop being stored for a while, results unchanged', () => {
  const src = "evt.Meta.p startsWith '/a'";
  const f = compileExpr(src, { env: ['evt'] });
  const memo = new FilterMemo([src]);
  const run = (p: string) => {
    memo.reset();
    const evt = makeEvent({ time: '2026-01-01T00:00:00Z', meta: { p } });
    const r = memo.run(0, { evt }, (env) => f.run(env));
    assert.equal(r, f.run({ evt }));
  };
  for (let i = 0; i < 4096; i++) run(`/a/${i}`);
  assert.equal(memo.stats.pauses, 1, 'unique values: storing paused');
  const misses = memo.stats.misses;
  for (let i = 0; i < 100; i++) run('/a/repeated');
  assert.equal(memo.stats.misses - misses, 100, 'nothing new is stored while paused');
  for (let i = 0; i < 8 * 4096; i++) run(`/b/${i % 50}`);
  const before = memo.stats.hits;
  for (let i = 0; i < 1000; i++) run(`/b/${i % 50}`);
  assert.equal(memo.stats.hits - before, 1000, 'storing again after the pause');
});

test('FilterMemo: errors are not stored, and the tables are bounded', () => {
  // Pure, and failing at run time (index out of range) when a == 'x'.
  const src = "evt.Meta.a == 'x' && evt.Meta.b[5] == 1";
  const f = compileExpr(src, { env: ['evt'] });
  const memo = new FilterMemo([src], 2000);
  assert.equal(memo.stats.memoised, 1);
  const evt = makeEvent({ time: '2026-01-01T00:00:00Z', meta: { a: 'x', b: 'ab' } });
  for (let i = 0; i < 3; i++) {
    memo.reset();
    assert.throws(() => memo.run(0, { evt }, (env) => f.run(env)));
  }
  assert.equal(memo.stats.hits, 0);
  for (let i = 0; i < 100; i++) {
    memo.reset();
    assert.equal(memo.run(0, { evt: makeEvent({ time: '2026-01-01T00:00:00Z', meta: { a: `value-${i}` } }) }, (env) => f.run(env)), false);
  }
  assert.ok(memo.stats.clears >= 5, `cleared ${memo.stats.clears} times`);
});

for (const [type, gen, lines] of [['syslog', generateSshd, 8000], ['nginx', generateNginx, 8000]] as const) {
  test(`FilterMemo in the engine: seeded ${type} log, identical routes and alerts with and without`, async () => {
    const on = await DetectionEngine.create({ mode: 'replay', geoipDir: null, warn: () => {} });
    const off = await DetectionEngine.create({ mode: 'replay', geoipDir: null, warn: () => {}, filterMemo: false });
    const labels = new Map([['type', type]]);
    const alerts: [string[], string[]] = [[], []];
    let routed = 0;
    forEachLine(gen(lines, 99), (line) => {
      const [a, b] = [on.parseLine(line, 'f', labels), off.parseLine(line, 'f', labels)];
      assert.equal(a === null, b === null);
      if (!a || !b) return;
      const ra = on.buckets.route(a);
      assert.deepEqual(ra, off.buckets.route(b));
      routed += ra.length;
      for (const x of on.pour(a)) alerts[0].push(JSON.stringify(x));
      for (const x of off.pour(b)) alerts[1].push(JSON.stringify(x));
    });
    assert.ok(routed > 100, `routes: ${routed}`);
    assert.ok(alerts[0].length > 0, 'the log produces alerts');
    assert.deepEqual(alerts[0], alerts[1]);
    const st = on.buckets.filterMemoStats!;
    assert.ok(st.hits > st.misses, `hits ${st.hits}, misses ${st.misses}`);
    assert.equal(off.buckets.filterMemoStats, null);
  });
}
