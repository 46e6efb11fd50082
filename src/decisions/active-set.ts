/**
 * The active Ip/Range decisions held in memory, indexed by the radix set (ipset.ts), so
 * that a live bouncer's `GET /v1/decisions?ip=X` is a tree walk instead of a store query.
 *
 * Sync with the store (README "A consumer of changes"): load `activeSnapshot()`, then every
 * `pollMs` (200 ms) `refresh()` + `changesSince(cursor)` and apply the change log, so a
 * decision written by another process (`palisade decisions add --data-dir S`) shows up
 * within a second (design §3). Lookups also compare the store's change cursor with the
 * set's, but at most every `checkMs` (20 ms): that read is a lookup's only LMDB access and
 * the first of its event-loop turn, which renews lmdb-js's read transaction (~15 µs, as much
 * as the rest of the lookup and the route together). So a lookup's answer reflects every
 * write committed by another process more than min(checkMs, pollMs) before it. Writes
 * through this process's Store are seen by the next lookup (`store.localWrites`, a plain
 * counter); `invalidate()` forces the next lookup to compare cursors too.
 * Natural expiry is not in the change log until the daemon's sweep runs, so entries carry
 * `until`: lookups skip expired ones and a min-heap on `until` drops them at each poll.
 *
 * Subscribers (the push stream) receive every page of changes the poll applies, in seq
 * order, plus a reset when the log was trimmed past the cursor (they must resync).
 */
import { parseInterval } from './address.js';
import { compileAddress, compileDecisionFilter, isActive, matchDecision, type DecisionFilter } from './filters.js';
import { bigintToWords, parseAddressWords, RadixPrefixSet, type PrefixSet } from './ipset.js';
import { tryCreateWasmPrefixSet } from '../bindings/ipset-wasm.js';
import type { Change, DecisionRecord } from './records.js';
import type { Store } from './store.js';

export interface ActiveSetOptions {
  /** How often to follow the store's change log (ms). */
  pollMs?: number;
  /** Clock (ms epoch), injectable for tests. */
  now?: () => number;
  /**
   * A lookup reads the store's change cursor (and catches up when it moved) at most this
   * often (ms; default 20). 0 = on every lookup.
   */
  checkMs?: number;
  /** Monotonic clock (ms) for `checkMs`, injectable for tests; default performance.now. */
  monotonic?: () => number;
  /**
   * Prefix-set implementation. Default: the WebAssembly set (src/bindings/ipset-core.ts),
   * or the TS radix tree when build/palisade.wasm cannot be loaded; tests pass the twins.
   */
  prefixSet?: PrefixSet;
}

export interface ActiveSetListener {
  /** A page of changes, oldest first; `cursor` is the seq of the last one. */
  changes(changes: readonly Change[], cursor: number): void;
  /** The change log was trimmed past our cursor; the set was reloaded at `cursor`. */
  reset(cursor: number): void;
}

/** Min-heap of (until, id) with lazy deletion: stale pairs are skipped when popped. */
class UntilHeap {
  private u: number[] = [];
  private i: number[] = [];
  get size(): number { return this.u.length; }
  push(until: number, id: number): void {
    const u = this.u, ids = this.i;
    let k = u.length;
    u.push(until); ids.push(id);
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (u[p]! <= until) break;
      u[k] = u[p]!; ids[k] = ids[p]!;
      k = p;
    }
    u[k] = until; ids[k] = id;
  }
  peek(): number { return this.u.length ? this.u[0]! : Infinity; }
  pop(): number {
    const u = this.u, ids = this.i;
    const top = ids[0]!;
    const lu = u.pop()!, li = ids.pop()!;
    const n = u.length;
    if (n > 0) {
      let k = 0;
      for (;;) {
        let c = 2 * k + 1;
        if (c >= n) break;
        if (c + 1 < n && u[c + 1]! < u[c]!) c++;
        if (u[c]! >= lu) break;
        u[k] = u[c]!; ids[k] = ids[c]!;
        k = c;
      }
      u[k] = lu; ids[k] = li;
    }
    return top;
  }
  clear(): void { this.u = []; this.i = []; }
}

export class ActiveDecisionSet {
  private readonly set: PrefixSet;
  private readonly records = new Map<number, DecisionRecord>();
  private readonly heap = new UntilHeap();
  private readonly listeners = new Set<ActiveSetListener>();
  private readonly now: () => number;
  private readonly pollMs: number;
  private readonly checkMs: number;
  private readonly monotonic: () => number;
  /** When a lookup last compared cursors (monotonic ms); -Infinity forces the next one to. */
  private checkedAt = -Infinity;
  /** store.localWrites at the last cursor check. */
  private seenWrites = -1;
  private timer: NodeJS.Timeout | null = null;
  private loaded = false;
  private _cursor = 0;
  private readonly words = new Int32Array(4);
  /** lookupAddress's parsed address and covering ids, reused by every call. */
  private readonly addrWords = new Int32Array(4);
  private readonly scratch: number[] = [];
  /** Poll errors are counted, not thrown from a timer (the next poll retries). */
  pollErrors = 0;
  lastError: Error | null = null;

