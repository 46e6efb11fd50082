/**
 * The first-character check of anchored groks and Grok.mayMatch / matchInto. A wrong first
 * character set would silently drop matches, so besides the unit cases every grok of the
 * shipped rules and of the Debian hub is checked against plain `regex.exec` over seeded
 * random lines whose first character is varied: mayMatch false must mean no match, and
 * matchInto must give exactly match()'s captures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anchoredFirstChar, mayStart, type FirstChar } from '../../src/grok/first-char.js';
import { compileGrok, expandGrok, type Grok } from '../../src/grok/compile.js';
import { PatternLibrary } from '../../src/grok/library.js';
import { parseRe2 } from '../../src/grok/re2.js';
import { loadRulesDir, SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';
import type { ParserNode } from '../../src/parse/types.js';
import { requireDebianReference } from '../support/debian.js';
import { collectHubGroks } from './hub-groks.js';
import { POOL, sample } from './re2-sample.js';
import { mulberry32 as rng } from '../../fixtures/seeded.js';

const fc = (src: string): FirstChar | null => anchoredFirstChar(parseRe2(src).root);

/** The ASCII characters of a set, as a string, plus '+' when non-ASCII may start a match. */
function show(f: FirstChar | null): string | null {
  if (f === null) return null;
  let s = '';
  for (let c = 0; c < 128; c++) if (f.ascii[c >> 5]! & (1 << (c & 31))) s += String.fromCharCode(c);
  return s + (f.nonAscii ? '+' : '');
}

test('first character: literals, alternations, optional parts, classes', () => {
  assert.equal(show(fc('^abc')), 'a');
  assert.equal(show(fc('^(?:x|y)z')), 'xy');
  assert.equal(show(fc('^\\d?x')), '0123456789x');
  assert.equal(show(fc('^(?:<\\d+>)?(?:Jan|Feb) ')), '<FJ');
  assert.equal(show(fc('^[a-c]*d')), 'abcd');
  assert.equal(show(fc('^(?:ab){0}c')), 'c');
  assert.equal(show(fc('^\\bword')), 'w'); // zero-width assertions are transparent
  assert.equal(show(fc('^é')), '+');
  assert.equal(show(fc('^\u{1F600}x')), '+'); // astral: a high surrogate first
  assert.equal(show(fc('^(?:x|é)')), 'x+');
});

test('first character: case folding keeps both cases and the Unicode fold orbit', () => {
  assert.equal(show(fc('(?i)^a')), 'Aa');
  assert.equal(show(fc('(?i)^k')), 'Kk+'); // K, k and the Kelvin sign
  assert.equal(show(fc('(?i)^[x-y]')), 'XYxy');
  assert.equal(show(fc('^(?i:1)')), '1');
});

test('first character: negated classes and dot', () => {
  const f = fc('^[^a]b')!;
  assert.ok(!mayStart(f, 'ab'));
  assert.ok(mayStart(f, 'bb') && mayStart(f, 'éb') && mayStart(f, '\nb'));
  assert.equal(fc('^.'), null, 'anything can start a match: no check');
  assert.equal(fc('^[\\s\\S]x'), null);
});

test('first character: no check unless anchored on every path and never empty', () => {
  assert.equal(fc('abc'), null); // unanchored: a match may start anywhere
  assert.equal(fc('x^abc'), null);
  assert.equal(fc('(?m)^abc'), null); // line start: any offset after a newline
  assert.equal(fc('^abc|def'), null);
  assert.equal(show(fc('^abc|^def')), 'ad');
  assert.equal(fc('^a?'), null); // can match ""
  assert.equal(fc('^$'), null);
  assert.equal(fc('^(?:a|)'), null);
});

test('mayStart: empty input never starts a non-empty match', () => {
  const f = fc('^a')!;
  assert.equal(mayStart(f, ''), false);
  assert.equal(mayStart(f, 'a'), true);
  assert.equal(mayStart(f, 'ba'), false);
});

