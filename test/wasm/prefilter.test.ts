import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_LITERALS, MAX_LITERAL_LEN, MAX_NODES } from '../../src/bindings/abi.generated.js';
import { compilePrefilter, pickProbe } from '../../src/bindings/prefilter-plan.js';
import type { BatchScanner, PrefilterResult } from '../../src/bindings/types.js';
import { compileGrok } from '../../src/grok/compile.js';
import { PatternLibrary } from '../../src/grok/library.js';
import { repoRoot, requireDebianReference } from '../support/debian.js';
import { collectHubGroks } from '../grok/hub-groks.js';
import { bothScanners, bytes, mutate, prng, randomBytes } from './support.js';
import { generateNginx, generateSshd } from '../../fixtures/generate-bf-logs.js';

const [wasm, twin] = bothScanners();
const bit = (masks: Uint32Array, words: number, line: number, i: number): boolean =>
  ((masks[line * words + (i >>> 5)]! >>> (i & 31)) & 1) === 1;
const nodeBits = (r: PrefilterResult, line: number, nodes: number): boolean[] =>
  Array.from({ length: nodes }, (_, n) => bit(r.nodeMasks, r.nodeWords, line, n));

function run(s: BatchScanner, text: string | Uint8Array, nodes: string[][]): PrefilterResult {
  s.scanLines(typeof text === 'string' ? bytes(text) : text, true);
  const r = s.prefilter(compilePrefilter(nodes));
  // Copy: the wasm result is a view that the next call overwrites.
  return { ...r, literalMasks: r.literalMasks.slice(), nodeMasks: r.nodeMasks.slice() };
}

for (const s of [wasm, twin]) {
  test(`${s.impl}: a node is a candidate only where all its literals occur inside one line`, () => {
    const text = 'Failed password for root from 1.2.3.4\nFailed password\nfor x from y\nnothing\n';
    const r = run(s, text, [['Failed password', ' from '], ['from'], [], ['absent']]);
    assert.deepEqual(nodeBits(r, 0, 4), [true, true, true, false]);
    assert.deepEqual(nodeBits(r, 1, 4), [false, false, true, false]);
    assert.deepEqual(nodeBits(r, 2, 4), [false, true, true, false]);
    assert.deepEqual(nodeBits(r, 3, 4), [false, false, true, false]);
    assert.equal(r.candidates, 4); // the literal-free node makes every line a candidate
  });

  test(`${s.impl}: edges — line start/end, no match across '\\n' or into '\\r\\n', 1-2 byte literals, UTF-8`, () => {
    const text = 'ab\ncd\r\nxé\n\n';
    const r = run(s, text, [['ab'], ['b\nc'], ['d\r'], ['a'], ['d'], ['é'], ['xé'], ['cd']]);
    assert.deepEqual(nodeBits(r, 0, 8), [true, false, false, true, false, false, false, false]);
    assert.deepEqual(nodeBits(r, 1, 8), [false, false, false, false, true, false, false, true]);
    assert.deepEqual(nodeBits(r, 2, 8), [false, false, false, false, false, true, true, false]);
    assert.deepEqual(nodeBits(r, 3, 8), [false, false, false, false, false, false, false, false]);
  });

  test(`${s.impl}: literal found at every position of a 16-byte block and past 64 KiB`, () => {
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) lines.push('.'.repeat(i) + 'NEEDLE' + '.'.repeat(40 - i));
    lines.push('-'.repeat(70000) + 'NEEDLE');
    lines.push('NEEDL'.repeat(30) + 'E'); // near misses before the hit at the very end
    lines.push('NEEDL'.repeat(30));
    const r = run(s, lines.join('\n'), [['NEEDLE']]);
    for (let i = 0; i < lines.length - 1; i++) assert.ok(bit(r.nodeMasks, 1, i, 0), `line ${i}`);
    assert.ok(!bit(r.nodeMasks, 1, lines.length - 1, 0));
  });
}

