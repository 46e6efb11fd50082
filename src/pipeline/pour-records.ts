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
 * With the scenarios (a parse worker), the writer also lays out every route as a record of
 * the bucket table (assembly/README.md "Bucket table": time, scenario, 128-bit hash of the
 * groupby value, distinct-value hash, cancel flag), hashing each distinct string of the
 * batch once: the main thread copies them into the table a chunk at a time
 * (BucketEngine.beginBatch) and hashes nothing.
 *
 * Wire format: one movable buffer (native byte order: both ends are threads of one process)
 *
 *   Int32 header [MAGIC, flags, lines, parsed, unparsed, whitelisted, dropped, events, nInts, nFloats, stringBytes, nRecords,
 *                 writer, blockEpoch]
 *   Float64 column (nFloats)  |  Int32 column (nInts)
 *   if flags & TABLE: Int32 per event (its records, -1 no clock), padded to 8 bytes  |  nRecords × BK_IN_BYTES table records
 *   msgpack array of the batch's strings
 *
 * Per event, in the Int32 column (string ids index the string array):
 *   -1, marshaledTimeId                          no usable clock: only counted
 *   nRoutes, nsec, offsetSec, zoneId (-1 = none) and unixSec in the Float64 column, then
 *     per route: scenario, keyId, distinct (-1 none/failed, -3 not evaluated, else id),
 *                cancel (-1 false, -2 true, -3 not evaluated, else error message id)
 *     if nRoutes > 0: marshaledTimeId, strTimeId, strTimeFormatId, stageId, rawId,
 *       block (-1 none; b >= 0 the writer's block b; -2 a new block: b, nMeta, (k, v) ids...,
 *         nEnriched, (k, v) ids...), and unless -1: metaAt, enrichedAt (where its entries go;
 *         enrichedAt -1: in SOURCE_ENRICHED_KEYS order),
 *       nMeta, (k, v) ids..., nEnriched, (k, v) ids..., nParsed, (k, v) ids...
 *       and Line.Time, Time (ms; NaN = null) in the Float64 column.
 *
 * A block is a deferred node's entries shared by many events (geoip-enrich's answers for one
 * source: parse/enrichers/statics-block.ts): a writer sends each block once (a batch holds
 * only ~2-4 events per block), the main thread keeps the blocks per writer (`writer`: its
 * random id) and expands one only when an event's maps are read (PooledEvent). This relies
 * on a writer's batches being read in the order it wrote them (the pool yields them in
 * order; a batch read out of order or twice reads blocks already known, never unknown ones
 * as long as the first is read first). When a writer has sent MAX_WIRE_BLOCKS blocks it
 * starts over with a new `blockEpoch`, and the reader drops that writer's blocks.
 *
 * Src, labels and the expect mode are per batch and known to the main thread.
 */
import { Packr } from 'msgpackr';
import { threadId } from 'node:worker_threads';
import { PEvent, type Line, type StringMap } from '../core/event.js';
import type { GoTime } from '../core/gotime.js';
import type { ScenarioSpec } from '../config/scenario.js';
import { cancelOf, distinctOf, PreparedRoutes, replayClock, type TableRecords } from '../scenarios/engine.js';
import { BK, DISTINCT_SEED, hashKey128 } from '../bindings/buckets-core.js';
import type { LapiAlert } from '../scenarios/overflow.js';
import { ALL_FIELDS, SOURCE_ENRICHED_KEYS, type FieldNeeds } from './field-needs.js';
import { blockEntries, PooledEvent, type BlockRef } from './pooled-event.js';
import { acceptBlocks, blockEnrichedAt, blockMetaAt, blockOf, type StaticsBlock } from '../parse/enrichers/statics-block.js';

export interface LineCounts {
  lines: number;
  parsed: number;
  unparsed: number;
  whitelisted: number;
  dropped: number;
}

const MAGIC = 0x50520005;
/** Block field: a new block's entries follow. */
const NEW_BLOCK = -2;
/** Writers made in this thread (part of a writer's wire id). */
let writersInThread = 0;
/** Numbers writers' block epochs within a thread (StaticsBlock.gen): a block is sent once per epoch. */
let nextGen = 0;
/** Blocks a writer sends before it starts over (the reader keeps them until then: ~1 KB each). */
const MAX_WIRE_BLOCKS = 4096;
const HEADER_INTS = 14;
// 56 bytes: the Float64 column that follows is 8-aligned.
const HEADER_BYTES = HEADER_INTS * 4;
/** Header flag: events may be rebuilt as PooledEvents (no expression reaches a whole event). */
const LAZY = 1;
/** Header flag: the batch carries bucket-table records. */
const TABLE = 2;
/** u32 words of a table record (BK_IN_BYTES). */
const REC_WORDS = 10;
const NOT_EVALUATED = -3;
const NONE = -1;
const TRUE = -2;

