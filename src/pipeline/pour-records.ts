/**
 * What a parse worker sends back for one batch, and how the main thread applies it: line
 * counts, then for every parsed, non-whitelisted event in line order its bucket clock and
 * routes, and for the events that go to at least one bucket the fields buckets, alerts,
 * postoverflows and scenario expressions can read (field-needs.ts). Every such event is
 * listed, because a pour counts it and takes its clock even when no scenario wants it
 * (auto-sweeps depend on that count).
 *
 * The worker does all it can so the main thread's per-event work is small (it is the serial
 * part of the pool): it parses the clock (MarshaledTime → numbers), evaluates `distinct` and
 * `cancel_on` per route (BucketEngine.pourPrepared applies the outcomes), interns every
 * string of the batch once, and leaves out the fields nothing reads. The main thread builds
 * an event object only for routed events: a PooledEvent, whose maps are built on first read
 * (most queued events are never read), unless an expression may reach a whole event (header
 * flag LAZY off: plain PEvents).
 *
 * Wire format: one movable buffer (native byte order: both ends are threads of one process)
 *
 *   Int32 header [MAGIC, flags, lines, parsed, unparsed, whitelisted, dropped, events, nInts, nFloats, stringBytes, 0]
 *   Float64 column (nFloats)  |  Int32 column (nInts)  |  msgpack array of the batch's strings
 *
 * Per event, in the Int32 column (string ids index the string array):
 *   -1, marshaledTimeId                          no usable clock: only counted
 *   nRoutes, nsec, offsetSec, zoneId (-1 = none) and unixSec in the Float64 column, then
 *     per route: scenario, keyId, distinct (-1 none/failed, -3 not evaluated, else id),
 *                cancel (-1 false, -2 true, -3 not evaluated, else error message id)
 *     if nRoutes > 0: marshaledTimeId, strTimeId, strTimeFormatId, stageId, rawId,
 *       nMeta, (k, v) ids..., nEnriched, (k, v) ids..., nParsed, (k, v) ids...
 *       and Line.Time, Time (ms; NaN = null) in the Float64 column.
 *
 * Src, labels and the expect mode are per batch and known to the main thread.
 */
import { Packr } from 'msgpackr';
import { PEvent, type StringMap } from '../core/event.js';
import type { GoTime } from '../core/gotime.js';
import type { ScenarioSpec } from '../config/scenario.js';
import { cancelOf, distinctOf, PreparedRoutes, replayClock } from '../scenarios/engine.js';
import type { LapiAlert } from '../scenarios/overflow.js';
import { ALL_FIELDS, SOURCE_ENRICHED_KEYS, type FieldNeeds } from './field-needs.js';
import { PooledEvent } from './pooled-event.js';

export interface LineCounts {
  lines: number;
  parsed: number;
  unparsed: number;
  whitelisted: number;
  dropped: number;
}

const MAGIC = 0x50520003;
const HEADER_INTS = 12;
// 48 bytes: the Float64 column that follows is 8-aligned.
const HEADER_BYTES = HEADER_INTS * 4;
/** Header flag: events may be rebuilt as PooledEvents (no expression reaches a whole event). */
const LAZY = 1;
const NOT_EVALUATED = -3;
const NONE = -1;
const TRUE = -2;

const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * Accumulates one batch's records (worker side); `finish` packs them into a fresh, movable
 * buffer. With `scenarios` (the worker's, same order as the main thread's), `distinct` and
 * `cancel_on` are evaluated here; without, they are left to the main thread.
 */
export class PourRecordWriter {
  private ints = new Int32Array(1 << 14);
  private ni = 0;
  private floats = new Float64Array(1 << 12);
  private nf = 0;
  private strings: string[] = [];
  private ids = new Map<string, number>();
  private events = 0;
  private lastText: string | null = null;
  private lastClock: GoTime | null = null;
  private readonly pushPair = (v: string, k: string): void => {
    this.int(this.sid(k));
    this.int(this.sid(v));
  };

  constructor(private readonly needs: FieldNeeds = ALL_FIELDS, private readonly scenarios: readonly ScenarioSpec[] | null = null) {}

