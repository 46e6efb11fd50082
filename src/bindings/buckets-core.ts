/**
 * Browser-safe binding of the bucket table in palisade.wasm (assembly/buckets.ts), the
 * interface it shares with its TS twin (bucket-table-twin.ts), and what both need: the
 * scenario configuration, the 128-bit key hash and the pour-record writer.
 *
 * Protocol (assembly/README.md "Bucket table"): write up to BK_MAX_BATCH pour records with
 * `setPour` (scenario, key hash, event time, optional distinct hash / cancel flag), call
 * `pour(n)` once, read one outcome record per pour (flags, row, previous row of the key,
 * evicted row). Rows named in the outcomes stay readable with `row(id)` until the next
 * `pour` / `sweep` / `reset`, even those that left the table. Nothing crosses the boundary
 * per pour.
 */
import * as abi from './abi.generated.js';
import type { BucketType } from '../config/scenario.js';

export type BucketKind = 'leaky' | 'trigger' | 'counter';

/** One scenario as the table sees it. */
export interface BucketScenarioConfig {
  kind: BucketKind;
  /** leaky: burst (integer >= 1); trigger: ignored; counter: <= 0 (no limiter). */
  capacity: number;
  /** leaky: > 0 (rate = 1 / leakspeed). */
  leakspeedNs: number;
  /** A row whose Last_ts is more than this before the pour's time is discarded first; 0 = never. */
  idleNs: number;
  /** timed counters: the row fires at First_ts + duration. */
  durationNs: number;
  /** Live-mode counter: rows keep creation order and fire (BK_OUT_TIMED) instead of expiring. */
  timed: boolean;
}

/** A row's state (what alerts need: Total_count, First_ts, Last_ts; tokens for `leaky`). */
export interface BucketRowState {
  id: number;
  /** BK_STATE_LIVE, or BK_STATE_REMOVED for a row removed by the last call. */
  state: number;
  scenario: number;
  count: number;
  tokens: number;
  firstSec: number;
  firstNsec: number;
  lastSec: number;
  lastNsec: number;
  key: [number, number, number, number];
}

/** The interface of the WASM table and of its TS twin. */
export interface BucketBatchTable {
  readonly impl: 'wasm' | 'ts';
  readonly maxRows: number;
  readonly scenarioCount: number;
  /** Writes pour record i (0 <= i < BK_MAX_BATCH) of the next `pour`. key: 4 u32 words at keyOff. */
  setPour(i: number, scenario: number, key: ArrayLike<number>, keyOff: number, sec: number, nsec: number, flags?: number, distinctLo?: number, distinctHi?: number): void;
  /** The same with the key (and distinct value) given as strings, hashed here. */
  setPourKey(i: number, scenario: number, key: string, sec: number, nsec: number, distinct?: string | null, cancel?: boolean): void;
  /** Records 0..n-1 of the next `pour` from records already in the ABI layout: `bytes` from record `from` on. */
  setPours(bytes: Uint8Array, from: number, n: number): void;
  /** Pours records 0..n-1 in order; 4 u32 per record (BK_OUT_* flags, row, previous row, evicted row), valid until the next call. */
  pour(n: number): Uint32Array;
  /** Removes rows whose time is up at (sec, nsec); 2 u32 per row (row, BK_OUT_EXPIRED | BK_OUT_TIMED), at most `max`; call again while it returns max. */
  sweep(sec: number, nsec: number, max?: number): Uint32Array;
  /** Live row of (scenario, key) or 0, without expiry. */
  find(scenario: number, key: ArrayLike<number>, keyOff?: number): number;
  row(id: number): BucketRowState;
  readonly size: number;
  scenarioSize(scenario: number): number;
  /** The scenario's least recently touched live row (next to evict / expire), or 0. */
  oldest(scenario: number): number;
  /** Distinct values held by live rows and rows removed by the last call. */
  readonly distinctCount: number;
  /** Empties the table (same scenarios and cap). */
  reset(): void;
}

export const BK = {
  NEW: abi.BK_OUT_NEW,
  EXPIRED: abi.BK_OUT_EXPIRED,
  TIMED: abi.BK_OUT_TIMED,
  EVICTED: abi.BK_OUT_EVICTED,
  POURED: abi.BK_OUT_POURED,
  OVERFLOW: abi.BK_OUT_OVERFLOW,
  DISTINCT: abi.BK_OUT_DISTINCT,
  CANCELLED: abi.BK_OUT_CANCELLED,
  INVALID: abi.BK_OUT_INVALID,
  REC_DISTINCT: abi.BK_REC_DISTINCT,
  REC_CANCEL: abi.BK_REC_CANCEL,
  MAX_BATCH: abi.BK_MAX_BATCH,
  MAX_ROWS: abi.BK_MAX_ROWS,
  MAX_SCENARIOS: abi.BK_MAX_SCENARIOS,
} as const;

