/**
 * The TS twin of the WebAssembly bucket table (assembly/buckets.ts): the same batch
 * interface, the same record layouts (its own buffer instead of the module's memory), the
 * same outcomes and the same row ids, written plainly — a Map from key to row, row objects,
 * per-scenario lists — so the tests can hold the two against each other and against
 * src/scenarios/engine.ts.
 *
 * Row ids: 1, 2, … never used first; rows removed during a call are parked (readable) until
 * the next call, then reused last-removed first — exactly the module's order.
 */
import * as abi from './abi.generated.js';
import {
  BucketRecordWriter,
  validateBucketConfigs,
  type BucketBatchTable,
  type BucketRowState,
  type BucketScenarioConfig,
} from './buckets-core.js';

interface Row {
  tokens: number;
  firstSec: number;
  firstNsec: number;
  lastSec: number;
  lastNsec: number;
  count: number;
  scenario: number;
  key: [number, number, number, number];
  mapKey: string;
  prev: number;
  next: number;
  state: number;
  seen: Set<string> | null;
}

interface Part {
  head: number;
  tail: number;
  size: number;
}

// Local copies of the ABI constants (cheaper than a namespace read per use).
const BK_IN_BYTES = abi.BK_IN_BYTES;
const BK_MAX_BATCH = abi.BK_MAX_BATCH;
const BK_OUT_BYTES = abi.BK_OUT_BYTES;
const BK_OUT_CANCELLED = abi.BK_OUT_CANCELLED;
const BK_OUT_DISTINCT = abi.BK_OUT_DISTINCT;
const BK_OUT_EVICTED = abi.BK_OUT_EVICTED;
const BK_OUT_EXPIRED = abi.BK_OUT_EXPIRED;
const BK_OUT_INVALID = abi.BK_OUT_INVALID;
const BK_OUT_NEW = abi.BK_OUT_NEW;
const BK_OUT_OVERFLOW = abi.BK_OUT_OVERFLOW;
const BK_OUT_POURED = abi.BK_OUT_POURED;
const BK_OUT_TIMED = abi.BK_OUT_TIMED;
const BK_REC_CANCEL = abi.BK_REC_CANCEL;
const BK_REC_DISTINCT = abi.BK_REC_DISTINCT;
const BK_STATE_FREE = abi.BK_STATE_FREE;
const BK_STATE_LIVE = abi.BK_STATE_LIVE;
const BK_STATE_REMOVED = abi.BK_STATE_REMOVED;
const BK_SWEEP_BYTES = abi.BK_SWEEP_BYTES;

// The twin's buffer: the ABI's input, output and sweep regions, in that order, from 0.
const IN = 0;
const OUT = IN + BK_MAX_BATCH * BK_IN_BYTES;
const SWEEP = OUT + BK_MAX_BATCH * BK_OUT_BYTES;
const BYTES = SWEEP + BK_MAX_BATCH * BK_SWEEP_BYTES;

const diffNs = (aSec: number, aNs: number, bSec: number, bNs: number): number => (aSec - bSec) * 1e9 + (aNs - bNs);

/** rate.Every(leakspeed), as src/scenarios/leaky.ts rateFor. */
function rateFor(leakspeedNs: number): number {
  const sec = Math.trunc(leakspeedNs / 1e9);
  const nsec = leakspeedNs - sec * 1e9;
  return 1 / (sec + nsec / 1e9);
}
function tokensFromDuration(rate: number, ns: number): number {
  const sec = Math.trunc(ns / 1e9);
  const nsec = ns - sec * 1e9;
  return sec * rate + (nsec * rate) / 1e9;
}
const durationFromTokens = (rate: number, tokens: number): number => Math.trunc(1e9 * (tokens / rate));

export class BucketTableTwin extends BucketRecordWriter implements BucketBatchTable {
  readonly impl = 'ts' as const;
  private readonly rates: number[];
  private readonly byKey = new Map<string, number>();
  private rows: (Row | undefined)[] = [undefined];
  private parts: Part[] = [];
  private free: number[] = [];
  private parked: number[] = [];
  private live = 0;
  private distinct = 0;

  constructor(private readonly configs: readonly BucketScenarioConfig[], readonly maxRows: number) {
    super();
    validateBucketConfigs(configs, maxRows);
    const b = new ArrayBuffer(BYTES);
    this.f64 = new Float64Array(b);
    this.u32 = new Uint32Array(b);
    this.inW = IN >>> 2;
    this.rates = configs.map((c) => (c.kind === 'leaky' ? rateFor(c.leakspeedNs) : 0));
    this.reset();
  }

  get scenarioCount(): number {
    return this.configs.length;
  }

  reset(): void {
    this.byKey.clear();
    this.rows = [undefined];
    this.parts = this.configs.map(() => ({ head: 0, tail: 0, size: 0 }));
    this.free = [];
    this.parked = [];
    this.live = 0;
    this.distinct = 0;
  }

