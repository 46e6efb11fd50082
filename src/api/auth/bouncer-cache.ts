/**
 * Authenticated bouncers kept in memory, keyed by the SHA-512 hex of their API key, so that
 * a live bouncer's lookups (thousands a second) do not read and decode its record from LMDB
 * on every request.
 *
 * Security is unchanged: the presented key is still hashed, the map is keyed by the digest
 * (so lookup timing depends on the hash, not on how much of a real key was guessed) and the
 * stored digest is still compared in constant time. Only successes are cached: a wrong key
 * always takes the store path, so a brute force cannot grow the map or tell cached from
 * uncached keys apart by timing. The per-connection memo (findOn, below) holds the key a
 * connection last presented, only as long as that connection lives, and compares the next
 * one with it in constant time: what its timing can tell a client is whether it sent the
 * same key as the previous request on its own connection.
 *
 * Freshness: every credential write (add, delete, key or revocation change), by any process,
 * bumps the store's credentials counter in the same transaction (Credentials.changeCursor).
 * Each lookup compares that counter with the one its entry was read at, so a bouncer deleted
 * by another process (`palisade bouncers delete --data-dir S`) is refused from its next
 * request on (one arriving more than ~1–2 ms after the commit), as CrowdSec does by reading
 * its database. The counter is checked at most once per `cursorEveryMs` (1 ms) and whenever
 * this process wrote to the store: lmdb-js keeps its read snapshot for ~1 ms anyway (it is
 * renewed on a 0 ms timer, not per event-loop turn), so a check per request bought little
 * freshness. A check first reads LMDB's last committed transaction id from the env's meta
 * page (Credentials.lastTxnId: no read transaction); only when it moved since the counter
 * was last read (some process committed something) is the counter read, on a fresh snapshot.
 * A counter read renews lmdb-js's read snapshot and arms its reset timer, which cost 5–10%
 * of the server's CPU at 5,000 lookups/s when done every 1 ms (bench/RESULTS-lapi.md). One deleted
 * through this process is also dropped at once (`Credentials.onBouncerDeleted`). A moved
 * counter only makes each entry re-read its own record once; bookkeeping writes (last pull,
 * user agent) do not move it. `maxAgeMs` (default 60 s) is a backstop on top.
 *
 * Per connection (`findOn`), the last key presented and its hash are remembered, so a
 * bouncer's keep-alive connection does not hash the same key on every request: the key is
 * compared with the remembered one in constant time, and the hash then goes through the same
 * map, counter and digest checks as a freshly computed one.
 */
import type { BouncerRecord, Credentials } from '../credentials.js';
import { hashApiKey, hexDigestsEqual } from './api-keys.js';

export interface BouncerCacheOptions {
  /** How long a cached record is trusted at most before it is re-read even though the
   *  credentials counter did not move (ms); default 60,000. */
  maxAgeMs?: number;
  /** Entries kept at most (oldest checked dropped first); default 10,000. */
  maxEntries?: number;
  /** Monotonic clock in ms (injectable for tests); default performance.now. */
  clock?: () => number;
  /** The credentials counter is checked at most this often (ms; default 1: LMDB's last
   *  transaction id, the counter itself only when that moved), and read after every write
   *  through this process's store. 0: read on every lookup. */
  cursorEveryMs?: number;
}

/** A connection's last presented key and its hash (findOn). */
interface KeyMemo {
  key: string;
  hash: string;
}

interface Entry {
  rec: BouncerRecord;
  checkedAt: number;
  /** Credentials counter of the snapshot `rec` was read from. */
  cursor: number;
}

export class BouncerKeyCache {
  private readonly byHash = new Map<string, Entry>();
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;
  private readonly clock: () => number;
  private readonly cursorEveryMs: number;
  /** The credentials counter as last read, when (clock) and after how many local writes. */
  private cursor = 0;
  private cursorAt = -Infinity;
  private cursorWrites = -1;
  private readonly memos = new WeakMap<object, KeyMemo>();
  /** Store reads done (misses and revalidations), for tests and the bench. */
  storeReads = 0;
  /** Credentials-counter reads done, for tests. */
  cursorReads = 0;
  /** Checks answered by the transaction id alone (no counter read), for tests. */
  txnChecks = 0;
  /** Credentials.lastTxnId() when the counter was last read (undefined: not available). */
  private cursorTxn: number | undefined = undefined;