const KIND_CODE: Record<BucketKind, number> = { leaky: abi.BK_KIND_LEAKY, trigger: abi.BK_KIND_TRIGGER, counter: abi.BK_KIND_COUNTER };

/**
 * The table configuration of a loaded scenario, with the inactivity rule of
 * src/scenarios/engine.ts idleDuration (spec §4.5); null for the types that stay in JS
 * (conditional, bayesian, a leaky bucket without a positive capacity).
 */
export function bucketConfigOf(
  spec: { readonly type: BucketType; readonly capacity: number; readonly leakspeedNs: number; readonly durationNs: number },
  mode: 'live' | 'replay',
): BucketScenarioConfig | null {
  const { capacity, leakspeedNs, durationNs } = spec;
  switch (spec.type) {
    case 'leaky':
      if (!(capacity > 0 && leakspeedNs > 0)) return null;
      return { kind: 'leaky', capacity, leakspeedNs, idleNs: (capacity + 1) * leakspeedNs, durationNs, timed: false };
    case 'trigger':
      return { kind: 'trigger', capacity: 0, leakspeedNs, idleNs: leakspeedNs, durationNs, timed: false };
    case 'counter':
      if (capacity > 0) return null;
      return { kind: 'counter', capacity, leakspeedNs, idleNs: durationNs, durationNs, timed: mode === 'live' && durationNs > 0 };
    default:
      return null;
  }
}

/** Throws a RangeError naming the first bad scenario or argument (the module checks the same). */
export function validateBucketConfigs(configs: readonly BucketScenarioConfig[], maxRows: number): void {
  if (configs.length > abi.BK_MAX_SCENARIOS) throw new RangeError(`bucket table: ${configs.length} scenarios, at most ${abi.BK_MAX_SCENARIOS}`);
  if (!(Number.isInteger(maxRows) && maxRows >= 1 && maxRows <= abi.BK_MAX_ROWS)) {
    throw new RangeError(`bucket table: maxRows must be an integer in 1..${abi.BK_MAX_ROWS} (got ${maxRows})`);
  }
  const finite = (v: number): boolean => v >= 0 && v < Infinity;
  configs.forEach((c, i) => {
    const where = `bucket table: scenario #${i} (${c.kind})`;
    if (!(c.kind in KIND_CODE)) throw new RangeError(`${where}: unknown kind`);
    if (!finite(c.idleNs) || !finite(c.durationNs) || !finite(c.leakspeedNs)) {
      throw new RangeError(`${where}: idleNs, durationNs and leakspeedNs must be finite and >= 0`);
    }
    if (c.kind === 'leaky') {
      if (!(Number.isInteger(c.capacity) && c.capacity >= 1 && c.capacity <= 1e9)) throw new RangeError(`${where}: capacity must be an integer >= 1 (got ${c.capacity})`);
      if (!(c.leakspeedNs > 0)) throw new RangeError(`${where}: leakspeedNs must be > 0`);
    }
    if (c.kind === 'counter' && !(c.capacity <= 0)) throw new RangeError(`${where}: capacity must be <= 0 (got ${c.capacity})`);
    if (c.timed && !(c.kind === 'counter' && c.durationNs > 0)) throw new RangeError(`${where}: only a counter with durationNs > 0 can be timed`);
  });
}

// ---- key hashing ----------------------------------------------------------------------------

const C1 = 0x239b961b, C2 = 0xab0e9789, C3 = 0x38b34ae5, C4 = 0xa1e38b93;
const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));
const fmix = (h: number): number => {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
};

/**
 * MurmurHash3 x86 128-bit of the string's UTF-16 code units (two per 32-bit word), into
 * out[off..off+3] as uint32. The table keys rows on these 128 bits without the string.
 */
