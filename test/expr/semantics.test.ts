import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpr, compileFilter, ExprRuntimeError, AnyMap } from '../../src/expr/index.js';
import { LoadError } from '../../src/core/errors.js';
import { newLogEvent, PEvent, EventType } from '../../src/core/event.js';

function sshEvent(): PEvent {
  const evt = newLogEvent('Feb 12 14:10:21 host sshd[123]: Failed password for root from 1.2.3.4 port 22 ssh2', {
    src: '/var/log/auth.log', labels: { type: 'syslog' },
  });
  evt.Parsed.set('program', 'sshd');
  evt.Parsed.set('message', 'Failed password for root from 1.2.3.4 port 22 ssh2');
  evt.Meta.set('source_ip', '1.2.3.4');
  evt.Meta.set('log_type', 'ssh_failed-auth');
  evt.StrTime = 'Feb 12 14:10:21';
  return evt;
}

const run = (src: string, env: Record<string, unknown> = { evt: sshEvent() }, names = ['evt']) =>
  compileExpr(src, { env: names }).run(env);

test('literals and arithmetic: int/float like expr (`/` always float, `%` int only)', () => {
  assert.equal(run('1 + 2 * 3'), 7);
  assert.equal(run('7 / 2'), 3.5);
  assert.equal(run('6 / 3'), 2);
  assert.equal(run('7 % 3'), 1);
  assert.equal(run('-7 % 3'), -1);
  assert.equal(run('2 ** 10'), 1024);
  assert.equal(run('2 ** 3 ** 2'), 512);
  assert.equal(run('-2 ** 2'), 4);
  assert.equal(run('1.5 + 1'), 2.5);
  assert.equal(run('10 - 2 - 3'), 5);
  assert.equal(run('+3 - -3'), 6);
  assert.equal(compileExpr('7 / 2', { env: [] }).resultType, 'float64');
  assert.equal(compileExpr('7 * 2', { env: [] }).resultType, 'int');
  assert.equal(compileExpr('7 * 2.0', { env: [] }).resultType, 'float64');
  assert.throws(() => run('1 % 0'), ExprRuntimeError);
  assert.throws(() => compileExpr('1.5 % 2', { env: [] }), (e: unknown) => e instanceof LoadError && e.code === 'EXPR_TYPE');
});

test('strings: concatenation, comparisons, contains/startsWith/endsWith, slices, len in bytes', () => {
  assert.equal(run("evt.Parsed.program + '/' + evt.Meta.source_ip"), 'sshd/1.2.3.4');
  assert.equal(run("'abc' < 'abd'"), true);
  assert.equal(run("'b' >= 'a'"), true);
  assert.equal(run("evt.Parsed.message contains 'Failed password'"), true);
  assert.equal(run("evt.Parsed.message startsWith 'Failed'"), true);
  assert.equal(run("evt.Parsed.message endsWith 'ssh2'"), true);
  assert.equal(run("evt.Parsed.message endsWith 'ssh1'"), false);
  assert.equal(run("'14:10:21'[0:2]"), '14');
  assert.equal(run("evt.Parsed.nope[0:2]"), '');
  assert.equal(run("'abcdef'[-2:]"), 'ef');
  assert.equal(run("'abc'[1:99]"), 'bc');
  assert.equal(run("len('héllo')"), 6);
  assert.equal(run('len(evt.Parsed)'), 2);
  assert.equal(run('len([1, 2, 3])'), 3);
  assert.equal(run("'abc'[1]"), 98); // Go indexes a string by byte
});

test('comparison operators and equality', () => {
  assert.equal(run('1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 3'), true);
  assert.equal(run('1 == 1.0'), true);
  assert.equal(run("evt.Parsed.program == 'sshd'"), true);
  assert.equal(run("evt.Parsed.program != 'sshd'"), false);
  assert.equal(run('[1, 2] == [1, 2]'), true);
  assert.equal(run('nil == nil'), true);
  assert.equal(run("evt.Overflow == nil"), true);
  assert.equal(run('evt.Type == 0'), true);
  assert.equal(run('evt.Whitelisted == false'), true);
});

