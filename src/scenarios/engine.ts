/**
 * The bucket engine: routes events to scenarios and drives bucket rows (spec §4.3–4.7).
 *
 * One code path for both clocks: in replay the clock of a pour is the event's
 * `MarshaledTime`, in live mode the injected wall clock. Nothing runs on a timer: bucket
 * inactivity, counter deadlines and blackhole windows are checked when a row is touched and
 * by `sweep(now)`, which the caller runs periodically (the engine also sweeps by itself
 * every `autoSweepEvery` pours, with the latest clock it has seen).
 *
 * Per event, for every scenario in load order (spec §4.2–4.5):
 *   filter → groupby → find row (expired ⇒ dropped, due counter ⇒ emitted) or create one →
 *   type processor (trigger overflows here) → distinct → cancel_on → pour (limiter) →
 *   conditional / bayesian check → on overflow: alert, overflow_filter, blackhole.
 *
 * Split of the state: the token buckets — rows keyed by (scenario, 128-bit hash of the
 * groupby value), the limiter, First/Last_ts for expiry, distinct values, last-touch order,
 * the row cap — are a bucket table (src/bindings/buckets-core.ts: WebAssembly, or its TS
 * twin when the module is missing), fed pour records and answering one outcome record each
 * (new / expired / fired / evicted / distinct / cancelled / poured / overflow). Everything
 * else stays here, per table row id (`rows`): the event queue and zoned timestamps the
 * alert needs, blackholes, conditional and bayesian checks, alerts.
 *
 * Two ways in: one event at a time (`pour`, `pourRouted`, `pourPrepared`: its records
 * hashed here, one table call per event), or a whole batch of records written where the
 * batch was parsed (`beginBatch`, then `pourPrepared` per event in order): records are
 * copied into the table up to 8,192 at a time and poured with one call; the per-event
 * calls then only apply the outcomes. A batch is cut wherever the next records must see
 * something JS does first: an automatic sweep, a conditional / bayesian check (its
 * overflow removes the row), an event of a `reprocess` scenario (its overflow is poured
 * back before the next event).
 */
import type { PEvent } from '../core/event.js';
import { parseRFC3339 } from '../core/gotime.js';
import type { ScenarioSpec } from '../config/scenario.js';
import { BucketRow } from './table.js';
import { enqueue, queueLimit } from './leaky.js';
import { pourTrigger } from './trigger.js';
import { fireCounter } from './counter.js';
import { conditionMet } from './conditional.js';
import { bayesianOverflows } from './bayesian.js';
import { Blackhole } from './blackhole.js';
import { AlertBuildError, buildOverflowAlert, overflowEvent, validateOverflowAlert, type LapiAlert, type OverflowAlert } from './overflow.js';
import { isAfter, type GoTime } from './time.js';
import { RouteIndex } from './route-index.js';
import { FilterMemo, type MemoStats } from './filter-memo.js';
import { BK, validateBucketConfigs, type BucketBatchTable, type BucketScenarioConfig } from '../bindings/buckets-core.js';
import { createBucketTable } from '../bindings/buckets-wasm.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface EvictionInfo {
  scenario: string;
  /** groupby value of the evicted bucket. */
  groupKey: string;
  /** Evictions so far, this one included. */
  total: number;
}

export interface EngineOptions {
  mode: 'live' | 'replay';
  /** Wall clock (live pours, live sweeps). Replay pours use the events' time instead. */
  now: () => GoTime;
  /** Row cap (memory bound). Default 1,000,000. */
  maxBuckets?: number;
  onEviction?: (e: EvictionInfo) => void;
  log?: (level: LogLevel, msg: string) => void;
  /** Pours between automatic sweeps; 0 disables. Default 4096. */
  autoSweepEvery?: number;
  /** Keep the results of pure filters per combination of the values they read (filter-memo.ts). Default true. */
  filterMemo?: boolean;
  /** Bucket table: 'auto' (default) WebAssembly, else the TS twin; 'wasm' / 'ts' force one. */
  bucketTable?: 'auto' | 'wasm' | 'ts';
}

export interface OverflowResult {
  scenario: ScenarioSpec;
  /** `evt.Overflow` of the OVFLW event. */
  alert: OverflowAlert;
  /** One LAPI alert per source (spec §4.8), the objects to POST. */
  alerts: LapiAlert[];
  /** OVFLW event for postoverflows; pour it back when `reprocess` is set. */
  event: PEvent;
  reprocess: boolean;
  /** `overflow` (pour), `timed` (counter deadline). */
  kind: 'overflow' | 'timed';
}

