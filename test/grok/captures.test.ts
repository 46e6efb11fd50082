/**
 * compileGrok keeps only the capturing groups that semantics read (the others become
 * non-capturing, and the kept ones are renumbered). That must never change a result: for
 * every grok of the shipped rules and of the Debian hub, over seeded lines generated from
 * the grok's own syntax tree, match() must equal the captures of the full translation
 * (every group capturing, original numbers), read at the original group of each semantic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGrok, expandGrok, fullCaptureTwin } from '../../src/grok/compile.js';
import { PatternLibrary } from '../../src/grok/library.js';
import { parseRe2 } from '../../src/grok/re2.js';
import { loadRulesDir, SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';
import type { ParserNode } from '../../src/parse/types.js';
import { requireDebianReference } from '../support/debian.js';
import { collectHubGroks } from './hub-groks.js';
import { sample } from './re2-sample.js';
import { mulberry32 as rng } from '../../fixtures/seeded.js';

/** Checks one grok; returns [lines compared, lines matched]. */
function check(pattern: string, lib: PatternLibrary, where: string, r: () => number): [number, number] {
  const g = compileGrok(pattern, lib);
  const twin = fullCaptureTwin(pattern, lib);
  assert.deepEqual([...g.semantics], [...twin.semantics], where);
  const root = parseRe2(expandGrok(pattern, lib)).root;
  let n = 0;
  let matched = 0;
  for (let i = 0; i < 40; i++) {
    const s = sample(root, r);
    for (const input of [s, 'x ' + s, s.slice(0, Math.floor(s.length / 2))]) {
      n++;
      const m = twin.regex.exec(input);
      const want = m === null || twin.semantics.length === 0
        ? null
        : twin.semantics.map((name, k) => [name, twin.groups[k]! > 0 ? (m[twin.groups[k]!] ?? '') : '']);
      const got = g.match(input);
      assert.deepEqual(got === null ? null : [...got], want, `${where} on ${JSON.stringify(input.slice(0, 200))}`);
      if (want) matched++;
    }
  }
  return [n, matched];
}

test('fewer captures, same results: shipped rules', () => {
  const rules = loadRulesDir(SHIPPED_RULES_DIR, { strict: true });
  const r = rng(0xca97);
  const patterns = new Set<string>();
  const visit = (n: ParserNode): void => {
    if (n.grok) patterns.add(n.grok.grok.pattern);
    n.children.forEach(visit);
  };
  for (const nodes of rules.parsers.set.byStage.values()) nodes.forEach(visit);
  let matched = 0;
  let dropped = 0;
  for (const p of patterns) {
    matched += check(p, rules.patterns, p.slice(0, 80), r)[1];
    const g = compileGrok(p, rules.patterns);
    const full = fullCaptureTwin(p, rules.patterns);
    // Group counts: the compiled regex captures no more groups than semantics need.
    const count = (re: RegExp): number => new RegExp(`${re.source}|`).exec('')!.length - 1;
    assert.ok(count(g.regex) <= g.semantics.length, p);
    dropped += count(full.regex) - count(g.regex);
  }
  assert.ok(patterns.size > 50);
  assert.ok(matched > patterns.size * 20, `too few matching lines (${matched})`);
  assert.ok(dropped > 500, `expected many dropped captures, got ${dropped}`);
});

test('fewer captures, same results: Debian hub groks', (t) => {
  const ref = requireDebianReference(t);
  if (!ref) return;
  const lib = PatternLibrary.withBuiltins();
  lib.loadDir(ref.patterns);
  const r = rng(0xca98);
  let n = 0;
  let matched = 0;
  const groks = collectHubGroks(ref.hub, lib);
  for (const h of groks) {
    const [a, b] = check(h.text, lib, `${h.file} ${h.where}`, r);
    n += a;
    matched += b;
  }
  t.diagnostic(`${groks.length} hub groks, ${n} lines, ${matched} matched`);
  assert.ok(matched > groks.length * 20, `too few matching lines (${matched})`);
});