test('logic: and/or/not, &&/||/!, short circuit', () => {
  assert.equal(run('true and false or true'), true);
  assert.equal(run('true && !false'), true);
  assert.equal(run("not (evt.Parsed.message contains 'Accepted')"), true);
  // The right side would be a nil-pointer error: short circuit must skip it.
  assert.equal(run("evt.Type == 1 && evt.Overflow.Alert.Remediation == true"), false);
  assert.equal(run("evt.Type == 0 || evt.Overflow.Alert.Remediation == true"), true);
});

test('in / not in: arrays by equality, map keys, ranges', () => {
  assert.equal(run("evt.Parsed.program in ['sshd', 'sshd-session']"), true);
  assert.equal(run("evt.Parsed.program not in ['sshd', 'sshd-session']"), false);
  assert.equal(run("'program' in evt.Parsed"), true);
  assert.equal(run("'nope' in evt.Parsed"), false);
  assert.equal(run('2 in 1..3'), true);
  assert.equal(run('5 in 1..3'), false);
  assert.equal(run('2 in [1.0, 2.0]'), true);
  assert.deepEqual(run('1..4'), [1, 2, 3, 4]);
  assert.equal(run("evt.Parsed.message in [evt.Parsed.message, 'x']"), true);
  assert.equal(run("'a' in {a: 1}"), true);
});

test('matches: unanchored RE2 search, literal compiled at load, computed at run', () => {
  assert.equal(run("evt.Parsed.message matches 'password for \\\\w+'"), true);
  assert.equal(run("evt.Parsed.message matches '^password'"), false);
  assert.equal(run("evt.Parsed.message matches ('^Failed ' + 'p')"), true);
  assert.throws(() => compileExpr("evt.Parsed.message matches '(unclosed'", { env: ['evt'] }),
    (e: unknown) => e instanceof LoadError && e.code === 'REGEX_COMPILE' && /column 28/.test(e.message));
  assert.throws(() => run("evt.Parsed.message matches ('(' + 'x')"), ExprRuntimeError);
});

test('ternary', () => {
  assert.equal(run("evt.Parsed.program == 'sshd' ? 'ssh' : 'other'"), 'ssh');
  assert.equal(run("len(evt.Parsed.nope) > 0 ? 'y' : 'n'"), 'n');
});

test('closures: all/none/any/one/filter/map/count with # and .field', () => {
  assert.equal(run("any(['Authentication failure', 'root'], {evt.Parsed.message contains #})"), true);
  assert.equal(run("all([1, 2, 3], {# > 0})"), true);
  assert.equal(run("none([1, 2, 3], {# > 2})"), false);
  assert.equal(run("one([1, 2, 3], {# > 2})"), true);
  assert.equal(run("one([1, 2, 3], {# > 1})"), false);
  assert.equal(run("count([1, 2, 3], {# >= 2})"), 2);
  assert.deepEqual(run("filter([1, 2, 3], {# != 2})"), [1, 3]);
  assert.deepEqual(run("map([1, 2, 3], {# * 10})"), [10, 20, 30]);
  assert.deepEqual(run("map([{n: 'a'}, {n: 'b'}], {.n})"), ['a', 'b']);
  assert.equal(run("filter([{k: 'x', v: {login: ''}}, {k: 'user', v: {login: 'bob'}}], {.k == 'user' && .v.login != ''})[0]['v']['login']"), 'bob');
  // Nested closures: # is the innermost element.
  assert.deepEqual(run("map([[1, 2], [3]], {count(#, {# > 1})})"), [1, 1]);
  assert.throws(() => run("any(evt.Parsed.nope, {# == 1})"), (e: unknown) => e instanceof LoadError && e.code === 'EXPR_TYPE');
});

test('Go map semantics: missing key of map[string]string reads ""; m.k == m["k"]', () => {
  assert.equal(run('evt.Parsed.does_not_exist'), '');
  assert.equal(run("evt.Parsed['does_not_exist']"), '');
  assert.equal(run("evt.Meta['source_ip'] == evt.Meta.source_ip"), true);
  assert.equal(run("evt.Line.Labels.type"), 'syslog');
  assert.equal(run("evt.Enriched.reverse_dns == ''"), true);
  // A map from a literal is map[string]interface{}: missing key => nil.
  assert.equal(run("{a: 1}.b"), null);
  const m = new AnyMap<string, unknown>([['x', 'y']]);
  assert.equal(run('m.x + m.z', { m: new Map([['x', 'y']]) }, ['m']), 'y');
  assert.equal(run('m.z == nil', { m }, ['m']), true);
});