export interface EngineStats {
  /** Events given to pour(). */
  events: number;
  /** (event, scenario) pairs that reached a bucket. */
  pours: number;
  /** Rows alive now. */
  buckets: number;
  created: number;
  overflows: number;
  emitted: number;
  /** Rows dropped for inactivity (CrowdSec's "underflow"), lazily or by sweep. */
  expired: number;
  evictions: number;
  cancelled: number;
  distinctDropped: number;
  blackholed: number;
  filteredOut: number;
  alertErrors: number;
  /** Replay events without a usable MarshaledTime (ignored). */
  noTime: number;
  filterErrors: number;
  groupbyErrors: number;
}

/**
 * Pour records of a batch in the bucket table's layout (assembly/README.md "Bucket table":
 * BK_IN_BYTES each, in event order), written where the batch was parsed
 * (src/pipeline/pour-records.ts), with the number of records of each event.
 */
export interface TableRecords {
  /** `count` records; byteOffset a multiple of 4. */
  readonly bytes: Uint8Array;
  readonly count: number;
  /** Per event, in order: its records (= its routes), or -1 for an event without a usable clock. */
  readonly perEvent: Int32Array;
}

interface ScenarioRt {
  readonly spec: ScenarioSpec;
  readonly index: number;
  readonly queueL: number;
  readonly blackhole: Blackhole | null;
  readonly trigger: boolean;
  /** conditional / bayesian: JS decides after an accepted pour whether the bucket overflows. */
  readonly decides: boolean;
  /** The filter is exactly its route-index guard: an event the index selects passes it. */
  readonly guardOnly: boolean;
  readonly runFilter: (env: { evt: PEvent }) => unknown;
}

const IN_WORDS = 10; // BK_IN_BYTES / 4
const MAX_BATCH: number = BK.MAX_BATCH;
const F_NEW = BK.NEW, F_EXPIRED = BK.EXPIRED, F_TIMED = BK.TIMED, F_EVICTED = BK.EVICTED;
const F_OVERFLOW = BK.OVERFLOW, F_DISTINCT = BK.DISTINCT, F_CANCELLED = BK.CANCELLED, F_INVALID = BK.INVALID;

export class BucketEngine {
  private readonly rts: ScenarioRt[];
  private readonly index: RouteIndex;
  private readonly allIndices: readonly number[];
  private readonly memo: FilterMemo | null;
  private tbl: BucketBatchTable | null = null;
  private readonly tableConfigs: BucketScenarioConfig[];
  /** The JS half of each live table row, by row id. */
  private readonly rows: (BucketRow | undefined)[] = [];
  private readonly live: boolean;
  private readonly log: (level: LogLevel, msg: string) => void;
  private readonly autoSweepEvery: number;
  /** Some scenario is conditional / bayesian, or reprocesses its overflows: batches are cut there. */
  private readonly cutDecides: boolean;
  private readonly cutReprocess: boolean;
  private sinceSweep = 0;
  private latest: GoTime | null = null;
  private readonly st: Omit<EngineStats, 'buckets'> = {
    events: 0, pours: 0, created: 0, overflows: 0, emitted: 0, expired: 0, evictions: 0,
    cancelled: 0, distinctDropped: 0, blackholed: 0, filteredOut: 0, alertErrors: 0,
    noTime: 0, filterErrors: 0, groupbyErrors: 0,
  };
  /** Scratch list the current pour/sweep appends to. */
  private out: OverflowResult[] = [];
  private readonly scratch: OverflowResult[] = [];
  private readonly oneEvent = new PreparedRoutes();
  private readonly routeEnv: { evt: PEvent } = { evt: null as unknown as PEvent };
  // The batch being applied (beginBatch): next event, its first record, the records the
  // last table call poured [chunkStart, chunkEnd) and their outcomes.
  private batch: TableRecords | null = null;
  private batchWords: Uint32Array | null = null;
  private bEvent = 0;
  private bRecord = 0;
  private chunkStart = 0;
  private chunkEnd = 0;
  private chunkOut: Uint32Array = new Uint32Array(0);