  pour(n: number): Uint32Array {
    if (!(n >= 0 && n <= BK_MAX_BATCH)) throw new RangeError(`pour: ${n} records, at most ${BK_MAX_BATCH}`);
    this.releaseParked();
    const u = this.u32, f = this.f64;
    for (let i = 0; i < n; i++) {
      const w = (IN >>> 2) + i * (BK_IN_BYTES / 4);
      const o = (OUT >>> 2) + i * 4;
      const sec = f[w >>> 1]!, nsec = u[w + 2]!;
      const s = u[w + 3]! & 0xffff, flags = u[w + 3]! >>> 16;
      if (s >= this.configs.length || nsec >= 1e9 || !Number.isFinite(sec)) {
        u[o] = BK_OUT_INVALID;
        u[o + 1] = u[o + 2] = u[o + 3] = 0;
        continue;
      }
      const key: [number, number, number, number] = [u[w + 4]!, u[w + 5]!, u[w + 6]!, u[w + 7]!];
      const cfg = this.configs[s]!;
      let outcome = 0, prev = 0, victim = 0;

      if (cfg.kind === 'trigger') {
        victim = this.evictFor(s);
        if (victim) outcome |= BK_OUT_EVICTED;
        const r = this.newRow(s, key);
        this.stamp(this.rows[r]!, sec, nsec);
        this.park(r);
        u[o] = outcome | BK_OUT_NEW | BK_OUT_POURED | BK_OUT_OVERFLOW;
        u[o + 1] = r; u[o + 2] = 0; u[o + 3] = victim;
        continue;
      }

      let r = this.byKey.get(mapKeyOf(s, key)) ?? 0;
      if (r) {
        const row = this.rows[r]!;
        if (cfg.timed) {
          if (row.count > 0 && diffNs(sec, nsec, row.firstSec, row.firstNsec) >= cfg.durationNs) {
            this.remove(r);
            prev = r;
            outcome |= BK_OUT_TIMED;
            r = 0;
          }
        } else if (this.idle(row, cfg, sec, nsec)) {
          this.remove(r);
          prev = r;
          outcome |= BK_OUT_EXPIRED;
          r = 0;
        }
      }
      if (!r) {
        victim = this.evictFor(s);
        if (victim) outcome |= BK_OUT_EVICTED;
        r = this.insert(s, key);
        outcome |= BK_OUT_NEW;
      }
      u[o + 1] = r; u[o + 2] = prev; u[o + 3] = victim;
      const row = this.rows[r]!;
      if (flags & BK_REC_DISTINCT) {
        const v = `${u[w + 8]}:${u[w + 9]}`;
        const seen = (row.seen ??= new Set());
        if (seen.has(v)) {
          u[o] = outcome | BK_OUT_DISTINCT;
          continue;
        }
        seen.add(v);
        this.distinct++;
      }
      if (flags & BK_REC_CANCEL) {
        this.remove(r);
        u[o] = outcome | BK_OUT_CANCELLED;
        continue;
      }
      const ok = cfg.kind === 'leaky' ? this.takeToken(row, cfg.capacity, this.rates[s]!, sec, nsec) : true;
      this.stamp(row, sec, nsec);
      if (!cfg.timed) this.touch(r);
      outcome |= BK_OUT_POURED;
      if (!ok) {
        this.remove(r);
        outcome |= BK_OUT_OVERFLOW;
      }
      u[o] = outcome;
    }
    return this.u32.subarray(OUT >>> 2, (OUT >>> 2) + 4 * n);
  }

  sweep(sec: number, nsec: number, max: number = BK_MAX_BATCH): Uint32Array {
    if (!(max >= 1 && max <= BK_MAX_BATCH)) throw new RangeError(`sweep: max ${max} outside 1..${BK_MAX_BATCH}`);
    if (!(nsec >= 0 && nsec < 1e9 && Number.isFinite(sec))) throw new RangeError(`bucketsSweep: bad arguments (time ${sec} s ${nsec} ns)`);
    this.releaseParked();
    const u = this.u32;
    let k = 0;
    for (let s = 0; s < this.parts.length; s++) {
      const cfg = this.configs[s]!;
      for (let r = this.parts[s]!.head; r !== 0; r = this.parts[s]!.head) {
        const row = this.rows[r]!;
        const what = cfg.timed
          ? (row.count > 0 && diffNs(sec, nsec, row.firstSec, row.firstNsec) >= cfg.durationNs ? BK_OUT_TIMED : 0)
          : (this.idle(row, cfg, sec, nsec) ? BK_OUT_EXPIRED : 0);
        if (!what) break;
        if (k === max) return u.subarray(SWEEP >>> 2, (SWEEP >>> 2) + 2 * k);
        this.remove(r);
        u[(SWEEP >>> 2) + 2 * k] = r;
        u[(SWEEP >>> 2) + 2 * k + 1] = what;
        k++;
      }
    }
    return u.subarray(SWEEP >>> 2, (SWEEP >>> 2) + 2 * k);
  }