test('struct fields: Go names verbatim, unknown field is a load error', () => {
  const evt = sshEvent();
  assert.equal(run('evt.Line.Raw', { evt }), evt.Line.Raw);
  assert.equal(run('evt.Line.Src', { evt }), '/var/log/auth.log');
  assert.equal(run('evt.Line.Module', { evt }), 'file');
  assert.equal(run('evt.StrTime', { evt }), 'Feb 12 14:10:21');
  assert.equal(run("evt.GetType()", { evt }), 'log');
  assert.equal(run("evt.GetMeta('source_ip')", { evt }), '1.2.3.4');
  assert.equal(run("evt.GetMeta('nope')", { evt }), '');
  assert.throws(() => compileExpr('evt.Parsd.x', { env: ['evt'] }),
    (e: unknown) => e instanceof LoadError && e.code === 'EXPR_TYPE' && /has no field Parsd at column 5/.test(e.message));
  assert.throws(() => compileExpr('evt.GetMeta', { env: ['evt'] }), (e: unknown) => e instanceof LoadError && e.code === 'EXPR_TYPE');
  assert.throws(() => compileExpr('evt.Nope()', { env: ['evt'] }), (e: unknown) => e instanceof LoadError && e.code === 'EXPR_TYPE');
  assert.throws(() => compileExpr("evt.GetMeta(1)", { env: ['evt'] }), (e: unknown) => e instanceof LoadError && e.code === 'EXPR_TYPE');
});

test('nil pointer: evt.Overflow.Alert on a LOG event is a runtime error; filters read it as false', () => {
  const evt = sshEvent();
  assert.throws(() => run('evt.Overflow.Alert.Source.IP', { evt }),
    (e: unknown) => e instanceof ExprRuntimeError && /nil pointer/.test(e.message));
  const errors: Error[] = [];
  const f = compileFilter("evt.Overflow.Alert.Remediation == true && IsIPV6(evt.Overflow.Alert.Source.IP)", {
    env: ['evt'], onError: (e) => errors.push(e),
  });
  assert.equal(f({ evt }), false);
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof ExprRuntimeError);
  // The same filter on an overflow event with an IPv6 remediation alert.
  const ov = sshEvent();
  ov.Type = EventType.OVFLW;
  ov.Overflow = {
    Mapkey: 'k', BucketId: 'b', Whitelisted: false, Reprocess: false, Sources: new Map(), APIAlerts: [],
    GetSources: () => [],
    Alert: { Remediation: true, Source: { IP: '2001:db8::5', Scope: 'Ip', Value: '2001:db8::5' } },
  };
  assert.equal(f({ evt: ov }), true);
  assert.equal(run('IpToRange(evt.Overflow.Alert.Source.IP, "/64")', { evt: ov }), '2001:db8::/64');
  // A property missing on a loosely typed struct is a runtime error too.
  assert.throws(() => run('evt.Overflow.Alert.Nope', { evt: ov }), ExprRuntimeError);
});

