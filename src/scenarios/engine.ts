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
 */
import type { PEvent } from '../core/event.js';
import { parseRFC3339 } from '../core/gotime.js';
import type { ScenarioSpec } from '../config/scenario.js';
import { BucketRow, BucketTable } from './table.js';
import { pourLeaky, queueLimit, rateFor } from './leaky.js';
import { pourTrigger } from './trigger.js';
import { counterDue, fireCounter } from './counter.js';
import { conditionMet } from './conditional.js';
import { bayesianOverflows } from './bayesian.js';
import { Blackhole } from './blackhole.js';
import { AlertBuildError, buildOverflowAlert, checkOverflowAlert, overflowEvent, type LapiAlert, type OverflowAlert } from './overflow.js';
import { diffNs, isAfter, type GoTime } from './time.js';
import { RouteIndex } from './route-index.js';
import { FilterMemo, type MemoStats } from './filter-memo.js';

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

interface ScenarioRt {
  readonly spec: ScenarioSpec;
  readonly index: number;
  readonly limit: number;
  readonly queueL: number;
  /** Inactivity after which a row is discarded: (capacity+1)×leakspeed, or leakspeed / duration. */
  readonly idleNs: number;
  readonly blackhole: Blackhole | null;
  /** counter in live mode: rows keep creation order (deadline order) and emit on time. */
  readonly timed: boolean;
  /** The filter is exactly its route-index guard: an event the index selects passes it. */
  readonly guardOnly: boolean;
  readonly runFilter: (env: { evt: PEvent }) => unknown;
}

