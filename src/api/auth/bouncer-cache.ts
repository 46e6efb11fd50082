/**
 * Authenticated bouncers kept in memory, keyed by the SHA-512 hex of their API key, so that
 * a live bouncer's lookups (thousands a second) do not read and decode its record from LMDB
 * on every request.
 *
 * Security is unchanged: the presented key is still hashed, the map is keyed by the digest
 * (so lookup timing depends on the hash, not on how much of a real key was guessed) and the
 * stored digest is still compared in constant time. Only successes are cached: a wrong key
 * always takes the store path, so a brute force cannot grow the map or tell cached from
 * uncached keys apart by timing.
 *
 * Freshness: every credential write (add, delete, key or revocation change), by any process,
 * bumps the store's credentials counter in the same transaction (Credentials.changeCursor).
 * Each lookup compares that counter with the one its entry was read at: one small LMDB get
 * (~0.3 µs measured under load; lmdb-js renews its read snapshot every event-loop turn), so
 * a bouncer deleted by another process (`palisade bouncers delete --data-dir S`) is refused
 * from the next request on, as CrowdSec does by reading its database. One deleted through this
 * process is also dropped at once (`Credentials.onBouncerDeleted`). A moved counter only
 * makes each entry re-read its own record once; bookkeeping writes (last pull, user agent)
 * do not move it. `maxAgeMs` (default 60 s) is a backstop on top.
 */
import type { BouncerRecord, Credentials } from '../credentials.js';
import { digestsEqual, hashApiKey } from './api-keys.js';

export interface BouncerCacheOptions {
  /** How long a cached record is trusted at most before it is re-read even though the
   *  credentials counter did not move (ms); default 60,000. */
  maxAgeMs?: number;
  /** Entries kept at most (oldest checked dropped first); default 10,000. */
  maxEntries?: number;
  /** Monotonic clock in ms (injectable for tests); default performance.now. */
  clock?: () => number;
}

interface Entry {
  rec: BouncerRecord;
  /** rec.keyHash as bytes, for the constant-time comparison. */
  digest: Buffer;
  checkedAt: number;
  /** Credentials counter of the snapshot `rec` was read from. */
  cursor: number;
}

export class BouncerKeyCache {
  private readonly byHash = new Map<string, Entry>();
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;
  private readonly clock: () => number;
  /** Store reads done (misses and revalidations), for tests and the bench. */
  storeReads = 0;

  /** `refresh` moves the store's read snapshot forward before a store read. */
  constructor(private readonly creds: Credentials, private readonly refresh: () => void, opts: BouncerCacheOptions = {}) {
    this.maxAgeMs = opts.maxAgeMs ?? 60_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.clock = opts.clock ?? (() => performance.now());
    creds.onBouncerDeleted((name) => this.forget(name));
  }

  get size(): number {
    return this.byHash.size;
  }

  /**
   * The bouncer owning `key` (API-key auth, not revoked), or undefined. The record returned
   * is shared by the requests of that bouncer until the next revalidation: callers may
   * update its bookkeeping fields (ip, user agent, lastPull) after persisting them.
   */
  find(key: string): BouncerRecord | undefined {
    const hash = hashApiKey(key);
    const e = this.byHash.get(hash);
    if (e !== undefined && e.cursor === this.creds.changeCursor() && this.clock() - e.checkedAt < this.maxAgeMs && digestsEqual(hash, e.digest)) return e.rec;
    this.refresh();
    this.storeReads++;
    // Counter and record from the same snapshot: a change committed after this read moves
    // the counter past `cursor`, so the entry cannot outlive it.
    const cursor = this.creds.changeCursor();
    const rec = this.creds.findBouncerByHash(hash);
    if (e !== undefined) this.byHash.delete(hash);
    if (rec === undefined) return undefined;
    this.byHash.set(hash, { rec, digest: Buffer.from(rec.keyHash, 'utf8'), checkedAt: this.clock(), cursor });
    if (this.byHash.size > this.maxEntries) this.byHash.delete(this.byHash.keys().next().value!);
    return rec;
  }

  /** Drops the entries of bouncer `name` (deleted through this process). */
  forget(name: string): void {
    for (const [h, e] of this.byHash) if (e.rec.name === name) this.byHash.delete(h);
  }

  clear(): void {
    this.byHash.clear();
  }
}
