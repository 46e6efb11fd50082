/**
 * The bucket table: the state of every leaky / trigger / counter bucket instance, keyed by
 * (scenario index, 128-bit hash of the bucket key), poured into a batch at a time
 * (crowdsec-compat §4.4–§4.6; src/scenarios/engine.ts is the JS engine it mirrors).
 *
 * Per row the token-bucket state of §4.4 (tokens; the limiter's last time is the row's
 * Last_ts, which every accepted pour sets and a refused pour never outlives since the row
 * dies on overflow), First_ts / Last_ts and Total_count. The leak is computed lazily at each
 * pour from the time elapsed, with the float64 arithmetic of src/scenarios/leaky.ts (itself
 * Go's golang.org/x/time/rate): identical operations in the same order give identical bits.
 *
 * Lookup: open addressing, linear probing, backward-shift deletion (no tombstones), sized at
 * bucketsInit for a load of at most 1/2. A slot is (u32 tag, u32 row); the tag is a mix of
 * scenario and key whose low bits are the home slot, and a match is confirmed on the row's
 * full key. The 128-bit key hash is the caller's (src/bindings/buckets-core.ts hashKey128):
 * two keys colliding on all 128 bits would share a row (odds ~n²/2^129).
 *
 * Order and memory bound exactly as src/scenarios/table.ts: each scenario's rows form a
 * doubly linked list in last-touch order (timed counters: creation order); creating a row
 * when maxRows are alive first evicts the head of its scenario's list, or, when that
 * scenario has none, the head of the first largest scenario. Sweeps walk each list from
 * the head and stop at the first row that is still alive.
 *
 * Rows removed during a call (overflow, cancel, expiry, eviction, sweep, trigger) keep their
 * contents until the next bucketsPour / bucketsSweep / bucketsInit, so the caller can read
 * them after the call; their ids are then recycled, the last removed first.
 *
 * distinct: per row a chain of 64-bit value hashes (16-byte entries past the hash table,
 * grown on demand); a row's chain is freed with the row.
 */
import {
  BK_ARG_OFFSET, BK_BAD_ARGS, BK_BAD_SCENARIO, BK_FLAG_TIMED, BK_IN_BYTES, BK_IN_OFFSET, BK_KIND_COUNTER, BK_KIND_LEAKY,
  BK_KIND_TRIGGER, BK_MAX_BATCH, BK_MAX_ROWS, BK_MAX_SCENARIOS, BK_NO_MEMORY, BK_NOT_READY, BK_OK, BK_OUT_BYTES,
  BK_OUT_CANCELLED, BK_OUT_DISTINCT, BK_OUT_EVICTED, BK_OUT_EXPIRED, BK_OUT_INVALID, BK_OUT_NEW, BK_OUT_OFFSET,
  BK_OUT_OVERFLOW, BK_OUT_POURED, BK_OUT_TIMED, BK_PARTS_OFFSET, BK_PART_BYTES, BK_REC_CANCEL, BK_REC_DISTINCT,
  BK_ROWS_OFFSET, BK_ROW_BYTES, BK_ROW_COUNT, BK_ROW_DISTINCT, BK_ROW_FIRST_NSEC, BK_ROW_FIRST_SEC, BK_ROW_KEY,
  BK_ROW_LAST_NSEC, BK_ROW_LAST_SEC, BK_ROW_NEXT, BK_ROW_PREV, BK_ROW_SCENARIO, BK_ROW_STATE, BK_ROW_TOKENS,
  BK_SCEN_BYTES, BK_SCEN_OFFSET, BK_SPARE_ROWS, BK_STATE_FREE, BK_STATE_LIVE, BK_STATE_REMOVED, BK_STATUS_ERROR,
  BK_STATUS_OFFSET, BK_SWEEP_BYTES, BK_SWEEP_OFFSET, BK_MEMORY_PAGES,
} from './abi';