test('plan: dedupe, truncation to MAX_LITERAL_LEN (conservative), U+FFFD and empty literals ignored', () => {
  const long = 'L'.repeat(MAX_LITERAL_LEN) + 'TAIL';
  const plan = compilePrefilter([['same', 'same', ''], ['same'], [long], ['\uFFFD'], ['bad\uD800']]);
  assert.equal(plan.literals.length, 2);
  assert.equal(plan.literals[1]!.length, MAX_LITERAL_LEN);
  for (const s of [wasm, twin]) {
    s.scanLines(bytes(`${'L'.repeat(MAX_LITERAL_LEN)}-other-tail\nsame\n`), true);
    const r = s.prefilter(plan);
    // The truncated literal matches on its prefix; nodes with only ignored literals match anything.
    assert.deepEqual(nodeBits(r, 0, 5), [false, false, true, true, true]);
    assert.deepEqual(nodeBits(r, 1, 5), [true, true, false, true, true]);
  }
});

test('plan: more than MAX_NODES nodes is an error, more than MAX_LITERALS literals drops the extras', () => {
  assert.throws(() => compilePrefilter(Array.from({ length: MAX_NODES + 1 }, () => ['x'])), /at most 256 per plan/);
  const many = compilePrefilter([Array.from({ length: MAX_LITERALS + 10 }, (_, i) => `lit${i}`)]);
  assert.equal(many.literals.length, MAX_LITERALS);
});

test('many literals and nodes: several mask words per line, wasm == twin', () => {
  const nodes = Array.from({ length: 70 }, (_, n) => [`k${n}`, `v${n % 7}`]);
  const text = Array.from({ length: 50 }, (_, j) => `k${j} v${j % 7} k${j + 20}`).join('\n');
  const a = run(wasm, text, nodes);
  const b = run(twin, text, nodes);
  assert.equal(a.nodeWords, 3);
  assert.equal(a.litWords, 3); // 70 k-literals + 7 v-literals
  assert.deepEqual(Array.from(a.nodeMasks), Array.from(b.nodeMasks));
  assert.deepEqual(Array.from(a.literalMasks), Array.from(b.literalMasks));
  assert.ok(bit(a.nodeMasks, 3, 5, 5) && !bit(a.nodeMasks, 3, 5, 6));
});

test('a plan switch reloads the wasm table; the same plan is not reloaded', () => {
  const p1 = compilePrefilter([['aa']]);
  const p2 = compilePrefilter([['bb']]);
  wasm.scanLines(bytes('aa\nbb\n'), true);
  assert.deepEqual(Array.from(wasm.prefilter(p1).nodeMasks), [1, 0]);
  assert.deepEqual(Array.from(wasm.prefilter(p2).nodeMasks), [0, 1]);
  assert.deepEqual(Array.from(wasm.prefilter(p1).nodeMasks), [1, 0]);
});

test('seeded differential fuzz: wasm prefilter == twin', () => {
  const rand = prng(4242);
  const base = bytes(generateSshd(150, 5) + generateNginx(150, 5));
  for (let i = 0; i < 150; i++) {
    const input = i % 2 ? randomBytes(rand, 1 + Math.floor(rand() * 3000)) : mutate(rand, base.subarray(0, 1 + Math.floor(rand() * 20000)), 0.03);
    const str = Buffer.from(input).toString('latin1');
    // Literals cut from the input itself (so they hit), plus random ones (mostly misses).
    const nodes: string[][] = [];
    const nNodes = 1 + Math.floor(rand() * 40);
    for (let n = 0; n < nNodes; n++) {
      const set: string[] = [];
      const k = Math.floor(rand() * 4);
      for (let x = 0; x < k; x++) {
        const at = Math.floor(rand() * str.length);
        const lit = rand() < 0.8 ? str.slice(at, at + 1 + Math.floor(rand() * 12)) : Buffer.from(randomBytes(rand, 3)).toString('latin1');
        // Plans take JS strings and encode UTF-8; keep the fuzz in ASCII so bytes == chars.
        set.push(lit.replace(/[^\x20-\x7e]/g, 'q'));
      }
      nodes.push(set);
    }
    const a = run(wasm, input, nodes);
    const b = run(twin, input, nodes);
    assert.deepEqual(Array.from(a.literalMasks), Array.from(b.literalMasks), `case ${i}`);
    assert.deepEqual(Array.from(a.nodeMasks), Array.from(b.nodeMasks), `case ${i}`);
    assert.equal(a.candidates, b.candidates, `case ${i}`);
  }
});

