/**
 * Bucket rows and the table that holds them.
 *
 * A bucket is a plain row (limiter state, queue, timestamps), not a goroutine/timer as in
 * CrowdSec: expiry is decided lazily when the row is next touched, plus a periodic
 * `sweep(now)` that reclaims rows nobody touches any more (design §5 item 7).
 *
 * Layout: one `Map<groupKey, BucketRow>` per scenario. The groupby value alone is the key
 * inside a scenario's map, so no string is built per pour; CrowdSec's bucket key
 * `hex(sha1(filter + groupby + name))` is only computed when an alert needs it (`Mapkey`).
 * Each scenario's rows also form a doubly linked list in last-touch order, and every
 * row of a scenario has the same inactivity duration, so the rows that can expire first are
 * at the front: a sweep stops at the first live row.
 *
 * Memory bound: the table holds at most `maxRows` rows. Creating a row beyond that evicts the
 * least recently touched row of the same scenario (or, if that scenario holds none, of the
 * largest one); evictions are counted and reported by the caller.
 */
import { createHash } from 'node:crypto';
import type { PEvent } from '../core/event.js';
import type { ScenarioSpec } from '../config/scenario.js';
import type { GoTime } from './time.js';

/** `queue` in expressions (Go's types.Queue): the events and the size limit. */
export interface QueueView {
  Queue: PEvent[];
  /** At most L+1 events are kept (spec §4.4); -1 = unbounded. */
  L: number;
}

/**
 * One bucket instance. Go-named getters make the row itself the `leaky` object that
 * overflow_filter / condition expressions see (spec §4.6), without a per-pour copy.
 */
export class BucketRow {
  /** Token-bucket state (spec §4.4); `limiterLast` null = Go's zero time (first pour refills fully). */
  tokens = 0;
  limiterLast: GoTime | null = null;
  readonly queue: QueueView;
  totalCount = 0;
  firstTs: GoTime | null = null;
  lastTs: GoTime | null = null;
  ovflwTs: GoTime | null = null;
  /** distinct values already poured into this instance. */
  seen: Set<string> | null = null;
  /** bayesian: per-condition guillotine state of this instance. */
  guillotine: boolean[] | null = null;
  private mapkey: string | null = null;
  /** Intrusive list links and membership, owned by BucketTable. */
  prev: BucketRow | null = null;
  next: BucketRow | null = null;
  inTable = false;

  constructor(readonly spec: ScenarioSpec, readonly scenarioIndex: number, readonly groupKey: string, queueLimit: number) {
    this.queue = { Queue: [], L: queueLimit };
  }

  /** CrowdSec's bucket key: hex(sha1(filter + groupby value + name)). */
  get Mapkey(): string {
    if (this.mapkey === null) {
      this.mapkey = createHash('sha1').update(this.spec.filterSource + this.groupKey + this.spec.name).digest('hex');
    }
    return this.mapkey;
  }
  get Name(): string { return this.spec.name; }
  get Capacity(): number { return this.spec.capacity; }
  get CacheSize(): number { return this.spec.cacheSize; }
  get Leakspeed(): number { return this.spec.leakspeedNs; }
  get Total_count(): number { return this.totalCount; }
  get First_ts(): GoTime | null { return this.firstTs; }
  get Last_ts(): GoTime | null { return this.lastTs; }
  get Ovflw_ts(): GoTime | null { return this.ovflwTs; }
  get Queue(): QueueView { return this.queue; }
  get Simulated(): boolean { return this.spec.simulated; }
  get Reprocess(): boolean { return this.spec.reprocess; }
  get Tokens(): number { return this.tokens; }
}

/** One scenario's rows: a Map for lookup plus an intrusive list in last-touch order. */
interface Part {
  readonly map: Map<string, BucketRow>;
  head: BucketRow | null;
  tail: BucketRow | null;
}

export class BucketTable {
  private readonly parts: Part[];
  private count = 0;

  constructor(scenarioCount: number, readonly maxRows: number, private readonly onEvict: (row: BucketRow) => void) {
    if (!(maxRows >= 1)) throw new RangeError(`maxRows must be >= 1 (got ${maxRows})`);
    this.parts = Array.from({ length: scenarioCount }, () => ({ map: new Map<string, BucketRow>(), head: null, tail: null }));
  }

  get size(): number {
    return this.count;
  }

  get(scenarioIndex: number, key: string): BucketRow | undefined {
    return this.parts[scenarioIndex]!.map.get(key);
  }

  /**
   * Adds a fresh row at the back, evicting one first when the table is full. The caller has
   * removed any row of the same scenario and key first (the engine replaces a row only
   * after removing it).
   */
  insert(row: BucketRow): void {
    const part = this.parts[row.scenarioIndex]!;
    if (this.count >= this.maxRows) this.evictFor(part);
    part.map.set(row.groupKey, row);
    append(part, row);
    row.inTable = true;
    this.count++;
  }

  /** Marks a row as just used: it moves to the back of its scenario's order. */
  touch(row: BucketRow): void {
    const part = this.parts[row.scenarioIndex]!;
    if (part.tail === row || !row.inTable) return;
    unlink(part, row);
    append(part, row);
  }

  remove(row: BucketRow): void {
    if (!row.inTable) return;
    const part = this.parts[row.scenarioIndex]!;
    part.map.delete(row.groupKey);
    unlink(part, row);
    row.inTable = false;
    this.count--;
  }

  /** Least recently touched row of a scenario (what a sweep looks at first). */
  oldest(scenarioIndex: number): BucketRow | null {
    return this.parts[scenarioIndex]!.head;
  }

  partSize(scenarioIndex: number): number {
    return this.parts[scenarioIndex]!.map.size;
  }

  private evictFor(part: Part): void {
    let victimPart = part;
    if (victimPart.head === null) {
      for (const p of this.parts) if (p.map.size > victimPart.map.size) victimPart = p;
    }
    const victim = victimPart.head;
    if (victim === null) return;
    this.remove(victim);
    this.onEvict(victim);
  }
}

function append(part: Part, row: BucketRow): void {
  row.prev = part.tail;
  row.next = null;
  if (part.tail) part.tail.next = row;
  else part.head = row;
  part.tail = row;
}

function unlink(part: Part, row: BucketRow): void {
  if (row.prev) row.prev.next = row.next;
  else part.head = row.next;
  if (row.next) row.next.prev = row.prev;
  else part.tail = row.prev;
  row.prev = row.next = null;
}
