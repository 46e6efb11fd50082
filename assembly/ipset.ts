/**
 * The IP set: longest-prefix match over IPv4 and IPv6 prefixes, each carrying a u32 value
 * (the caller's handle; 0 means "none"). The caller keeps whatever the value stands for
 * (src/bindings/ipset-core.ts maps it to the decision ids on that prefix).
 *
 * Structure: per family, a path-compressed binary radix (Patricia) tree over the 128-bit
 * space (IPv4 mapped into ::ffff:0:0/96, as src/decisions/ipset.ts does; its root is that
 * /96, the IPv6 root is ::/0), plus a direct table on the first 16 bits of the family
 * (bits 96..111 for IPv4, 0..15 for IPv6). Slot s of the table holds the best value among
 * prefixes shorter than 16 bits covering s (pre-resolved) and the first tree node of 16 or
 * more bits under s, so a lookup starts below every short prefix and every glue node:
 * with 70,000 IPv4 prefixes the walk after the table is one or two nodes. A slot is
 * recomputed whenever a prefix in it (or covering it) is added or removed.
 *
 * Node record (IPSET_NODE_BYTES = 32, two per cache line, one record read per step):
 *   +0  key words 0..3 (host bits zero)   +16 meta: length 0..128 | HAS (0x100)
 *   +20 child for next bit 0              +24 child for next bit 1      +28 value
 * A free record is chained through its +20 field. Nothing is allocated besides records;
 * memory grows at the end when the pool is full (ipsetInsert reports IPSET_NO_MEMORY when
 * it cannot).
 */
import {
  IPSET_ADDRS_OFFSET, IPSET_ARG_OFFSET, IPSET_BAD_LENGTH, IPSET_BAD_VALUE, IPSET_DT4_OFFSET, IPSET_DT6_OFFSET,
  IPSET_HEAP_OFFSET, IPSET_INVALID, IPSET_MAX_BATCH, IPSET_MAX_TEXT, IPSET_MEMORY_PAGES, IPSET_NODE_BYTES,
  IPSET_NO_MEMORY, IPSET_OK, IPSET_RESULTS_OFFSET, IPSET_SCRATCH_OFFSET, IPSET_SLOTS, IPSET_STACK_OFFSET,
  IPSET_STATUS_CONSUMED, IPSET_STATUS_OFFSET, IPSET_TEXT_OFFSET, IPSET_MASKS_OFFSET, IPSET_HEX_OFFSET, IPSET_QUEUE_OFFSET,
} from './abi';

// Region offsets as pointers (the ABI constants are u32).
const ARG: usize = IPSET_ARG_OFFSET;
const STATUS: usize = IPSET_STATUS_OFFSET;
const SCRATCH: usize = IPSET_SCRATCH_OFFSET;
const STACK: usize = IPSET_STACK_OFFSET;
const ADDRS: usize = IPSET_ADDRS_OFFSET;
const RESULTS: usize = IPSET_RESULTS_OFFSET;
const TEXT: usize = IPSET_TEXT_OFFSET;
const DT4: usize = IPSET_DT4_OFFSET;
const DT6: usize = IPSET_DT6_OFFSET;
const HEAP: usize = IPSET_HEAP_OFFSET;
const MASKS: usize = IPSET_MASKS_OFFSET;
const HEX: usize = IPSET_HEX_OFFSET;
const QUEUE: usize = IPSET_QUEUE_OFFSET;

const ROOT4: u32 = 1;
const ROOT6: u32 = 2;
const HAS: u32 = 0x100;
const K1: usize = 4;
const K2: usize = 8;
const K3: usize = 12;
const META: usize = 16;
const C0: usize = 20;
const C1: usize = 24;
const VAL: usize = 28;
/** Grow memory by at least this many pages at a time (each growth detaches the JS views). */
const GROW_PAGES: i32 = 32;

let nodeCount: u32 = 0; // records handed out, including 0..2; 0 until ipsetReset
let freeHead: u32 = 0;
let valueCount: u32 = 0;

@inline function rec(i: u32): usize {
  return HEAP + (<usize>i << 5);
}
@inline function lenOf(i: u32): u32 {
  return load<u32>(rec(i) + META) & 0xff;
}
@inline function childOf(i: u32, bit: u32): u32 {
  return load<u32>(rec(i) + C0 + (<usize>bit << 2));
}
@inline function setChild(p: u32, bit: u32, c: u32): void {
  store<u32>(rec(p) + C0 + (<usize>bit << 2), c);
}
/** Mask of the first `bits` bits of a word (bits may be outside 0..32). */
@inline function headMask(bits: i32): u32 {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : ~(<u32>0xffffffff >>> <u32>bits);
}
@inline function wordAt(bit: u32, w0: u32, w1: u32, w2: u32, w3: u32): u32 {
  const k = bit >>> 5;
  return k == 0 ? w0 : k == 1 ? w1 : k == 2 ? w2 : w3;
}
@inline function bitAt(bit: u32, w0: u32, w1: u32, w2: u32, w3: u32): u32 {
  return (wordAt(bit, w0, w1, w2, w3) >>> (31 - (bit & 31))) & 1;
}