const ARG: usize = BK_ARG_OFFSET;
const STATUS: usize = BK_STATUS_OFFSET;
const SCEN: usize = BK_SCEN_OFFSET;
const IN: usize = BK_IN_OFFSET;
const OUT: usize = BK_OUT_OFFSET;
const SWEEP: usize = BK_SWEEP_OFFSET;
const PARTS: usize = BK_PARTS_OFFSET;
const ROWS: usize = BK_ROWS_OFFSET;

// Part (per scenario) fields.
const P_HEAD: usize = 0;
const P_TAIL: usize = 4;
const P_SIZE: usize = 8;
const P_KIND: usize = 12; // kind | flags << 8
const P_BURST: usize = 16;
const P_RATE: usize = 24;
const P_IDLE: usize = 32;
const P_DURATION: usize = 40;

// Distinct entry: u32 lo, u32 hi, u32 next (16 bytes, 0 = end of chain).
const D_BYTES: usize = 16;
const D_LO: usize = 0;
const D_HI: usize = 4;
const D_NEXT: usize = 8;
const GROW_PAGES: i32 = 16;

let ready = false;
let nScen: u32 = 0;
let maxRows: u32 = 0;
let live: u32 = 0;
let rowTop: u32 = 1; // next never-used row id
let freeRows: u32 = 0; // chain through ROW_NEXT
let pendHead: u32 = 0; // rows removed during the current call, last removed first
let pendTail: u32 = 0;
let hashBase: usize = 0;
let hashMask: u32 = 0;
let distBase: usize = 0;
let distTop: u32 = 1; // next never-used entry (0 = none)
let distFree: u32 = 0;
let distLive: u32 = 0;
/** Slots reserved for the hash (2 maxRows rounded up to a power of two); in use: hashMask + 1. */
let hashMax: u32 = 0;
/** The hash starts this small and doubles with the live rows, so probes stay in cache. */
const HASH_MIN_SLOTS: u32 = 1024;

@inline function row(r: u32): usize {
  return ROWS + <usize>r * BK_ROW_BYTES;
}
@inline function part(s: u32): usize {
  return PARTS + <usize>s * BK_PART_BYTES;
}
@inline function dent(d: u32): usize {
  return distBase + <usize>d * D_BYTES;
}
@inline function slot(i: u32): usize {
  return hashBase + (<usize>i << 3);
}
/** Records the call's result; before bucketsPrepare the status word does not exist yet. */
function setStatus(code: u32): void {
  if (<u32>memory.size() >= BK_MEMORY_PAGES) store<u32>(STATUS + (<usize>BK_STATUS_ERROR << 2), code);
}

/** a − b in nanoseconds, as src/core/gotime.ts diffNs computes it. */
@inline function diffNs(aSec: f64, aNs: u32, bSec: f64, bNs: u32): f64 {
  return (aSec - bSec) * 1e9 + (<f64>aNs - <f64>bNs);
}

/** rate.Every(leakspeed) as leaky.ts rateFor: 1 / Duration.Seconds(). */
function rateFor(leakspeedNs: f64): f64 {
  const sec = Math.trunc(leakspeedNs / 1e9);
  const nsec = leakspeedNs - sec * 1e9;
  return 1 / (sec + nsec / 1e9);
}
@inline function tokensFromDuration(rate: f64, ns: f64): f64 {
  const sec = Math.trunc(ns / 1e9);
  const nsec = ns - sec * 1e9;
  return sec * rate + (nsec * rate) / 1e9;
}
@inline function durationFromTokens(rate: f64, tokens: f64): f64 {
  return Math.trunc(1e9 * (tokens / rate));
}

/** Murmur3's 32-bit finaliser over scenario and key: the slot tag (low bits = home slot). */
@inline function tagOf(s: u32, k0: u32, k1: u32): u32 {
  let h = k0 ^ rotl<u32>(k1, 16) ^ ((s + 1) * 0x9e3779b1);
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return h;
}

// ---- hash table -------------------------------------------------------------------------