  constructor(scenarios: readonly ScenarioSpec[], private readonly opts: EngineOptions) {
    this.live = opts.mode === 'live';
    this.log = opts.log ?? (() => {});
    this.autoSweepEvery = opts.autoSweepEvery ?? 4096;
    this.index = RouteIndex.fromFilters(scenarios.map((s) => s.filter.source));
    this.allIndices = scenarios.map((_, i) => i);
    this.memo = opts.filterMemo === false ? null : new FilterMemo(scenarios.map((s) => s.filter.source));
    this.rts = scenarios.map((spec, index) => ({
      spec,
      index,
      queueL: queueLimit(spec.capacity, spec.cacheSize),
      blackhole: spec.blackholeNs > 0 ? new Blackhole(spec.blackholeNs) : null,
      trigger: spec.type === 'trigger',
      decides: spec.type === 'conditional' || spec.type === 'bayesian',
      guardOnly: this.index.whole[index] === true,
      runFilter: (env: { evt: PEvent }) => spec.filter.run(env),
    }));
    this.cutDecides = this.rts.some((r) => r.decides);
    this.cutReprocess = scenarios.some((s) => s.reprocess);
    this.tableConfigs = scenarios.map((s) => tableConfigOf(s, opts.mode));
    // Checked now (a bad cap or scenario fails here), created on first use: an engine that
    // only routes (a parse worker) never holds a table.
    validateBucketConfigs(this.tableConfigs, opts.maxBuckets ?? 1_000_000);
  }

  private get table(): BucketBatchTable {
    return (this.tbl ??= createBucketTable(this.tableConfigs, this.opts.maxBuckets ?? 1_000_000, this.opts.bucketTable ?? 'auto'));
  }

  get stats(): EngineStats {
    return { ...this.st, buckets: this.tbl?.size ?? 0 };
  }

  get scenarios(): readonly ScenarioSpec[] {
    return this.rts.map((r) => r.spec);
  }

  /** Which bucket table holds the token buckets: 'wasm', or 'ts' (the twin). */
  get tableImpl(): 'wasm' | 'ts' {
    return this.table.impl;
  }

  /** Filter memo counters (null when disabled). */
  get filterMemoStats(): MemoStats | null {
    return this.memo ? { ...this.memo.stats } : null;
  }

  /** Pours one event into every scenario whose filter accepts it; returns the overflows that passed. */
  pour(evt: PEvent): OverflowResult[] {
    this.st.events++;
    const now = this.clockOf(evt);
    if (now === null) return [];
    const out: OverflowResult[] = (this.out = []);
    this.pourRoutes(evt, now, this.routeInto(evt, this.oneEvent));
    this.afterPour(now, out);
    return out;
  }

  /**
   * Filter + groupby only: the (scenario index, bucket key) pairs the event belongs to. Pure
   * with respect to bucket state, so it can run where parsing runs (another thread holding
   * the same scenario list) and the result be applied here with `pourRouted`.
   */
  route(evt: PEvent): [number, string][] {
    const env = { evt };
    const routes: [number, string][] = [];
    this.memo?.reset();
    const cand = this.index.candidates(evt);
    for (const i of cand ?? this.allIndices) {
      const key = this.keyFor(this.rts[i]!, env, cand !== null);
      if (key !== null) routes.push([i, key]);
    }
    return routes;
  }

  /** route() into a reusable PreparedRoutes (nothing pre-evaluated): no allocation per event. */
  routeInto(evt: PEvent, out: PreparedRoutes): PreparedRoutes {
    out.clear();
    this.memo?.reset();
    const cand = this.index.candidates(evt);
    const indices = cand ?? this.allIndices;
    if (indices.length === 0) return out;
    // One environment, re-pointed: filters and groupby read it during the call, none keeps it.
    const env = this.routeEnv;
    env.evt = evt;
    // An index loop: for-of allocated an iterator result per candidate here (not optimised away).
    for (let c = 0; c < indices.length; c++) {
      const i = indices[c]!;
      const key = this.keyFor(this.rts[i]!, env, cand !== null);
      if (key !== null) out.push(i, key, undefined, undefined);
    }
    return out;
  }

  /** Pours an event already routed by `route()`; same results as `pour(evt)`. */
  pourRouted(evt: PEvent, routes: readonly (readonly [number, string])[]): OverflowResult[] {
    this.st.events++;
    const now = this.clockOf(evt);
    if (now === null) return [];
    const out: OverflowResult[] = (this.out = []);
    const prepared = this.oneEvent.clear();
    for (const [index, key] of routes) prepared.push(index, key, undefined, undefined);
    this.pourRoutes(evt, now, prepared);
    this.afterPour(now, out);
    return out;
  }