test('grok: anchored patterns reject on the first character, others still match anywhere', () => {
  const lib = PatternLibrary.withBuiltins();
  const g = compileGrok('^Failed %{WORD:method} for %{USERNAME:user}', lib);
  assert.equal(g.mayMatch('Accepted password for bob'), false);
  assert.equal(g.mayMatch('Failed password for bob'), true);
  assert.equal(g.mayMatch(''), false);
  const m = new Map<string, string>([['keep', '1']]);
  assert.equal(g.matchInto('Failed password for bob', m), true);
  assert.deepEqual([...m], [['keep', '1'], ['method', 'password'], ['user', 'bob']]);
  assert.equal(g.matchInto('Failed', m), false);
  assert.equal(m.size, 3, 'a failed matchInto leaves the map alone');
  const u = compileGrok('Failed %{WORD:method}', lib);
  assert.equal(u.mayMatch('x Failed password'), true);
  assert.deepEqual(Object.fromEntries(u.match('x Failed password')!), { method: 'password' });
  const none = compileGrok('^abc', lib); // no semantic: never succeeds (spec §3.3)
  assert.equal(none.mayMatch('abc'), false);
  assert.equal(none.matchInto('abc', new Map()), false);
});

/** Groks of the shipped rules, from the loaded parser trees. */
function shippedGroks(): { where: string; grok: Grok; lib: PatternLibrary }[] {
  const rules = loadRulesDir(SHIPPED_RULES_DIR, { strict: true });
  const out: { where: string; grok: Grok; lib: PatternLibrary }[] = [];
  const visit = (n: ParserNode, where: string): void => {
    if (n.grok) out.push({ where, grok: n.grok.grok, lib: rules.patterns });
    n.children.forEach((c, i) => visit(c, `${where}/${i}`));
  };
  for (const [stage, nodes] of rules.parsers.set.byStage) nodes.forEach((n) => visit(n, `${stage}:${n.name}`));
  return out;
}

/** Checks one grok on generated lines; returns how many of them matched. */
function differential(g: Grok, lib: PatternLibrary, where: string, r: () => number, extra: readonly string[]): number {
  const root = parseRe2(expandGrok(g.pattern, lib)).root;
  const inputs = [...extra, ''];
  for (let i = 0; i < 30; i++) {
    const s = sample(root, r);
    const c = POOL[Math.floor(r() * POOL.length)]!;
    // The sample itself, with its first character replaced, removed, or something put before it.
    inputs.push(s, c + s.slice(1), s.slice(1), c + s, s.toUpperCase(), s.toLowerCase());
  }
  let matched = 0;
  const into = new Map<string, string>();
  for (const input of inputs) {
    const re = g.regex.exec(input) !== null && g.semantics.length > 0;
    if (re) matched++;
    if (!g.mayMatch(input)) assert.ok(!re, `${where}: mayMatch rejected a line the regex matches: ${JSON.stringify(input.slice(0, 200))}`);
    const want = g.match(input);
    into.clear();
    const ok = g.matchInto(input, into);
    assert.equal(ok, want !== null, `${where} on ${JSON.stringify(input.slice(0, 200))}`);
    if (want) assert.deepEqual([...into], [...want]);
    assert.equal(want !== null, re, `${where}: match() differs from regex.exec on ${JSON.stringify(input.slice(0, 200))}`);
  }
  return matched;
}

test('differential: shipped rules, mayMatch never rejects a regex match; matchInto = match', () => {
  const r = rng(0xf1257);
  let matched = 0;
  let anchored = 0;
  const groks = shippedGroks();
  for (const { where, grok, lib } of groks) {
    if (anchoredFirstChar(parseRe2(expandGrok(grok.pattern, lib)).root)) anchored++;
    matched += differential(grok, lib, where, r, []);
  }
  assert.ok(groks.length > 50, `only ${groks.length} groks found`);
  assert.ok(anchored > groks.length / 2, `only ${anchored} anchored groks`);
  assert.ok(matched > groks.length * 10, `generator produced too few matching lines (${matched})`);
});

test('differential: Debian hub groks, mayMatch never rejects a regex match; matchInto = match', (t) => {
  const ref = requireDebianReference(t);
  if (!ref) return;
  const lib = PatternLibrary.withBuiltins();
  lib.loadDir(ref.patterns);
  const r = rng(0xf1258);
  let matched = 0;
  const groks = collectHubGroks(ref.hub, lib);
  for (const h of groks) matched += differential(compileGrok(h.text, lib), lib, `${h.file} ${h.where}`, r, []);
  t.diagnostic(`${groks.length} hub groks, ${matched} matching lines`);
  assert.ok(matched > groks.length * 10, `generator produced too few matching lines (${matched})`);
});
