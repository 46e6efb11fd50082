import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as abi from '../../src/bindings/abi.generated.js';
import { WASM_PATH } from '../../src/bindings/wasm.js';
import { ensureWasm } from './support.js';
// @ts-expect-error: plain .mjs script without types
import { renderAbi } from '../../scripts/gen-abi.mjs';

// The project's lib has no DOM types; only what this test uses of the WebAssembly JS API.
interface WasmApi {
  Module: { new (b: Uint8Array): object; imports(m: object): unknown[]; exports(m: object): { name: string }[] };
  Instance: new (m: object, i: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const root = fileURLToPath(new URL('../..', import.meta.url));

test('src/bindings/abi.generated.ts is the current copy of assembly/abi.ts', () => {
  const fresh = (renderAbi as (s: string) => string)(readFileSync(`${root}assembly/abi.ts`, 'utf8'));
  assert.equal(readFileSync(`${root}src/bindings/abi.generated.ts`, 'utf8'), fresh, 'run node scripts/gen-abi.mjs');
});

test('the generator rejects what it cannot copy faithfully', () => {
  const r = renderAbi as (s: string) => string;
  assert.throws(() => r('export const A: u32 = B + 1;'), /B is used before it is defined/);
  assert.throws(() => r('export const A: i64 = 1;'), /not of the form/);
  assert.throws(() => r('export const A: u32 = 0 - 1;'), /not a u32/);
  assert.match(r('export const A: u32 = 7;\nexport const B: u32 = (A + 1) / 3;'), /B = 2;/);
});

test('regions are ordered, disjoint, aligned and inside MEMORY_PAGES', () => {
  const regions: [string, number, number][] = [
    ['STATUS', abi.STATUS_OFFSET, abi.STATUS_BYTES],
    ['INPUT', abi.INPUT_OFFSET, abi.MAX_INPUT + abi.INPUT_PAD],
    ['LINES', abi.LINES_OFFSET, abi.MAX_LINES * abi.LINE_REC_WORDS * 4],
    ['LIT_LEN', abi.LIT_LEN_OFFSET, abi.MAX_LITERALS * 4],
    ['LIT_PROBE', abi.LIT_PROBE_OFFSET, abi.MAX_LITERALS * 4],
    ['LIT_BYTES', abi.LIT_BYTES_OFFSET, abi.MAX_LITERALS * abi.MAX_LITERAL_LEN],
    ['NODE_NEED', abi.NODE_NEED_OFFSET, abi.MAX_NODES * abi.LIT_WORDS_MAX * 4],
    ['LIT_MASKS', abi.LIT_MASKS_OFFSET, abi.MAX_LINES * abi.LIT_WORDS_MAX * 4],
    ['NODE_MASKS', abi.NODE_MASKS_OFFSET, abi.MAX_LINES * abi.NODE_WORDS_MAX * 4],
    ['SYSLOG_RECS', abi.SYSLOG_RECS_OFFSET, abi.MAX_LINES * abi.SYSLOG_REC_WORDS * 4],
    ['ACCESS_RECS', abi.ACCESS_RECS_OFFSET, abi.MAX_LINES * abi.ACCESS_REC_WORDS * 4],
    ['PF_HASH', abi.PF_HASH_OFFSET, abi.PF_HASH_BYTES],
  ];
  let end = abi.REGION_BASE;
  for (const [name, off, size] of regions) {
    assert.equal(off, end, `${name} starts where the previous region ends`);
    assert.equal(off % 16, 0, `${name} is 16-byte aligned`);
    end = off + size;
  }
  assert.equal(end, abi.MEMORY_END);
  assert.ok(abi.MEMORY_PAGES * abi.PAGE_SIZE >= abi.MEMORY_END);
  assert.equal(abi.LIT_WORDS_MAX * 32, abi.MAX_LITERALS);
  assert.equal(abi.NODE_WORDS_MAX * 32, abi.MAX_NODES);
  assert.equal(1 << abi.PF_HASH_BITS, abi.PF_HASH_SIZE);
  assert.ok(abi.MAX_LITERALS < 65536, 'hash chain links are u16');
  assert.ok(abi.INPUT_PAD >= abi.MAX_LITERAL_LEN + 16, 'SIMD over-reads stay inside INPUT');
});

test('bucket-table regions are ordered, disjoint, aligned, past the scanner pages; records fit their fields', () => {
  const regions: [string, number, number][] = [
    ['BK_ARG', abi.BK_ARG_OFFSET, abi.BK_ARG_BYTES],
    ['BK_STATUS', abi.BK_STATUS_OFFSET, abi.BK_STATUS_BYTES],
    ['BK_SCEN', abi.BK_SCEN_OFFSET, abi.BK_MAX_SCENARIOS * abi.BK_SCEN_BYTES],
    ['BK_IN', abi.BK_IN_OFFSET, abi.BK_MAX_BATCH * abi.BK_IN_BYTES],
    ['BK_OUT', abi.BK_OUT_OFFSET, abi.BK_MAX_BATCH * abi.BK_OUT_BYTES],
    ['BK_SWEEP', abi.BK_SWEEP_OFFSET, abi.BK_MAX_BATCH * abi.BK_SWEEP_BYTES],
    ['BK_PARTS', abi.BK_PARTS_OFFSET, abi.BK_MAX_SCENARIOS * abi.BK_PART_BYTES],
  ];
  let end = abi.BK_BASE;
  assert.ok(abi.BK_BASE >= abi.MEMORY_PAGES * abi.PAGE_SIZE, 'after the scanner regions');
  for (const [name, off, size] of regions) {
    assert.equal(off, end, `${name} starts where the previous region ends`);
    assert.equal(off % 16, 0, `${name} is 16-byte aligned (f64 fields need 8)`);
    end = off + size;
  }
  assert.ok(abi.BK_ROWS_OFFSET >= end && abi.BK_ROWS_OFFSET % 64 === 0);
  assert.ok(abi.BK_MEMORY_PAGES * abi.PAGE_SIZE >= abi.BK_ROWS_OFFSET);
  for (const b of [abi.BK_SCEN_BYTES, abi.BK_IN_BYTES, abi.BK_ROW_BYTES]) assert.equal(b % 8, 0, 'records keep f64 fields aligned');
  assert.equal(abi.BK_ROW_STATE + 4, abi.BK_ROW_BYTES, 'the state word is the last of a row');
  assert.ok(abi.BK_MAX_SCENARIOS <= 65536, 'the scenario of a pour record is a u16');
  assert.equal(abi.BK_SPARE_ROWS, 3 * abi.BK_MAX_BATCH, 'a pour record removes at most 3 rows (previous, victim, its own)');
  // Rows + hash table of the largest table must fit a 32-bit memory.
  const rowsEnd = abi.BK_ROWS_OFFSET + (abi.BK_MAX_ROWS + abi.BK_SPARE_ROWS + 1) * abi.BK_ROW_BYTES;
  assert.ok(rowsEnd + 2 * abi.BK_MAX_ROWS * 8 < 2 ** 32);
});

test('palisade.wasm: no imports, the documented exports, matching ABI version and layout', () => {
  ensureWasm();
  const mod = new WA.Module(readFileSync(WASM_PATH));
  assert.deepEqual(WA.Module.imports(mod), []);
  const names = WA.Module.exports(mod).map((e) => e.name).sort();
  assert.deepEqual(names, [
    'abiVersion', 'bucketsDistinctCount', 'bucketsFind', 'bucketsInit', 'bucketsOldest', 'bucketsPour', 'bucketsPrepare',
    'bucketsScenarioSize', 'bucketsSize', 'bucketsSweep', 'ipsetCovering', 'ipsetGet', 'ipsetHeapBytes', 'ipsetInsert', 'ipsetInside', 'ipsetLookup', 'ipsetLookupText',
    'ipsetRemove', 'ipsetReset', 'ipsetSize', 'layoutOk', 'memory', 'prefilterLitWords', 'prefilterLoad', 'prefilterNodeWords',
    'prefilterRun', 'scanAccessLog', 'scanLines', 'scanSyslog',
  ]);
  const x = new WA.Instance(mod, {}).exports as Record<string, () => number> & { memory: { buffer: ArrayBuffer } };
  assert.equal(x.abiVersion!(), abi.ABI_VERSION);
  assert.equal(x.layoutOk!(), 1);
  assert.ok(x.memory.buffer.byteLength >= abi.MEMORY_PAGES * abi.PAGE_SIZE);
});

test('prefilterLoad validates the table written into memory (raw ABI)', () => {
  ensureWasm();
  const x = new WA.Instance(new WA.Module(readFileSync(WASM_PATH)), {}).exports as Record<string, (...a: number[]) => number> & {
    memory: { buffer: ArrayBuffer };
  };
  const u32 = new Uint32Array(x.memory.buffer);
  const setLit = (k: number, len: number, probe: number): void => {
    u32[(abi.LIT_LEN_OFFSET >>> 2) + k] = len;
    u32[(abi.LIT_PROBE_OFFSET >>> 2) + k] = probe;
  };
  setLit(0, 3, 0 | (2 << 16));
  assert.equal(x.prefilterLoad!(1, 1), abi.PF_OK);
  assert.equal(x.prefilterLitWords!(), 1);
  assert.equal(x.prefilterLoad!(abi.MAX_LITERALS + 1, 1), abi.PF_TOO_MANY_LITERALS);
  assert.equal(x.prefilterLitWords!(), 0, 'a failed load leaves an empty table');
  assert.equal(x.prefilterLoad!(1, abi.MAX_NODES + 1), abi.PF_TOO_MANY_NODES);
  setLit(0, 0, 0);
  assert.equal(x.prefilterLoad!(1, 1), abi.PF_BAD_LITERAL_LENGTH);
  setLit(0, abi.MAX_LITERAL_LEN + 1, 0);
  assert.equal(x.prefilterLoad!(1, 1), abi.PF_BAD_LITERAL_LENGTH);
  setLit(0, 3, 3 << 16);
  assert.equal(x.prefilterLoad!(1, 1), abi.PF_BAD_PROBE);
});

test('assembly/README.md quotes the current offsets', () => {
  const readme = readFileSync(`${root}assembly/README.md`, 'utf8');
  for (const name of [
    'REGION_BASE', 'INPUT_OFFSET', 'LINES_OFFSET', 'LIT_LEN_OFFSET', 'LIT_PROBE_OFFSET', 'LIT_BYTES_OFFSET', 'NODE_NEED_OFFSET',
    'LIT_MASKS_OFFSET', 'NODE_MASKS_OFFSET', 'SYSLOG_RECS_OFFSET', 'ACCESS_RECS_OFFSET', 'PF_HASH_OFFSET', 'MEMORY_END',
  ] as const) {
    assert.ok(readme.includes(`${name} = ${abi[name]}`), `README: ${name} = ${abi[name]}`);
  }
  assert.ok(readme.includes(`(${abi.MEMORY_PAGES} pages)`));
  assert.ok(readme.includes(`ABI version ${abi.ABI_VERSION}`));
});