  /**
   * Pours an event routed, clocked and pre-evaluated where it was parsed (pour records);
   * same results as `pour(evt)`. `now` is `replayClock(evt)` (null: no usable time, the
   * event is only counted; `marshaledTime` is then its text, for the warning); `evt` may be
   * null when `routes` is empty (the event only advances the clock). Between `beginBatch`
   * and `endBatch`, the events must be the batch's, in order.
   */
  pourPrepared(evt: PEvent | null, now: GoTime | null, marshaledTime: string, routes: PreparedRoutes): OverflowResult[] {
    this.st.events++;
    const batch = this.batch;
    if (batch !== null) return this.pourFromBatch(batch, evt, now, marshaledTime, routes);
    if (this.live) now = this.opts.now();
    if (now === null) {
      this.noClock(marshaledTime);
      return NO_RESULTS;
    }
    const n = routes.count;
    if (n === 0) return this.clockOnly(now);
    if (evt === null) throw new TypeError('pourPrepared: an event with routes needs its event');
    // Most pours overflow nothing: one scratch list instead of a fresh one per event.
    const out = this.scratch;
    out.length = 0;
    this.out = out;
    this.pourRoutes(evt, now, routes);
    this.afterPour(now, out);
    return out.length === 0 ? NO_RESULTS : out.splice(0, out.length);
  }

  /**
   * Starts applying a batch whose pour records are already in the table's layout: the next
   * `pourPrepared` calls must be the batch's events, in order, then `endBatch()`. Returns
   * false (records ignored, events poured one by one) in live mode, where the clock of a
   * pour is the wall clock when it is applied.
   */
  beginBatch(records: TableRecords): boolean {
    if (this.batch !== null) throw new Error('beginBatch: a batch is already being applied');
    if (this.live) return false;
    if (records.bytes.byteOffset % 4 !== 0 || records.bytes.byteLength < records.count * IN_WORDS * 4) {
      throw new RangeError('beginBatch: table records misaligned or shorter than their count');
    }
    this.batch = records;
    this.batchWords = new Uint32Array(records.bytes.buffer, records.bytes.byteOffset, records.count * IN_WORDS);
    this.bEvent = this.bRecord = this.chunkStart = this.chunkEnd = 0;
    return true;
  }

  /** Ends the batch; with `complete`, checks that every event of it was poured. */
  endBatch(complete = true): void {
    const b = this.batch;
    this.batch = this.batchWords = null;
    if (complete && b !== null && (this.bEvent !== b.perEvent.length || this.bRecord !== b.count)) {
      throw new Error(`endBatch: ${this.bEvent} of ${b.perEvent.length} events and ${this.bRecord} of ${b.count} records poured`);
    }
  }

  private pourFromBatch(b: TableRecords, evt: PEvent | null, now: GoTime | null, marshaledTime: string, routes: PreparedRoutes): OverflowResult[] {
    const e = this.bEvent++;
    const n = b.perEvent[e];
    if (n === undefined) throw new RangeError(`pourPrepared: event #${e}, but the batch has ${b.perEvent.length}`);
    if (n < 0 || now === null) {
      if (n >= 0 || now !== null) throw new RangeError(`pourPrepared: event #${e} has ${now === null ? 'no' : 'a'} clock, its records say otherwise`);
      this.noClock(marshaledTime);
      return NO_RESULTS;
    }
    if (n !== routes.count) throw new RangeError(`pourPrepared: event #${e} has ${routes.count} routes, the batch ${n} records`);
    if (n === 0) return this.clockOnly(now);
    if (evt === null) throw new TypeError('pourPrepared: an event with routes needs its event');
    const out = this.scratch;
    out.length = 0;
    this.out = out;
    const env = { evt };
    const first = this.bRecord;
    for (let j = 0; j < n; j++) {
      const rec = first + j;
      if (rec >= this.chunkEnd) this.pourChunk(b, e, j, rec);
      const rt = this.rts[routes.index[j]!];
      if (!rt || (this.batchWords![rec * IN_WORDS + 3]! & 0xffff) !== rt.index) {
        throw new RangeError(`pourPrepared: route ${j} of event #${e} (scenario #${routes.index[j]}) does not match its table record`);
      }
      this.applyOutcome(rt, routes.key[j]!, evt, now, env, routes.cancel[j], this.chunkOut, (rec - this.chunkStart) * 4);
    }
    this.bRecord = first + n;
    this.afterPour(now, out);
    return out.length === 0 ? NO_RESULTS : out.splice(0, out.length);
  }