export class BucketEngine {
  private readonly rts: ScenarioRt[];
  private readonly index: RouteIndex;
  private readonly allIndices: readonly number[];
  private readonly memo: FilterMemo | null;
  private readonly table: BucketTable;
  private readonly live: boolean;
  private readonly log: (level: LogLevel, msg: string) => void;
  private readonly autoSweepEvery: number;
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
      limit: spec.leakspeedNs > 0 ? rateFor(spec.leakspeedNs) : 0,
      queueL: queueLimit(spec.capacity, spec.cacheSize),
      idleNs: idleDuration(spec),
      blackhole: spec.blackholeNs > 0 ? new Blackhole(spec.blackholeNs) : null,
      timed: spec.type === 'counter' && this.live,
      guardOnly: this.index.whole[index] === true,
      runFilter: (env: { evt: PEvent }) => spec.filter.run(env),
    }));
    this.table = new BucketTable(scenarios.length, opts.maxBuckets ?? 1_000_000, (row) => this.evicted(row));
  }

  get stats(): EngineStats {
    return { ...this.st, buckets: this.table.size };
  }

  get scenarios(): readonly ScenarioSpec[] {
    return this.rts.map((r) => r.spec);
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
    const env = { evt };
    this.memo?.reset();
    const cand = this.index.candidates(evt);
    for (const i of cand ?? this.allIndices) {
      const rt = this.rts[i]!;
      const key = this.keyFor(rt, env, cand !== null);
      if (key !== null) this.pourInto(rt, key, evt, now, env, undefined, undefined);
    }
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
    const env = { evt };
    this.memo?.reset();
    const cand = this.index.candidates(evt);
    for (const i of cand ?? this.allIndices) {
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
    const env = { evt };
    for (const [index, key] of routes) {
      const rt = this.rts[index];
      if (!rt) throw new RangeError(`pourRouted: no scenario #${index}`);
      this.pourInto(rt, key, evt, now, env, undefined, undefined);
    }
    this.afterPour(now, out);
    return out;
  }

  /**
   * Pours an event routed, clocked and pre-evaluated where it was parsed (pour records);
   * same results as `pour(evt)`. `now` is `replayClock(evt)` (null: no usable time, the
   * event is only counted; `marshaledTime` is then its text, for the warning); `evt` may be
   * null when `routes` is empty (the event only advances the clock).
   */
  pourPrepared(evt: PEvent | null, now: GoTime | null, marshaledTime: string, routes: PreparedRoutes): OverflowResult[] {
    this.st.events++;
    if (this.live) now = this.opts.now();
    if (now === null) {
      this.noClock(marshaledTime);
      return NO_RESULTS;
    }
    const n = routes.count;
    if (n === 0) {
      if (this.latest === null || isAfter(now, this.latest)) this.latest = now;
      if (this.autoSweepEvery <= 0 || ++this.sinceSweep < this.autoSweepEvery) return NO_RESULTS;
      this.sinceSweep = 0;
      const swept: OverflowResult[] = [];
      this.sweepInto(this.live ? this.opts.now() : this.latest, swept);
      return swept;
    }
    if (evt === null) throw new TypeError('pourPrepared: an event with routes needs its event');
    // Most pours overflow nothing: one scratch list instead of a fresh one per event.
    const out = this.scratch;
    out.length = 0;
    this.out = out;
    const env = { evt };
    for (let j = 0; j < n; j++) {
      const rt = this.rts[routes.index[j]!];
      if (!rt) throw new RangeError(`pourPrepared: no scenario #${routes.index[j]}`);
      this.pourInto(rt, routes.key[j]!, evt, now, env, routes.distinct[j], routes.cancel[j]);
    }
    this.afterPour(now, out);
    return out.length === 0 ? NO_RESULTS : out.splice(0, out.length);
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
    const saved = this.out;
    this.out = out;
    for (const rt of this.rts) {
      for (let row = this.table.oldest(rt.index); row !== null; row = this.table.oldest(rt.index)) {
        if (rt.timed) {
          if (!counterDue(row, now)) break;
          this.table.remove(row);
          fireCounter(row);
          this.finishOverflow(rt, row, 'timed');
        } else {
          if (!this.isIdle(rt, row, now)) break;
          this.table.remove(row);
          this.st.expired++;
        }
      }
      rt.blackhole?.prune(now);
    }
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

  private isIdle(rt: ScenarioRt, row: BucketRow, now: GoTime): boolean {
    // spec §4.5: discarded when the event time is after Last_ts + duration.
    return row.lastTs !== null && rt.idleNs > 0 && diffNs(now, row.lastTs) > rt.idleNs;
  }

  /**
   * `distinct` / `cancel`: the outcomes of distinctOf / cancelOf if already evaluated
   * elsewhere (pour records), undefined to evaluate them here when they are reached.
   */
  private pourInto(rt: ScenarioRt, key: string, evt: PEvent, now: GoTime, env: { evt: PEvent }, distinct: string | null | undefined, cancel: boolean | string | undefined): void {
    const spec = rt.spec;
    let row = this.table.get(rt.index, key);
    if (row) {
      if (rt.timed && counterDue(row, now)) {
        this.table.remove(row);
        fireCounter(row);
        this.finishOverflow(rt, row, 'timed');
        row = undefined;
      } else if (!rt.timed && this.isIdle(rt, row, now)) {
        this.table.remove(row);
        this.st.expired++;
        row = undefined;
      }
    }
    if (!row) {
      row = new BucketRow(spec, rt.index, key, rt.queueL);
      this.table.insert(row);
      this.st.created++;
    }

    if (spec.type === 'trigger') {
      this.st.pours++;
      pourTrigger(row, evt, now);
      this.table.remove(row);
      this.finishOverflow(rt, row, 'overflow');
      return;
    }

    if (spec.distinct) {
      const value = distinct === undefined ? distinctOf(spec, env) : distinct;
      if (value !== null) {
        const seen = (row.seen ??= new Set());
        if (seen.has(value)) {
          this.st.distinctDropped++;
          return;
        }
        seen.add(value);
      }
    }

    if (spec.cancelOn) {
      const c = cancel === undefined ? cancelOf(spec, env) : cancel;
      if (typeof c === 'string') {
        this.warnOnce(`cancel:${rt.index}`, `${spec.name}: cancel_on failed: ${c}`);
      } else if (c) {
        this.table.remove(row);
        this.st.cancelled++;
        return;
      }
    }

    this.st.pours++;
    let overflow = pourLeaky(row, evt, now, rt.limit);
    if (!rt.timed) this.table.touch(row);
    if (!overflow && spec.type === 'conditional' && spec.condition) {
      overflow = conditionMet(row, evt, spec.condition, (m) => this.warnOnce(`cond:${rt.index}`, m));
    } else if (!overflow && spec.type === 'bayesian') {
      overflow = bayesianOverflows(row, evt, (m) => this.warnOnce(`bayes:${rt.index}`, m));
    }
    if (overflow) {
      this.table.remove(row);
      this.finishOverflow(rt, row, 'overflow');
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
        checkOverflowAlert(row);
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
