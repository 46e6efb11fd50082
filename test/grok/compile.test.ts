import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoadError } from '../../src/core/errors.js';
import { compileGrok, compileGrokByName, expandGrok } from '../../src/grok/compile.js';
import { PatternLibrary } from '../../src/grok/library.js';

const obj = (m: Map<string, string> | null): Record<string, string> | null => (m ? Object.fromEntries(m) : null);

function lib(defs: Record<string, string> = {}): PatternLibrary {
  const l = PatternLibrary.withBuiltins();
  for (const [k, v] of Object.entries(defs)) assert.ok(l.add(k, v), k);
  return l;
}

test('built-ins: 88 grokky base patterns, each compiles', () => {
  const l = PatternLibrary.withBuiltins();
  assert.equal(l.size, 88);
  for (const name of l.names()) assert.doesNotThrow(() => compileGrok(`%{${name}:x}`, l), name);
  assert.equal(l.get('WORD'), '\\b\\w+\\b');
  assert.equal(l.get('IP'), '%{IPV6}|%{IPV4}');
  // Quirk kept: \b only on MONTH's first and last alternatives.
  assert.match(l.get('MONTH')!, /^\\bJan.*\(\?:ember\)\?\\b$/);
});

test('expansion wraps every reference in a capturing group, recursively', () => {
  const l = lib({ A: 'a%{B}', B: 'b+' });
  assert.equal(expandGrok('x%{A}y%{B:z}', l), 'x(a(b+))y(b+)');
  assert.equal(expandGrok('no refs', l), 'no refs');
});

test('only %{NAME} and %{NAME:SEM} with \\w+ parts are references; the rest stays literal', () => {
  const l = lib();
  assert.equal(expandGrok('%{INT:response:int}', l), '%{INT:response:int}');
  assert.equal(expandGrok('%{IP:src-ip}', l), '%{IP:src-ip}');
  assert.equal(expandGrok('%{ INT}', l), '%{ INT}');
  // Such text is literal regex text, so the grok only matches it verbatim.
  const g = compileGrok('^%{INT:response:int} %{WORD:w}$', l);
  assert.deepEqual(g.semantics, ['w']);
  assert.equal(g.match('42 x'), null);
  assert.deepEqual(obj(g.match('%{INT:response:int} x')), { w: 'x' });
});

test('unknown pattern names are GROK_UNKNOWN_PATTERN naming the pattern', () => {
  const l = lib({ OUTER: 'x %{MISSING_INNER}' });
  assert.throws(() => compileGrok('%{NOPE:x}', l), (e: unknown) => e instanceof LoadError && e.code === 'GROK_UNKNOWN_PATTERN' && /NOPE/.test(e.reason));
  assert.throws(() => compileGrok('%{OUTER:x}', l), (e: unknown) => e instanceof LoadError && e.code === 'GROK_UNKNOWN_PATTERN' && /MISSING_INNER/.test(e.reason) && /OUTER/.test(e.reason));
  assert.throws(() => compileGrokByName('NOPE', l), (e: unknown) => e instanceof LoadError && e.code === 'GROK_UNKNOWN_PATTERN');
});

test('reference cycles are a load error, not a stack overflow', () => {
  const l = lib({ CYC_A: 'a%{CYC_B}', CYC_B: 'b%{CYC_A}' });
  assert.throws(() => compileGrok('%{CYC_A:x}', l), (e: unknown) => e instanceof LoadError && /CYC_A -> CYC_B -> CYC_A/.test(e.reason));
});

test('a syntax error inside a library pattern names that pattern', () => {
  const l = lib({ BROKEN: 'a(b' });
  assert.throws(() => compileGrok('x %{BROKEN:y}', l), (e: unknown) => e instanceof LoadError && e.code === 'GROK_TRANSLATE' && /%\{BROKEN\}/.test(e.reason) && /missing closing \)/.test(e.reason));
  assert.throws(() => compileGrok('x(?=y)%{WORD:w}', l), (e: unknown) => e instanceof LoadError && e.code === 'GROK_TRANSLATE' && /lookaround/.test(e.reason));
});

test('spec §14: ^D (%{WORD:x}|%{NUMBER:y}) ?%{WORD:x}? on "D 42 " gives x:"" y:""', () => {
  const g = compileGrok('^D (%{WORD:x}|%{NUMBER:y}) ?%{WORD:x}?', lib());
  assert.deepEqual(obj(g.match('D 42 ')), { x: '', y: '' });
  assert.deepEqual(obj(g.match('D 42 abc')), { x: 'abc', y: '' });
  assert.equal(g.match('E 42'), null);
});

test('outer duplicates: the last occurrence wins even when it is empty', () => {
  // nginx error-log style: target_fqdn twice at the outer level.
  const g = compileGrok('^(%{WORD:a} )?%{INT:n}( %{WORD:a})?$', lib());
  assert.deepEqual(obj(g.match('foo 12')), { a: '', n: '12' });
  assert.deepEqual(obj(g.match('foo 12 bar')), { a: 'bar', n: '12' });
});