/** Whether the first `len` bits of node i's key equal the address's. */
function keyMatches(i: u32, len: u32, w0: u32, w1: u32, w2: u32, w3: u32): bool {
  const o = rec(i);
  if (len == 0) return true;
  if (len < 32) return ((load<u32>(o) ^ w0) & ~(<u32>0xffffffff >>> len)) == 0;
  if (load<u32>(o) != w0) return false;
  if (len < 64) return len == 32 || ((load<u32>(o + K1) ^ w1) & ~(<u32>0xffffffff >>> (len - 32))) == 0;
  if (load<u32>(o + K1) != w1) return false;
  if (len < 96) return len == 64 || ((load<u32>(o + K2) ^ w2) & ~(<u32>0xffffffff >>> (len - 64))) == 0;
  if (load<u32>(o + K2) != w2) return false;
  if (len < 128) return len == 96 || ((load<u32>(o + K3) ^ w3) & ~(<u32>0xffffffff >>> (len - 96))) == 0;
  return load<u32>(o + K3) == w3;
}

/** Length of the common prefix of node i's key and the address (0..128). */
function common(i: u32, w0: u32, w1: u32, w2: u32, w3: u32): u32 {
  const o = rec(i);
  let x = load<u32>(o) ^ w0;
  if (x != 0) return clz(x);
  x = load<u32>(o + K1) ^ w1;
  if (x != 0) return 32 + clz(x);
  x = load<u32>(o + K2) ^ w2;
  if (x != 0) return 64 + clz(x);
  x = load<u32>(o + K3) ^ w3;
  if (x != 0) return 96 + clz(x);
  return 128;
}

/** Memory for `n` more records (grows it if needed). */
function reserve(n: u32): bool {
  const end = rec(nodeCount + n);
  const need = <i32>((end + 0xffff) >>> 16);
  const have = memory.size();
  if (need <= have) return true;
  const want = max(need - have, max(GROW_PAGES, have >> 4));
  if (memory.grow(want) >= 0) return true;
  return memory.grow(need - have) >= 0;
}

/** A record for prefix w/len (w already masked); reserve() must have succeeded. */
function alloc(w0: u32, w1: u32, w2: u32, w3: u32, len: u32): u32 {
  let i = freeHead;
  if (i != 0) freeHead = load<u32>(rec(i) + C0);
  else i = nodeCount++;
  const o = rec(i);
  store<u32>(o, w0);
  store<u32>(o + K1, w1);
  store<u32>(o + K2, w2);
  store<u32>(o + K3, w3);
  store<u32>(o + META, len);
  store<u32>(o + C0, 0);
  store<u32>(o + C1, 0);
  store<u32>(o + VAL, 0);
  return i;
}

function release(i: u32): void {
  const o = rec(i);
  store<u32>(o + META, 0);
  store<u32>(o + C1, 0);
  store<u32>(o + VAL, 0);
  store<u32>(o + C0, freeHead);
  freeHead = i;
}

@inline function isV4(w0: u32, w1: u32, w2: u32, len: u32): bool {
  return len >= 96 && w0 == 0 && w1 == 0 && w2 == 0xffff;
}

/** Node holding exactly w/len under root, created (with glue) if missing. Needs reserve(2). */
function nodeFor(root: u32, w0: u32, w1: u32, w2: u32, w3: u32, len: u32): u32 {
  let i = root;
  while (true) {
    const il = lenOf(i);
    if (il == len) return i; // the walk only reaches nodes whose key prefixes w
    const b = bitAt(il, w0, w1, w2, w3);
    const c = childOf(i, b);
    if (c == 0) {
      const leaf = alloc(w0, w1, w2, w3, len);
      setChild(i, b, leaf);
      return leaf;
    }
    const cLen = lenOf(c);
    const cl = min(min(common(c, w0, w1, w2, w3), len), cLen);
    if (cl == cLen) {
      i = c;
      continue;
    }
    const co = rec(c);
    if (cl == len) {
      // The new prefix sits between i and c.
      const mid = alloc(w0, w1, w2, w3, len);
      setChild(mid, bitAt(len, load<u32>(co), load<u32>(co + K1), load<u32>(co + K2), load<u32>(co + K3)), c);
      setChild(i, b, mid);
      return mid;
    }
    // c and the new prefix diverge at bit cl: a glue node with both below it.
    const g = alloc(w0 & headMask(<i32>cl), w1 & headMask(<i32>cl - 32), w2 & headMask(<i32>cl - 64), w3 & headMask(<i32>cl - 96), cl);
    setChild(g, bitAt(cl, load<u32>(co), load<u32>(co + K1), load<u32>(co + K2), load<u32>(co + K3)), c);
    const leaf = alloc(w0, w1, w2, w3, len);
    setChild(g, bitAt(cl, w0, w1, w2, w3), leaf);
    setChild(i, b, g);
    return leaf;
  }
}