/** Row of (s, key), or 0. */
function find(s: u32, k0: u32, k1: u32, k2: u32, k3: u32): u32 {
  const tag = tagOf(s, k0, k1);
  let i = tag & hashMask;
  while (true) {
    const p = slot(i);
    const r = load<u32>(p + 4);
    if (r == 0) return 0;
    if (load<u32>(p) == tag) {
      const o = row(r);
      if (load<u32>(o + BK_ROW_KEY) == k0 && load<u32>(o + BK_ROW_KEY + 4) == k1 && load<u32>(o + BK_ROW_KEY + 8) == k2 &&
        load<u32>(o + BK_ROW_KEY + 12) == k3 && load<u32>(o + BK_ROW_SCENARIO) == s) return r;
    }
    i = (i + 1) & hashMask;
  }
}

/** Adds row r (its key is already written; it is not in the table). */
function hashInsert(r: u32): void {
  const o = row(r);
  const tag = tagOf(load<u32>(o + BK_ROW_SCENARIO), load<u32>(o + BK_ROW_KEY), load<u32>(o + BK_ROW_KEY + 4));
  let i = tag & hashMask;
  while (load<u32>(slot(i) + 4) != 0) i = (i + 1) & hashMask;
  store<u32>(slot(i), tag);
  store<u32>(slot(i) + 4, r);
}

/** Removes row r's slot, shifting later entries of the cluster back (no tombstones). */
function hashDelete(r: u32): void {
  const o = row(r);
  const tag = tagOf(load<u32>(o + BK_ROW_SCENARIO), load<u32>(o + BK_ROW_KEY), load<u32>(o + BK_ROW_KEY + 4));
  let i = tag & hashMask;
  while (load<u32>(slot(i) + 4) != r) i = (i + 1) & hashMask;
  let j = i;
  while (true) {
    j = (j + 1) & hashMask;
    const rj = load<u32>(slot(j) + 4);
    if (rj == 0) break;
    const home = load<u32>(slot(j)) & hashMask;
    // The entry at j may move to the hole at i unless its home lies cyclically in (i, j].
    if (((j - home) & hashMask) >= ((j - i) & hashMask)) {
      store<u64>(slot(i), load<u64>(slot(j)));
      i = j;
    }
  }
  store<u64>(slot(i), 0);
}

// ---- rows, lists, allocation ------------------------------------------------------------

function append(s: u32, r: u32): void {
  const p = part(s);
  const tail = load<u32>(p + P_TAIL);
  store<u32>(row(r) + BK_ROW_PREV, tail);
  store<u32>(row(r) + BK_ROW_NEXT, 0);
  if (tail != 0) store<u32>(row(tail) + BK_ROW_NEXT, r);
  else store<u32>(p + P_HEAD, r);
  store<u32>(p + P_TAIL, r);
}

function unlink(s: u32, r: u32): void {
  const p = part(s);
  const prev = load<u32>(row(r) + BK_ROW_PREV);
  const next = load<u32>(row(r) + BK_ROW_NEXT);
  if (prev != 0) store<u32>(row(prev) + BK_ROW_NEXT, next);
  else store<u32>(p + P_HEAD, next);
  if (next != 0) store<u32>(row(next) + BK_ROW_PREV, prev);
  else store<u32>(p + P_TAIL, prev);
}

/** Moves a live row to the back of its scenario's order (table.ts touch). */
@inline function touch(s: u32, r: u32): void {
  if (load<u32>(part(s) + P_TAIL) == r) return;
  unlink(s, r);
  append(s, r);
}

/** Parks a row that left the table (or never entered it) until the next call. */
function park(r: u32): void {
  const o = row(r);
  store<u32>(o + BK_ROW_STATE, BK_STATE_REMOVED);
  store<u32>(o + BK_ROW_PREV, 0);
  store<u32>(o + BK_ROW_NEXT, pendHead);
  if (pendHead == 0) pendTail = r;
  pendHead = r;
}

function removeRow(r: u32): void {
  const o = row(r);
  const s = load<u32>(o + BK_ROW_SCENARIO);
  hashDelete(r);
  unlink(s, r);
  store<u32>(part(s) + P_SIZE, load<u32>(part(s) + P_SIZE) - 1);
  live--;
  park(r);
}