test('sound on the Debian hub groks: whenever a grok matches a line, its node is a candidate', (t) => {
  const ref = requireDebianReference(t);
  if (!ref) return;
  const lib = PatternLibrary.withBuiltins();
  lib.loadDir(ref.patterns);
  const groks = collectHubGroks(ref.hub, lib).map((h) => compileGrok(h.text, lib));
  const dir = join(repoRoot, 'fixtures', 'samples');
  const text = readdirSync(dir).filter((f) => f.endsWith('.log')).sort()
    .map((f) => readFileSync(join(dir, f), 'utf8')).join('\n') + '\n' + generateSshd(300, 9) + generateNginx(300, 9);
  const lines = text.split('\n');
  const input = bytes(text);
  let matches = 0;
  let skipped = 0;
  for (let from = 0; from < groks.length; from += MAX_NODES) {
    const chunk = groks.slice(from, from + MAX_NODES);
    const plan = compilePrefilter(chunk.map((g) => [...g.requiredLiterals]));
    const results = [wasm, twin].map((s) => {
      const sc = s.scanLines(input, true);
      assert.equal(sc.count, lines[lines.length - 1] === '' ? lines.length - 1 : lines.length);
      const r = s.prefilter(plan);
      return r.nodeMasks.slice();
    });
    assert.deepEqual(Array.from(results[0]!), Array.from(results[1]!));
    const words = Math.ceil(chunk.length / 32);
    chunk.forEach((g, n) => {
      for (let j = 0; j < lines.length - 1; j++) {
        const candidate = bit(results[0]!, words, j, n);
        if (g.regex.test(lines[j]!)) {
          matches++;
          assert.ok(candidate, `grok ${JSON.stringify(g.pattern)} matches line ${j} but the prefilter dropped it`);
        } else if (!candidate) skipped++;
      }
    });
  }
  t.diagnostic(`${groks.length} groks x ${lines.length} lines: ${matches} matches kept, ${skipped} regex runs avoided`);
  assert.ok(matches > 1000 && skipped > matches);
});

test('probe positions: inside the literal, distinct, avoiding spaces when possible', () => {
  const probe = (s: string): [number, number] => {
    const p = pickProbe(bytes(s));
    return [p & 0xffff, p >>> 16];
  };
  assert.deepEqual(probe('x'), [0, 0]);
  const [a, b] = probe(' from ');
  assert.ok(a < b && a > 0 && b < 5, `${a},${b}`);
  assert.deepEqual(probe('  '), [0, 1]);
  const rand = prng(3);
  for (let i = 0; i < 500; i++) {
    const lit = randomBytes(rand, 1 + Math.floor(rand() * MAX_LITERAL_LEN));
    const p = pickProbe(lit);
    assert.ok((p & 0xffff) < lit.length && p >>> 16 < lit.length);
    if (lit.length > 1) assert.ok((p & 0xffff) < p >>> 16);
  }
});

test('hash path (8+ literals of 4+ bytes): same edges — line start/end, no match across lines, long lines', () => {
  const filler = Array.from({ length: 8 }, (_, i) => [`zzfill${i}`]);
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) lines.push('.'.repeat(i) + 'NEEDLE' + '.'.repeat(40 - i));
  lines.push('NEEDLE', 'x'.repeat(70000) + 'NEEDLE', 'NEEDL', 'EEDLE', 'NEED\r');
  const text = lines.join('\r\n') + '\nLE\n';
  const nodes = [['NEEDLE'], ['NEED\r'], ['NEEDLE\r\nNEEDLE'], ['EDLE\r'], ...filler];
  const plan = compilePrefilter(nodes);
  assert.ok(plan.literals.filter((l) => l.length >= 4).length >= 8);
  const [a, b] = [wasm, twin].map((s) => run(s, text, nodes));
  assert.deepEqual(Array.from(a!.nodeMasks), Array.from(b!.nodeMasks));
  for (let i = 0; i < 42; i++) assert.deepEqual(nodeBits(a!, i, 4), [true, false, false, false], `line ${i}`);
  assert.deepEqual(nodeBits(a!, 42, 4), [false, false, false, false]);
  assert.deepEqual(nodeBits(a!, 43, 4), [false, false, false, false]);
  assert.deepEqual(nodeBits(a!, 44, 4), [false, false, false, false]); // 'NEED\r' + '\n': the \r ends the line
});