export function hashKey128(s: string, out: Uint32Array, off = 0, seed = 0): void {
  let h1 = seed | 0, h2 = h1, h3 = h1, h4 = h1;
  const n = s.length;
  const blocks = n >>> 3; // 8 code units = 16 bytes
  let i = 0;
  for (let b = 0; b < blocks; b++, i += 8) {
    let k1 = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
    let k2 = s.charCodeAt(i + 2) | (s.charCodeAt(i + 3) << 16);
    let k3 = s.charCodeAt(i + 4) | (s.charCodeAt(i + 5) << 16);
    let k4 = s.charCodeAt(i + 6) | (s.charCodeAt(i + 7) << 16);
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2); h1 ^= k1;
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3); h2 ^= k2;
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4); h3 ^= k3;
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1); h4 ^= k4;
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  // Tail: up to 7 code units in up to 4 words, mixed without the block rounds.
  const rest = n - i;
  if (rest > 0) {
    // Zero padding past the end, read with explicit bounds: a charCodeAt past the end (NaN,
    // which the bit operators read as 0) made TurboFan deoptimize ("out of bounds").
    if (rest > 6) h4 ^= Math.imul(rotl(Math.imul(s.charCodeAt(i + 6), C4), 18), C1);
    if (rest > 4) h3 ^= Math.imul(rotl(Math.imul(s.charCodeAt(i + 4) | (rest > 5 ? s.charCodeAt(i + 5) << 16 : 0), C3), 17), C4);
    if (rest > 2) h2 ^= Math.imul(rotl(Math.imul(s.charCodeAt(i + 2) | (rest > 3 ? s.charCodeAt(i + 3) << 16 : 0), C2), 16), C3);
    h1 ^= Math.imul(rotl(Math.imul(s.charCodeAt(i) | (rest > 1 ? s.charCodeAt(i + 1) << 16 : 0), C1), 15), C2);
  }
  const len = n * 2;
  h1 ^= len; h2 ^= len; h3 ^= len; h4 ^= len;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0; h3 = (h3 + h1) | 0; h4 = (h4 + h1) | 0;
  h1 = fmix(h1); h2 = fmix(h2); h3 = fmix(h3); h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0; h3 = (h3 + h1) | 0; h4 = (h4 + h1) | 0;
  out[off] = h1; out[off + 1] = h2; out[off + 2] = h3; out[off + 3] = h4;
}

/** Seed of the distinct-value hashes (only the first 64 bits are kept). */
export const DISTINCT_SEED = 0x5bd1e995;

// ---- the record writer both implementations share ------------------------------------------

// Module constants instead of `abi.X` on the hot path: a namespace property read per use
// costs more than the whole record write under tsx's module transform.
const IN_WORDS = abi.BK_IN_BYTES / 4;
const IN_BYTES = abi.BK_IN_BYTES;
const MAX_BATCH = abi.BK_MAX_BATCH;
const REC_DISTINCT = abi.BK_REC_DISTINCT;
const REC_CANCEL = abi.BK_REC_CANCEL;

/**
 * Pour records in the ABI layout over some buffer: the module's memory (WASM) or a buffer of
 * the twin's own. `inW` is the u32 index of record 0.
 */
export abstract class BucketRecordWriter {
  protected f64!: Float64Array;
  protected u32!: Uint32Array;
  protected inW = 0;
  /** Key hash in words 0..3, distinct hash in 4..7 (only 4 and 5 are kept). */
  private readonly scratch = new Uint32Array(8);

  setPour(i: number, scenario: number, key: ArrayLike<number>, keyOff: number, sec: number, nsec: number, flags = 0, distinctLo = 0, distinctHi = 0): void {
    if (!(i >= 0 && i < MAX_BATCH)) throw new RangeError(`setPour: record ${i} outside 0..${MAX_BATCH - 1}`);
    const w = this.inW + i * IN_WORDS;
    const u = this.u32;
    this.f64[w >>> 1] = sec;
    u[w + 2] = nsec;
    // u16 scenario at +12, u16 flags at +14: one little-endian word.
    u[w + 3] = (scenario & 0xffff) | (flags << 16);
    u[w + 4] = key[keyOff]!;
    u[w + 5] = key[keyOff + 1]!;
    u[w + 6] = key[keyOff + 2]!;
    u[w + 7] = key[keyOff + 3]!;
    u[w + 8] = distinctLo;
    u[w + 9] = distinctHi;
  }