test('other environments: overflow_filter (queue, signal, leaky) and profiles (Alert)', () => {
  const leaky = { Name: 'crowdsecurity/ssh-bf', Capacity: 5, Total_count: 6 };
  const queue = { Queue: [1, 2, 3], L: 3 };
  const signal = { Alert: { Remediation: true } };
  const of = compileFilter('len(queue.Queue) >= 3 && leaky.Total_count > leaky.Capacity && signal.Alert.Remediation', {
    env: ['queue', 'signal', 'leaky'],
  });
  assert.equal(of({ queue, signal, leaky }), true);
  assert.throws(() => compileExpr('evt.Parsed.x', { env: ['queue', 'signal', 'leaky'] }),
    (e: unknown) => e instanceof LoadError && /unknown name evt/.test(e.message));
  class Alert {
    Remediation = true;
    Source = { IP: '1.2.3.4', Scope: 'Ip' };
    GetScope(): string { return this.Source.Scope; }
    GetValue(): string { return this.Source.IP; }
  }
  const pf = compileFilter('Alert.Remediation == true && Alert.GetScope() == "Ip"', { env: ['Alert'] });
  assert.equal(pf({ Alert: new Alert() }), true);
  const counts = compileExpr('GetDecisionsCount(Alert.GetValue()) + GetDecisionsSinceCount(Alert.GetValue(), "1h")', {
    env: ['Alert'],
    helpers: { decisionsCount: (v) => (v === '1.2.3.4' ? 3 : 0), decisionsSinceCount: (v, s) => (s === '1h' ? 2 : 0) },
  });
  assert.equal(counts.run({ Alert: new Alert() }), 5);
  const dur = compileExpr('Sprintf("%dh", GetDecisionsCount(Alert.GetValue()) * 4)', {
    env: ['Alert'], helpers: { decisionsCount: () => 2 },
  });
  assert.equal(dur.run({ Alert: new Alert() }), '8h');
});

test('type errors known at load: mismatched ==, + on string and int, non-bool filter', () => {
  const bad: [string, RegExp][] = [
    ["evt.Parsed.x == 1", /mismatched types/],
    ["'a' == 1", /mismatched types/],
    ["'a' + 1", /mismatched types/],
    ["evt.Parsed.x > 1", /mismatched types/],
    ['not evt.Parsed.x', /bool expected/],
    ["evt.Parsed.x contains 1", /mismatched/],
    ['unknownVar == 1', /unknown name unknownVar/],
    ['NoSuchHelper(1)', /unknown function NoSuchHelper/],
    ['Upper(1)', /argument 1 of Upper/],
    ['Upper()', /expects 1 argument/],
    ["JsonExtract('x')", /expects 2 argument/],
    ["evt.Parsed.x in 'abc'", /array or map expected/],
    ['len(1)', /invalid argument for len/],
    ["any([1], {'x'})", /must return bool/],
    ['evt.Line.Raw.x', /has no field x/],
  ];
  for (const [src, re] of bad) {
    assert.throws(() => compileExpr(src, { env: ['evt'] }), (e: unknown) => e instanceof LoadError && e.code === 'EXPR_TYPE' && re.test(e.message), src);
  }
  assert.throws(() => compileFilter("evt.Parsed.program", { env: ['evt'] }), (e: unknown) => e instanceof LoadError && e.code === 'EXPR_TYPE' && /expected bool/.test(e.message));
});

test('compileFilter: runtime errors and non-bool results become false', () => {
  const errors: Error[] = [];
  const f = compileFilter('x.y == 1', { env: ['x'], onError: (e) => errors.push(e) });
  assert.equal(f({ x: { y: 1 } }), true);
  assert.equal(f({ x: null }), false);
  assert.equal(f({ x: 'str' }), false);
  assert.equal(errors.length, 2);
  const g = compileFilter('x', { env: ['x'], onError: (e) => errors.push(e) });
  assert.equal(g({ x: 'not a bool' }), false);
  assert.equal(errors.length, 3);
  assert.match(errors[2].message, /expected bool/);
  assert.equal(g({ x: true }), true);
  // An exception from a method of the environment is still an ExprRuntimeError, not a crash.
  const h = compileExpr('o.Boom()', { env: ['o'] });
  assert.throws(() => h.run({ o: { Boom() { throw new TypeError('kaboom'); } } }), (e: unknown) => e instanceof ExprRuntimeError && /kaboom/.test(e.message));
});

test('runtime index errors and dynamic values', () => {
  assert.throws(() => run('[1, 2][5]'), ExprRuntimeError);
  assert.equal(run('[1, 2][-1]'), 2);
  assert.throws(() => run('x + 1', { x: 'a' }, ['x']), ExprRuntimeError);
  assert.equal(run('x + 1', { x: 2 }, ['x']), 3);
  assert.equal(run('x + "b"', { x: 'a' }, ['x']), 'ab');
  assert.equal(run('x.a.b', { x: { a: new Map([['b', 'c']]) } }, ['x']), 'c');
  assert.equal(run('missing == nil', {}, ['missing']), true);
});