  add(evt: PEvent, routes: PreparedRoutes): void {
    this.events++;
    if (evt.MarshaledTime !== this.lastText) {
      this.lastText = evt.MarshaledTime;
      this.lastClock = replayClock(evt);
    }
    const clock = this.lastClock;
    if (clock === null) {
      this.int(-1);
      this.int(this.sid(evt.MarshaledTime));
      return;
    }
    const n = routes.count;
    this.int(n);
    this.int(clock.nsec);
    this.int(clock.offsetSec);
    this.int(clock.zoneName === null ? -1 : this.sid(clock.zoneName));
    this.float(clock.unixSec);
    if (n === 0) return;
    const env = { evt };
    for (let j = 0; j < n; j++) {
      const index = routes.index[j]!;
      this.int(index);
      this.int(this.sid(routes.key[j]!));
      const spec = this.scenarios?.[index];
      if (!spec) {
        this.int(NOT_EVALUATED);
        this.int(NOT_EVALUATED);
      } else if (spec.type === 'trigger') {
        // A trigger overflows before distinct / cancel_on would run.
        this.int(NONE);
        this.int(NONE);
      } else {
        const d = distinctOf(spec, env);
        this.int(d === null ? NONE : this.sid(d));
        const c = cancelOf(spec, env);
        this.int(c === false ? NONE : c === true ? TRUE : this.sid(c));
      }
    }
    this.int(this.sid(evt.MarshaledTime));
    this.int(this.sid(evt.StrTime));
    this.int(this.sid(evt.StrTimeFormat));
    this.int(this.sid(evt.Stage));
    this.int(this.needs.raw ? this.sid(evt.Line.Raw) : -1);
    this.map(evt.Meta);
    if (this.needs.enriched) {
      this.map(evt.Enriched);
    } else {
      const at = this.ni;
      this.int(0);
      let k = 0;
      for (const key of SOURCE_ENRICHED_KEYS) {
        const v = evt.Enriched.get(key);
        if (v === undefined) continue;
        this.int(this.sid(key));
        this.int(this.sid(v));
        k++;
      }
      this.ints[at] = k;
    }
    if (this.needs.parsed) this.map(evt.Parsed);
    else this.int(0);
    this.float(evt.Line.Time.getTime());
    this.float(evt.Time === null ? NaN : evt.Time.getTime());
  }

  finish(c: LineCounts): Uint8Array {
    const strs = packr.pack(this.strings);
    const fBytes = this.nf * 8;
    const iBytes = this.ni * 4;
    const out = new Uint8Array(HEADER_BYTES + fBytes + iBytes + strs.length);
    const header = new Int32Array(out.buffer, 0, HEADER_INTS);
    header.set([MAGIC, this.needs.wholeEvents ? 0 : LAZY, c.lines, c.parsed, c.unparsed, c.whitelisted, c.dropped, this.events, this.ni, this.nf, strs.length, 0]);
    new Float64Array(out.buffer, HEADER_BYTES, this.nf).set(this.floats.subarray(0, this.nf));
    new Int32Array(out.buffer, HEADER_BYTES + fBytes, this.ni).set(this.ints.subarray(0, this.ni));
    // pack() returns a view on msgpackr's scratch buffer: copied here into a buffer of our own.
    out.set(strs, HEADER_BYTES + fBytes + iBytes);
    this.ni = this.nf = this.events = 0;
    this.strings = [];
    this.ids = new Map();
    this.lastText = null;
    this.lastClock = null;
    return out;
  }

  private sid(s: string): number {
    let i = this.ids.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.ids.set(s, i);
    }
    return i;
  }

  private map(m: StringMap): void {
    this.int(m.size);
    m.forEach(this.pushPair);
  }

  private int(v: number): void {
    if (this.ni === this.ints.length) {
      const bigger = new Int32Array(this.ints.length * 2);
      bigger.set(this.ints);
      this.ints = bigger;
    }
    this.ints[this.ni++] = v;
  }

  private float(v: number): void {
    if (this.nf === this.floats.length) {
      const bigger = new Float64Array(this.floats.length * 2);
      bigger.set(this.floats);
      this.floats = bigger;
    }
    this.floats[this.nf++] = v;
  }
}

/** What the main thread pours records into (DetectionEngine). */
export interface PourTarget {
  pourPrepared(evt: PEvent | null, now: GoTime | null, marshaledTime: string, routes: PreparedRoutes): LapiAlert[];
}

/** Called per record by PourBatch.forEach: see BucketEngine.pourPrepared for the meaning. */
export type RecordVisitor = (evt: PEvent | null, now: GoTime | null, marshaledTime: string, routes: PreparedRoutes) => void;

/** One batch's records on the main thread. */
export class PourBatch {
  private constructor(
    readonly counts: LineCounts,
    /** Events listed (parsed and not whitelisted). */
    readonly events: number,
    private readonly floats: Float64Array,
    private readonly ints: Int32Array,
    private readonly strings: string[],
    /** Rebuild events as PooledEvents (maps built on first read). */
    readonly lazy: boolean,
  ) {}

  static read(buf: Uint8Array): PourBatch {
    if (buf.byteLength < HEADER_BYTES || buf.byteOffset % 8 !== 0) throw new RangeError('pour records: truncated or misaligned buffer');
    const h = new Int32Array(buf.buffer, buf.byteOffset, HEADER_INTS);
    if (h[0] !== MAGIC) throw new RangeError('pour records: not a pour-record buffer (bad magic)');
    const [, flags, lines, parsed, unparsed, whitelisted, dropped, events, ni, nf, sb] = h as unknown as number[];
    const fAt = buf.byteOffset + HEADER_BYTES;
    const iAt = fAt + nf! * 8;
    const sAt = iAt + ni! * 4;
    if (sAt + sb! !== buf.byteOffset + buf.byteLength) throw new RangeError('pour records: sizes do not match the buffer');
    const strings = packr.unpack(new Uint8Array(buf.buffer, sAt, sb)) as string[];
    return new PourBatch(
      { lines: lines!, parsed: parsed!, unparsed: unparsed!, whitelisted: whitelisted!, dropped: dropped! },
      events!, new Float64Array(buf.buffer, fAt, nf), new Int32Array(buf.buffer, iAt, ni), strings, (flags! & LAZY) !== 0,
    );
  }