/** Slots of PourRecordWriter.fixed: the event's string fields, then SOURCE_ENRICHED_KEYS' keys (at F_ENRICHED + 2 i). */
const F_MARSHALED = 0, F_STRTIME = 1, F_STRFORMAT = 2, F_STAGE = 3, F_ZONE = 4, F_RAW = 5, F_ENRICHED = 6;

/** The last string seen in each slot and its id: a repeat costs one comparison instead of a Map lookup. */
class LastIds {
  private strs: (string | null)[] = [];
  private ids: number[] = [];

  /** `sid`: the id of a string not remembered in its slot. */
  constructor(private readonly sid: (s: string) => number) {}

  id(slot: number, s: string): number {
    if (slot < this.strs.length) {
      if (this.strs[slot] === s) return this.ids[slot]!;
    } else {
      while (this.strs.length <= slot) {
        this.strs.push(null);
        this.ids.push(-1);
      }
    }
    const id = this.sid(s);
    this.strs[slot] = s;
    this.ids[slot] = id;
    return id;
  }

  clear(): void {
    this.strs.length = 0;
    this.ids.length = 0;
  }
}

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
  // Table records (only with scenarios): per event its record count, then the records.
  private readonly table: boolean;
  private perEvent = new Int32Array(1 << 12);
  private recs = new ArrayBuffer(REC_WORDS * 4 * (1 << 12));
  private recU32 = new Uint32Array(this.recs);
  private recF64 = new Float64Array(this.recs);
  private nr = 0;
  /** Per string id: 1 = key hash in keyHash[4 id..], 2 = distinct hash in distinctHash[2 id..]. */
  private hashed = new Uint8Array(1 << 12);
  private keyHash = new Uint32Array(4 << 12);
  private distinctHash = new Uint32Array(2 << 12);
  private readonly scratch = new Uint32Array(4);
  private lastText: string | null = null;
  private lastClock: GoTime | null = null;
  /**
   * Last string and its id per slot, three ways of slotting (ids are per batch: so are these):
   * - byKey, per key id: a field often has the same value as on the previous line (verb,
   *   status, host...): one string comparison, which fails fast on length, instead of hashing
   *   a new string for the ids Map;
   * - byPos, per position in a map's entry order (maps share the positions: Meta from 0,
   *   Enriched after it): events of one kind set their fields in the same order, so a key is
   *   usually the same (interned) string as at that position on the previous event;
   * - fixed, per F_* slot: the event's own string fields and the alert's Enriched keys (their
   *   values go by key id, as Meta's).
   */
  private readonly byKey = new LastIds((s) => this.sid(s));
  private readonly byPos = new LastIds((s) => this.sid(s));
  private readonly fixed = new LastIds((s) => this.sid(s));
  /** Position of the next map entry (byPos). */
  private pos = 0;
  private env: { evt: PEvent } | null = null;
  private lastSid: string | null = null;
  private lastSidId = -1;
  private readonly pushPair = (v: string, k: string): void => {
    const kid = this.byPos.id(this.pos++, k);
    this.int(kid);
    this.int(this.byKey.id(kid, v));
  };

  /**
   * This writer's id on the wire, its block epoch (StaticsBlock.gen: unique in the thread) and
   * blocks sent in it. The id is the thread's id and the writer's number in the thread: two
   * live writers never share one (a random id could, and would mix their blocks up).
   */
  private readonly wid = ((threadId & 0xffff) * 0x8000) + (writersInThread++ & 0x7fff);
  private gen = nextGen++;
  private epoch = 0;
  private nBlocks = 0;

  constructor(private readonly needs: FieldNeeds = ALL_FIELDS, private readonly scenarios: readonly ScenarioSpec[] | null = null) {
    this.table = scenarios !== null;
    // Deferred nodes proved block-safe hand their entries over as blocks (this thread).
    acceptBlocks();
  }

  add(evt: PEvent, routes: PreparedRoutes): void {
    const e = this.events++;
    if (evt.MarshaledTime !== this.lastText) {
      this.lastText = evt.MarshaledTime;
      this.lastClock = replayClock(evt);
    }
    const clock = this.lastClock;
    if (clock === null) {
      if (this.table) this.eventRecords(e, -1);
      this.int(-1);
      this.int(this.fixed.id(F_MARSHALED, evt.MarshaledTime));
      return;
    }
    const n = routes.count;
    if (this.table) this.eventRecords(e, n);
    this.int(n);
    this.int(clock.nsec);
    this.int(clock.offsetSec);
    this.int(clock.zoneName === null ? -1 : this.fixed.id(F_ZONE, clock.zoneName));
    this.float(clock.unixSec);
    if (n === 0) return;
    // distinct / cancel_on read the event through an environment: one object, re-pointed.
    const env = (this.env ??= { evt });
    env.evt = evt;
    for (let j = 0; j < n; j++) {
      const index = routes.index[j]!;
      const keyId = this.sid(routes.key[j]!);
      this.int(index);
      this.int(keyId);
      const spec = this.scenarios?.[index];
      if (!spec) {
        this.int(NOT_EVALUATED);
        this.int(NOT_EVALUATED);
      } else if (spec.type === 'trigger') {
        // A trigger overflows before distinct / cancel_on would run.
        this.int(NONE);
        this.int(NONE);
        this.record(clock, index, keyId, -1, false);
      } else {
        const d = distinctOf(spec, env);
        const distinctId = d === null ? NONE : this.sid(d);
        this.int(distinctId);
        const c = cancelOf(spec, env);
        this.int(c === false ? NONE : c === true ? TRUE : this.sid(c));
        this.record(clock, index, keyId, distinctId, c === true);
      }
    }
    this.int(this.fixed.id(F_MARSHALED, evt.MarshaledTime));
    this.int(this.fixed.id(F_STRTIME, evt.StrTime));
    this.int(this.fixed.id(F_STRFORMAT, evt.StrTimeFormat));
    this.int(this.fixed.id(F_STAGE, evt.Stage));
    this.int(this.needs.raw ? this.fixed.id(F_RAW, evt.Line.Raw) : -1);
    const block = blockOf(evt);
    if (block === null) this.int(-1);
    else this.block(block);
    this.pos = 0;
    this.map(evt.Meta);
    if (this.needs.enriched) {
      this.map(evt.Enriched);
    } else {
      const at = this.ni;
      this.int(0);
      let k = 0;
      // An index loop: for-of allocated an iterator result per key (not optimised away).
      for (let i = 0; i < SOURCE_ENRICHED_KEYS.length; i++) {
        const key = SOURCE_ENRICHED_KEYS[i]!;
        const v = evt.Enriched.get(key);
        if (v === undefined) continue;
        const kid = this.fixed.id(F_ENRICHED + 2 * i, key);
        this.int(kid);
        // Slotted by key id like Meta's values: geoip-enrich copies these answers into Meta
        // (the same string objects), so the value mostly matches the one Meta just interned.
        this.int(this.byKey.id(kid, v));
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
    const eBytes = this.table ? pad8(HEADER_BYTES + fBytes + iBytes + this.events * 4) - (HEADER_BYTES + fBytes + iBytes) : 0;
    const rBytes = this.nr * REC_WORDS * 4;
    const tAt = HEADER_BYTES + fBytes + iBytes;
    const out = new Uint8Array(tAt + eBytes + rBytes + strs.length);
    const header = new Int32Array(out.buffer, 0, HEADER_INTS);
    const flags = (this.needs.wholeEvents ? 0 : LAZY) | (this.table ? TABLE : 0);
    header.set([MAGIC, flags, c.lines, c.parsed, c.unparsed, c.whitelisted, c.dropped, this.events, this.ni, this.nf, strs.length, this.nr, this.wid, this.epoch]);
    new Float64Array(out.buffer, HEADER_BYTES, this.nf).set(this.floats.subarray(0, this.nf));
    new Int32Array(out.buffer, HEADER_BYTES + fBytes, this.ni).set(this.ints.subarray(0, this.ni));
    if (this.table) {
      new Int32Array(out.buffer, tAt, this.events).set(this.perEvent.subarray(0, this.events));
      out.set(new Uint8Array(this.recs, 0, rBytes), tAt + eBytes);
      this.hashed.fill(0, 0, this.strings.length);
    }
    // pack() returns a view on msgpackr's scratch buffer: copied here into a buffer of our own.
    out.set(strs, tAt + eBytes + rBytes);
    this.ni = this.nf = this.events = this.nr = 0;
    if (this.nBlocks >= MAX_WIRE_BLOCKS) {
      this.gen = nextGen++;
      this.epoch++;
      this.nBlocks = 0;
    }
    this.strings = [];
    this.ids = new Map();
    this.byKey.clear();
    this.byPos.clear();
    this.fixed.clear();
    this.lastSid = null;
    this.lastText = null;
    this.lastClock = null;
    return out;
  }

  /** The event's block: its batch number, or its entries the first time in this batch; then where they go. */
  private block(b: StaticsBlock): void {
    if (b.gen === this.gen) {
      this.int(b.wireId);
    } else {
      b.gen = this.gen;
      b.wireId = this.nBlocks++;
      this.int(NEW_BLOCK);
      this.int(b.wireId);
      this.list(b.meta);
      this.list(this.needs.enriched ? b.enriched : (b.sourceEnriched ??= sourceOrder(b.enriched)));
    }
    this.int(blockMetaAt());
    this.int(this.needs.enriched ? blockEnrichedAt() : -1);
  }

  /** A flat [k, v, ...] list: its pair count, then the ids. */
  private list(kv: readonly string[]): void {
    this.int(kv.length / 2);
    for (let i = 0; i < kv.length; i++) this.int(this.sid(kv[i]!));
  }

  private eventRecords(e: number, n: number): void {
    if (e === this.perEvent.length) {
      const bigger = new Int32Array(e * 2);
      bigger.set(this.perEvent);
      this.perEvent = bigger;
    }
    this.perEvent[e] = n;
  }

  /** The table record of one route: the key (and distinct value) hashed once per string of the batch. */
  private record(clock: GoTime, scenario: number, keyId: number, distinctId: number, cancel: boolean): void {
    if ((this.nr + 1) * REC_WORDS > this.recU32.length) {
      const bigger = new ArrayBuffer(this.recs.byteLength * 2);
      new Uint8Array(bigger).set(new Uint8Array(this.recs));
      this.recs = bigger;
      this.recU32 = new Uint32Array(bigger);
      this.recF64 = new Float64Array(bigger);
    }
    this.hashFor(keyId, 1);
    let flags = cancel ? BK.REC_CANCEL : 0;
    const w = this.nr++ * REC_WORDS;
    const u = this.recU32, k = this.keyHash, kw = keyId * 4;
    this.recF64[w >>> 1] = clock.unixSec;
    u[w + 2] = clock.nsec;
    u[w + 4] = k[kw]!;
    u[w + 5] = k[kw + 1]!;
    u[w + 6] = k[kw + 2]!;
    u[w + 7] = k[kw + 3]!;
    if (distinctId >= 0) {
      this.hashFor(distinctId, 2);
      flags |= BK.REC_DISTINCT;
      u[w + 8] = this.distinctHash[distinctId * 2]!;
      u[w + 9] = this.distinctHash[distinctId * 2 + 1]!;
    } else {
      u[w + 8] = u[w + 9] = 0;
    }
    // u16 scenario at +12, u16 flags at +14: one little-endian word.
    u[w + 3] = (scenario & 0xffff) | (flags << 16);
  }

  /** Hashes string `id` as a key (what 1) or a distinct value (what 2) unless done in this batch. */
  private hashFor(id: number, what: 1 | 2): void {
    if (id >= this.hashed.length) {
      let n = this.hashed.length;
      while (n <= id) n *= 2;
      const h = new Uint8Array(n);
      h.set(this.hashed);
      this.hashed = h;
      const k = new Uint32Array(4 * n);
      k.set(this.keyHash);
      this.keyHash = k;
      const d = new Uint32Array(2 * n);
      d.set(this.distinctHash);
      this.distinctHash = d;
    }
    const done = this.hashed[id]!;
    if (done & what) return;
    this.hashed[id] = done | what;
    const s = this.strings[id]!;
    if (what === 1) {
      hashKey128(s, this.keyHash, 4 * id);
    } else {
      hashKey128(s, this.scratch, 0, DISTINCT_SEED);
      this.distinctHash[2 * id] = this.scratch[0]!;
      this.distinctHash[2 * id + 1] = this.scratch[1]!;
    }
  }

  private sid(s: string): number {
    // The same string twice in a row (ASNumber after ASNNumber, a key and its value...): no lookup.
    if (s === this.lastSid) return this.lastSidId;
    let i = this.ids.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.ids.set(s, i);
    }
    this.lastSid = s;
    this.lastSidId = i;
    return i;
  }

  /** sid of `s`, remembering the last string of `slot`: a repeated field value skips the ids Map. */
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

/** The bucket engine of a PourTarget, when it can take a batch's table records at once (BucketEngine). */
export interface BatchPourer {
  beginBatch(records: TableRecords): boolean;
  endBatch(complete?: boolean): void;
}

/** What the main thread pours records into (DetectionEngine). */
export interface PourTarget {
  pourPrepared(evt: PEvent | null, now: GoTime | null, marshaledTime: string, routes: PreparedRoutes): LapiAlert[];
  readonly buckets?: BatchPourer;
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
    /** The routes as bucket-table records (null: the writer had no scenarios). */
    readonly table: TableRecords | null,
    /** The writer's id (its blocks: forgetBlocks) and block epoch. */
    readonly writer: number,
    private readonly epoch: number,
  ) {}

  static read(buf: Uint8Array): PourBatch {
    if (buf.byteLength < HEADER_BYTES || buf.byteOffset % 8 !== 0) throw new RangeError('pour records: truncated or misaligned buffer');
    const h = new Int32Array(buf.buffer, buf.byteOffset, HEADER_INTS);
    if (h[0] !== MAGIC) throw new RangeError('pour records: not a pour-record buffer (bad magic)');
    const [, flags, lines, parsed, unparsed, whitelisted, dropped, events, ni, nf, sb, nr, wid, epoch] = h as unknown as number[];
    const fAt = buf.byteOffset + HEADER_BYTES;
    const iAt = fAt + nf! * 8;
    const tAt = iAt + ni! * 4;
    const withTable = (flags! & TABLE) !== 0;
    const rAt = withTable ? pad8(tAt - buf.byteOffset + events! * 4) + buf.byteOffset : tAt;
    const sAt = rAt + (withTable ? nr! * REC_WORDS * 4 : 0);
    if (sAt + sb! !== buf.byteOffset + buf.byteLength) throw new RangeError('pour records: sizes do not match the buffer');
    const strings = ownStrings(packr.unpack(new Uint8Array(buf.buffer, sAt, sb)) as string[]);
    const table = withTable ? { bytes: new Uint8Array(buf.buffer, rAt, nr! * REC_WORDS * 4), count: nr!, perEvent: new Int32Array(buf.buffer, tAt, events) } : null;
    return new PourBatch(
      { lines: lines!, parsed: parsed!, unparsed: unparsed!, whitelisted: whitelisted!, dropped: dropped! },
      events!, new Float64Array(buf.buffer, fAt, nf), new Int32Array(buf.buffer, iAt, ni), strings, (flags! & LAZY) !== 0, table,
      wid!, epoch!,
    );
  }

  /**
   * Pours every record into `target`, in line order; returns the alerts. With table records
   * and a target whose buckets take them, the bucket table is fed a chunk of records per
   * call and each event's pour only applies its outcomes.
   */
  apply(target: PourTarget, src: string, labels: StringMap, mode: number): LapiAlert[] {
    let alerts: LapiAlert[] | null = null;
    const buckets = this.table !== null ? target.buckets : undefined;
    const batched = buckets !== undefined && buckets.beginBatch(this.table!);
    let complete = false;
    try {
      this.forEach(src, labels, mode, (evt, now, mt, routes) => {
        const a = target.pourPrepared(evt, now, mt, routes);
        if (a.length > 0) (alerts ??= []).push(...a);
      });
      complete = true;
    } finally {
      if (batched) buckets.endBatch(complete);
    }
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
    let noRawLine: Line | null = null;
    const fillMap = (m: StringMap): void => {
      const k = I[i++]!;
      for (let j = 0; j < k; j++, i += 2) m.set(S[I[i]!]!, S[I[i + 1]!]!);
    };
    const readList = (): string[] => {
      const k = 2 * I[i++]!;
      const out = new Array<string>(k);
      for (let x = 0; x < k; x++) out[x] = S[I[i++]!]!;
      return out;
    };
    // The writer's blocks, and the last placement of each (events of one source share it).
    let known = blockTables.get(this.writer);
    if (known === undefined || known.epoch !== this.epoch) blockTables.set(this.writer, (known = { epoch: this.epoch, blocks: [], refs: [] }));
    const { blocks, refs } = known;
    const fillWithBlock = (m: StringMap, ref: BlockRef, which: 0 | 1): void => {
      const kv = readList();
      const all = blockEntries(kv, 0, kv.length / 2, ref, which);
      for (let x = 0; x < all.length; x += 2) m.set(all[x]!, all[x + 1]!);
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
      let ref: BlockRef | null = null;
      let b = I[i++]!;
      if (b !== -1) {
        if (b === NEW_BLOCK) {
          b = I[i++]!;
          const meta = readList();
          blocks[b] = { meta, enriched: readList() };
          refs[b] = undefined;
        }
        if (blocks[b] === undefined) throw new RangeError(`pour records: block ${b} of writer ${this.writer} not received (batches read out of order)`);
        const metaAt = I[i++]!, enrichedAt = I[i++]!;
        const last = refs[b];
        ref = last !== undefined && last.metaAt === metaAt && last.enrichedAt === enrichedAt
          ? last
          : (refs[b] = { meta: blocks[b]!.meta, enriched: blocks[b]!.enriched, metaAt, enrichedAt });
      }
      const lineMs = F[f++]!;
      if (lineMs !== lineDate.getTime()) {
        lineDate = new Date(lineMs);
        noRawLine = null;
      }
      // Without Line.Raw (field-needs.ts), events with the same line time share one Line too.
      const line = rawId >= 0
        ? { Raw: S[rawId]!, Src: src, Time: lineDate, Labels: batchLabels, Module: 'file', Process: true }
        : (noRawLine ??= { Raw: '', Src: src, Time: lineDate, Labels: batchLabels, Module: 'file', Process: true });
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
        evt = new PooledEvent(line, mode, stage, Number.isNaN(time) ? null : timeDate, mt, strTime, strTimeFormat, kv, nMeta, nEnriched, ref);
      } else {
        evt = new PEvent(line);
        evt.ExpectMode = mode;
        evt.Time = Number.isNaN(time) ? null : timeDate;
        evt.Stage = stage;
        evt.MarshaledTime = mt;
        evt.StrTime = strTime;
        evt.StrTimeFormat = strTimeFormat;
        evt.Process = true;
        if (ref === null) {
          fillMap(evt.Meta);
          fillMap(evt.Enriched);
        } else {
          fillWithBlock(evt.Meta, ref, 0);
          fillWithBlock(evt.Enriched, ref, 1);
        }
        fillMap(evt.Parsed);
      }
      visit(evt, now, mt, routes);
    }
  }
}