  constructor(private readonly store: Store, opts: ActiveSetOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.pollMs = opts.pollMs ?? 200;
    this.checkMs = opts.checkMs ?? 20;
    this.monotonic = opts.monotonic ?? (() => performance.now());
    this.set = opts.prefixSet ?? defaultPrefixSet();
  }

  /** Change-log seq the set reflects. */
  get cursor(): number { return this._cursor; }
  /** Active Ip/Range decisions held (some may have expired since the last poll). */
  get size(): number { return this.records.size; }
  get ready(): boolean { return this.loaded; }

  /** Loads the snapshot and starts following the change log. */
  start(): this {
    if (!this.loaded) this.load();
    if (!this.timer) {
      this.timer = setInterval(() => {
        try {
          this.sync();
        } catch (e) {
          this.pollErrors++;
          this.lastError = e as Error;
        }
      }, this.pollMs);
      this.timer.unref();
    }
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  subscribe(l: ActiveSetListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** A write was made in this process: the next lookup compares cursors (and catches up). */
  invalidate(): void {
    this.checkedAt = -Infinity;
  }

  /** Reads the store's current state into the set (also after a trimmed change log). */
  load(): void {
    this.store.refresh();
    const { cursor, decisions } = this.store.activeSnapshot(this.now());
    this.set.clear();
    this.records.clear();
    this.heap.clear();
    for (const d of decisions) this.add(d);
    this._cursor = cursor;
    this.loaded = true;
  }

  /**
   * Catches up with the store now: applies every change after the cursor and drops expired
   * entries. Returns the number of changes applied. Called by the poll timer; the API may
   * also call it right after its own writes so that they are visible at once.
   */
  sync(): number {
    if (!this.loaded) {
      this.load();
      return 0;
    }
    this.store.refresh();
    let applied = 0;
    for (;;) {
      const r = this.store.changesSince(this._cursor);
      if (r.truncated) {
        this.load();
        for (const l of this.listeners) l.reset(this._cursor);
        return applied;
      }
      if (r.changes.length === 0) break;
      const now = this.now();
      for (const c of r.changes) this.apply(c, now);
      applied += r.changes.length;
      this._cursor = r.cursor;
      for (const l of this.listeners) l.changes(r.changes, r.cursor);
      if (r.cursor >= r.latest) break;
    }
    this.expire(this.now());
    return applied;
  }

  private apply(c: Change, now: number): void {
    if (c.kind === 'deleted') {
      this.remove(c.decisionId);
      return;
    }
    const d = c.decision;
    if (d && isActive(d, now)) this.add(d);
    else this.remove(c.decisionId); // deleted or expired since it was logged
  }

  private add(d: DecisionRecord): void {
    if (d.family === 0 || d.start === undefined || d.prefix128 === undefined) return;
    this.records.set(d.id, d);
    this.set.insert(d.id, bigintToWords(d.start, this.words), d.prefix128);
    this.heap.push(d.until, d.id);
  }

  private remove(id: number): void {
    if (this.records.delete(id)) this.set.delete(id);
  }

  /** Drops entries whose `until` has passed (the heap may hold stale pairs; they are skipped). */
  expire(now: number): number {
    // Deleted and re-added decisions leave stale pairs until their old `until`; rebuild
    // when they outnumber the live ones so churn cannot grow the heap without bound.
    if (this.heap.size > 2 * this.records.size + 1024) {
      this.heap.clear();
      for (const d of this.records.values()) this.heap.push(d.until, d.id);
    }
    let n = 0;
    while (this.heap.size && this.heap.peek() <= now) {
      const id = this.heap.pop();
      const d = this.records.get(id);
      if (d && d.until <= now) {
        this.remove(id);
        n++;
      }
    }
    return n;
  }

  /** Whether `lookup` can answer this filter: an ip/range query over active decisions. */
  canAnswer(f: DecisionFilter): boolean {
    return this.loaded && (f.status === undefined || f.status === 'active') && ((f.ip ?? '') !== '' || (f.range ?? '') !== '');
  }

  /**
   * Active decisions matching `f` in id order, as `store.listDecisions(f)` would return them
   * (up to the poll lag), or null when the filter is not an address query (ask the store).
   * Invalid addresses throw the store's StoreError ('INVALID_ADDRESS').
   */
  lookup(f: DecisionFilter, now = this.now()): DecisionRecord[] | null {
    if (!this.canAnswer(f)) return null;
    this.catchUp();
    const ids = this.candidates(f);
    if (ids.length === 0) return [];
    // The default bouncer query (address, maybe non-simulated) needs no filter compilation.
    const simple = isAddressOnly(f);
    const c = simple ? null : compileDecisionFilter(withoutAddress(f));
    const excludeSimulated = f.excludeSimulated === true;
    if (ids.length > 1) ids.sort((a, b) => a - b);
    const limit = f.limit && f.limit > 0 ? f.limit : Infinity;
    const out: DecisionRecord[] = [];
    for (const id of ids) {
      const d = this.records.get(id)!;
      if (!(d.until > now)) continue;
      if (c ? !matchDecision(c, d, now) : excludeSimulated && d.simulated) continue;
      out.push(d);
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * `lookup({ status: 'active', excludeSimulated, ip }, now)` for the live bouncer's query
   * (`?ip=X` alone), without the generic filter path: same records in the same (id) order,
   * same errors. A single address is parsed here and its covering ids sorted in place; a
   * CIDR or an invalid address goes through `lookup`. The empty answer is one shared frozen
   * array; a non-empty one is a new array.
   */
  lookupAddress(ip: string, now: number, excludeSimulated: boolean): readonly DecisionRecord[] | null {
    if (!this.loaded || ip === '') return null;
    if (ip.indexOf('/') >= 0) return this.lookup({ status: 'active', excludeSimulated, ip }, now);
    this.catchUp();
    // Own words buffer: catchUp's sync writes `words` while adding records.
    const w = this.addrWords;
    if (parseAddressWords(ip.trim(), w) === 0) return this.lookup({ status: 'active', excludeSimulated, ip }, now);
    const ids = this.scratch;
    ids.length = 0;
    this.set.covering(w, 128, ids);
    const n = ids.length;
    if (n === 0) return NONE;
    if (n === 1) {
      const d = this.records.get(ids[0]!)!;
      return d.until > now && !(excludeSimulated && d.simulated) ? [d] : NONE;
    }
    // A handful of ids (decisions on the address and the ranges holding it): insertion sort.
    for (let i = 1; i < n; i++) {
      const v = ids[i]!;
      let j = i - 1;
      while (j >= 0 && ids[j]! > v) { ids[j + 1] = ids[j]!; j--; }
      ids[j + 1] = v;
    }
    let out: DecisionRecord[] | null = null;
    for (let i = 0; i < n; i++) {
      const d = this.records.get(ids[i]!)!;
      if (!(d.until > now) || (excludeSimulated && d.simulated)) continue;
      (out ??= []).push(d);
    }
    return out ?? NONE;
  }

  /**
   * One meta read tells whether a write (ours, or another process's: lmdb-js reads on a
   * fresh snapshot each event-loop turn) happened since the last poll; at most every
   * checkMs, since it costs more than the lookup (see the file comment).
   */
  private catchUp(): void {
    if (this.checkMs <= 0) {
      if (this.store.changeCursor() !== this._cursor) this.sync();
      return;
    }
    const t = this.monotonic();
    if (t - this.checkedAt >= this.checkMs || this.store.localWrites !== this.seenWrites) {
      this.checkedAt = t;
      this.seenWrites = this.store.localWrites;
      if (this.store.changeCursor() !== this._cursor) this.sync();
    }
  }

  /** Ids whose prefix answers the address part of `f` (family checked by the trees). */
  private candidates(f: DecisionFilter): number[] {
    const text = (f.ip ?? '') !== '' ? f.ip! : f.range!;
    const contains = f.contains ?? true;
    if (text.indexOf('/') < 0) {
      // Hot path: a single address, parsed without BigInt.
      const fam = parseAddressWords(text.trim(), this.words);
      if (fam === 0) compileAddress(f.ip, f.range); // throws the store's error
      return contains ? this.set.covering(this.words) : this.set.inside(this.words, 128);
    }
    const iv = parseInterval(text);
    if (!iv) {
      compileAddress(f.ip, f.range);
      return [];
    }
    const w = bigintToWords(iv.start, this.words);
    return contains ? this.set.covering(w, iv.prefix128) : this.set.inside(w, iv.prefix128);
  }

  /** The decision records held, for tests and debugging. */
  all(): DecisionRecord[] {
    return [...this.records.values()];
  }
}

/**
 * The WASM set also wins one call at a time, the API's case. With 100,000 prefixes (CPU
 * time per call): covering ids ~240 ns against ~430 ns in the TS tree for a ban-list mix
 * (its direct tables skip the top of the tree), even (~490 ns each) when /8s cover most
 * addresses and both walk from the root; longest prefix ~115 ns against ~270 ns. The TS
 * tree is the fallback when build/palisade.wasm cannot be loaded.
 */
function defaultPrefixSet(): PrefixSet {
  return tryCreateWasmPrefixSet() ?? new RadixPrefixSet();
}

const NONE: readonly DecisionRecord[] = Object.freeze([]);

const ADDRESS_ONLY_KEYS = new Set(['ip', 'range', 'contains', 'excludeSimulated']);

/** Only what the default bouncer query carries (address, active, maybe non-simulated): skip matchDecision. */
function isAddressOnly(f: DecisionFilter): boolean {
  for (const k in f) {
    const v = f[k as keyof DecisionFilter];
    if (v === undefined || ADDRESS_ONLY_KEYS.has(k) || (k === 'status' && v === 'active')) continue;
    return false;
  }
  return true;
}

/** The filter minus its address part (the tree already answered it). */
function withoutAddress(f: DecisionFilter): DecisionFilter {
  const rest: DecisionFilter = { ...f };
  rest.ip = undefined;
  rest.range = undefined;
  rest.contains = undefined;
  return rest;
}