  /** `refresh` moves the store's read snapshot forward before a store read. */
  constructor(private readonly creds: Credentials, private readonly refresh: () => void, opts: BouncerCacheOptions = {}) {
    this.maxAgeMs = opts.maxAgeMs ?? 60_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.clock = opts.clock ?? (() => performance.now());
    this.cursorEveryMs = opts.cursorEveryMs ?? 1;
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
    return this.findHashed(hashApiKey(key));
  }

  /**
   * find(key) for a request on connection `conn` (any object living as long as the
   * connection, e.g. its socket): the key's hash is remembered per connection, so a
   * keep-alive bouncer's requests hash their key once. The presented key is compared with the
   * remembered one in constant time (hexDigestsEqual works on any string); a different key
   * is hashed and remembered instead.
   */
  findOn(conn: object | null | undefined, key: string): BouncerRecord | undefined {
    // No connection object (a synthetic request): nothing to remember the key on.
    if (typeof conn !== 'object' || conn === null) return this.find(key);
    let m = this.memos.get(conn);
    // Only a key as long as the remembered one can be it; the length is not secret (every
    // bouncer key is 32 hex characters).
    if (m === undefined || m.key.length !== key.length || !hexDigestsEqual(key, m.key)) {
      m = { key, hash: hashApiKey(key) };
      this.memos.set(conn, m);
    }
    return this.findHashed(m.hash);
  }

  /** find() for a key already hashed with hashApiKey. */
  private findHashed(hash: string): BouncerRecord | undefined {
    const e = this.byHash.get(hash);
    if (e !== undefined) {
      const t = this.clock();
      if (e.cursor === this.currentCursor(t) && t - e.checkedAt < this.maxAgeMs && hexDigestsEqual(hash, e.rec.keyHash)) return e.rec;
    }
    this.storeReads++;
    // Counter and record from the same (fresh) snapshot: a change committed after this read
    // moves the counter past `cursor`, so the entry cannot outlive it.
    const cursor = this.readCursor(this.clock());
    const rec = this.creds.findBouncerByHash(hash);
    if (e !== undefined) this.byHash.delete(hash);
    if (rec === undefined) return undefined;
    this.byHash.set(hash, { rec, checkedAt: this.clock(), cursor });
    if (this.byHash.size > this.maxEntries) this.byHash.delete(this.byHash.keys().next().value!);
    return rec;
  }

  /**
   * The credentials counter, checked again when cursorEveryMs passed or this process wrote:
   * read again only when LMDB's last transaction id moved since the last read (or this
   * process wrote, or the id is not available).
   */
  private currentCursor(t: number): number {
    if (this.creds.localWrites() !== this.cursorWrites || this.cursorEveryMs <= 0) return this.readCursor(t);
    if (t - this.cursorAt < this.cursorEveryMs) return this.cursor;
    const txn = this.creds.lastTxnId();
    if (txn === undefined || txn !== this.cursorTxn) return this.readCursor(t, txn);
    this.cursorAt = t;
    this.txnChecks++;
    return this.cursor;
  }

  /**
   * Reads the counter on a fresh snapshot, noting the transaction id read before it (so the
   * snapshot is at least that new: a commit after the id moves the id again).
   */
  private readCursor(t: number, txn = this.creds.lastTxnId()): number {
    this.cursorTxn = txn;
    this.cursorWrites = this.creds.localWrites();
    this.refresh();
    this.cursor = this.creds.changeCursor();
    this.cursorAt = t;
    this.cursorReads++;
    return this.cursor;
  }

  /** Drops the entries of bouncer `name` (deleted through this process). */
  forget(name: string): void {
    for (const [h, e] of this.byHash) if (e.rec.name === name) this.byHash.delete(h);
  }

  clear(): void {
    this.byHash.clear();
    this.cursorAt = -Infinity;
    this.cursorTxn = undefined;
  }
}
