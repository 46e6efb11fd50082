/**
 * The nginx access reader (src/parse/access-fast.ts) against the grok it replaces: on every
 * line it accepts, the captures must equal grok.match() (same keys, order and values), and
 * it must refuse (writing nothing) where it cannot be sure; it must take the ordinary lines
 * (else it saves nothing); it must recognise only that grok. Lines: the nginx sample log, the
 * whole generated 100k benchmark log (built in memory), hand-written edge lines, and seeded byte
 * mutations of them (invalid UTF-8 included).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRulesDir, SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';
import { compileGrok, type Grok } from '../../src/grok/compile.js';
import { PatternLibrary } from '../../src/grok/library.js';
import { accessLogReader, NGX_ACCESS_GROK, type AccessReader } from '../../src/parse/access-fast.js';
import type { ParserNode, ParserSet } from '../../src/parse/types.js';
import { repoRoot } from '../support/debian.js';
import { mulberry32 as rng } from '../../fixtures/seeded.js';
import { generatedNginx } from './generated-nginx.js';

function shippedSet(): ParserSet {
  return loadRulesDir(SHIPPED_RULES_DIR, { strict: true, warn: () => {} }).parsers.set;
}

function allGroks(set: ParserSet): Grok[] {
  const out: Grok[] = [];
  const walk = (n: ParserNode): void => {
    if (n.grok) out.push(n.grok.grok);
    n.children.forEach(walk);
  };
  for (const s of set.stages) for (const n of set.byStage.get(s) ?? []) walk(n);
  return out;
}

function shippedReader(): { grok: Grok; reader: AccessReader } {
  const groks = allGroks(shippedSet()).filter((g) => accessLogReader(g) !== null);
  assert.equal(groks.length, 1, 'exactly one grok of the shipped rules has the reader');
  return { grok: groks[0]!, reader: accessLogReader(groks[0]!)! };
}

/** Reader vs grok on one line; returns whether the reader accepted it. */
function same(grok: Grok, reader: AccessReader, line: string): boolean {
  const want = grok.match(line);
  const got = new Map<string, string>();
  const ok = reader(line, got);
  if (!ok) {
    assert.equal(got.size, 0, `a refusal writes nothing: ${JSON.stringify(line)}`);
    return false;
  }
  assert.ok(want !== null, `accepted a line the grok rejects: ${JSON.stringify(line)}`);
  assert.deepEqual([...got], [...want], JSON.stringify(line));
  return true;
}

test('the reader is found for the shipped NGX_ACCESS grok only (by name or as %{NGX_ACCESS})', () => {
  const { grok } = shippedReader();
  assert.match(grok.pattern, /^\^\(\?:%\{IPORHOST:target_fqdn\} \)\?/);
  const lib = PatternLibrary.withBuiltins();
  lib.loadDir(join(SHIPPED_RULES_DIR, 'patterns'));
  assert.ok(accessLogReader(compileGrok(NGX_ACCESS_GROK, lib)) !== null);
  // The same text over another definition of a part is another regex: no reader.
  const other = PatternLibrary.withBuiltins();
  for (const [n, d] of [['WEB_QVAL', '[^"]*'], ['WEB_METHOD', '\\w+'], ['WEB_STATUS', '[0-9]{3}'], ['WEB_BYTES', '[0-9]+|-'], ['NGX_BRACKETED', '[^\\]]*']] as const) other.add(n, d);
  other.add('NGX_ACCESS', lib.get('NGX_ACCESS')!);
  assert.equal(accessLogReader(compileGrok(NGX_ACCESS_GROK, other)), null);
  // Different semantics, same shape otherwise: no reader.
  assert.equal(accessLogReader(compileGrok(lib.get('NGX_ACCESS')!.replace(':remote_addr', ':client'), lib)), null);
});

test('reader = grok on the nginx sample log, and it takes every access line of it', () => {
  const { grok, reader } = shippedReader();
  const lines = readFileSync(join(repoRoot, 'fixtures/samples/nginx.log'), 'utf8').split('\n').filter(Boolean);
  let matched = 0;
  let accepted = 0;
  for (const l of lines) {
    if (grok.match(l) !== null) matched++;
    if (same(grok, reader, l)) accepted++;
  }
  assert.ok(matched > 200, `sample access lines: ${matched}`);
  assert.equal(accepted, matched, 'every sample access line is read without the regex');
});

test('reader = grok on the whole generated nginx 100k log (the benchmark file\'s lines)', () => {
  const { grok, reader } = shippedReader();
  const lines = generatedNginx();
  let accepted = 0;
  for (const l of lines) if (same(grok, reader, l)) accepted++;
  assert.equal(lines.length, 100000);
  assert.equal(accepted, lines.length, 'every generated line is read without the regex');
});