/** Exact node of w/len under root, recording the path in the stack region; 0 if absent. */
function findExact(root: u32, w0: u32, w1: u32, w2: u32, w3: u32, len: u32): u32 {
  let i = root;
  let depth: usize = 0;
  while (i != 0) {
    const l = lenOf(i);
    if (l > len || !keyMatches(i, l, w0, w1, w2, w3)) return 0;
    store<u32>(STACK + (depth << 2), i);
    depth++;
    if (l == len) {
      pathDepth = <u32>depth;
      return i;
    }
    i = childOf(i, bitAt(l, w0, w1, w2, w3));
  }
  return 0;
}
let pathDepth: u32 = 0;

/** Recomputes direct-table slot s of a family: best short value and first node of 16+ bits. */
function refreshSlot(v4: bool, s: u32): void {
  const root = v4 ? ROOT4 : ROOT6;
  const stop: u32 = v4 ? 112 : 16;
  const w0: u32 = v4 ? 0 : s << 16;
  const w2: u32 = v4 ? 0xffff : 0;
  const w3: u32 = v4 ? s << 16 : 0;
  let best: u32 = 0;
  let start: u32 = 0;
  let n = root;
  while (n != 0) {
    const l = lenOf(n);
    if (l >= stop) {
      if (keyMatches(n, stop, w0, 0, w2, w3)) start = n;
      break;
    }
    if (!keyMatches(n, l, w0, 0, w2, w3)) break;
    const o = rec(n);
    if (load<u32>(o + META) & HAS) best = load<u32>(o + VAL);
    n = childOf(n, bitAt(l, w0, 0, w2, w3));
  }
  const e = (v4 ? DT4 : DT6) + (<usize>s << 3);
  store<u32>(e, start);
  store<u32>(e + 4, best);
}

/** Refreshes every slot the prefix w/len covers or lies in. */
function refreshFor(v4: bool, w0: u32, w3: u32, len: u32): void {
  const rel = v4 ? len - 96 : len;
  const top = v4 ? w3 >>> 16 : w0 >>> 16;
  if (rel >= 16) {
    refreshSlot(v4, top);
    return;
  }
  const n: u32 = 1 << (16 - rel);
  for (let k: u32 = 0; k < n; k++) refreshSlot(v4, top + k);
}

// ---------------------------------------------------------------------------------------
// Updates

/** Empties both trees (and sets up the regions of a fresh instance). */
export function ipsetReset(): u32 {
  const have = memory.size();
  if (have < <i32>IPSET_MEMORY_PAGES && memory.grow(<i32>IPSET_MEMORY_PAGES - have) < 0) return IPSET_NO_MEMORY;
  // Both tables; they are all zero already when no prefix is left (each removal refreshed
  // its slots), which spares a fresh or emptied set from touching their 1 MiB.
  if (valueCount != 0) memory.fill(DT4, 0, <usize>IPSET_SLOTS * 16);
  nodeCount = 3;
  freeHead = 0;
  valueCount = 0;
  memory.fill(rec(0), 0, <usize>IPSET_NODE_BYTES * 3);
  memory.fill(HEX, 0xff, 256);
  for (let c: u32 = 0; c < 10; c++) store<u8>(HEX + 48 + c, <u8>c);
  for (let c: u32 = 0; c < 6; c++) {
    store<u8>(HEX + 65 + c, <u8>(10 + c));
    store<u8>(HEX + 97 + c, <u8>(10 + c));
  }
  for (let l: i32 = 0; l <= 128; l++) {
    for (let k: i32 = 0; k < 4; k++) store<u32>(MASKS + (<usize>l << 4) + (<usize>k << 2), headMask(l - 32 * k));
  }

  store<u32>(rec(ROOT4) + K2, 0xffff);
  store<u32>(rec(ROOT4) + META, 96);
  return IPSET_OK;
}

