/**
 * The compiled-grok disk cache (src/grok/disk-cache.ts): a grok built from a cache entry must
 * be the grok a fresh compile gives (same regex and gate sources, semantics, groups, literals,
 * first-character test, matches) for every grok of the shipped rules and of the Debian hub;
 * damaged, stale or foreign entries are ignored and rewritten; an unwritable directory costs
 * one warning and nothing else. Every cache here lives in a temporary directory.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';

// Before anything compiles: no test may touch the user's cache directory.
const TMP = mkdtempSync(join(tmpdir(), 'palisade-grok-cache-'));
process.env.PALISADE_CACHE_DIR = join(TMP, 'default');
after(() => rmSync(TMP, { recursive: true, force: true }));

const { compileGrok, compileGrokData, expandGrok, grokKey, instantiateGrok } = await import('../../src/grok/compile.js');
const { configureGrokDiskCache, countCaptures, GrokDiskCache, grokDiskCache } = await import('../../src/grok/disk-cache.js');
const { LoadError } = await import('../../src/core/errors.js');
const { PatternLibrary } = await import('../../src/grok/library.js');
const { parseRe2 } = await import('../../src/grok/re2.js');
const { loadRulesDir, SHIPPED_RULES_DIR } = await import('../../src/config/rules-dir.js');
const { requireDebianReference } = await import('../support/debian.js');
const { collectHubGroks } = await import('./hub-groks.js');
const { sample } = await import('./re2-sample.js');
const { mulberry32: rng } = await import('../../fixtures/seeded.js');
type Grok = import('../../src/grok/compile.js').Grok;
type Lib = InstanceType<typeof PatternLibrary>;

let dirs = 0;
const freshDir = (): string => join(TMP, `c${dirs++}`);

/** Everything observable about a grok, engines included (their sources and which exist). */
function shape(g: Grok): unknown {
  const e = (g as unknown as { engines: { gate: RegExp | null; linear: RegExp | null; linearGate: RegExp | null } }).engines;
  return {
    pattern: g.pattern,
    regex: g.regex.source,
    flags: g.regex.flags,
    semantics: [...g.semantics],
    literals: [...g.requiredLiterals],
    hasFirstCharTest: g.hasFirstCharTest,
    gate: e.gate?.source ?? null,
    linear: e.linear?.source ?? null,
    linearGate: e.linearGate?.source ?? null,
  };
}

/** Fresh vs cached on one grok: equal data, equal shape, equal results on sampled lines. */
function checkOne(pattern: string, lib: Lib, where: string, r: () => number): number {
  const fresh = compileGrokData(pattern, lib);
  // The cache's textual group count (used to validate entries) agrees with V8's.
  for (const src of [fresh.js, fresh.gateJs ?? '']) {
    assert.equal(countCaptures(src), new RegExp(`${src}|`).exec('')!.length - 1, `${where}: capture count`);
  }
  const key = grokKey(pattern, lib);
  assert.ok(key !== null, `${where}: a compilable grok has a key`);
  const cache = new GrokDiskCache(checkDir, () => assert.fail('no warning expected'));
  cache.write(key, pattern, fresh);
  const back = cache.read(key, pattern);
  assert.ok(back !== null, `${where}: entry read back`);
  assert.deepEqual(back, fresh, where);
  const a = instantiateGrok(pattern, fresh);
  const b = instantiateGrok(pattern, back);
  assert.deepEqual(shape(b), shape(a), where);
  const root = parseRe2(expandGrok(pattern, lib)).root;
  let matched = 0;
  for (let i = 0; i < 12; i++) {
    const s = sample(root, r);
    for (const input of [s, 'x ' + s, s.slice(0, Math.floor(s.length / 2)), s + ' y']) {
      const ma = a.match(input);
      assert.deepEqual(b.match(input), ma, `${where} on ${JSON.stringify(input.slice(0, 120))}`);
      assert.equal(b.mayMatch(input), a.mayMatch(input), where);
      assert.equal(b.mayStart(input), a.mayStart(input), where);
      if (ma) matched++;
    }
  }
  return matched;
}
const checkDir = freshDir();