  /**
   * Pours the batch's records from `rec` (record `j` of event `e`) in one table call, up to
   * MAX_BATCH records or the first cut: after an event followed by an automatic sweep, after
   * an event with a route into a reprocess scenario, after a conditional / bayesian record.
   */
  private pourChunk(b: TableRecords, e: number, j: number, rec: number): void {
    const words = this.batchWords!;
    const per = b.perEvent;
    const scan = this.cutDecides || this.cutReprocess;
    let end = rec;
    let since = this.sinceSweep;
    chunk: for (let ev = e, off = j; ev < per.length; ev++, off = 0) {
      const n = per[ev]!;
      if (n < 0) continue;
      if (end - rec + (n - off) > MAX_BATCH) break;
      let reprocess = false;
      if (scan) {
        // Records of event ev are base .. base+n-1 (the first chunk may start inside it).
        const base = end - off;
        for (let q = 0; q < n; q++) if (this.rts[words[(base + q) * IN_WORDS + 3]! & 0xffff]?.spec.reprocess) reprocess = true;
        for (let q = off; q < n; q++) {
          if (this.rts[words[(base + q) * IN_WORDS + 3]! & 0xffff]?.decides) {
            end = base + q + 1;
            break chunk;
          }
        }
      }
      end += n - off;
      if (reprocess || (this.autoSweepEvery > 0 && ++since >= this.autoSweepEvery)) break;
    }
    if (end === rec) throw new Error(`pourPrepared: no record to pour at #${rec} (batch of ${b.count})`);
    this.table.setPours(b.bytes, rec, end - rec);
    this.chunkOut = this.table.pour(end - rec);
    this.chunkStart = rec;
    this.chunkEnd = end;
  }

  /** An event with a clock and no route: it only advances the clock (and the sweep count). */
  private clockOnly(now: GoTime): OverflowResult[] {
    if (this.latest === null || isAfter(now, this.latest)) this.latest = now;
    if (this.autoSweepEvery <= 0 || ++this.sinceSweep < this.autoSweepEvery) return NO_RESULTS;
    this.sinceSweep = 0;
    const swept: OverflowResult[] = [];
    this.sweepInto(this.live ? this.opts.now() : this.latest, swept);
    return swept;
  }

  private afterPour(now: GoTime, out: OverflowResult[]): void {
    if (this.latest === null || isAfter(now, this.latest)) this.latest = now;
    if (this.autoSweepEvery > 0 && ++this.sinceSweep >= this.autoSweepEvery) {
      this.sinceSweep = 0;
      this.sweepInto(this.live ? this.opts.now() : this.latest, out);
    }
  }

  /**
   * Filter then groupby (spec §4.3); null = the event does not go to this scenario.
   * `indexed`: the route index selected this scenario for the event (its guard passed).
   */
  private keyFor(rt: ScenarioRt, env: { evt: PEvent }, indexed: boolean): string | null {
    if (!(indexed && rt.guardOnly)) {
      let ok: unknown;
      try {
        ok = this.memo ? this.memo.run(rt.index, env, rt.runFilter) : rt.runFilter(env);
      } catch (e) {
        // 1.4.6 stops the engine here; a filter error is "no match" for us (spec §4.3).
        this.st.filterErrors++;
        this.warnOnce(`filter:${rt.index}`, `${rt.spec.name}: filter failed: ${(e as Error).message}`);
        return null;
      }
      if (ok !== true) return null;
    }
    if (!rt.spec.groupby) return '';
    let g: unknown;
    try {
      g = rt.spec.groupby.run(env);
    } catch (e) {
      this.st.groupbyErrors++;
      this.warnOnce(`groupby:${rt.index}`, `${rt.spec.name}: groupby failed: ${(e as Error).message}`);
      return null;
    }
    if (typeof g !== 'string') {
      this.st.groupbyErrors++;
      this.warnOnce(`groupbytype:${rt.index}`, `${rt.spec.name}: groupby returned ${typeof g}, not a string`);
      return null;
    }
    return g;
  }

  /**
   * Reclaims rows idle past their duration, fires due counters (live mode) and prunes
   * blackhole windows that ended. Returns the timed overflows it produced.
   */
  sweep(now: GoTime = this.live ? this.opts.now() : this.latest ?? this.opts.now()): OverflowResult[] {
    const out: OverflowResult[] = [];
    this.sweepInto(now, out);
    return out;
  }