/**
 * Sets the value of the prefix at IPSET_ARG with length `len` (0..128 in the 128-bit space;
 * IPv4 /n is 96 + n inside ::ffff:0:0/96). Host bits are ignored. Replaces a value already
 * there. Returns IPSET_OK, IPSET_BAD_LENGTH, IPSET_BAD_VALUE (0) or IPSET_NO_MEMORY.
 */
export function ipsetInsert(len: u32, value: u32): u32 {
  if (nodeCount == 0 && ipsetReset() != IPSET_OK) return IPSET_NO_MEMORY;
  if (len > 128) return IPSET_BAD_LENGTH;
  if (value == 0) return IPSET_BAD_VALUE;
  if (!reserve(2)) return IPSET_NO_MEMORY;
  const w0 = load<u32>(ARG) & headMask(<i32>len);
  const w1 = load<u32>(ARG + 4) & headMask(<i32>len - 32);
  const w2 = load<u32>(ARG + 8) & headMask(<i32>len - 64);
  const w3 = load<u32>(ARG + 12) & headMask(<i32>len - 96);
  const v4 = isV4(w0, w1, w2, len);
  const n = nodeFor(v4 ? ROOT4 : ROOT6, w0, w1, w2, w3, len);
  const o = rec(n);
  const m = load<u32>(o + META);
  if (!(m & HAS)) valueCount++;
  store<u32>(o + META, m | HAS);
  store<u32>(o + VAL, value);
  refreshFor(v4, w0, w3, len);
  return IPSET_OK;
}

/** Removes the prefix at IPSET_ARG / `len`; returns its value, 0 when it was not there. */
export function ipsetRemove(len: u32): u32 {
  if (nodeCount == 0 || len > 128) return 0;
  const w0 = load<u32>(ARG) & headMask(<i32>len);
  const w1 = load<u32>(ARG + 4) & headMask(<i32>len - 32);
  const w2 = load<u32>(ARG + 8) & headMask(<i32>len - 64);
  const w3 = load<u32>(ARG + 12) & headMask(<i32>len - 96);
  const v4 = isV4(w0, w1, w2, len);
  const root = v4 ? ROOT4 : ROOT6;
  let i = findExact(root, w0, w1, w2, w3, len);
  if (i == 0) return 0;
  const o = rec(i);
  const m = load<u32>(o + META);
  if (!(m & HAS)) return 0;
  const old = load<u32>(o + VAL);
  store<u32>(o + META, m & 0xff);
  store<u32>(o + VAL, 0);
  valueCount--;
  // Prune: drop i while it is valueless with fewer than two children, then its parent.
  let k = pathDepth - 1; // stack index of i
  while (i != root) {
    const io = rec(i);
    if (load<u32>(io + META) & HAS) break;
    const c0 = load<u32>(io + C0);
    const c1 = load<u32>(io + C1);
    if (c0 != 0 && c1 != 0) break; // stays as glue
    const p = load<u32>(STACK + (<usize>(k - 1) << 2));
    const only = c0 != 0 ? c0 : c1;
    setChild(p, load<u32>(rec(p) + C0) == i ? 0 : 1, only);
    release(i);
    if (only != 0) break; // spliced out: p keeps as many children as before
    i = p;
    k--;
  }
  refreshFor(v4, w0, w3, len);
  return old;
}

/** Value on exactly the prefix at IPSET_ARG / `len`, 0 when none. */
export function ipsetGet(len: u32): u32 {
  if (nodeCount == 0 || len > 128) return 0;
  const w0 = load<u32>(ARG) & headMask(<i32>len);
  const w1 = load<u32>(ARG + 4) & headMask(<i32>len - 32);
  const w2 = load<u32>(ARG + 8) & headMask(<i32>len - 64);
  const w3 = load<u32>(ARG + 12) & headMask(<i32>len - 96);
  const i = findExact(isV4(w0, w1, w2, len) ? ROOT4 : ROOT6, w0, w1, w2, w3, len);
  if (i == 0) return 0;
  const o = rec(i);
  return load<u32>(o + META) & HAS ? load<u32>(o + VAL) : 0;
}

/** Prefixes holding a value. */
export function ipsetSize(): u32 {
  return valueCount;
}

/** Bytes of memory the IP set uses past its fixed regions (node records handed out). */
export function ipsetHeapBytes(): u32 {
  return nodeCount * IPSET_NODE_BYTES;
}

// ---------------------------------------------------------------------------------------
// Lookups

