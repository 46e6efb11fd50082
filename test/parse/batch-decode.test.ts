/**
 * BatchParser decodes a window's lines in pieces of about 32 KB (batch.ts DECODE_CHUNK): the
 * lines it hands out, and each line's byte offset in the hint, must be exactly those of the
 * whole batch decoded at once (batcher.ts batchText + forEachLine), whatever falls on a piece
 * boundary: CRLF, empty lines, a line longer than a piece, multi-byte and invalid UTF-8, a BOM,
 * a last line without its newline. Both scanners (WASM and its TS twin).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRulesDir, SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';
import { BatchParser } from '../../src/parse/batch.js';
import { batchText, forEachLine } from '../../src/pipeline/batcher.js';
import { mulberry32 as rng } from '../../fixtures/seeded.js';

const set = loadRulesDir(SHIPPED_RULES_DIR, { strict: true, warn: () => {} }).parsers.set;
const enc = new TextEncoder();

/** ~300 KB of lines of every kind, shuffled by a seeded generator. */
function batch(seed: number): Uint8Array {
  const r = rng(seed);
  const parts: Uint8Array[] = [enc.encode('\uFEFFfirst line after a BOM\n')];
  const kinds = [
    () => enc.encode(`Jan  5 00:00:0${Math.floor(r() * 10)} host sshd[1]: line ${Math.floor(r() * 1e6)}\n`),
    () => enc.encode(`crlf line ${Math.floor(r() * 1e6)}\r\n`),
    () => enc.encode('\n'),
    () => enc.encode('\r\n'),
    () => enc.encode(`multi-byte é ü 漢字 😀 ${Math.floor(r() * 1e3)}\n`),
    // Invalid UTF-8: a lone lead byte right before the newline, a stray continuation byte.
    () => Uint8Array.from([0x61, 0x62, 0xe2, 0x0a]),
    () => Uint8Array.from([0x80, 0x61, 0xc3, 0x0d, 0x0a]),
    () => enc.encode('x'.repeat(40_000 + Math.floor(r() * 40_000)) + '\n'),
  ];
  let size = 0;
  while (size < 300_000) {
    const k = r() < 0.01 ? kinds.length - 1 : Math.floor(r() * (kinds.length - 1));
    const p = kinds[k]!();
    parts.push(p);
    size += p.length;
  }
  parts.push(enc.encode('last line without newline é'));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

for (const impl of ['wasm', 'twin'] as const) {
  test(`BatchParser (${impl}): lines decoded in pieces equal the whole batch decoded at once`, () => {
    const bp = BatchParser.create(set, impl);
    for (const seed of [1, 2, 3]) {
      const bytes = batch(seed);
      const want: string[] = [];
      forEachLine(batchText(bytes.buffer as ArrayBuffer), (l) => want.push(l));
      const got: string[] = [];
      const starts: number[] = [];
      bp.forEachLine(bytes, (line, hint) => {
        got.push(line);
        starts.push(hint === undefined ? -1 : hint.lineStart);
      });
      assert.equal(got.length, want.length, `seed ${seed}: line count`);
      for (let i = 0; i < want.length; i++) assert.equal(got[i], want[i], `seed ${seed}: line ${i}`);
      // Each line's byte offset: its text starts there in the batch (offsets are per scanner
      // window; this batch fits one window).
      const dec = new TextDecoder('utf-8', { ignoreBOM: true });
      for (let i = 0; i < got.length; i++) {
        if (starts[i]! < 0) continue;
        const from = bytes.subarray(starts[i]!, starts[i]! + enc.encode(got[i]!).length + 8);
        assert.ok(dec.decode(from).startsWith(got[i]!.slice(0, 40)), `seed ${seed}: offset of line ${i}`);
      }
      assert.ok(want.some((l) => l.length > 40_000), 'a line longer than a piece');
    }
  });
}