  private sweepInto(now: GoTime, out: OverflowResult[]): void {
    this.checkNoChunk('sweep');
    const saved = this.out;
    this.out = out;
    // The table walks scenario by scenario from each list head, as CrowdSec's buckets would
    // die one by one; a scenario's timed overflows all come before its blackhole is pruned.
    for (;;) {
      const sw = this.table.sweep(now.unixSec, now.nsec, MAX_BATCH);
      for (let k = 0; k < sw.length; k += 2) {
        const row = this.take(sw[k]!);
        if (sw[k + 1]! & F_TIMED) {
          fireCounter(row);
          this.finishOverflow(this.rts[row.scenarioIndex]!, row, 'timed');
        } else {
          this.st.expired++;
        }
      }
      if (sw.length < 2 * MAX_BATCH) break;
    }
    for (const rt of this.rts) rt.blackhole?.prune(now);
    this.out = saved;
  }

  private clockOf(evt: PEvent): GoTime | null {
    if (this.live) return this.opts.now();
    const t = replayClock(evt);
    if (t === null) this.noClock(evt.MarshaledTime);
    return t;
  }

  private noClock(marshaledTime: string): void {
    this.st.noTime++;
    this.warnOnce('notime', `replay: event without a valid MarshaledTime ignored (is the dateparse enricher loaded?) '${marshaledTime}'`);
  }

  /** A pour or sweep of its own while a batch chunk still has outcomes to apply would reorder pours. */
  private checkNoChunk(what: string): void {
    if (this.batch !== null && this.bRecord < this.chunkEnd) {
      throw new Error(`bucket engine: ${what} while a batch is applied (between its records #${this.bRecord} and #${this.chunkEnd})`);
    }
  }

  /**
   * One event's routes, hashed here: one table call for all of them, or one per segment
   * ending at a conditional / bayesian route (whose overflow removes its row before the
   * next record may create or evict one). `distinct` / `cancel` undefined are evaluated here.
   */
  private pourRoutes(evt: PEvent, now: GoTime, routes: PreparedRoutes): void {
    this.checkNoChunk('pour');
    const n = routes.count;
    const env = { evt };
    const table = this.table;
    for (let start = 0; start < n;) {
      let end = start;
      while (end < n) {
        const j = end++;
        const rt = this.rts[routes.index[j]!];
        if (!rt) throw new RangeError(`pour: no scenario #${routes.index[j]}`);
        let distinct: string | null = null, cancel = false;
        if (!rt.trigger) {
          const d = routes.distinct[j];
          distinct = d === undefined ? distinctOf(rt.spec, env) : d;
          let c = routes.cancel[j];
          if (c === undefined) c = routes.cancel[j] = cancelOf(rt.spec, env);
          cancel = c === true;
        }
        table.setPourKey(j - start, rt.index, routes.key[j]!, now.unixSec, now.nsec, distinct, cancel);
        if (rt.decides) break;
      }
      const outcomes = table.pour(end - start);
      for (let j = start; j < end; j++) {
        this.applyOutcome(this.rts[routes.index[j]!]!, routes.key[j]!, evt, now, env, routes.cancel[j], outcomes, (j - start) * 4);
      }
      start = end;
    }
  }

  /** The JS row of a table row that left the table: forgotten here too. */
  private take(id: number): BucketRow {
    const row = this.rows[id];
    if (row === undefined) throw new Error(`bucket engine: table row ${id} has no JS row (engine and table out of step)`);
    this.rows[id] = undefined;
    return row;
  }

