/**
 * The request-target readers (src/parse/http-split-fast.ts) against the groks they replace
 * (WEB_QUERY_SPLIT, WEB_FILE_SPLIT of the shipped http-logs parser): on every input they
 * accept, the captures equal grok.match() (keys, order, values); they refuse (writing
 * nothing) what they cannot be sure of; they take ordinary targets; they recognise only
 * those two groks. Inputs: request targets of the nginx sample and generated logs, edge
 * strings and seeded random strings over the characters that matter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRulesDir, SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';
import { compileGrok, type Grok } from '../../src/grok/compile.js';
import { PatternLibrary } from '../../src/grok/library.js';
import { httpSplitReader } from '../../src/parse/http-split-fast.js';
import type { AccessReader } from '../../src/parse/access-fast.js';
import type { ParserNode } from '../../src/parse/types.js';
import { repoRoot } from '../support/debian.js';
import { mulberry32 as rng } from '../../fixtures/seeded.js';
import { generatedNginx } from './generated-nginx.js';

function shippedReaders(): { grok: Grok; reader: AccessReader }[] {
  const set = loadRulesDir(SHIPPED_RULES_DIR, { strict: true, warn: () => {} }).parsers.set;
  const out: { grok: Grok; reader: AccessReader }[] = [];
  const walk = (n: ParserNode): void => {
    const r = n.grok ? httpSplitReader(n.grok.grok) : null;
    if (r !== null) out.push({ grok: n.grok!.grok, reader: r });
    n.children.forEach(walk);
  };
  for (const s of set.stages) for (const n of set.byStage.get(s) ?? []) walk(n);
  return out;
}

function same(grok: Grok, reader: AccessReader, s: string): boolean {
  const want = grok.match(s);
  const got = new Map<string, string>();
  if (!reader(s, got)) {
    assert.equal(got.size, 0, `a refusal writes nothing: ${JSON.stringify(s)}`);
    return false;
  }
  assert.ok(want !== null, `accepted what the grok rejects: ${JSON.stringify(s)}`);
  assert.deepEqual([...got], [...want], JSON.stringify(s));
  return true;
}

test('readers exist for the two shipped request-target groks only', () => {
  const found = shippedReaders();
  assert.deepEqual(found.map((f) => f.grok.semantics.join(',')).sort(), ['file_dir,file_frag,file_ext', 'http_path,http_args']);
  const lib = PatternLibrary.withBuiltins();
  lib.loadDir(join(SHIPPED_RULES_DIR, 'patterns'));
  assert.ok(httpSplitReader(compileGrok('%{WEB_FILE_SPLIT}', lib)) !== null);
  assert.ok(httpSplitReader(compileGrok('%{WEB_QUERY_SPLIT}', lib)) !== null);
  // Another definition of a part, or other names: no reader.
  const other = PatternLibrary.withBuiltins();
  other.add('WEB_DIR', '.*/');
  other.add('WEB_FILEFRAG', '[^/]+');
  other.add('WEB_EXT', '\\.[^./]*|');
  assert.equal(httpSplitReader(compileGrok(lib.get('WEB_FILE_SPLIT')!, other)), null);
  assert.equal(httpSplitReader(compileGrok('^%{WEB_PATHPART:path}\\?%{GREEDYDATA:http_args}$', lib)), null);
  assert.equal(httpSplitReader(compileGrok('%{NGX_ACCESS}', lib)), null);
});

const EDGES = ['', '/', '//', 'a', 'a/', '/a', '/a.b', '/a.b.c', '/a.tar.gz', '/.htaccess', '/.env.local', '/a/.b', '/a.', '/a..b', '/.', '/..',
  '/a/b/', '/a/b/c.php', '/a.b/c', '/a.b/', 'no-slash.txt', '?', '/?', '/a?b', '/a?b?c', '?x/y.z', '/a.php?x=1/2.3', '/x\ny', '/x.y\n',
  '\n/a', '/a?b\nc', 'a\n?b', '/é/ü.ß', '/😀.png', '/a b/c d.e f', '/%2e%2e/%2f.x', '\\a\\b.c', '/a/b.c/d', '/' + 'x'.repeat(5000) + '.y'];

test('readers = groks on request targets of the sample and generated logs, and on edge strings', () => {
  const readers = shippedReaders();
  const targets: string[] = [...EDGES];
  const req = /"(?:[A-Za-z]+) (\S+)/;
  const add = (lines: readonly string[], step: number): void => {
    for (let i = 0; i < lines.length; i += step) {
      const m = req.exec(lines[i]!);
      if (m) targets.push(m[1]!);
    }
  };
  for (const f of ['fixtures/samples/nginx.log', 'fixtures/samples/apache2.log']) add(readFileSync(join(repoRoot, f), 'utf8').split('\n'), 1);
  add(generatedNginx(), 7);
  assert.ok(targets.length > 1000, `targets: ${targets.length}`);
  for (const { grok, reader } of readers) {
    let matched = 0;
    let accepted = 0;
    for (const t of targets) {
      if (grok.match(t) !== null) matched++;
      if (same(grok, reader, t)) accepted++;
    }
    assert.ok(matched > 50, `${grok.pattern}: ${matched} matches`);
    // Only inputs with '\n' may be left to the regex.
    const withNl = targets.filter((t) => t.includes('\n') && grok.match(t) !== null).length;
    assert.ok(accepted >= matched - withNl, `${grok.pattern}: accepted ${accepted} of ${matched}`);
  }
});

test('readers = groks on seeded random strings', () => {
  const readers = shippedReaders();
  const alphabet = ['/', '/', '.', '.', '?', 'a', 'b', '-', '\n', ' ', 'é', '%', '=', '&', '\\'];
  const r = rng(0x5711);
  for (const { grok, reader } of readers) {
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      const len = Math.floor(r() * 14);
      let s = '';
      for (let k = 0; k < len; k++) s += alphabet[Math.floor(r() * alphabet.length)]!;
      if (same(grok, reader, s)) accepted++;
    }
    assert.ok(accepted > 5000, `${grok.pattern}: accepted ${accepted}`);
  }
});