/** Rows parked by the previous call become free (last removed = first reused). */
function releaseParked(): void {
  if (pendHead == 0) return;
  let r = pendHead;
  while (r != 0) {
    const o = row(r);
    let d = load<u32>(o + BK_ROW_DISTINCT);
    if (d != 0) {
      // Splice the row's distinct chain onto the free entries.
      let last = d;
      let n: u32 = 1;
      while (load<u32>(dent(last) + D_NEXT) != 0) {
        last = load<u32>(dent(last) + D_NEXT);
        n++;
      }
      store<u32>(dent(last) + D_NEXT, distFree);
      distFree = d;
      distLive -= n;
      store<u32>(o + BK_ROW_DISTINCT, 0);
    }
    store<u32>(o + BK_ROW_STATE, BK_STATE_FREE);
    r = load<u32>(o + BK_ROW_NEXT);
  }
  store<u32>(row(pendTail) + BK_ROW_NEXT, freeRows);
  freeRows = pendHead;
  pendHead = pendTail = 0;
}

/** A fresh row for (s, key) at `now`-less state: no pours, no tokens. */
function newRow(s: u32, k0: u32, k1: u32, k2: u32, k3: u32): u32 {
  let r = freeRows;
  if (r != 0) freeRows = load<u32>(row(r) + BK_ROW_NEXT);
  else r = rowTop++;
  const o = row(r);
  store<f64>(o + BK_ROW_TOKENS, 0);
  store<f64>(o + BK_ROW_FIRST_SEC, 0);
  store<f64>(o + BK_ROW_LAST_SEC, 0);
  store<u32>(o + BK_ROW_FIRST_NSEC, 0);
  store<u32>(o + BK_ROW_LAST_NSEC, 0);
  store<u32>(o + BK_ROW_COUNT, 0);
  store<u32>(o + BK_ROW_SCENARIO, s);
  store<u32>(o + BK_ROW_KEY, k0);
  store<u32>(o + BK_ROW_KEY + 4, k1);
  store<u32>(o + BK_ROW_KEY + 8, k2);
  store<u32>(o + BK_ROW_KEY + 12, k3);
  store<u32>(o + BK_ROW_PREV, 0);
  store<u32>(o + BK_ROW_NEXT, 0);
  store<u32>(o + BK_ROW_DISTINCT, 0);
  store<u32>(o + BK_ROW_STATE, BK_STATE_LIVE);
  return r;
}

/** Makes room for one more row of scenario s when the table is full; the victim or 0. */
function evictFor(s: u32): u32 {
  if (live < maxRows) return 0;
  let v = s;
  if (load<u32>(part(s) + P_SIZE) == 0) {
    // The first largest scenario (table.ts evictFor).
    for (let q: u32 = 0; q < nScen; q++) if (load<u32>(part(q) + P_SIZE) > load<u32>(part(v) + P_SIZE)) v = q;
  }
  const victim = load<u32>(part(v) + P_HEAD);
  if (victim != 0) removeRow(victim);
  return victim;
}

/**
 * Doubles the slots in use (within the reserved region) and re-inserts every live row,
 * found through the scenario lists (parked rows are in neither).
 */
function growHash(): void {
  const size = hashMask + 1;
  memory.fill(hashBase, 0, <usize>size << 4);
  hashMask = (size << 1) - 1;
  for (let s: u32 = 0; s < nScen; s++) {
    for (let r = load<u32>(part(s) + P_HEAD); r != 0; r = load<u32>(row(r) + BK_ROW_NEXT)) hashInsert(r);
  }
}

/** Inserts a new row at the back of scenario s. */
function insertRow(s: u32, k0: u32, k1: u32, k2: u32, k3: u32): u32 {
  // Load at most 1/2.
  if ((live + 1) << 1 > hashMask + 1 && hashMask + 1 < hashMax) growHash();
  const r = newRow(s, k0, k1, k2, k3);
  hashInsert(r);
  append(s, r);
  store<u32>(part(s) + P_SIZE, load<u32>(part(s) + P_SIZE) + 1);
  live++;
  return r;
}