  /**
   * Applies the table's outcome for one pour (4 words at `o`), in the order of CrowdSec's
   * pour: the key's old row expired or fired, a row evicted for the new one, the new row,
   * trigger, distinct, cancel_on, the pour itself, conditional / bayesian, overflow.
   */
  private applyOutcome(rt: ScenarioRt, key: string, evt: PEvent, now: GoTime, env: { evt: PEvent }, cancel: boolean | string | undefined, out: Uint32Array, o: number): void {
    const f = out[o]!, r = out[o + 1]!;
    if (f & F_INVALID) throw new RangeError(`bucket table refused a pour of ${rt.spec.name} at ${now.unixSec}s ${now.nsec}ns`);
    if (f & F_TIMED) {
      const old = this.take(out[o + 2]!);
      fireCounter(old);
      this.finishOverflow(rt, old, 'timed');
    } else if (f & F_EXPIRED) {
      this.take(out[o + 2]!);
      this.st.expired++;
    }
    if (f & F_EVICTED) this.evicted(this.take(out[o + 3]!));
    let row: BucketRow | undefined;
    if (f & F_NEW) {
      row = new BucketRow(rt.spec, rt.index, key, rt.queueL);
      this.st.created++;
      if (rt.trigger) {
        this.st.pours++;
        pourTrigger(row, evt, now);
        this.finishOverflow(rt, row, 'overflow');
        return;
      }
      this.rows[r] = row;
    } else {
      row = this.rows[r];
      if (row === undefined) throw new Error(`bucket engine: table row ${r} has no JS row (engine and table out of step)`);
    }
    if (f & F_DISTINCT) {
      this.st.distinctDropped++;
      return;
    }
    if (typeof cancel === 'string') this.warnOnce(`cancel:${rt.index}`, `${rt.spec.name}: cancel_on failed: ${cancel}`);
    if (f & F_CANCELLED) {
      this.rows[r] = undefined;
      this.st.cancelled++;
      return;
    }
    this.st.pours++;
    row.totalCount++;
    if (row.firstTs === null) row.firstTs = now;
    row.lastTs = now;
    // A new row's queue starts as a one-element array: push on `[]` reserves 16 slots, and
    // most rows expire with one or two events (~120 B less per such row).
    if (row.queue.Queue.length === 0) row.queue.Queue = [evt];
    else enqueue(row, evt);
    if (f & F_OVERFLOW) {
      row.ovflwTs = now;
      // The refusing pour left the tokens as they were; an overflow_filter may read them.
      if (rt.spec.overflowFilter) row.tokens = this.table.row(r).tokens;
      this.rows[r] = undefined;
      this.finishOverflow(rt, row, 'overflow');
      return;
    }
    if (!rt.decides) return;
    if (rt.spec.capacity > 0) row.tokens = this.table.row(r).tokens;
    const warn = (m: string): void => this.warnOnce(`${rt.spec.type === 'bayesian' ? 'bayes' : 'cond'}:${rt.index}`, m);
    const overflow = rt.spec.type === 'conditional'
      ? rt.spec.condition !== null && conditionMet(row, evt, rt.spec.condition, warn)
      : bayesianOverflows(row, evt, warn);
    if (overflow) {
      this.removeFromTable(r, now);
      this.rows[r] = undefined;
      this.finishOverflow(rt, row, 'overflow');
    }
  }

  /**
   * Removes a live row the table did not overflow itself (a condition decided): a cancel
   * record for its key at the time it was just poured finds it (not idle) and drops it.
   */
  private removeFromTable(r: number, now: GoTime): void {
    const st = this.table.row(r);
    this.table.setPour(0, st.scenario, st.key, 0, now.unixSec, now.nsec, BK.REC_CANCEL);
    const res = this.table.pour(1);
    if (!(res[0]! & F_CANCELLED) || res[1] !== r || (res[0]! & (F_NEW | F_EVICTED))) {
      throw new Error(`bucket engine: removing row ${r} from the table failed (outcome ${res[0]})`);
    }
  }

  /** Alert, then overflow_filter, then blackhole (CrowdSec's processor order). */
  private finishOverflow(rt: ScenarioRt, row: BucketRow, kind: 'overflow' | 'timed'): void {
    this.st.overflows++;
    const spec = rt.spec;
    // Without overflow_filter, an overflow the blackhole refuses is dropped whatever its
    // alert: only what decides between alertErrors and blackholed is checked, nothing built.
    const silenced = !spec.overflowFilter && rt.blackhole !== null && row.ovflwTs !== null && rt.blackhole.silenced(row.groupKey, row.ovflwTs);
    let alert: OverflowAlert;
    try {
      if (silenced) {
        validateOverflowAlert(row);
        this.st.blackholed++;
        return;
      }
      alert = buildOverflowAlert(row);
    } catch (e) {
      if (!(e instanceof AlertBuildError)) throw e;
      this.st.alertErrors++;
      this.log('error', `overflow discarded: ${e.message}`);
      return;
    }
    if (spec.overflowFilter) {
      let keep: unknown = true;
      try {
        keep = spec.overflowFilter.run({ queue: row.queue, signal: alert, leaky: row });
      } catch (e) {
        this.warnOnce(`ofilter:${rt.index}`, `${spec.name}: overflow_filter failed (overflow kept): ${(e as Error).message}`);
      }
      if (keep === false) {
        this.st.filteredOut++;
        return;
      }
    }
    if (rt.blackhole && row.ovflwTs && !rt.blackhole.admit(row.groupKey, row.ovflwTs)) {
      this.st.blackholed++;
      return;
    }
    this.st.emitted++;
    this.out.push({
      scenario: spec,
      alert,
      alerts: alert.lapiAlerts(),
      event: overflowEvent(alert, row),
      reprocess: spec.reprocess,
      kind,
    });
  }

