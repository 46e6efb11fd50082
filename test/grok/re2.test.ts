import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoadError } from '../../src/core/errors.js';
import { compileRe2, parseRe2, translateRe2 } from '../../src/grok/re2.js';

// [RE2 source, expected V8 source]
const TABLE: [string, string][] = [
  // Plain syntax passes through; literals are re-escaped canonically.
  ['abc', 'abc'],
  ['a|b', 'a|b'],
  ['\\%\\\'\\"\\-\\:', '%\'"-:'],
  ['{"ip":"', '\\{"ip":"'],
  ['a{2}b{1,}c{1,3}d{,2}', 'a{2}b+c{1,3}d\\{,2\\}'],
  ['x{01}', 'x\\{01\\}'],
  ['a]}', 'a\\]\\}'],
  ['a*?b+?c??', 'a*?b+?c??'],
  // Go's dot excludes only \n; (?s) makes it match everything.
  ['.', '[^\\n]'],
  ['(?s).', '[\\s\\S]'],
  ['(?s:.).', '(?:[\\s\\S])[^\\n]'],
  // Go's \s has no \v and no Unicode spaces.
  ['\\s\\S', '[\\t\\n\\f\\r ][^\\t\\n\\f\\r ]'],
  ['[\\s,]', '[\\t\\n\\f\\r ,]'],
  ['\\d\\D\\w\\W\\b\\B', '\\d\\D\\w\\W\\b\\B'],
  // Anchors.
  ['\\Afoo\\z', '^foo$'],
  ['^a$', '^a$'],
  ['(?m)^a$', '(?:^|(?<=\\n))a(?:$|(?=\\n))'],
  // Named groups become plain groups (numbering is unchanged).
  ['(?P<x>a)(?<y>b)(?:c)', '(a)(b)(?:c)'],
  // Inline flags: (?i) to the end of the enclosing group, across alternatives.
  ['SASL ((?i)LOGIN|PLAIN|(?:CRAM|DIGEST)-MD5) x', 'SASL ([Ll][Oo][Gg][Ii][Nn]|[Pp][Ll][Aa][Ii][Nn]|(?:[Cc][Rr][Aa][Mm]|[Dd][Ii][Gg][Ee][Ss\\u017f][Tt])-[Mm][Dd]5) x'],
  ['(?i:ab)c', '(?:[Aa][Bb])c'],
  ['(?i)a(?-i)b', '[Aa]b'],
  ['(?i)[a-c_]9', '[A-C_a-c]9'],
  ['(?i)k', '[Kk\\u212a]'],
  ['(?i)é', '[\\xc9\\xe9]'],
  // (?U) swaps greedy and lazy.
  ['(?U)a*b*?', 'a*?b*'],
  // POSIX classes.
  ['[[:alpha:]]', '[A-Za-z]'],
  ['[[:^digit:]x]', '[\\x00-/:-\\uffff]'],
  ['[[:space:]]', '[\\t-\\r ]'],
  ['[^[:alnum:]_]', '\\W'],
  // Classes: ']' first is literal, '-' at the ends is literal, escapes inside.
  ['[]a]', '[\\]a]'],
  ['[^]a]', '[^\\]a]'],
  ['[a-]', '[\\-a]'],
  ['[\\[\\]]', '[\\[\\]]'],
  ['[a-b-c]', '[\\-a-c]'],
  ['[\\d-z]', '[\\-0-9z]'],
  ['[^\\\\"]', '[^"\\\\]'],
  // Escapes.
  ['\\x41\\x{263A}\\101\\0\\t\\a', 'A\\u263aA\\x00\\t\\x07'],
  ['\\x{1F600}+', '(?:\\ud83d\\ude00)+'],
  ['\\Q.*+\\E+', '\\.\\*\\++'],
  ['\\Qa|b', 'a\\|b'],
  // Repeats of zero-width assertions need a group in JS.
  ['\\b*x', '(?:\\b)*x'],
];

test('translation table', () => {
  for (const [re2, js] of TABLE) {
    assert.equal(translateRe2(re2), js, `translateRe2(${JSON.stringify(re2)})`);
    // Every translation is valid V8 syntax without flags.
    assert.doesNotThrow(() => new RegExp(translateRe2(re2)), re2);
  }
});