// ---- distinct values --------------------------------------------------------------------

/** One free distinct entry guaranteed (grows memory); false when memory is exhausted. */
function reserveDistinct(): bool {
  if (distFree != 0) return true;
  const end = dent(distTop + 1);
  const need = <i32>((end + 0xffff) >>> 16);
  const have = memory.size();
  if (need <= have) return true;
  if (memory.grow(max(need - have, max(GROW_PAGES, have >> 4))) >= 0) return true;
  return memory.grow(need - have) >= 0;
}

/** True when the row already saw (lo, hi); else records it (reserveDistinct succeeded). */
function seenOrAdd(r: u32, lo: u32, hi: u32): bool {
  const o = row(r);
  let d = load<u32>(o + BK_ROW_DISTINCT);
  while (d != 0) {
    const e = dent(d);
    if (load<u32>(e + D_LO) == lo && load<u32>(e + D_HI) == hi) return true;
    d = load<u32>(e + D_NEXT);
  }
  let n = distFree;
  if (n != 0) distFree = load<u32>(dent(n) + D_NEXT);
  else n = distTop++;
  const e = dent(n);
  store<u32>(e + D_LO, lo);
  store<u32>(e + D_HI, hi);
  store<u32>(e + D_NEXT, load<u32>(o + BK_ROW_DISTINCT));
  store<u32>(o + BK_ROW_DISTINCT, n);
  distLive++;
  return false;
}

// ---- the limiter (spec §4.4, leaky.ts takeToken) ----------------------------------------

/**
 * rate.Limiter.AllowN(now, 1) on row r (count = pours before this one; 0 = Go's zero last
 * time, so the first pour refills to burst). Updates tokens on success only.
 */
function takeToken(o: usize, count: u32, burst: f64, rate: f64, nowSec: f64, nowNs: u32): bool {
  const tokens = load<f64>(o + BK_ROW_TOKENS);
  const maxElapsed = durationFromTokens(rate, burst - tokens);
  let elapsed = maxElapsed;
  if (count != 0) {
    let d = diffNs(nowSec, nowNs, load<f64>(o + BK_ROW_LAST_SEC), load<u32>(o + BK_ROW_LAST_NSEC));
    if (d < 0) d = 0; // now before last: last = now
    elapsed = min(d, maxElapsed);
  }
  let t = tokens + tokensFromDuration(rate, elapsed);
  if (t > burst) t = burst;
  t -= 1;
  // A deficit shorter than 1 ns of refill still counts as "no wait", as in Go.
  const wait = t < 0 ? durationFromTokens(rate, -t) : 0;
  if (1 <= burst && wait <= 0) {
    store<f64>(o + BK_ROW_TOKENS, t);
    return true;
  }
  return false;
}

@inline function isIdle(o: usize, idle: f64, nowSec: f64, nowNs: u32): bool {
  return load<u32>(o + BK_ROW_COUNT) != 0 && idle > 0 &&
    diffNs(nowSec, nowNs, load<f64>(o + BK_ROW_LAST_SEC), load<u32>(o + BK_ROW_LAST_NSEC)) > idle;
}
@inline function isDue(o: usize, duration: f64, nowSec: f64, nowNs: u32): bool {
  return load<u32>(o + BK_ROW_COUNT) != 0 &&
    diffNs(nowSec, nowNs, load<f64>(o + BK_ROW_FIRST_SEC), load<u32>(o + BK_ROW_FIRST_NSEC)) >= duration;
}

/** Counts a pour and stamps First_ts / Last_ts (leaky.ts pourLeaky, before the limiter). */
@inline function stamp(o: usize, count: u32, nowSec: f64, nowNs: u32): void {
  store<u32>(o + BK_ROW_COUNT, count + 1);
  if (count == 0) {
    store<f64>(o + BK_ROW_FIRST_SEC, nowSec);
    store<u32>(o + BK_ROW_FIRST_NSEC, nowNs);
  }
  store<f64>(o + BK_ROW_LAST_SEC, nowSec);
  store<u32>(o + BK_ROW_LAST_NSEC, nowNs);
}