const D = '[05/Jan/2026:00:00:00 +0000]';
const TAIL = '"https://www.example.org/" "Mozilla/5.0 (X11)"';
/** Hand-written lines around every choice the reader makes; `true` = it must take the line. */
const EDGES: [string, boolean][] = [
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12 ${TAIL}`, true],
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12`, true], // common format
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 -`, true],
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12abc`, true], // nothing anchors the end
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12 "ref"`, true], // a half tail is no tail
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12 "ref" "ua" 512 0.004 [up] [alt]`, true], // ingress-nginx
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12 "ref" "ua" 512 0.004 [up] []`, true],
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12 "ref" "ua" 512 0.004 [up]`, true], // partial ingress tail
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12 "ref" "ua" 512 x [up] [alt]`, true],
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12 "ref" "ua" +5. .5 [up] [alt]`, true],
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12 "r\\"ef" "u\\\\a\\"" 1 2 [a]b] [c]`, true], // escapes
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12 "ref\\" "ua"`, true],
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12 "ref" "ua\\`, true],
  [`1.2.3.4 - - ${D} "GET /a"b HTTP/1.1" 200 12`, true],
  [`1.2.3.4 - - ${D} "GET /a" 200 12 ${TAIL}`, true], // HTTP/0.9: target ends with the quote
  [`1.2.3.4 - - ${D} "GET /a"" 200 12`, true],
  [`1.2.3.4 - - ${D} "GET "" 200 12`, true],
  [`1.2.3.4 - - ${D} "GET " 200 12`, true],
  [`1.2.3.4 - - ${D} "GET /a b" 200 12`, true], // not METHOD TARGET [VERSION]: rawrequest
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1 x" 200 12`, true],
  [`1.2.3.4 - - ${D} "GET / HTTP/x" 200 12`, true],
  [`1.2.3.4 - - ${D} "GET / HTTP/1." 200 12`, true],
  [`1.2.3.4 - - ${D} "GET / HTTP/.5" 200 12`, true],
  [`1.2.3.4 - - ${D} "GET / HTTP/-2" 200 12`, true],
  [`1.2.3.4 - - ${D} "M-SEARCH * HTTP/1.1" 200 12`, true],
  [`1.2.3.4 - - ${D} "-" 400 0 "-" "-"`, true],
  [`1.2.3.4 - - ${D} "" 400 0 "-" "-"`, true],
  [`1.2.3.4 - - ${D} "\\x16\\x03\\x01\\x02\\x00" 400 157 "-" "-"`, true],
  [`1.2.3.4 - - ${D} "\\"" 400 0`, true],
  [`1.2.3.4 - - ${D} "GET /\tx HTTP/1.1" 200 12`, true], // a tab ends NOTSPACE
  [`1.2.3.4 - - ${D} "GET /\fx HTTP/1.1" 200 12`, true],
  [`1.2.3.4 - - ${D} "GET /\rx HTTP/1.1" 200 12`, true],
  [`1.2.3.4 - - ${D} "GET /\vx HTTP/1.1" 200 12`, true], // \v is not in RE2's \s
  [`1.2.3.4 - - ${D} "GET /\u00a0x HTTP/1.1" 200 12`, true],
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12 "é" "日本 😀"`, true],
  [`1.2.3.4 - - ${D}   "GET / HTTP/1.1" 200 12`, true],
  [`1.2.3.4 - alice ${D} "GET / HTTP/1.1" 200 12`, true],
  [`1.2.3.4 - a[b] ${D} "GET / HTTP/1.1" 200 12`, true],
  [`1.2.3.4 - a\tb ${D} "GET / HTTP/1.1" 200 12`, false],
  [`1.2.3.4 -  ${D} "GET / HTTP/1.1" 200 12`, false],
  [`001.02.3.004 - - ${D} "GET / HTTP/1.1" 200 12`, true], // the grok's IPV4 allows leading zeros
  [`255.249.199.99 - - ${D} "GET / HTTP/1.1" 200 12`, true],
  [`256.1.1.1 - - ${D} "GET / HTTP/1.1" 200 12`, false],
  [`1.2.3 - - ${D} "GET / HTTP/1.1" 200 12`, false],
  [`1.2.3.4.5 - - ${D} "GET / HTTP/1.1" 200 12`, false],
  [`300.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12`, false],
  [`::1 - - ${D} "GET / HTTP/1.1" 200 12`, true],
  [`2001:db8::1 - - ${D} "GET / HTTP/1.1" 200 12`, true],
  [`::ffff:1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12`, true],
  [`2001:db8::1::2 - - ${D} "GET / HTTP/1.1" 200 12`, false],
  [`fe80::1%eth0 - - ${D} "GET / HTTP/1.1" 200 12`, false], // zone: left to the regex
  [`fe80::1%eth0 - - ${D} "GET / HTTP/1.1" 200 12 "a - - ${D} x" "b"`, false],
  [`example.com 1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12`, true],
  [`example.com. 1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12`, true],
  [`ex-ample.com- 1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12`, true],
  [`${'a'.repeat(63)}.com 1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12`, true],
  [`${'a'.repeat(64)}.com 1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12`, false],
  [`-ex.com 1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12`, false],
  [`ex..com 1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12`, false],
  [`ex_a.com 1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12`, false],
  [`10.0.0.1 1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12`, true],
  [`2001:db8::1 1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12`, true],
  [`example.com 2001:db8::1 - - ${D} "GET / HTTP/1.1" 200 12`, true],
  [`example.com:8080 1.2.3.4 - - ${D} "GET / HTTP/1.1" 200 12`, false],
  [`example.com - - ${D} "GET / HTTP/1.1" 200 12`, false],
  [`1.2.3.4 - 5.6.7.8 - - ${D} "GET / HTTP/1.1" 200 12`, false],
  [`1.2.3.4 - - [5/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 12`, false], // rarer time shapes: regex
  [`1.2.3.4 - - [05/Jan/2026:24:00:00 +0000] "GET / HTTP/1.1" 200 12`, false],
  [`1.2.3.4 - - [05/Jan/2026:00:00:60 +0000] "GET / HTTP/1.1" 200 12`, false],
  [`1.2.3.4 - - [05/Jan/2026:00:00:00.123 +0000] "GET / HTTP/1.1" 200 12`, false],
  [`1.2.3.4 - - [05/January/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 12`, false],
  [`1.2.3.4 - - [00/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 12`, false],
  [`1.2.3.4 - - [32/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 12`, false],
  [`1.2.3.4 - - [05/jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 12`, false],
  [`1.2.3.4 - - [05/Jan/2026:00:00:00 +000] "GET / HTTP/1.1" 200 12`, false],
  [`1.2.3.4 - - [05/Jan/2026:00:00:00 -0530] "GET / HTTP/1.1" 200 12`, true],
  [`1.2.3.4 - - ${D}"GET / HTTP/1.1" 200 12`, false],
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 20 12`, false],
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 2000 12`, false],
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1" 200  12`, false],
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1"`, false],
  [`1.2.3.4 - - ${D} "GET / HTTP/1.1 200 12`, false],
  [`1.2.3.4`, false],
  ['', false],
  [' ', false],
];

test('reader = grok on edge lines; it takes the ones it should', () => {
  const { grok, reader } = shippedReader();
  for (const [line, take] of EDGES) {
    const accepted = same(grok, reader, line);
    if (take) assert.ok(accepted, `should be read without the regex: ${JSON.stringify(line)}`);
    else if (accepted) assert.ok(grok.match(line) !== null);
  }
});

/** Seeded byte-level variants: a byte replaced, inserted or removed, or a run duplicated. */
function mutate(line: Uint8Array, r: () => number): Uint8Array[] {
  const pool = [0x20, 0x22, 0x5c, 0x5b, 0x5d, 0x2d, 0x2e, 0x3a, 0x25, 0x2f, 0x09, 0x0c, 0x0d, 0x0b, 0x30, 0x32, 0x35, 0x39,
    0x41, 0x48, 0x54, 0x50, 0x61, 0x7a, 0x2b, 0x5f, 0x80, 0xc3, 0xa9, 0xff, 0xe2, 0x00];
  const out: Uint8Array[] = [];
  for (let k = 0; k < 6; k++) {
    const at = Math.floor(r() * line.length);
    const b = pool[Math.floor(r() * pool.length)]!;
    const op = k % 4;
    if (op === 0) { const c = line.slice(); c[at] = b; out.push(c); }
    else if (op === 1) out.push(Uint8Array.from([...line.subarray(0, at), b, ...line.subarray(at)]));
    else if (op === 2) out.push(Uint8Array.from([...line.subarray(0, at), ...line.subarray(at + 1)]));
    else {
      const len = 1 + Math.floor(r() * 12);
      out.push(Uint8Array.from([...line.subarray(0, at + len), ...line.subarray(at, at + len), ...line.subarray(at + len)]));
    }
  }
  return out;
}

test('reader = grok on seeded byte mutations of sample, generated and edge lines', () => {
  const { grok, reader } = shippedReader();
  const enc = new TextEncoder();
  const dec = new TextDecoder('utf-8', { ignoreBOM: true });
  const base = readFileSync(join(repoRoot, 'fixtures/samples/nginx.log'), 'utf8').split('\n').filter(Boolean).concat(EDGES.map((e) => e[0]));
  const lines = generatedNginx();
  for (let i = 0; i < lines.length; i += 97) base.push(lines[i]!);
  const r = rng(0xacce55);
  let total = 0;
  let matched = 0;
  let accepted = 0;
  for (const l of base) {
    for (let round = 0; round < 3; round++) {
      for (const m of mutate(enc.encode(l), r)) {
        const line = dec.decode(m);
        total++;
        if (grok.match(line) !== null) matched++;
        if (same(grok, reader, line)) accepted++;
      }
    }
  }
  assert.ok(total > 5000, `mutated lines: ${total}`);
  // Most mutations keep the line an access line, and most of those stay readable.
  assert.ok(accepted > matched * 0.6, `accepted ${accepted} of ${matched} grok matches (${total} lines)`);
});