  setPourKey(i: number, scenario: number, key: string, sec: number, nsec: number, distinct: string | null = null, cancel = false): void {
    const t = this.scratch;
    hashKey128(key, t, 0);
    let flags = cancel ? REC_CANCEL : 0;
    if (distinct !== null) {
      hashKey128(distinct, t, 4, DISTINCT_SEED);
      flags |= REC_DISTINCT;
    } else {
      t[4] = t[5] = 0;
    }
    this.setPour(i, scenario, t, 0, sec, nsec, flags, t[4]!, t[5]!);
  }

  setPours(bytes: Uint8Array, from: number, n: number): void {
    if (!(n >= 0 && n <= MAX_BATCH)) throw new RangeError(`setPours: ${n} records, at most ${MAX_BATCH}`);
    const src = bytes.subarray(from * IN_BYTES, (from + n) * IN_BYTES);
    if (!(from >= 0) || src.length !== n * IN_BYTES) throw new RangeError(`setPours: records ${from}..${from + n - 1} outside the ${Math.floor(bytes.length / IN_BYTES)} given`);
    new Uint8Array(this.u32.buffer, this.inW * 4, n * IN_BYTES).set(src);
  }

  /** Scenario codes of a config list in the ABI's scenario-record layout (bytes). */
  protected static encodeConfigs(configs: readonly BucketScenarioConfig[], u32: Uint32Array, f64: Float64Array, base: number): void {
    configs.forEach((c, i) => {
      const w = (base >>> 2) + (i * abi.BK_SCEN_BYTES) / 4;
      u32[w] = KIND_CODE[c.kind];
      u32[w + 1] = c.timed ? abi.BK_FLAG_TIMED : 0;
      const f = w >>> 1;
      f64[f + 1] = c.capacity;
      f64[f + 2] = c.leakspeedNs;
      f64[f + 3] = c.idleNs;
      f64[f + 4] = c.durationNs;
    });
  }
}

// ---- the WASM table --------------------------------------------------------------------------

/** The bucket-table exports of palisade.wasm (see assembly/README.md). */
export interface BucketExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  abiVersion(): number;
  bucketsPrepare(): number;
  bucketsInit(nScenarios: number, maxRows: number): number;
  bucketsPour(n: number): number;
  bucketsSweep(maxOut: number): number;
  bucketsFind(scenario: number): number;
  bucketsSize(): number;
  bucketsScenarioSize(scenario: number): number;
  bucketsOldest(scenario: number): number;
  bucketsDistinctCount(): number;
}

interface WasmApi {
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const ERRORS: Record<number, string> = {
  [abi.BK_BAD_ARGS]: 'bad arguments',
  [abi.BK_BAD_SCENARIO]: 'bad scenario record',
  [abi.BK_NO_MEMORY]: 'out of WebAssembly memory',
  [abi.BK_NOT_READY]: 'table not initialised (bucketsPrepare / bucketsInit first)',
};
const OUT_W = abi.BK_OUT_OFFSET >>> 2;
const SWEEP_W = abi.BK_SWEEP_OFFSET >>> 2;
const ARG_W = abi.BK_ARG_OFFSET >>> 2;
const STATUS_W = (abi.BK_STATUS_OFFSET >>> 2) + abi.BK_STATUS_ERROR;
const ROW_W = abi.BK_ROW_BYTES / 4;

export class WasmBucketTable extends BucketRecordWriter implements BucketBatchTable {
  readonly impl = 'wasm' as const;
  private buf!: ArrayBuffer;

  constructor(private readonly x: BucketExports, private readonly configs: readonly BucketScenarioConfig[], readonly maxRows: number) {
    super();
    validateBucketConfigs(configs, maxRows);
    this.inW = abi.BK_IN_OFFSET >>> 2;
    this.reset();
  }

  get scenarioCount(): number {
    return this.configs.length;
  }

  reset(): void {
    const grown = this.x.bucketsPrepare();
    if (grown !== abi.BK_OK) throw new RangeError(`bucketsPrepare: ${ERRORS[grown] ?? `error ${grown}`}`);
    this.views();
    BucketRecordWriter.encodeConfigs(this.configs, this.u32, this.f64, abi.BK_SCEN_OFFSET);
    const rc = this.x.bucketsInit(this.configs.length, this.maxRows);
    this.views();
    if (rc !== abi.BK_OK) throw new RangeError(`bucketsInit: ${ERRORS[rc] ?? `error ${rc}`}`);
  }

  /** Re-creates the views after the module's memory grew (its ArrayBuffer was replaced). */
  private views(): void {
    const b = this.x.memory.buffer;
    if (b === this.buf) return;
    this.buf = b;
    this.f64 = new Float64Array(b);
    this.u32 = new Uint32Array(b);
  }

