/**
 * The pool's batcher against readLines, its simple twin: whatever the chunking of the input,
 * the lines read back from the batches (batchText + forEachLine) are exactly the lines
 * readLines yields, truncation count included. Seeded inputs mix CRLF, empty lines,
 * multi-byte UTF-8 cut across chunks, invalid bytes, a BOM and over-long lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { readLines } from '../../src/acquisition/lines.js';
import { batchLines, batchText, forEachLine } from '../../src/pipeline/batcher.js';
import { mulberry32 as prng } from '../../fixtures/seeded.js';


const PIECES = ['sshd[12]: Failed password', ' from 1.2.3.4', 'é', '€', '😀', '\r', '\n', '\n', '\r\n', '\uFEFF', 'x'.repeat(40), ''];

function randomInput(rnd: () => number, size: number): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  while (n < size) {
    const r = rnd();
    let b: Buffer;
    if (r < 0.03) b = Buffer.from([0xff, 0xc3]); // invalid / truncated UTF-8
    else if (r < 0.05) b = Buffer.from('y'.repeat(Math.floor(rnd() * 300)));
    else b = Buffer.from(PIECES[Math.floor(rnd() * PIECES.length)]!);
    parts.push(b);
    n += b.length;
  }
  return Buffer.concat(parts);
}

function chunked(buf: Buffer, rnd: () => number, maxChunk: number): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length;) {
    const len = 1 + Math.floor(rnd() * maxChunk);
    chunks.push(buf.subarray(i, i + len));
    i += len;
  }
  return Readable.from(chunks);
}

async function viaReadLines(buf: Buffer, rnd: () => number, maxChunk: number, maxLineBytes: number): Promise<{ lines: string[]; truncated: number }> {
  let truncated = 0;
  const lines: string[] = [];
  for await (const l of readLines(chunked(buf, rnd, maxChunk), { maxLineBytes, onTruncated: () => truncated++ })) lines.push(l);
  return { lines, truncated };
}

async function viaBatches(buf: Buffer, rnd: () => number, maxChunk: number, maxLineBytes: number, batchBytes: number): Promise<{ lines: string[]; truncated: number; batches: number; seqs: number[] }> {
  let truncated = 0;
  const lines: string[] = [];
  const seqs: number[] = [];
  for await (const b of batchLines(chunked(buf, rnd, maxChunk), { batchBytes, maxLineBytes, onTruncated: () => truncated++ })) {
    assert.ok(b.bytes instanceof ArrayBuffer);
    const u = new Uint8Array(b.bytes);
    assert.equal(u[u.length - 1], 10, 'a batch ends on a line end');
    seqs.push(b.seq);
    forEachLine(batchText(b.bytes), (l) => lines.push(l));
  }
  return { lines, truncated, batches: seqs.length, seqs };
}

test('batches hold whole lines and read back exactly as readLines yields them (seeded, 60 inputs)', async () => {
  for (let seed = 1; seed <= 60; seed++) {
    const rnd = prng(seed);
    const buf = randomInput(rnd, 2000 + Math.floor(rnd() * 20000));
    const maxChunk = 1 + Math.floor(rnd() * 700);
    const maxLine = 50 + Math.floor(rnd() * 400);
    const batchBytes = 1 + Math.floor(rnd() * 4000);
    const a = await viaReadLines(buf, prng(seed * 7), maxChunk, maxLine);
    const b = await viaBatches(buf, prng(seed * 7), maxChunk, maxLine, batchBytes);
    assert.deepEqual(b.lines, a.lines, `seed ${seed}`);
    assert.equal(b.truncated, a.truncated, `seed ${seed}: truncated count`);
    assert.deepEqual(b.seqs, b.seqs.map((_, i) => i), 'seq numbers run 0, 1, 2, ...');
  }
});

test('batch size: batches are cut at the first line end past batchBytes', async () => {
  const line = 'a'.repeat(99) + '\n';
  const buf = Buffer.from(line.repeat(1000));
  const sizes: number[] = [];
  for await (const b of batchLines(Readable.from([buf.subarray(0, 30_000), buf.subarray(30_000)]), { batchBytes: 10_000 })) sizes.push(b.bytes.byteLength);
  assert.equal(sizes.reduce((x, y) => x + y, 0), buf.length);
  // Chunks are copied whole (cut at their last line end), so a batch is >= target except the last.
  for (const s of sizes.slice(0, -1)) assert.ok(s >= 10_000 && s % 100 === 0, `batch of ${s} bytes`);
});

test('a final line without a line end, and an over-long line in the middle of one chunk', async () => {
  const buf = Buffer.from(`first\n${'z'.repeat(5000)}\nmid\nlast`);
  const b = await viaBatches(buf, prng(1), 1 << 20, 1000, 1 << 20);
  assert.deepEqual(b.lines, ['first', 'z'.repeat(1000), 'mid', 'last']);
  assert.equal(b.truncated, 1);
  assert.equal(b.batches, 1);
});