// ---- exports ----------------------------------------------------------------------------

/**
 * Grows memory to cover the fixed regions (BK_MEMORY_PAGES), so the caller can write the
 * scenario records bucketsInit reads. BK_OK or BK_NO_MEMORY.
 */
export function bucketsPrepare(): u32 {
  const have = memory.size();
  const need = <i32>BK_MEMORY_PAGES;
  if (need > have && memory.grow(need - have) < 0) return fail(BK_NO_MEMORY);
  return fail(BK_OK);
}

/**
 * Configures nScenarios scenarios from the records at BK_SCEN_OFFSET and empties the table,
 * which holds at most maxRows live rows. Grows memory for the rows and the hash table.
 */
export function bucketsInit(nScenarios: u32, rows: u32): u32 {
  ready = false;
  if (<u32>memory.size() < BK_MEMORY_PAGES) return fail(BK_NOT_READY);
  if (nScenarios > BK_MAX_SCENARIOS || rows < 1 || rows > BK_MAX_ROWS) return fail(BK_BAD_ARGS);
  for (let s: u32 = 0; s < nScenarios; s++) {
    const c = SCEN + <usize>s * BK_SCEN_BYTES;
    const kind = load<u32>(c);
    const flags = load<u32>(c + 4);
    const cap = load<f64>(c + 8);
    const leak = load<f64>(c + 16);
    const idle = load<f64>(c + 24);
    const duration = load<f64>(c + 32);
    if (!(idle >= 0 && idle < Infinity && duration >= 0 && duration < Infinity && leak >= 0 && leak < Infinity)) return fail(BK_BAD_SCENARIO);
    if (flags & ~BK_FLAG_TIMED) return fail(BK_BAD_SCENARIO);
    if (kind == BK_KIND_LEAKY) {
      if (!(cap >= 1 && cap <= 1e9 && Math.floor(cap) == cap && leak > 0) || flags != 0) return fail(BK_BAD_SCENARIO);
    } else if (kind == BK_KIND_TRIGGER) {
      if (flags != 0) return fail(BK_BAD_SCENARIO);
    } else if (kind == BK_KIND_COUNTER) {
      if (!(cap <= 0) || ((flags & BK_FLAG_TIMED) != 0 && !(duration > 0))) return fail(BK_BAD_SCENARIO);
    } else return fail(BK_BAD_SCENARIO);
    const p = part(s);
    store<u32>(p + P_HEAD, 0);
    store<u32>(p + P_TAIL, 0);
    store<u32>(p + P_SIZE, 0);
    store<u32>(p + P_KIND, kind | (flags << 8));
    store<f64>(p + P_BURST, kind == BK_KIND_LEAKY ? cap : 0);
    store<f64>(p + P_RATE, kind == BK_KIND_LEAKY ? rateFor(leak) : 0);
    store<f64>(p + P_IDLE, idle);
    store<f64>(p + P_DURATION, duration);
  }
  // Load at most 1/2: slots = the power of two >= 2 * rows.
  let slots: u32 = 16;
  while (slots < rows * 2) slots <<= 1;
  const rowsEnd = ROWS + (<usize>rows + BK_SPARE_ROWS + 1) * BK_ROW_BYTES;
  const hb = (rowsEnd + 63) & ~(<usize>63);
  const db = (hb + (<usize>slots << 3) + 63) & ~(<usize>63);
  const need = <i32>((db + D_BYTES * 2 + 0xffff) >>> 16);
  const have = memory.size();
  if (need > have && memory.grow(need - have) < 0) return fail(BK_NO_MEMORY);
  // The region is reserved for `slots`; only the first ones are used (and cleared) until
  // the live rows need more (growHash clears what it adds).
  const first = min(slots, HASH_MIN_SLOTS);
  hashBase = hb;
  hashMax = slots;
  hashMask = first - 1;
  distBase = db;
  memory.fill(hb, 0, <usize>first << 3);
  nScen = nScenarios;
  maxRows = rows;
  live = 0;
  rowTop = 1;
  freeRows = 0;
  pendHead = pendTail = 0;
  distTop = 1;
  distFree = 0;
  distLive = 0;
  ready = true;
  setStatus(BK_OK);
  return BK_OK;
}

