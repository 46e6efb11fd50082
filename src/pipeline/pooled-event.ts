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
import type { FlatMeta } from '../scenarios/overflow.js';

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
   * of Enriched, then the rest for Parsed.
   */
  constructor(
    line: Line, mode: number, stage: string, time: Date | null, marshaledTime: string, strTime: string, strTimeFormat: string,
    private readonly kv: readonly string[], private readonly nMeta: number, private readonly nEnriched: number,
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
    return (this.meta ??= this.build(0, this.nMeta));
  }
  set Meta(m: StringMap) {
    this.meta = m;
  }

  get Enriched(): StringMap {
    return (this.enriched ??= this.build(this.nMeta, this.nEnriched));
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
    return this.meta === null ? this.nMeta : -1;
  }

  metaEntries(): readonly string[] {
    return this.kv;
  }

  GetMeta(key: string): string {
    // A LOG event whose Meta was never read: the flat entries answer without building the map
    // (alert checks read one or two keys of every queued event). Last entry wins, as in a Map.
    if (this.meta === null && this.Type === EventType.LOG) {
      const kv = this.kv;
      for (let i = 2 * (this.nMeta - 1); i >= 0; i -= 2) if (kv[i] === key) return kv[i + 1]!;
      return '';
    }
    return PEvent.prototype.GetMeta.call(this, key);
  }

  /** A map of `n` pairs from pair `from` of the flat array (-1: to its end). */
  private build(from: number, n: number): StringMap {
    const m: StringMap = new Map();
    const kv = this.kv;
    const end = n < 0 ? kv.length : 2 * (from + n);
    for (let i = 2 * from; i < end; i += 2) m.set(kv[i]!, kv[i + 1]!);
    return m;
  }
}

Object.assign(PooledEvent.prototype, { Type: EventType.LOG, Whitelisted: false, WhitelistReason: '', Overflow: null, Process: true });