// A walk step reads one node record. The next node is picked with a select, not a branch,
// and the key check is off that dependency chain (a predictable branch), so a step costs
// about one load latency. A /128 has no children, so its step needs no length test: its
// child-bit shift wraps harmlessly and both children are 0.

/** Longest-prefix value (0 = none) of the IPv4 address w3 (in ::ffff:0:0/96). */
@inline function lookup4(w3: u32): u32 {
  // Every node under a slot is 112..128 bits long with the same first three words.
  const e = DT4 + (<usize>(w3 >>> 16) << 3);
  let n = load<u32>(e);
  let best = load<u32>(e + 4);
  while (n != 0) {
    const o = rec(n);
    const m = load<u32>(o + META);
    const c0 = load<u32>(o + C0);
    const c1 = load<u32>(o + C1);
    const l = m & 0xff;
    if ((load<u32>(o + K3) ^ w3) >>> (128 - l) != 0) break;
    if (m & HAS) best = load<u32>(o + VAL);
    n = select<u32>(c1, c0, ((w3 >>> (127 - l)) & 1) != 0);
  }
  return best;
}

/** IPv6 walk: its first node for the address at a, its best value so far stored at r. */
@inline function start6(a: usize, r: usize): u32 {
  const e = DT6 + (<usize>(load<u32>(a) >>> 16) << 3);
  store<u32>(r, load<u32>(e + 4));
  return load<u32>(e);
}

/** One step of the IPv6 walk at node n for the address at a: the next node, 0 when done. */
@inline function step6(n: u32, a: usize, r: usize): u32 {
  const o = rec(n);
  const m = load<u32>(o + META);
  const c0 = load<u32>(o + C0);
  const c1 = load<u32>(o + C1);
  const l = m & 0xff;
  // All four words at once: (key ^ address) & mask(l) must be zero.
  if (v128.any_true(v128.and(v128.xor(v128.load(o), v128.load(a)), v128.load(MASKS + (<usize>l << 4))))) return 0;
  if (m & HAS) store<u32>(r, load<u32>(o + VAL));
  const word = load<u32>(a + (<usize>(l >>> 5) << 2));
  return select<u32>(c1, c0, ((word >>> (31 - (l & 31))) & 1) != 0);
}

let queued: u32 = 0;

/** Answers address k of ADDRS if it is IPv4; queues it for lookupQueued if IPv6. */
@inline function answerOrQueue(k: u32): void {
  const a = ADDRS + (<usize>k << 4);
  if (load<u32>(a) == 0 && load<u32>(a + 4) == 0 && load<u32>(a + 8) == 0xffff) {
    store<u32>(RESULTS + (<usize>k << 2), lookup4(load<u32>(a + 12)));
  } else {
    store<u32>(QUEUE + (<usize>queued << 2), k);
    queued++;
  }
}

/**
 * Answers the queued IPv6 addresses four walks at a time, in lockstep. IPv6 walks are deep
 * (~15 nodes with 30,000 prefixes under one /16) and each step waits for a node read; the
 * four walks' reads are independent, so the CPU overlaps their cache misses (2.5x faster
 * than one walk after the other, measured).
 */
function lookupQueued(): void {
  let i: u32 = 0;
  for (; i + 4 <= queued; i += 4) {
    const q = QUEUE + (<usize>i << 2);
    const ka = <usize>load<u32>(q), kb = <usize>load<u32>(q + 4), kc = <usize>load<u32>(q + 8), kd = <usize>load<u32>(q + 12);
    const aa = ADDRS + (ka << 4), ab = ADDRS + (kb << 4), ac = ADDRS + (kc << 4), ad = ADDRS + (kd << 4);
    const ra = RESULTS + (ka << 2), rb = RESULTS + (kb << 2), rc = RESULTS + (kc << 2), rd = RESULTS + (kd << 2);
    let na = start6(aa, ra), nb = start6(ab, rb), nc = start6(ac, rc), nd = start6(ad, rd);
    while ((na | nb | nc | nd) != 0) {
      if (na != 0) na = step6(na, aa, ra);
      if (nb != 0) nb = step6(nb, ab, rb);
      if (nc != 0) nc = step6(nc, ac, rc);
      if (nd != 0) nd = step6(nd, ad, rd);
    }
  }
  for (; i < queued; i++) {
    const k = <usize>load<u32>(QUEUE + (<usize>i << 2));
    const a = ADDRS + (k << 4), r = RESULTS + (k << 2);
    let n = start6(a, r);
    while (n != 0) n = step6(n, a, r);
  }
  queued = 0;
}