/** Sets the status and returns the code (bucketsInit's result). */
function fail(code: u32): u32 {
  setStatus(code);
  return code;
}
/** Sets the status and returns 0 (nothing processed). */
function failed(code: u32): u32 {
  setStatus(code);
  return 0;
}

/**
 * Pours the n records at BK_IN_OFFSET in order and writes one outcome record each at
 * BK_OUT_OFFSET. Returns the records processed: n, or fewer when memory for a distinct
 * value ran out (status BK_NO_MEMORY; that record and the later ones were not applied).
 */
export function bucketsPour(n: u32): u32 {
  if (!ready) return failed(BK_NOT_READY);
  if (n > BK_MAX_BATCH) return failed(BK_BAD_ARGS);
  setStatus(BK_OK);
  releaseParked();
  for (let i: u32 = 0; i < n; i++) {
    const rec = IN + <usize>i * BK_IN_BYTES;
    const out = OUT + <usize>i * BK_OUT_BYTES;
    const nowSec = load<f64>(rec);
    const nowNs = load<u32>(rec + 8);
    const s = <u32>load<u16>(rec + 12);
    const flags = <u32>load<u16>(rec + 14);
    if (s >= nScen || nowNs >= 1000000000 || !(nowSec - nowSec == 0)) {
      store<u32>(out, BK_OUT_INVALID);
      store<u32>(out + 4, 0);
      store<u32>(out + 8, 0);
      store<u32>(out + 12, 0);
      continue;
    }
    if ((flags & BK_REC_DISTINCT) != 0 && !reserveDistinct()) {
      setStatus(BK_NO_MEMORY);
      return i;
    }
    const k0 = load<u32>(rec + 16);
    const k1 = load<u32>(rec + 20);
    const k2 = load<u32>(rec + 24);
    const k3 = load<u32>(rec + 28);
    const p = part(s);
    const kf = load<u32>(p + P_KIND);
    const kind = kf & 0xff;
    const timed = (kf & (BK_FLAG_TIMED << 8)) != 0;
    let outcome: u32 = 0;
    let prev: u32 = 0;
    let victim: u32 = 0;

    if (kind == BK_KIND_TRIGGER) {
      // Created, overflowed at once and gone: never enters the table but may evict (table.ts insert).
      victim = evictFor(s);
      if (victim != 0) outcome |= BK_OUT_EVICTED;
      const r = newRow(s, k0, k1, k2, k3);
      stamp(row(r), 0, nowSec, nowNs);
      park(r);
      store<u32>(out, outcome | BK_OUT_NEW | BK_OUT_POURED | BK_OUT_OVERFLOW);
      store<u32>(out + 4, r);
      store<u32>(out + 8, 0);
      store<u32>(out + 12, victim);
      continue;
    }

    let r = find(s, k0, k1, k2, k3);
    if (r != 0) {
      const o = row(r);
      if (timed) {
        if (isDue(o, load<f64>(p + P_DURATION), nowSec, nowNs)) {
          removeRow(r);
          prev = r;
          outcome |= BK_OUT_TIMED;
          r = 0;
        }
      } else if (isIdle(o, load<f64>(p + P_IDLE), nowSec, nowNs)) {
        removeRow(r);
        prev = r;
        outcome |= BK_OUT_EXPIRED;
        r = 0;
      }
    }
    if (r == 0) {
      victim = evictFor(s);
      if (victim != 0) outcome |= BK_OUT_EVICTED;
      r = insertRow(s, k0, k1, k2, k3);
      outcome |= BK_OUT_NEW;
    }
    store<u32>(out + 4, r);
    store<u32>(out + 8, prev);
    store<u32>(out + 12, victim);

    // distinct, then cancel_on, then the pour (engine.ts pourInto order).
    if ((flags & BK_REC_DISTINCT) != 0 && seenOrAdd(r, load<u32>(rec + 32), load<u32>(rec + 36))) {
      store<u32>(out, outcome | BK_OUT_DISTINCT);
      continue;
    }
    if ((flags & BK_REC_CANCEL) != 0) {
      removeRow(r);
      store<u32>(out, outcome | BK_OUT_CANCELLED);
      continue;
    }
    const o = row(r);
    const count = load<u32>(o + BK_ROW_COUNT);
    const burst = load<f64>(p + P_BURST);
    let ok = true;
    if (burst > 0) ok = takeToken(o, count, burst, load<f64>(p + P_RATE), nowSec, nowNs);
    stamp(o, count, nowSec, nowNs);
    if (!timed) touch(s, r);
    outcome |= BK_OUT_POURED;
    if (!ok) {
      removeRow(r);
      outcome |= BK_OUT_OVERFLOW;
    }
    store<u32>(out, outcome);
  }
  return n;
}