  /** Pours every record into `target`, in line order; returns the alerts. */
  apply(target: PourTarget, src: string, labels: StringMap, mode: number): LapiAlert[] {
    let alerts: LapiAlert[] | null = null;
    this.forEach(src, labels, mode, (evt, now, mt, routes) => {
      const a = target.pourPrepared(evt, now, mt, routes);
      if (a.length > 0) (alerts ??= []).push(...a);
    });
    return alerts ?? [];
  }

  /**
   * Rebuilds each record, in line order. The routes object is reused from one record to the
   * next. Events of one batch share one labels map (a copy of `labels`), and events with
   * equal times share their clock and Date objects: nothing after routing changes an event.
   */
  forEach(src: string, labels: StringMap, mode: number, visit: RecordVisitor): void {
    const I = this.ints, F = this.floats, S = this.strings;
    const batchLabels = new Map(labels);
    const routes = new PreparedRoutes();
    let i = 0, f = 0;
    let last: GoTime | null = null;
    // Like clocks, Date objects are shared by consecutive events with the same time (read-only here).
    let lineDate = new Date(NaN);
    let timeDate = new Date(NaN);
    const fillMap = (m: StringMap): void => {
      const k = I[i++]!;
      for (let j = 0; j < k; j++, i += 2) m.set(S[I[i]!]!, S[I[i + 1]!]!);
    };
    for (let e = 0; e < this.events; e++) {
      const n = I[i++]!;
      routes.clear();
      if (n < 0) {
        visit(null, null, S[I[i++]!]!, routes);
        continue;
      }
      const nsec = I[i++]!, offsetSec = I[i++]!, zone = I[i++]!;
      const unixSec = F[f++]!;
      const zoneName = zone < 0 ? null : S[zone]!;
      // Consecutive events mostly share their second: one clock object for them (read-only).
      const now: GoTime = last !== null && last.unixSec === unixSec && last.nsec === nsec && last.offsetSec === offsetSec && last.zoneName === zoneName
        ? last
        : (last = { unixSec, nsec, offsetSec, zoneName });
      if (n === 0) {
        visit(null, now, '', routes);
        continue;
      }
      for (let r = 0; r < n; r++, i += 4) {
        const d = I[i + 2]!, c = I[i + 3]!;
        routes.push(I[i]!, S[I[i + 1]!]!,
          d === NOT_EVALUATED ? undefined : d === NONE ? null : S[d]!,
          c === NOT_EVALUATED ? undefined : c === NONE ? false : c === TRUE ? true : S[c]!);
      }
      const mt = S[I[i++]!]!, strTime = S[I[i++]!]!, strTimeFormat = S[I[i++]!]!, stage = S[I[i++]!]!;
      const rawId = I[i++]!;
      const lineMs = F[f++]!;
      if (lineMs !== lineDate.getTime()) lineDate = new Date(lineMs);
      const line = { Raw: rawId < 0 ? '' : S[rawId]!, Src: src, Time: lineDate, Labels: batchLabels, Module: 'file', Process: true };
      const time = F[f++]!;
      if (!Number.isNaN(time) && time !== timeDate.getTime()) timeDate = new Date(time);
      let evt: PEvent;
      if (this.lazy) {
        const nMeta = I[i]!;
        const nEnriched = I[i + 1 + 2 * nMeta]!;
        const nParsed = I[i + 2 + 2 * (nMeta + nEnriched)]!;
        const kv = new Array<string>(2 * (nMeta + nEnriched + nParsed));
        let o = 0;
        for (let m = 0; m < 3; m++) {
          const k = 2 * I[i++]!;
          for (let x = 0; x < k; x++) kv[o++] = S[I[i++]!]!;
        }
        evt = new PooledEvent(line, mode, stage, Number.isNaN(time) ? null : timeDate, mt, strTime, strTimeFormat, kv, nMeta, nEnriched);
      } else {
        evt = new PEvent(line);
        evt.ExpectMode = mode;
        evt.Time = Number.isNaN(time) ? null : timeDate;
        evt.Stage = stage;
        evt.MarshaledTime = mt;
        evt.StrTime = strTime;
        evt.StrTimeFormat = strTimeFormat;
        evt.Process = true;
        fillMap(evt.Meta);
        fillMap(evt.Enriched);
        fillMap(evt.Parsed);
      }
      visit(evt, now, mt, routes);
    }
  }
}