/** Per writer id (main thread), the blocks it sent in its current epoch (see the wire format). */
const blockTables = new Map<number, { epoch: number; blocks: ({ meta: string[]; enriched: string[] } | undefined)[]; refs: (BlockRef | undefined)[] }>();

/**
 * Drops what this thread keeps of the blocks of `writers` (PourBatch.writer), once none of
 * their batches will be read again: a pool calls it when it closes (its workers' writers end).
 */
export function forgetBlocks(writers: Iterable<number>): void {
  for (const w of writers) blockTables.delete(w);
}

/** SOURCE_ENRICHED_KEYS' entries of a flat list, in that order (what alerts read of Enriched). */
function sourceOrder(kv: readonly string[]): string[] {
  const out: string[] = [];
  for (const key of SOURCE_ENRICHED_KEYS) {
    for (let i = kv.length - 2; i >= 0; i -= 2) {
      if (kv[i] === key) {
        out.push(key, kv[i + 1]!);
        break;
      }
    }
  }
  return out;
}

/**
 * msgpackr's native string extraction (msgpackr-extract) decodes a run of short ASCII strings
 * as one string of a few KB, headers included, and returns slices of it; V8 keeps a slice of
 * 13 characters or more as a view that holds its whole parent. Strings that outlive the batch
 * (the events and keys that buckets keep) then held ~6 KB each: 1M nginx lines, 2 workers, a
 * heap snapshot of this thread at the end found 1,513 such parents, 9 MB of its 23 MB live
 * heap. Each string of that length gets a copy of its own here (concatenation, flattened by
 * the slice: ~80 ns), so a kept string holds its own characters only.
 */
export function ownStrings(strings: string[]): string[] {
  for (let i = 0; i < strings.length; i++) {
    const s = strings[i]!;
    if (s.length >= SLICE_MIN) strings[i] = (' ' + s).slice(1);
  }
  return strings;
}

/** V8's shortest sliced string (SlicedString::kMinLength): shorter substrings are copies. */
const SLICE_MIN = 13;

function pad8(n: number): number {
  return (n + 7) & ~7;
}