  pour(n: number): Uint32Array {
    if (!(n >= 0 && n <= MAX_BATCH)) throw new RangeError(`pour: ${n} records, at most ${MAX_BATCH}`);
    const done = this.x.bucketsPour(n);
    this.views();
    if (done !== n) {
      const rc = this.u32[STATUS_W]!;
      throw new Error(`bucketsPour: ${ERRORS[rc] ?? `error ${rc}`} after ${done} of ${n} records (those were applied)`);
    }
    return this.u32.subarray(OUT_W, OUT_W + 4 * n);
  }

  sweep(sec: number, nsec: number, max: number = abi.BK_MAX_BATCH): Uint32Array {
    if (!(max >= 1 && max <= abi.BK_MAX_BATCH)) throw new RangeError(`sweep: max ${max} outside 1..${abi.BK_MAX_BATCH}`);
    this.f64[ARG_W >>> 1] = sec;
    this.u32[ARG_W + 2] = nsec;
    const k = this.x.bucketsSweep(max);
    this.views();
    const rc = this.u32[STATUS_W]!;
    if (rc !== abi.BK_OK) throw new RangeError(`bucketsSweep: ${ERRORS[rc] ?? `error ${rc}`} (time ${sec} s ${nsec} ns)`);
    return this.u32.subarray(SWEEP_W, SWEEP_W + 2 * k);
  }

  find(scenario: number, key: ArrayLike<number>, keyOff = 0): number {
    const u = this.u32;
    for (let k = 0; k < 4; k++) u[ARG_W + 4 + k] = key[keyOff + k]!;
    return this.x.bucketsFind(scenario);
  }

  row(id: number): BucketRowState {
    if (!(id >= 1 && id <= this.maxRows + abi.BK_SPARE_ROWS)) throw new RangeError(`row: no row ${id}`);
    const w = (abi.BK_ROWS_OFFSET >>> 2) + id * ROW_W;
    const u = this.u32, f = this.f64;
    if (u[w + abi.BK_ROW_STATE / 4] === abi.BK_STATE_FREE) throw new RangeError(`row: no row ${id}`);
    return {
      id,
      state: u[w + abi.BK_ROW_STATE / 4]!,
      scenario: u[w + abi.BK_ROW_SCENARIO / 4]!,
      count: u[w + abi.BK_ROW_COUNT / 4]!,
      tokens: f[(w + abi.BK_ROW_TOKENS / 4) >>> 1]!,
      firstSec: f[(w + abi.BK_ROW_FIRST_SEC / 4) >>> 1]!,
      firstNsec: u[w + abi.BK_ROW_FIRST_NSEC / 4]!,
      lastSec: f[(w + abi.BK_ROW_LAST_SEC / 4) >>> 1]!,
      lastNsec: u[w + abi.BK_ROW_LAST_NSEC / 4]!,
      key: [u[w + abi.BK_ROW_KEY / 4]!, u[w + abi.BK_ROW_KEY / 4 + 1]!, u[w + abi.BK_ROW_KEY / 4 + 2]!, u[w + abi.BK_ROW_KEY / 4 + 3]!],
    };
  }

  get size(): number {
    return this.x.bucketsSize();
  }

  scenarioSize(scenario: number): number {
    return this.x.bucketsScenarioSize(scenario);
  }

  oldest(scenario: number): number {
    return this.x.bucketsOldest(scenario);
  }

  get distinctCount(): number {
    return this.x.bucketsDistinctCount();
  }
}

/**
 * A bucket table in a new instance (own memory) of a compiled palisade.wasm. Checks the ABI
 * version and the exports, so a stale build fails here with a clear message.
 */
export function instantiateBucketTable(module: object, configs: readonly BucketScenarioConfig[], maxRows: number): WasmBucketTable {
  const inst = new WA.Instance(module, {});
  const x = inst.exports as BucketExports;
  if (typeof x.abiVersion !== 'function' || x.abiVersion() !== abi.ABI_VERSION || typeof x.bucketsPour !== 'function') {
    const got = typeof x.abiVersion === 'function' ? x.abiVersion() : 'none';
    throw new Error(`palisade.wasm ABI version ${got} without the bucket table, expected ${abi.ABI_VERSION}: rebuild with npm run build:wasm`);
  }
  return new WasmBucketTable(x, configs, maxRows);
}