  private evicted(row: BucketRow): void {
    const total = ++this.st.evictions;
    this.opts.onEviction?.({ scenario: row.spec.name, groupKey: row.groupKey, total });
    // Logged on the first eviction and then once per 10,000, so a flood cannot flood the log.
    if (total === 1 || total % 10_000 === 0) {
      this.log('warn', `bucket table full (${this.table.maxRows} rows): evicted least recently used bucket of ${row.spec.name} (${total} evictions so far)`);
    }
  }

  private readonly warned = new Set<string>();
  private warnOnce(key: string, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log('warn', msg + ' (further occurrences are only counted)');
  }
}

/**
 * A scenario as the bucket table sees it: the limiter for a positive capacity (leaky;
 * conditional / bayesian with a capacity too), a never-overflowing row otherwise, with the
 * inactivity rule of idleDuration; counters fire on time only in live mode.
 */
export function tableConfigOf(spec: ScenarioSpec, mode: 'live' | 'replay'): BucketScenarioConfig {
  const base = { leakspeedNs: spec.leakspeedNs, durationNs: spec.durationNs, timed: false };
  if (spec.type === 'trigger') return { ...base, kind: 'trigger', capacity: 0, idleNs: 0 };
  if (spec.type === 'counter') return { ...base, kind: 'counter', capacity: Math.min(spec.capacity, 0), idleNs: spec.durationNs, timed: mode === 'live' };
  if (spec.capacity > 0 && spec.leakspeedNs > 0) return { ...base, kind: 'leaky', capacity: spec.capacity, idleNs: idleDuration(spec) };
  return { ...base, kind: 'counter', capacity: Math.min(spec.capacity, 0), idleNs: idleDuration(spec) };
}

/**
 * How long a row may sit unused (spec §4.5): (capacity+1)×leakspeed for leaky buckets,
 * leakspeed when capacity is not positive (conditional/bayesian), `duration` for counters,
 * nothing for triggers (they die at once).
 */
export function idleDuration(spec: ScenarioSpec): number {
  if (spec.type === 'counter') return spec.durationNs;
  if (spec.capacity > 0 && spec.leakspeedNs > 0) return (spec.capacity + 1) * spec.leakspeedNs;
  return spec.leakspeedNs;
}

const NO_RESULTS: OverflowResult[] = [];
Object.freeze(NO_RESULTS);

/** The clock of an event in replay: its MarshaledTime (null when missing or not RFC 3339). */
export function replayClock(evt: PEvent): GoTime | null {
  return evt.MarshaledTime === '' ? null : parseRFC3339(evt.MarshaledTime);
}

/**
 * The `distinct` value of an event for a scenario, or null when there is nothing to compare:
 * no distinct key, or its expression failed (spec §4.6: the event is then accepted). A
 * non-string result counts as "".
 */
export function distinctOf(spec: ScenarioSpec, env: { evt: PEvent }): string | null {
  if (!spec.distinct) return null;
  try {
    const v = spec.distinct.run(env);
    return typeof v === 'string' ? v : '';
  } catch {
    return null;
  }
}

/** The `cancel_on` outcome: true cancels the bucket; a string is the error message (no cancel). */
export function cancelOf(spec: ScenarioSpec, env: { evt: PEvent }): boolean | string {
  if (!spec.cancelOn) return false;
  try {
    return spec.cancelOn.run(env) === true;
  } catch (e) {
    return String((e as Error).message);
  }
}

/**
 * The routes of one event and what was evaluated for each where the event was parsed
 * (distinctOf / cancelOf results; undefined = evaluate at pour time). Parallel arrays,
 * reused from one event to the next by the reader of pour records.
 */
export class PreparedRoutes {
  count = 0;
  readonly index: number[] = [];
  readonly key: string[] = [];
  readonly distinct: (string | null | undefined)[] = [];
  readonly cancel: (boolean | string | undefined)[] = [];

  clear(): this {
    this.count = 0;
    return this;
  }

  push(index: number, key: string, distinct: string | null | undefined, cancel: boolean | string | undefined): void {
    const j = this.count++;
    this.index[j] = index;
    this.key[j] = key;
    this.distinct[j] = distinct;
    this.cancel[j] = cancel;
  }
}