/**
 * Removes rows whose time is up at the clock in BK_ARG (f64 seconds, u32 ns): idle rows
 * (BK_OUT_EXPIRED) and due timed counters (BK_OUT_TIMED), scenario by scenario from the
 * head of each list, stopping at the first row still alive (engine.ts sweep). Writes at most
 * `maxOut` (row, outcome) records at BK_SWEEP_OFFSET and returns how many; when that is
 * maxOut, call again after reading them.
 */
export function bucketsSweep(maxOut: u32): u32 {
  if (!ready) return failed(BK_NOT_READY);
  if (maxOut > BK_MAX_BATCH) return failed(BK_BAD_ARGS);
  const nowSec = load<f64>(ARG);
  const nowNs = load<u32>(ARG + 8);
  if (nowNs >= 1000000000 || !(nowSec - nowSec == 0)) return failed(BK_BAD_ARGS);
  setStatus(BK_OK);
  releaseParked();
  let k: u32 = 0;
  for (let s: u32 = 0; s < nScen; s++) {
    const p = part(s);
    const timed = (load<u32>(p + P_KIND) & (BK_FLAG_TIMED << 8)) != 0;
    const idle = load<f64>(p + P_IDLE);
    const duration = load<f64>(p + P_DURATION);
    while (true) {
      const r = load<u32>(p + P_HEAD);
      if (r == 0) break;
      const o = row(r);
      const what = timed ? (isDue(o, duration, nowSec, nowNs) ? BK_OUT_TIMED : 0) : (isIdle(o, idle, nowSec, nowNs) ? BK_OUT_EXPIRED : 0);
      if (what == 0) break;
      if (k == maxOut) return k;
      removeRow(r);
      store<u32>(SWEEP + <usize>k * BK_SWEEP_BYTES, r);
      store<u32>(SWEEP + <usize>k * BK_SWEEP_BYTES + 4, what);
      k++;
    }
  }
  return k;
}

/** Live row of (scenario s, key at BK_ARG + 16) or 0; no expiry, no side effect. */
export function bucketsFind(s: u32): u32 {
  if (!ready || s >= nScen) return 0;
  return find(s, load<u32>(ARG + 16), load<u32>(ARG + 20), load<u32>(ARG + 24), load<u32>(ARG + 28));
}

/** Live rows. */
export function bucketsSize(): u32 {
  return live;
}

/** Live rows of scenario s. */
export function bucketsScenarioSize(s: u32): u32 {
  return ready && s < nScen ? load<u32>(part(s) + P_SIZE) : 0;
}

/** The least recently touched live row of scenario s (the next to evict or expire), or 0. */
export function bucketsOldest(s: u32): u32 {
  return ready && s < nScen ? load<u32>(part(s) + P_HEAD) : 0;
}

/** Distinct values recorded by live rows and rows removed in the last call. */
export function bucketsDistinctCount(): u32 {
  return distLive;
}