/**
 * Longest-prefix values of the first n (<= IPSET_MAX_BATCH) addresses at IPSET_ADDRS
 * (u32[4] each) into IPSET_RESULTS (0 = no prefix covers it). Returns the number of hits.
 */
export function ipsetLookup(n: u32): u32 {
  if (n > IPSET_MAX_BATCH) n = IPSET_MAX_BATCH;
  if (nodeCount == 0) {
    memory.fill(RESULTS, 0, <usize>n << 2);
    return 0;
  }
  for (let k: u32 = 0; k < n; k++) answerOrQueue(k);
  lookupQueued();
  let hits: u32 = 0;
  for (let k: usize = 0; k < <usize>n; k++) hits += <u32>(load<u32>(RESULTS + (k << 2)) != 0);
  return hits;
}

/**
 * Values of every prefix of length <= maxLen covering the address at IPSET_ARG (same
 * family), shortest first, into IPSET_RESULTS. Returns their count (at most 129).
 */
export function ipsetCovering(maxLen: u32): u32 {
  if (nodeCount == 0) return 0;
  const w0 = load<u32>(ARG);
  const w1 = load<u32>(ARG + 4);
  const w2 = load<u32>(ARG + 8);
  const w3 = load<u32>(ARG + 12);
  const v4 = w0 == 0 && w1 == 0 && w2 == 0xffff;
  // Without a short prefix over its slot (best value 0), the walk may start at the slot's
  // first node and skip the glue above it: ~17 fewer steps with 70,000 IPv4 prefixes.
  const e = v4 ? DT4 + (<usize>(w3 >>> 16) << 3) : DT6 + (<usize>(w0 >>> 16) << 3);
  let n = load<u32>(e + 4) == 0 ? load<u32>(e) : v4 ? ROOT4 : ROOT6;
  // Otherwise from the root: a wide prefix (a /8) over the slot has to be reported too.
  // The steps are those of step6 (select for the next node, one v128 key check).
  const addr = v128.load(ARG);
  let count: u32 = 0;
  while (n != 0) {
    const o = rec(n);
    const m = load<u32>(o + META);
    const c0 = load<u32>(o + C0);
    const c1 = load<u32>(o + C1);
    const l = m & 0xff;
    if (l > maxLen || v128.any_true(v128.and(v128.xor(v128.load(o), addr), v128.load(MASKS + (<usize>l << 4))))) break;
    if (m & HAS) {
      store<u32>(RESULTS + (<usize>count << 2), load<u32>(o + VAL));
      count++;
    }
    const q = l >>> 5;
    const word = select<u32>(select<u32>(w0, w1, q == 0), select<u32>(w2, w3, q == 2), q < 2);
    n = select<u32>(c1, c0, ((word >>> (31 - (l & 31))) & 1) != 0);
  }
  return count;
}

/**
 * Values of every prefix inside the block at IPSET_ARG / `len` (its family), in depth-first
 * order: entries skip .. skip + IPSET_MAX_BATCH - 1 of that order go to IPSET_RESULTS.
 * Returns the total count (call again with a larger skip while skip + IPSET_MAX_BATCH < total).
 */
export function ipsetInside(len: u32, skip: u32): u32 {
  if (nodeCount == 0 || len > 128) return 0;
  const w0 = load<u32>(ARG) & headMask(<i32>len);
  const w1 = load<u32>(ARG + 4) & headMask(<i32>len - 32);
  const w2 = load<u32>(ARG + 8) & headMask(<i32>len - 64);
  const w3 = load<u32>(ARG + 12) & headMask(<i32>len - 96);
  // Descend to the first node at least len long, then check that it lies in the block.
  let i = isV4(w0, w1, w2, len) ? ROOT4 : ROOT6;
  while (true) {
    const l = lenOf(i);
    if (l >= len) {
      if (min(common(i, w0, w1, w2, w3), len) < len) return 0;
      break;
    }
    if (!keyMatches(i, l, w0, w1, w2, w3)) return 0;
    i = childOf(i, bitAt(l, w0, w1, w2, w3));
    if (i == 0) return 0;
  }
  // Depth-first, 0-child first; the stack holds at most one pending sibling per level.
  let sp: usize = 0;
  store<u32>(STACK, i);
  sp = 1;
  let total: u32 = 0;
  while (sp > 0) {
    sp--;
    const x = load<u32>(STACK + (sp << 2));
    const o = rec(x);
    if (load<u32>(o + META) & HAS) {
      if (total >= skip && total - skip < IPSET_MAX_BATCH) store<u32>(RESULTS + (<usize>(total - skip) << 2), load<u32>(o + VAL));
      total++;
    }
    const c1 = load<u32>(o + C1);
    const c0 = load<u32>(o + C0);
    if (c1 != 0) store<u32>(STACK + (sp++ << 2), c1);
    if (c0 != 0) store<u32>(STACK + (sp++ << 2), c0);
  }
  return total;
}