  find(scenario: number, key: ArrayLike<number>, keyOff = 0): number {
    return this.byKey.get(mapKeyOf(scenario, [key[keyOff]!, key[keyOff + 1]!, key[keyOff + 2]!, key[keyOff + 3]!])) ?? 0;
  }

  row(id: number): BucketRowState {
    const r = this.rows[id];
    if (!r || r.state === BK_STATE_FREE) throw new RangeError(`row: no row ${id}`);
    return {
      id, state: r.state, scenario: r.scenario, count: r.count, tokens: r.tokens,
      firstSec: r.firstSec, firstNsec: r.firstNsec, lastSec: r.lastSec, lastNsec: r.lastNsec, key: [...r.key],
    };
  }

  get size(): number {
    return this.live;
  }

  scenarioSize(scenario: number): number {
    return this.parts[scenario]?.size ?? 0;
  }

  oldest(scenario: number): number {
    return this.parts[scenario]?.head ?? 0;
  }

  get distinctCount(): number {
    return this.distinct;
  }

  /** leaky.ts takeToken with Last_ts as the limiter's last time (count 0 = Go's zero time). */
  private takeToken(row: Row, burst: number, rate: number, sec: number, nsec: number): boolean {
    const maxElapsed = durationFromTokens(rate, burst - row.tokens);
    let elapsed = maxElapsed;
    if (row.count > 0) elapsed = Math.min(Math.max(diffNs(sec, nsec, row.lastSec, row.lastNsec), 0), maxElapsed);
    let t = row.tokens + tokensFromDuration(rate, elapsed);
    if (t > burst) t = burst;
    t -= 1;
    const wait = t < 0 ? durationFromTokens(rate, -t) : 0;
    if (1 <= burst && wait <= 0) {
      row.tokens = t;
      return true;
    }
    return false;
  }

  private idle(row: Row, cfg: BucketScenarioConfig, sec: number, nsec: number): boolean {
    return row.count > 0 && cfg.idleNs > 0 && diffNs(sec, nsec, row.lastSec, row.lastNsec) > cfg.idleNs;
  }

  private stamp(row: Row, sec: number, nsec: number): void {
    if (row.count++ === 0) {
      row.firstSec = sec;
      row.firstNsec = nsec;
    }
    row.lastSec = sec;
    row.lastNsec = nsec;
  }

  private newRow(scenario: number, key: [number, number, number, number]): number {
    const id = this.free.pop() ?? this.rows.length;
    this.rows[id] = {
      tokens: 0, firstSec: 0, firstNsec: 0, lastSec: 0, lastNsec: 0, count: 0, scenario, key,
      mapKey: mapKeyOf(scenario, key), prev: 0, next: 0, state: BK_STATE_LIVE, seen: null,
    };
    return id;
  }

  private insert(scenario: number, key: [number, number, number, number]): number {
    const id = this.newRow(scenario, key);
    this.byKey.set(this.rows[id]!.mapKey, id);
    this.append(scenario, id);
    this.parts[scenario]!.size++;
    this.live++;
    return id;
  }

  private remove(id: number): void {
    const row = this.rows[id]!;
    this.byKey.delete(row.mapKey);
    this.unlink(row.scenario, id);
    this.parts[row.scenario]!.size--;
    this.live--;
    this.park(id);
  }

  private park(id: number): void {
    const row = this.rows[id]!;
    row.state = BK_STATE_REMOVED;
    row.prev = row.next = 0;
    this.parked.push(id);
  }

  private releaseParked(): void {
    for (const id of this.parked) {
      const row = this.rows[id]!;
      this.distinct -= row.seen?.size ?? 0;
      row.seen = null;
      row.state = BK_STATE_FREE;
      this.free.push(id);
    }
    this.parked.length = 0;
  }

  /** table.ts evictFor: the head of this scenario, else of the first largest one. */
  private evictFor(scenario: number): number {
    if (this.live < this.maxRows) return 0;
    let v = scenario;
    if (this.parts[v]!.size === 0) {
      for (let q = 0; q < this.parts.length; q++) if (this.parts[q]!.size > this.parts[v]!.size) v = q;
    }
    const victim = this.parts[v]!.head;
    if (victim) this.remove(victim);
    return victim;
  }

  private append(s: number, id: number): void {
    const p = this.parts[s]!, row = this.rows[id]!;
    row.prev = p.tail;
    row.next = 0;
    if (p.tail) this.rows[p.tail]!.next = id;
    else p.head = id;
    p.tail = id;
  }

  private unlink(s: number, id: number): void {
    const p = this.parts[s]!, row = this.rows[id]!;
    if (row.prev) this.rows[row.prev]!.next = row.next;
    else p.head = row.next;
    if (row.next) this.rows[row.next]!.prev = row.prev;
    else p.tail = row.prev;
  }

  private touch(id: number): void {
    const s = this.rows[id]!.scenario;
    if (this.parts[s]!.tail === id) return;
    this.unlink(s, id);
    this.append(s, id);
  }
}

function mapKeyOf(s: number, k: ArrayLike<number>): string {
  return `${s}:${k[0]}:${k[1]}:${k[2]}:${k[3]}`;
}