test('outer names beat the same names from inside references', () => {
  const l = lib({ INNER: '%{WORD:user}=%{INT:uid}' });
  const g = compileGrok('%{INNER} by %{WORD:user}', l);
  assert.deepEqual(obj(g.match('alice=7 by bob')), { uid: '7', user: 'bob' });
  // ... even when the outer one is written first.
  const h = compileGrok('%{WORD:user}: %{INNER}', l);
  assert.deepEqual(obj(h.match('bob: alice=7')), { user: 'bob', uid: '7' });
});

test('nested duplicates from sibling references: the later sibling wins', () => {
  const l = lib({ P1: '%{WORD:v}', P2: '(%{INT:v})?' });
  const g = compileGrok('^%{P1}-%{P2}$', l);
  assert.deepEqual(obj(g.match('abc-12')), { v: '12' });
  assert.deepEqual(obj(g.match('abc-')), { v: '' });
});

test('all semantics are emitted, "" for groups that did not participate', () => {
  const g = compileGrok('%{SYSLOGBASE} %{GREEDYDATA:msg}', lib());
  assert.deepEqual(obj(g.match('Feb 12 14:10:21 myhost sshd[123]: Failed password for root')), {
    timestamp: 'Feb 12 14:10:21',
    facility: '',
    priority: '',
    logsource: 'myhost',
    program: 'sshd',
    pid: '123',
    msg: 'Failed password for root',
  });
  assert.deepEqual(g.semantics, ['timestamp', 'facility', 'priority', 'logsource', 'program', 'pid', 'msg']);
});

test('native named groups produce no output; indices stay right around them', () => {
  const g = compileGrok('(?P<junk>[a-z]+)-(\\d)-(?<more>x)?%{INT:n}', lib());
  assert.deepEqual(g.semantics, ['n']);
  assert.deepEqual(obj(g.match('ab-1-x42')), { n: '42' });
});

test('literal parentheses that fooled grokky’s counting do not shift indices', () => {
  // grokky subtracts `\(?[imsU-]+\)` matches; "-)" and "s)" in literal text are miscounted.
  const g = compileGrok('\\(a-\\)(b-)(?:s) %{WORD:w} (x(?i)s)%{INT:n}', lib());
  assert.deepEqual(obj(g.match('(a-)b-s foo xS12')), { w: 'foo', n: '12' });
});

test('a pattern with no semantic compiles but never matches', () => {
  const g = compileGrok('^%{WORD} %{INT}$', lib());
  assert.equal(g.semantics.length, 0);
  assert.equal(g.match('abc 12'), null);
});

test('unanchored search, leftmost-first, first match only', () => {
  const g = compileGrok('%{INT:n}', lib());
  assert.deepEqual(obj(g.match('a 12 b 34')), { n: '12' });
  const d = compileGrok('x=%{DATA:v};', lib());
  assert.deepEqual(obj(d.match('x=1;x=2;')), { v: '1' });
});

test('inline (?i) from a pattern_syntax-like definition (postfix SASL)', () => {
  const g = compileGrok('SASL ((?i)LOGIN|PLAIN|(?:CRAM|DIGEST)-MD5) authentication failed:%{GREEDYDATA:why}', lib());
  assert.deepEqual(obj(g.match('SASL login authentication failed: bad')), { why: ' bad' });
  assert.deepEqual(obj(g.match('SASL Cram-md5 authentication failed:x')), { why: 'x' });
  assert.equal(g.match('SASL LOGIN Authentication failed:x'), null);
});

test('grok.name compiles the definition itself', () => {
  const l = lib({ MYLINE: '%{WORD:verb} %{INT:code}' });
  const g = compileGrokByName('MYLINE', l);
  assert.equal(g.pattern, '%{WORD:verb} %{INT:code}');
  assert.deepEqual(obj(g.match('GET 200')), { verb: 'GET', code: '200' });
});

test('regex has no g/y flag and match() is repeatable', () => {
  const g = compileGrok('%{INT:n}', lib());
  assert.equal(g.regex.flags, '');
  for (let i = 0; i < 3; i++) assert.deepEqual(obj(g.match('n=5')), { n: '5' });
});

test('compileGrok caches per library; a name added later does not disturb earlier groks', () => {
  const l = lib();
  const a = compileGrok('%{WORD:w}', l);
  assert.equal(compileGrok('%{WORD:w}', l), a);
  assert.throws(() => compileGrok('%{LATER:x}', l), LoadError);
  l.add('LATER', '\\d+');
  assert.deepEqual(obj(compileGrok('%{LATER:x}', l).match('a1')), { x: '1' });
});

test('long lines take the linear engine when the pattern allows it, with the same captures', () => {
  const l = lib();
  const g = compileGrok('%{GREEDYDATA:a}\\+%{INT:b} end', l);
  const long = 'x'.repeat(5000) + '+12 end';
  assert.deepEqual(obj(g.match(long)), { a: 'x'.repeat(5000), b: '12' });
  const short = 'x+12 end';
  assert.deepEqual(obj(g.match(short)), { a: 'x', b: '12' });
  // An IP pattern is too big for the linear engine but still matches on long lines.
  const ip = compileGrok('from %{IP:ip} port', l);
  assert.deepEqual(obj(ip.match('y'.repeat(5000) + ' from 10.0.0.1 port 22')), { ip: '10.0.0.1' });
  assert.deepEqual(obj(ip.match('y'.repeat(5000) + ' from 2001:db8::1 port 22')), { ip: '2001:db8::1' });
});
