/**
 * Required literals and the match() fast path. The fast path (literal prefilter, gate regex,
 * linear engine for long lines) must never change a result, so it is checked against its
 * simple twin — `regex.exec` alone — over seeded random lines generated from each hub grok's
 * own syntax tree (most of which match), plus real-shaped sample lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileGrok, expandGrok, type Grok } from '../../src/grok/compile.js';
import { PatternLibrary } from '../../src/grok/library.js';
import { requiredLiterals } from '../../src/grok/literals.js';
import { parseRe2 } from '../../src/grok/re2.js';
import { sample } from './re2-sample.js';
import { repoRoot, requireDebianReference } from '../support/debian.js';
import { collectHubGroks } from './hub-groks.js';
import { mulberry32 as rng } from '../../fixtures/seeded.js';

const lits = (src: string): string[] => requiredLiterals(parseRe2(src).root);

test('required literals: top-level text, through plain groups and required repeats', () => {
  assert.deepEqual(lits('Failed password for (\\S+) from'), ['Failed password for ', ' from']);
  assert.deepEqual(lits('^abc\\bdef$'), ['abcdef']); // zero-width assertions keep adjacency
  assert.deepEqual(lits('a(?:bc)d'), ['abcd']);
  assert.deepEqual(lits('x(?:ab)+y'), ['x', 'ab', 'y']);
  assert.deepEqual(lits('\\[pid [.]'), ['[pid .']);
  assert.deepEqual(lits('\\Q*+\\E!'), ['*+!']);
});

test('required literals: nothing under alternation, optional, star or case folding', () => {
  assert.deepEqual(lits('foo|bar'), []);
  assert.deepEqual(lits('a(b|c)d'), ['a', 'd']);
  assert.deepEqual(lits('a(?:bc)?d'), ['a', 'd']);
  assert.deepEqual(lits('a(?:bc)*d'), ['a', 'd']);
  assert.deepEqual(lits('a(?:bc){0,3}d'), ['a', 'd']);
  assert.deepEqual(lits('ab(?i)cd(?-i)ef'), ['ab', 'ef']);
  assert.deepEqual(lits('(?i)12ab'), ['12']); // digits have no case
  assert.deepEqual(lits('a.b[xy]c'), ['a', 'b', 'c']);
});

test('required literals: duplicates and substrings of other literals are dropped', () => {
  assert.deepEqual(lits('ab.ab.abc'), ['abc']);
  assert.deepEqual(lits('x.y'), ['x', 'y']);
});

test('grok literals come through reference groups', () => {
  const g = compileGrok('Failed password for %{USERNAME:user} from %{IP:ip} port %{INT:port}', PatternLibrary.withBuiltins());
  assert.deepEqual(g.requiredLiterals, ['Failed password for ', ' from ', ' port ']);
});

// --- differential ---------------------------------------------------------------------


/** The simple twin of Grok.match: one regex.exec, no prefilter, gate or linear engine. */
function naiveMatch(g: Grok, input: string): Record<string, string> | null {
  const m = g.regex.exec(input);
  if (!m || g.semantics.length === 0) return null;
  const fast = g.match(input);
  assert.ok(fast, `fast path missed a match of ${JSON.stringify(g.pattern)} on ${JSON.stringify(input)}`);
  return Object.fromEntries(fast);
}

function sampleLines(): string[] {
  const dir = join(repoRoot, 'fixtures', 'samples');
  const out = [
    'Feb 12 14:10:21 myhost sshd[4242]: Failed password for invalid user admin from 1.2.3.4 port 22 ssh2',
    '192.168.1.10 - - [12/Feb/2023:14:10:21 +0100] "GET /index.php?x=1 HTTP/1.1" 404 153 "-" "Mozilla/5.0"',
    'warning: unknown[1.2.3.4]: SASL LOGIN authentication failed: UGFzc3dvcmQ6',
  ];
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith('.log')) continue;
      out.push(...readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).slice(0, 200));
    }
  }
  return out;
}

test('differential: literals are in every matched line; fast path equals regex.exec', (t) => {
  const ref = requireDebianReference(t);
  if (!ref) return;
  const lib = PatternLibrary.withBuiltins();
  lib.loadDir(ref.patterns);
  const groks = collectHubGroks(ref.hub, lib);
  const r = rng(0x5eed);
  const lines = sampleLines();
  let generated = 0;
  let matched = 0;
  let longChecked = 0;
  for (const h of groks) {
    const g = compileGrok(h.text, lib);
    const root = parseRe2(expandGrok(h.text, lib)).root;
    const inputs = [...lines];
    for (let i = 0; i < 25; i++) {
      const core = sample(root, r);
      inputs.push(core, 'pre ' + core + ' post', core.slice(1));
      generated++;
    }
    // A few long lines so the linear-engine and long-gate paths run too.
    inputs.push('z'.repeat(3000) + ' ' + sample(root, r), sample(root, r) + ' ' + 'q'.repeat(3000));
    for (const input of inputs) {
      const want = naiveMatch(g, input);
      const got = g.match(input);
      assert.deepEqual(got ? Object.fromEntries(got) : null, want, `${h.file} ${h.where} on ${JSON.stringify(input.slice(0, 200))}`);
      if (g.regex.test(input)) {
        matched++;
        if (input.length > 2048) longChecked++;
        for (const lit of g.requiredLiterals) assert.ok(input.includes(lit), `literal ${JSON.stringify(lit)} of ${h.file} ${h.where}`);
      }
    }
  }
  t.diagnostic(`${groks.length} groks, ${generated} generated samples, ${matched} regex matches (${longChecked} long lines)`);
  assert.ok(matched > groks.length * 20, `generator produced too few matching lines (${matched})`);
  assert.ok(longChecked > 0);
});
