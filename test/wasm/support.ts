/**
 * Shared by the WASM tests: builds build/palisade.wasm when it is missing or older than an
 * assembly/ source (CI builds it in `npm run build`; this keeps `node test/run.mjs wasm`
 * working right after an edit), a seeded PRNG, and helpers to run both implementations.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASM_PATH, createWasmScanner } from '../../src/bindings/wasm.js';
import { createTwinScanner } from '../../src/bindings/scanner-twin.js';
import type { BatchScanner } from '../../src/bindings/types.js';
import type { PrefilterPlan } from '../../src/bindings/prefilter-plan.js';
import { mulberry32 as prng } from '../../fixtures/seeded.js';
export { prng };

const root = fileURLToPath(new URL('../..', import.meta.url));

export function ensureWasm(): void {
  const srcDir = join(root, 'assembly');
  const newest = Math.max(...readdirSync(srcDir).filter((f) => f.endsWith('.ts')).map((f) => statSync(join(srcDir, f)).mtimeMs));
  if (existsSync(WASM_PATH) && statSync(WASM_PATH).mtimeMs >= newest) return;
  const r = spawnSync(process.execPath, [join(root, 'scripts/build-wasm.mjs')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build-wasm failed:\n${r.stdout}\n${r.stderr}`);
}

export function bothScanners(): [BatchScanner, BatchScanner] {
  ensureWasm();
  return [createWasmScanner(), createTwinScanner()];
}


export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Field text of span [s, e) in batch, or null for NONE. */
export function spanText(batch: Uint8Array, rec: Uint32Array, at: number): string | null {
  const s = rec[at]!;
  const e = rec[at + 1]!;
  if (s === 0xffffffff) return null;
  return Buffer.from(batch.buffer, batch.byteOffset + s, e - s).toString('latin1');
}

/** Runs every method of both scanners on one batch and asserts identical results. */
export function assertSameResults(
  w: BatchScanner,
  t: BatchScanner,
  batch: Uint8Array,
  final: boolean,
  plan: PrefilterPlan | null,
  label: string,
): { count: number; consumed: number } {
  const a = w.scanLines(batch, final);
  const b = t.scanLines(batch, final);
  assert.equal(a.count, b.count, `${label}: line count`);
  assert.equal(a.consumed, b.consumed, `${label}: consumed`);
  assert.deepEqual(Array.from(a.lines), Array.from(b.lines), `${label}: line offsets`);
  if (plan) {
    const pa = w.prefilter(plan);
    const pb = t.prefilter(plan);
    assert.equal(pa.litWords, pb.litWords, `${label}: litWords`);
    assert.equal(pa.nodeWords, pb.nodeWords, `${label}: nodeWords`);
    assert.deepEqual(Array.from(pa.literalMasks), Array.from(pb.literalMasks), `${label}: literal masks`);
    assert.deepEqual(Array.from(pa.nodeMasks), Array.from(pb.nodeMasks), `${label}: node masks`);
    assert.equal(pa.candidates, pb.candidates, `${label}: candidates`);
  }
  assertSameRecords(w.scanSyslog(), t.scanSyslog(), 17, `${label}: syslog`);
  assertSameRecords(w.scanAccessLog(), t.scanAccessLog(), 25, `${label}: access log`);
  return { count: a.count, consumed: a.consumed };
}

function assertSameRecords(a: Uint32Array, b: Uint32Array, words: number, label: string): void {
  assert.equal(a.length, b.length, `${label}: record words`);
  for (let i = 0; i < a.length; i += words) {
    // Compare line by line so a failure names the line instead of dumping the batch.
    const ra = Array.from(a.subarray(i, i + words));
    const rb = Array.from(b.subarray(i, i + words));
    assert.deepEqual(ra, rb, `${label}: line ${i / words}`);
  }
}

const ALPHABET = ' \n\r[]"\\:<>-./T+Z01234567899 aAzJanDecFebsd\x00\x7f\x80\xc3\xa9\xff\xfe';

/** Random bytes biased towards the structural characters the scanners look at. */
export function randomBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = ALPHABET.charCodeAt(Math.floor(rand() * ALPHABET.length));
  return out;
}

/** A copy of `src` with about `rate` of its bytes replaced, deleted or duplicated. */
export function mutate(rand: () => number, src: Uint8Array, rate: number): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const r = rand();
    if (r < rate / 3) out.push(ALPHABET.charCodeAt(Math.floor(rand() * ALPHABET.length)));
    else if (r < (2 * rate) / 3) continue;
    else if (r < rate) out.push(src[i]!, src[i]!);
    else out.push(src[i]!);
  }
  return Uint8Array.from(out);
}