// ---------------------------------------------------------------------------------------
// Text batches

let pw0: u32 = 0;
let pw1: u32 = 0;
let pw2: u32 = 0;
let pw3: u32 = 0;

/** Dotted quad in [p, end) as a u32, -1 when invalid (Go's rules: no leading zeros). */
function parseV4(p: usize, end: usize): i64 {
  let n: u32 = 0;
  for (let part = 0; part < 4; part++) {
    const start = p;
    let v: u32 = 0;
    while (p < end) {
      const c = <u32>load<u8>(p) - 48;
      if (c > 9) break;
      v = v * 10 + c;
      if (v > 255) return -1;
      p++;
    }
    const len = p - start;
    if (len == 0 || len > 3 || (len > 1 && load<u8>(start) == 48)) return -1;
    n = (n << 8) | v;
    if (part < 3) {
      if (p >= end || load<u8>(p) != 46) return -1;
      p++;
    }
  }
  return p == end ? <i64>n : -1;
}


/** Expands the n groups (a '::' before group `gap`, or none when gap < 0) into pw0..pw3. */
function fill(n: i32, gap: i32): u32 {
  if (gap < 0 ? n != 8 : n > 7) return 0;
  const missing = 8 - n;
  for (let w = 0; w < 4; w++) {
    let word: u32 = 0;
    for (let h = 0; h < 2; h++) {
      const pos = w * 2 + h;
      let g: u32 = 0;
      if (gap < 0 || pos < gap) g = load<u32>(SCRATCH + (<usize>pos << 2));
      else if (pos >= gap + missing) g = load<u32>(SCRATCH + (<usize>(pos - missing) << 2));
      word = (word << 16) | g;
    }
    if (w == 0) pw0 = word;
    else if (w == 1) pw1 = word;
    else if (w == 2) pw2 = word;
    else pw3 = word;
  }
  return pw0 == 0 && pw1 == 0 && pw2 == 0xffff ? 4 : 6;
}

/** Value of the 1..3 digit part [s + a, s + b) of a dotted quad, above 255 when invalid. */
@inline function quadPart(s: usize, a: u32, b: u32): u32 {
  const l = b - a;
  const p = s + <usize>a;
  // Bytes past the part are read but only selected away (the text region has room after it).
  const c0 = <u32>load<u8>(p) - 48;
  const c1 = <u32>load<u8>(p + 1) - 48;
  const c2 = <u32>load<u8>(p + 2) - 48;
  const v = select<u32>(c0, select<u32>(c0 * 10 + c1, c0 * 100 + c1 * 10 + c2, l == 2), l == 1);
  const bad = <u32>(l - 1 > 2) | (<u32>(l > 1) & <u32>(c0 == 0));
  return v | (bad << 9);
}

/**
 * Dotted quad in [s, e) as a u32, -1 when invalid: the same answer as parseV4, without a
 * branch per byte (SIMD masks of the dots and digits, then the four parts at once).
 */
function parseV4Line(s: usize, e: usize): i64 {
  const len = <u32>(e - s);
  if (len < 7 || len > 15) return -1;
  const v = v128.load(s);
  const inside: u32 = (<u32>1 << len) - 1;
  const dots = <u32>i8x16.bitmask(i8x16.eq(v, i8x16.splat(46))) & inside;
  const digits = <u32>i8x16.bitmask(i8x16.le_u(i8x16.sub(v, i8x16.splat(48)), i8x16.splat(9))) & inside;
  if ((dots | digits) != inside || popcnt(dots) != 3) return -1;
  const d1 = ctz(dots);
  const r1 = dots & (dots - 1);
  const d2 = ctz(r1);
  const d3 = ctz(r1 & (r1 - 1));
  const a = quadPart(s, 0, d1);
  const b = quadPart(s, d1 + 1, d2);
  const c = quadPart(s, d2 + 1, d3);
  const d = quadPart(s, d3 + 1, len);
  if ((a | b | c | d) > 255) return -1;
  return <i64>((a << 24) | (b << 16) | (c << 8) | d);
}

/**
 * Parses the address text in [s, e) into pw0..pw3: 4, 6, or 0 when it is not an address.
 * `colon`: the text holds a ':'; `pct`: its first '%' (e when none). Same acceptance as
 * src/decisions/ipset.ts parseAddressWords (and core/ip.ts parseIp).
 */