test('cached = fresh for every grok of the shipped rules', () => {
  configureGrokDiskCache({ dir: null }); // the rules load itself compiles fresh
  const rules = loadRulesDir(SHIPPED_RULES_DIR, { strict: true });
  const r = rng(0x9c0c);
  const patterns = new Set<string>();
  const visit = (n: { grok?: { grok: { pattern: string } }; children: unknown[] }): void => {
    if (n.grok) patterns.add(n.grok.grok.pattern);
    (n.children as (typeof n)[]).forEach(visit);
  };
  for (const nodes of rules.parsers.set.byStage.values()) nodes.forEach((n) => visit(n as never));
  assert.ok(patterns.size >= 10, `shipped groks found: ${patterns.size}`);
  let matched = 0;
  for (const p of patterns) matched += checkOne(p, rules.patterns, p.slice(0, 80), r);
  assert.ok(matched > patterns.size, `sampled lines matched: ${matched}`); // the comparison saw real captures
});

test('cached = fresh for every grok of the Debian hub', (t) => {
  const deb = requireDebianReference(t);
  if (!deb) return;
  const lib = PatternLibrary.withBuiltins();
  lib.loadDir(deb.patterns);
  const groks = collectHubGroks(deb.hub, lib);
  assert.ok(groks.length >= 50, `hub groks found: ${groks.length}`);
  const r = rng(0x9c0d);
  let matched = 0;
  for (const g of groks) matched += checkOne(g.text, lib, `${g.file} ${g.where}`, r);
  assert.ok(matched > groks.length, `sampled lines matched: ${matched}`);
});

test('a second load of the Debian hub reads every grok from the cache and gets the same groks', (t) => {
  const deb = requireDebianReference(t);
  if (!deb) return;
  const root = freshDir();
  const load = (): { groks: Grok[]; cache: InstanceType<typeof GrokDiskCache> } => {
    const cache = configureGrokDiskCache({ dir: root, warn: () => assert.fail('no warning expected') })!;
    const lib = PatternLibrary.withBuiltins(); // a new library: nothing from the memory cache
    lib.loadDir(deb.patterns);
    return { groks: collectHubGroks(deb.hub, lib).map((g) => compileGrok(g.text, lib)), cache };
  };
  const first = load();
  assert.equal(first.cache.stats.hits, 0);
  assert.ok(first.cache.stats.writes > 50, `written: ${first.cache.stats.writes}`);
  const second = load();
  assert.equal(second.cache.stats.misses, 0);
  assert.equal(second.cache.stats.writes, 0);
  assert.equal(second.cache.stats.hits, first.cache.stats.writes);
  assert.deepEqual(second.groks.map(shape), first.groks.map(shape));
  configureGrokDiskCache({ dir: null });
});

test('the key follows the pattern text and the definitions it reaches, not the library object', () => {
  const a = PatternLibrary.withBuiltins();
  a.add('MYWORD', '%{WORD}-x');
  const b = PatternLibrary.withBuiltins();
  b.add('MYWORD', '%{WORD}-x');
  b.add('UNRELATED', 'zzz');
  const c = PatternLibrary.withBuiltins();
  c.add('MYWORD', '%{WORD}-y');
  const p = '^%{MYWORD:w} %{IP:ip}$';
  assert.equal(grokKey(p, a), grokKey(p, b));
  assert.notEqual(grokKey(p, a), grokKey(p, c));
  assert.notEqual(grokKey(p, a), grokKey(p + ' ', a));
  assert.equal(grokKey('%{NOSUCH:x}', a), null);
  const loop = PatternLibrary.withBuiltins();
  loop.add('A1', '%{B1}');
  loop.add('B1', '%{A1}');
  assert.equal(grokKey('%{A1:x}', loop), null);
});

