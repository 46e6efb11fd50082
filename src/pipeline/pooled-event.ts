/**
 * An event rebuilt on the main thread from pour records, with its string maps built on first
 * read. Most routed events are only queued in a bucket that expires without overflowing, so
 * nothing ever reads their Meta / Enriched / Parsed: building three Maps per event was the
 * largest part of the main thread's per-event work (and of its garbage). The entries wait in
 * one flat array of strings until a getter needs them.
 *
 * Same public shape as PEvent (field names, GetType, GetMeta), so expressions and the alert
 * builder read it like any event. Used only when no main-thread expression can reach a
 * whole event (field-needs.ts); otherwise pour records rebuild plain PEvents.
 */
import { EventType, PEvent, type Line, type RuntimeAlert, type StringMap } from '../core/event.js';
import { SOURCE_ENRICHED_KEYS, type FlatMeta } from '../scenarios/overflow.js';

/**
 * A block of Meta / Enriched entries that many events of a batch share (a deferred node's
 * outcome, parse/enrichers/statics-block.ts), and where an event's entries take it: after its
 * first `metaAt` Meta entries, and after its first `enrichedAt` Enriched entries or, when
 * `enrichedAt` is -1 (only SOURCE_ENRICHED_KEYS were sent), in SOURCE_ENRICHED_KEYS order.
 */
export interface BlockRef {
  readonly meta: readonly string[];
  readonly enriched: readonly string[];
  readonly metaAt: number;
  readonly enrichedAt: number;
}

/** Entries of `kv` from pair `from`, `n` pairs, with `block`'s pairs inserted after `at` of them. */
function withBlock(kv: readonly string[], from: number, n: number, block: readonly string[], at: number): string[] {
  const out = kv.slice(2 * from, 2 * (from + at));
  for (let i = 0; i < block.length; i++) out.push(block[i]!);
  for (let i = 2 * (from + at); i < 2 * (from + n); i++) out.push(kv[i]!);
  return out;
}

/** Two lists of SOURCE_ENRICHED_KEYS entries (disjoint keys, each in that order) merged in that order. */
function mergeSourceOrder(kv: readonly string[], from: number, n: number, block: readonly string[]): string[] {
  const out: string[] = [];
  let i = 2 * from;
  const end = 2 * (from + n);
  let j = 0;
  while (i < end || j < block.length) {
    const takeKv = j >= block.length || (i < end && SOURCE_ENRICHED_KEYS.indexOf(kv[i]!) < SOURCE_ENRICHED_KEYS.indexOf(block[j]!));
    if (takeKv) {
      out.push(kv[i]!, kv[i + 1]!);
      i += 2;
    } else {
      out.push(block[j]!, block[j + 1]!);
      j += 2;
    }
  }
  return out;
}

/** Meta's or Enriched's entries ([k, v, ...]) of an event with a block: `which` 0 Meta, 1 Enriched. */
export function blockEntries(kv: readonly string[], from: number, n: number, ref: BlockRef, which: 0 | 1): string[] {
  if (which === 0) return withBlock(kv, from, n, ref.meta, ref.metaAt);
  return ref.enrichedAt < 0 ? mergeSourceOrder(kv, from, n, ref.enriched) : withBlock(kv, from, n, ref.enriched, ref.enrichedAt);
}

export class PooledEvent implements PEvent, FlatMeta {
  // The same for every such event and never set on the main thread: defaults on the
  // prototype (below) instead of five fields in each of the ~1M events a replay rebuilds
  // (~40 bytes each of young-generation garbage). Setting one gives that event its own.
  declare Type: number;
  declare Whitelisted: boolean;
  declare WhitelistReason: string;
  declare Overflow: RuntimeAlert | null;
  declare Process: boolean;
  ExpectMode: number;
  Stage: string;
  Line: Line;
  Time: Date | null;
  StrTime: string;
  StrTimeFormat: string;
  MarshaledTime: string;
  private meta: StringMap | null = null;
  private enriched: StringMap | null = null;
  private parsed: StringMap | null = null;

  /**
   * `kv` holds the maps' entries as [k, v, k, v, ...]: `nMeta` pairs of Meta, then `nEnriched`
   * of Enriched, then the rest for Parsed; `ref`, a block of entries shared with other events
   * that goes into Meta and Enriched too.
   */
  constructor(
    line: Line, mode: number, stage: string, time: Date | null, marshaledTime: string, strTime: string, strTimeFormat: string,
    private readonly kv: readonly string[], private readonly nMeta: number, private readonly nEnriched: number,
    private readonly ref: BlockRef | null = null,
  ) {
    this.Line = line;
    this.ExpectMode = mode;
    this.Stage = stage;
    this.Time = time;
    this.MarshaledTime = marshaledTime;
    this.StrTime = strTime;
    this.StrTimeFormat = strTimeFormat;
  }

  get Meta(): StringMap {
    return (this.meta ??= this.ref === null ? this.build(0, this.nMeta) : mapOf(blockEntries(this.kv, 0, this.nMeta, this.ref, 0)));
  }
  set Meta(m: StringMap) {
    this.meta = m;
  }

  get Enriched(): StringMap {
    return (this.enriched ??= this.ref === null
      ? this.build(this.nMeta, this.nEnriched)
      : mapOf(blockEntries(this.kv, this.nMeta, this.nEnriched, this.ref, 1)));
  }
  set Enriched(m: StringMap) {
    this.enriched = m;
  }

  get Parsed(): StringMap {
    return (this.parsed ??= this.build(this.nMeta + this.nEnriched, -1));
  }
  set Parsed(m: StringMap) {
    this.parsed = m;
  }

  GetType(): string {
    return PEvent.prototype.GetType.call(this);
  }

  /** FlatMeta (scenarios/overflow.ts): the entries of Meta while its map is not built, else -1 (read the map). */
  metaCount(): number {
    if (this.meta !== null) return -1;
    return this.ref === null ? this.nMeta : this.nMeta + this.ref.meta.length / 2;
  }

  metaEntries(): readonly string[] {
    return this.ref === null ? this.kv : blockEntries(this.kv, 0, this.nMeta, this.ref, 0);
  }

  GetMeta(key: string): string {
    // A LOG event whose Meta was never read: the flat entries answer without building the map
    // (alert checks read one or two keys of every queued event). Last entry wins, as in a Map.
    if (this.meta === null && this.Type === EventType.LOG) {
      // A block's keys are never among the event's own (parse/deferred.ts blockable).
      const ref = this.ref;
      if (ref !== null) {
        const b = ref.meta;
        for (let i = b.length - 2; i >= 0; i -= 2) if (b[i] === key) return b[i + 1]!;
      }
      const kv = this.kv;
      for (let i = 2 * (this.nMeta - 1); i >= 0; i -= 2) if (kv[i] === key) return kv[i + 1]!;
      return '';
    }
    return PEvent.prototype.GetMeta.call(this, key);
  }

  /** A map of `n` pairs from pair `from` of the flat array (-1: to its end). */
  private build(from: number, n: number): StringMap {
    return mapOf(this.kv, 2 * from, n < 0 ? this.kv.length : 2 * (from + n));
  }
}

/** A map of the [k, v, ...] entries of `kv` in [start, end). */
function mapOf(kv: readonly string[], start = 0, end = kv.length): StringMap {
  const m: StringMap = new Map();
  for (let i = start; i < end; i += 2) m.set(kv[i]!, kv[i + 1]!);
  return m;
}

Object.assign(PooledEvent.prototype, { Type: EventType.LOG, Whitelisted: false, WhitelistReason: '', Overflow: null, Process: true });
