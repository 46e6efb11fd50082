import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenize } from '../../src/expr/lexer.js';
import { parse, ParseError } from '../../src/expr/parser.js';
import type { Node } from '../../src/expr/ast.js';

/** S-expression rendering of a tree, to assert on shape and precedence. */
function sx(n: Node): string {
  switch (n.kind) {
    case 'nil': return 'nil';
    case 'bool': return String(n.value);
    case 'int': return String(n.value);
    case 'float': return `${n.value}f`;
    case 'string': return JSON.stringify(n.value);
    case 'array': return `[${n.items.map(sx).join(' ')}]`;
    case 'map': return `{${n.entries.map((e) => `${sx(e.key)}:${sx(e.value)}`).join(' ')}}`;
    case 'ident': return n.name;
    case 'pointer': return '#';
    case 'member': return `(. ${sx(n.object)} ${n.name})`;
    case 'index': return `(idx ${sx(n.object)} ${sx(n.index)})`;
    case 'slice': return `(slice ${sx(n.object)} ${n.from ? sx(n.from) : '_'} ${n.to ? sx(n.to) : '_'})`;
    case 'call': return `(${n.callee} ${n.args.map(sx).join(' ')})`;
    case 'method': return `(call ${sx(n.object)}.${n.name} ${n.args.map(sx).join(' ')})`;
    case 'closure': return `{${sx(n.body)}}`;
    case 'unary': return `(${n.op} ${sx(n.operand)})`;
    case 'binary': return `(${n.op} ${sx(n.left)} ${sx(n.right)})`;
    case 'cond': return `(? ${sx(n.test)} ${sx(n.then)} ${sx(n.else)})`;
  }
}
const p = (s: string) => sx(parse(s));

test('lexer: numbers, strings with escapes, word operators, positions', () => {
  const toks = tokenize(`12 3.5 1e3 0x1F 'a\\'b' "c\\n\\x41\\u00e9" and not in x`);
  assert.deepEqual(toks.map((t) => [t.kind, t.kind === 'num' ? t.num : t.text]), [
    ['num', 12], ['num', 3.5], ['num', 1000], ['num', 31], ['str', "a'b"], ['str', 'c\nAé'],
    ['op', 'and'], ['op', 'not'], ['op', 'in'], ['ident', 'x'], ['eof', ''],
  ]);
  assert.equal(toks[1].isFloat, true);
  assert.equal(toks[0].isFloat, false);
  assert.equal(toks[4].pos, 16);
  // `1..3` is a range, not the float `1.`
  assert.deepEqual(tokenize('1..3').map((t) => t.text), ['1', '..', '3', '']);
});

test('precedence: arithmetic, comparison, logic, ternary', () => {
  assert.equal(p('1 + 2 * 3'), '(+ 1 (* 2 3))');
  assert.equal(p('1 - 2 - 3'), '(- (- 1 2) 3)');
  assert.equal(p('2 ** 3 ** 2'), '(** 2 (** 3 2))');
  assert.equal(p('1 + 2 == 3 and true or false'), '(or (and (== (+ 1 2) 3) true) false)');
  assert.equal(p('a || b && c'), '(|| a (&& b c))');
  assert.equal(p('a ? b : c ? d : e'), '(? a b (? c d e))');
  assert.equal(p('1..1+2'), '(.. 1 (+ 1 2))');
  assert.equal(p('a == b != c'), '(!= (== a b) c)');
});

test('unary not binds tighter than comparisons: not x contains y vs not (x contains y)', () => {
  assert.equal(p("not x contains 'y'"), '(contains (not x) "y")');
  assert.equal(p("not (x contains 'y')"), '(not (contains x "y"))');
  assert.equal(p('!a == b'), '(== (not a) b)');
  assert.equal(p('not a * b'), '(not (* a b))');
  assert.equal(p('-2 ** 2'), '(** (- 2) 2)');
  assert.equal(p('x not in [1, 2]'), '(not in x [1 2])');
  assert.equal(p("a matches 'x' and b startsWith 'y'"), '(and (matches a "x") (startsWith b "y"))');
});

test('members, index chains, slices, method calls, literals', () => {
  assert.equal(p('evt.Parsed.program'), '(. (. evt Parsed) program)');
  assert.equal(p("evt.Parsed['a b']"), '(idx (. evt Parsed) "a b")');
  assert.equal(p("f(x)[0]['value']['login']"), '(idx (idx (idx (f x) 0) "value") "login")');
  assert.equal(p('s[1:3]'), '(slice s 1 3)');
  assert.equal(p('s[:2]'), '(slice s _ 2)');
  assert.equal(p('s[1:]'), '(slice s 1 _)');
  assert.equal(p("evt.GetMeta('k')"), '(call evt.GetMeta "k")');
  assert.equal(p('Alert.GetScope()'), '(call Alert.GetScope )');
  assert.equal(p("{a: 1, 'b': [2, 3.5], (k): nil}"), '{"a":1 "b":[2 3.5f] k:nil}');
  assert.equal(p('x.in'), '(. x in)');
});

test('closures: # and .field shorthand', () => {
  assert.equal(p("any(l, {# contains 'x'})"), '(any l {(contains # "x")})');
  assert.equal(p("filter(l, {.key == 'user' && .value.login != ''})"),
    '(filter l {(&& (== (. # key) "user") (!= (. (. # value) login) ""))})');
  assert.equal(p('map(l, {map(#, {# + 1})})'), '(map l {(map # {(+ # 1)})})');
});

test('syntax errors carry the offset', () => {
  const cases: [string, number, RegExp][] = [
    ['evt.Parsed.x ==', 15, /end of expression/],
    ['(1 + 2', 6, /expected '\)'/],
    ["'abc", 0, /unterminated string/],
    ['a ? b', 5, /expected ':'/],
    ['# == 1', 0, /only allowed inside a closure/],
    ['1 @ 2', 2, /unexpected character/],
    ["'\\q'", 1, /invalid escape/],
    ['a.', 2, /field name/],
  ];
  for (const [src, pos, re] of cases) {
    assert.throws(() => parse(src), (e: unknown) => e instanceof ParseError && e.pos === pos && re.test(e.message), src);
  }
});