test('damaged, stale and foreign entries are ignored, recompiled and rewritten', () => {
  const root = freshDir();
  const lib = PatternLibrary.withBuiltins();
  const p = '^%{IP:client} %{WORD:verb} (?:%{NUMBER:n}|-)$';
  const key = grokKey(p, lib)!;
  const good = compileGrokData(p, lib);
  const cache = configureGrokDiskCache({ dir: root, warn: () => assert.fail('no warning expected') })!;
  mkdirSync(cache.dir, { recursive: true });
  const file = join(cache.dir, `${key}.json`);
  const entry = { v: 1, key, pattern: p, ...good };
  const damages: [string, string][] = [
    ['empty', ''],
    ['truncated', JSON.stringify(entry).slice(0, 40)],
    ['binary', '\u0000\u0001\u00ff garbage'],
    ['not an object', '[1,2,3]'],
    ['other version', JSON.stringify({ ...entry, v: 999 })],
    ['other key', JSON.stringify({ ...entry, key: 'f'.repeat(64) })],
    ['other pattern', JSON.stringify({ ...entry, pattern: p + 'x' })],
    ['group out of range', JSON.stringify({ ...entry, groups: good.groups.map(() => 99) })],
    ['group count', JSON.stringify({ ...entry, groups: [1] })],
    ['bad regex', JSON.stringify({ ...entry, js: '(' })],
    ['bad gate', JSON.stringify({ ...entry, gateJs: '[' })],
    ['wrong types', JSON.stringify({ ...entry, semantics: 'client', literals: [3] })],
    ['bad first-char', JSON.stringify({ ...entry, firstChar: { ascii: [1, 2], nonAscii: 'no' } })],
  ];
  const line = '10.0.0.1 GET 42';
  const want = [['client', '10.0.0.1'], ['verb', 'GET'], ['n', '42']];
  for (const [what, text] of damages) {
    writeFileSync(file, text);
    const fresh = PatternLibrary.withBuiltins(); // bypass the in-memory cache
    const g = compileGrok(p, fresh);
    assert.deepEqual([...g.match(line)!], want, what);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), entry, `${what}: rewritten`);
    assert.ok(cache.read(key, p) !== null, what);
  }
  assert.equal(cache.stats.writes, damages.length);
  configureGrokDiskCache({ dir: null });
});

test('an unwritable cache directory: one warning, groks still compile', () => {
  const notADir = join(TMP, 'plain-file');
  writeFileSync(notADir, 'x');
  const warnings: string[] = [];
  const cache = configureGrokDiskCache({ dir: notADir, warn: (m) => warnings.push(m) })!;
  const lib = PatternLibrary.withBuiltins();
  assert.deepEqual([...compileGrok('^%{WORD:a} %{INT:b}$', lib).match('x 1')!], [['a', 'x'], ['b', '1']]);
  assert.deepEqual([...compileGrok('%{IP:ip}', lib).match('at 1.2.3.4')!], [['ip', '1.2.3.4']]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /cannot write the compiled grok cache .*plain-file.*PALISADE_CACHE_DIR/);
  assert.equal(cache.stats.writes, 0);
  configureGrokDiskCache({ dir: null });
});

test('compile errors are reported as before and never cached', () => {
  const root = freshDir();
  const cache = configureGrokDiskCache({ dir: root })!;
  const lib = PatternLibrary.withBuiltins();
  assert.throws(() => compileGrok('%{NOSUCH:x}', lib), /unknown grok pattern %\{NOSUCH\}/);
  lib.add('BROKEN', '(unclosed');
  assert.throws(() => compileGrok('%{BROKEN:x}', lib), LoadError);
  assert.equal(cache.stats.writes, 0);
  assert.throws(() => readdirSync(cache.dir)); // nothing was ever created
  configureGrokDiskCache({ dir: null });
});

test('the default directory comes from PALISADE_CACHE_DIR', () => {
  const cache = configureGrokDiskCache()!;
  assert.ok(cache.dir.startsWith(join(TMP, 'default') + '/'), cache.dir);
  assert.equal(grokDiskCache(), cache);
  configureGrokDiskCache({ dir: null });
});