test('translated regexes behave like Go RE2', () => {
  const cases: [string, string, boolean][] = [
    ['^a.b$', 'a\rb', true], // Go's . matches \r
    ['^a.b$', 'a\nb', false],
    ['^a\\sb$', 'a\u000bb', false], // \v is not \s in Go
    ['^a\\sb$', 'a\u00a0b', false], // nor NBSP
    ['^a\\sb$', 'a\tb', true],
    ['^a\\Sb$', 'a\u00a0b', true],
    ['(?i)^sasl$', 'SaSl', true],
    ['(?i)^k$', '\u212a', true], // Kelvin sign folds to k in Go
    ['(?i)^i$', '\u0131', false], // dotless i does not
    ['^\\pL+$', 'Ωmega', true],
    ['^\\PL+$', 'Ω', false],
    ['^\\p{Greek}+$', 'αβγ', true],
    ['^\\p{Greek}+$', 'abc', false],
    ['^\\p{^Greek}+$', 'abc', true],
    ['^[\\p{Lu}\\d]+$', 'AB12', true],
    ['(?m)^b$', 'a\nb\nc', true],
    ['^b$', 'a\nb\nc', false],
    ['a\\z', 'a\n', false],
    ['^\\x{1F600}$', '😀', true],
    ['^[[:punct:]]+$', '!-/:@[`{~', true],
    ['(?U)^(a+)', 'aaa', true],
  ];
  for (const [re2, input, want] of cases) {
    assert.equal(compileRe2(re2).test(input), want, `${re2} on ${JSON.stringify(input)}`);
  }
  assert.equal(compileRe2('(?U)^(a+)').exec('aaa')![1], 'a');
  assert.equal(compileRe2('^(?:a(b)|c(d))').exec('cd')![1], undefined);
});

test('capture numbering is preserved and offsets are reported', () => {
  const p = parseRe2('(a)(?:b)(?P<n>c(d))\\((e)[(]');
  assert.equal(p.captureCount, 4);
  assert.deepEqual(p.captureOffsets.slice(1), [0, 8, 15, 21]);
  const m = compileRe2('(a)(?:b)(?P<n>c(d))\\((e)[(]').exec('abcd(e(')!;
  assert.deepEqual([...m].slice(1), ['a', 'cd', 'd', 'e']);
});

test('RE2-invalid or untranslatable syntax is a GROK_TRANSLATE LoadError with a reason', () => {
  const bad: [string, RegExp][] = [
    ['(?=x)', /lookaround/],
    ['(?<!x)', /lookaround/],
    ['(a)\\1', /backreference/],
    ['(?P=n)', /backreference/],
    ['a**', /nested repetition/],
    ['a{2}{3}', /nested repetition/],
    ['*a', /missing argument/],
    ['(|*)', /missing argument/],
    ['x{1001}', /invalid repeat count/],
    ['x{3,2}', /invalid repeat count/],
    ['(ab', /missing closing \)/],
    ['ab)', /unexpected \)/],
    ['[ab', /missing closing \]/],
    ['[z-a]', /invalid character class range/],
    ['[[:foo:]]', /invalid character class range/],
    ['\\e', /invalid escape/],
    ['\\Z', /invalid escape/],
    ['\\8', /invalid escape/],
    ['abc\\', /trailing backslash/],
    ['\\x{110000}', /beyond U\+10FFFF/],
    ['\\xZ1', /two hex digits/],
    ['\\C', /any byte/],
    ['\\p{Klingon}', /unknown Unicode class/],
    ['(?P<a-b>x)', /invalid named capture/],
    ['(?x)a', /unsupported Perl syntax/],
    ['[\\x{1F600}]', /above U\+FFFF/],
  ];
  for (const [src, why] of bad) {
    assert.throws(
      () => translateRe2(src),
      (e: unknown) => e instanceof LoadError && e.code === 'GROK_TRANSLATE' && why.test(e.reason) && /at offset \d+/.test(e.reason),
      src,
    );
  }
});

test('compileRe2 returns a flagless RegExp', () => {
  const re = compileRe2('(?i)ab');
  assert.equal(re.flags, '');
  assert.ok(re.test('xAby'));
});