function parseAddress(s: usize, e: usize, colon: bool, pct: usize): u32 {
  if (!colon) {
    const v = parseV4Line(s, e);
    if (v < 0) return 0;
    pw0 = 0;
    pw1 = 0;
    pw2 = 0xffff;
    pw3 = <u32>v;
    return 4;
  }
  const end = pct;
  if (end - s < 2) return 0;
  let n: i32 = 0;
  let gap: i32 = -1;
  let i = s;
  if (load<u8>(s) == 58) {
    if (load<u8>(s + 1) != 58) return 0;
    gap = 0;
    i = s + 2;
    if (i == end) return fill(n, gap);
  }
  while (true) {
    let j = i;
    let v: u32 = 0;
    while (j < end) {
      const d = <u32>load<u8>(HEX + <usize>load<u8>(j));
      if (d > 15) break;
      v = (v << 4) | d;
      j++;
    }
    if (j < end && load<u8>(j) == 46) {
      // Embedded IPv4: the last thing, and it must fit in two groups.
      const v4 = parseV4(i, end);
      if (v4 < 0 || n > 6) return 0;
      store<u32>(SCRATCH + (<usize>n << 2), <u32>v4 >>> 16);
      store<u32>(SCRATCH + (<usize>(n + 1) << 2), <u32>v4 & 0xffff);
      return fill(n + 2, gap);
    }
    const digits = j - i;
    if (digits == 0 || digits > 4 || n >= 8) return 0;
    store<u32>(SCRATCH + (<usize>n << 2), v);
    n++;
    if (j == end) return fill(n, gap);
    if (load<u8>(j) != 58) return 0;
    j++;
    if (j < end && load<u8>(j) == 58) {
      if (gap >= 0) return 0;
      gap = n;
      j++;
      if (j == end) return fill(n, gap);
    } else if (j == end) return 0; // a trailing single ':'
    i = j;
  }
  return 0;
}

/**
 * Parses and looks up the addresses in IPSET_TEXT[0, len), one per line ('\n'-separated; a
 * last line needs no '\n'), at most IPSET_MAX_BATCH lines: IPSET_RESULTS[k] = the value of
 * line k, 0 when no prefix covers it, IPSET_INVALID when it is not an address (the parsed
 * addresses are left in IPSET_ADDRS). Returns the number of lines;
 * IPSET_STATUS[IPSET_STATUS_CONSUMED] = bytes used (less than len only when the line limit
 * was reached).
 */
export function ipsetLookupText(len: u32): u32 {
  if (nodeCount == 0 && ipsetReset() != IPSET_OK) return 0; // the parser's tables
  if (len > IPSET_MAX_TEXT) len = IPSET_MAX_TEXT;
  const end = TEXT + <usize>len;
  let p: usize = TEXT;
  let k: u32 = 0;
  while (p < end && k < IPSET_MAX_BATCH) {
    // Find the line end, whether the line has a ':' and where its first '%' is, 16 bytes
    // at a time (the region has room for a read past the text's end).
    let e = p;
    let colon = false;
    let pct: usize = 0;
    while (true) {
      const v = v128.load(e);
      let nl = <u32>i8x16.bitmask(i8x16.eq(v, i8x16.splat(10)));
      const rest = end - e;
      if (rest < 16) nl |= <u32>1 << <u32>rest; // the text's end ends the line too
      const before = nl != 0 ? (nl & (0 - nl)) - 1 : 0xffff;
      if ((<u32>i8x16.bitmask(i8x16.eq(v, i8x16.splat(58))) & before) != 0) colon = true;
      const pc = <u32>i8x16.bitmask(i8x16.eq(v, i8x16.splat(37))) & before;
      if (pc != 0 && pct == 0) pct = e + ctz(pc);
      if (nl != 0) {
        e += ctz(nl);
        break;
      }
      e += 16;
    }
    if (parseAddress(p, e, colon, pct == 0 ? e : pct) != 0) {
      const a = ADDRS + (<usize>k << 4);
      store<u32>(a, pw0);
      store<u32>(a + 4, pw1);
      store<u32>(a + 8, pw2);
      store<u32>(a + 12, pw3);
      answerOrQueue(k);
    } else store<u32>(RESULTS + (<usize>k << 2), IPSET_INVALID);
    k++;
    p = e < end ? e + 1 : e;
  }
  lookupQueued();
  store<u32>(STATUS + (<usize>IPSET_STATUS_CONSUMED << 2), <u32>(p - TEXT));
  return k;
}

