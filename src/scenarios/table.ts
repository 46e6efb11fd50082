/**
 * The JS half of a bucket row.
 *
 * A bucket is a row, not a goroutine/timer as in CrowdSec (design §5 item 7). Its token
 * state, timestamps for expiry, last-touch order, distinct values and the row cap live in
 * the bucket table (src/bindings/buckets-core.ts: WebAssembly, or its TS twin), keyed by
 * scenario + 128-bit hash of the groupby value; the engine keeps this object per live row
 * id for what only JS uses: the event queue, the zoned timestamps alerts print, the
 * groupby string (blackholes, `Mapkey`, eviction reports) and the bayesian state.
 * CrowdSec's bucket key `hex(sha1(filter + groupby + name))` is only computed when an
 * alert needs it (`Mapkey`).
 */
import * as crypto from 'node:crypto';
import type { PEvent } from '../core/event.js';
import type { ScenarioSpec } from '../config/scenario.js';
import type { GoTime } from './time.js';

/**
 * hex(sha1(s)): one-shot crypto.hash where Node has it (>= 20.12; no Hash object per alert:
 * 1.1 -> 0.45 us on this VM), createHash on the 20.11 the engines field still allows.
 */
const sha1Hex: (s: string) => string = typeof crypto.hash === 'function'
  ? (s) => crypto.hash('sha1', s, 'hex')
  : (s) => crypto.createHash('sha1').update(s).digest('hex');

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
  /**
   * Token-bucket state (spec §4.4) as leaky.ts takeToken keeps it; `limiterLast` null = Go's
   * zero time (first pour refills fully). The engine's rows hold their tokens in the bucket
   * table and copy them here only when an expression may read `leaky.Tokens`.
   */
  tokens = 0;
  limiterLast: GoTime | null = null;
  readonly queue: QueueView;
  totalCount = 0;
  firstTs: GoTime | null = null;
  lastTs: GoTime | null = null;
  ovflwTs: GoTime | null = null;
  /** bayesian: per-condition guillotine state of this instance. */
  guillotine: boolean[] | null = null;
  private mapkey: string | null = null;

  constructor(readonly spec: ScenarioSpec, readonly scenarioIndex: number, readonly groupKey: string, queueLimit: number) {
    this.queue = { Queue: [], L: queueLimit };
  }

  /** CrowdSec's bucket key: hex(sha1(filter + groupby value + name)). */
  get Mapkey(): string {
    if (this.mapkey === null) {
      this.mapkey = sha1Hex(this.spec.filterSource + this.groupKey + this.spec.name);
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
