/**
 * Multi-literal prefilter. For each line: which literals occur (LIT_MASKS), and which parser
 * nodes have all their required literals (NODE_MASKS), so V8 RegExp runs only on candidates.
 *
 * Substring search is Muła's "SIMD-friendly algorithm for substring searching": compare 16
 * candidate start positions at once on two bytes of the literal (its "probe": Muła uses the
 * first and last; the plan picks the two rarest-looking, since grok literals often start or
 * end with a space); only positions where both agree are verified byte by byte. Lines are processed
 * one at a time with every literal, so a line stays in L1 while all literals look at it.
 * Loads may read up to len+15 bytes past a line's start; INPUT_PAD covers the batch end and
 * bits for positions past the line are masked off.
 *
 * One sweep per literal costs literals x bytes. With PF_HASH_MIN_LITERALS or more literals
 * of 4+ bytes, those are found instead in one pass per line that hashes the 4 bytes at each
 * position (multiplicative hash, 12 bits) and verifies the literals chained under that hash
 * (the first stage of Rabin–Karp multi-pattern search, with a fixed 4-byte window); shorter
 * literals keep their SIMD sweep.
 */
import {
  INPUT_OFFSET, LINES_OFFSET, LIT_LEN_OFFSET, LIT_BYTES_OFFSET, NODE_NEED_OFFSET,
  LIT_MASKS_OFFSET, NODE_MASKS_OFFSET, MAX_LITERALS, MAX_LITERAL_LEN, MAX_NODES,
  LIT_WORDS_MAX, LIT_PROBE_OFFSET, PF_OK, PF_TOO_MANY_LITERALS, PF_TOO_MANY_NODES,
  PF_BAD_LITERAL_LENGTH, PF_BAD_PROBE, PF_HASH_BITS, PF_HASH_SIZE, PF_HASH_OFFSET,
  PF_HASH_MIN_LITERALS,
} from './abi';

// Chain heads (literal index + 1, 0 = empty) by hash of a literal's first 4 bytes, then links.
const HASH_NEXT: u32 = PF_HASH_OFFSET + PF_HASH_SIZE * 2;
// Per node: lo | hi << 16, the words of NODE_NEED that are not zero (a node needs few literals).
const NODE_RANGE: u32 = HASH_NEXT + MAX_LITERALS * 2;

let litCount: u32 = 0;
let hashed = false; // literals of 4+ bytes go through the hash pass
let nodeCount: u32 = 0;
let litWords: u32 = 0;
let nodeWords: u32 = 0;

/**
 * Validates the table the caller wrote (LIT_LEN, LIT_BYTES, NODE_NEED) and makes it current.
 * Returns PF_OK or an error code; on error the previous table is dropped (0 literals/nodes).
 */
export function prefilterLoad(nLits: u32, nNodes: u32): u32 {
  litCount = 0;
  nodeCount = 0;
  litWords = 0;
  nodeWords = 0;
  hashed = false;
  if (nLits > MAX_LITERALS) return PF_TOO_MANY_LITERALS;
  if (nNodes > MAX_NODES) return PF_TOO_MANY_NODES;
  for (let k: u32 = 0; k < nLits; k++) {
    const n = load<u32>(LIT_LEN_OFFSET + (k << 2));
    if (n == 0 || n > MAX_LITERAL_LEN) return PF_BAD_LITERAL_LENGTH;
    const probe = load<u32>(LIT_PROBE_OFFSET + (k << 2));
    if ((probe & 0xffff) >= n || (probe >> 16) >= n) return PF_BAD_PROBE;
  }
  // Build the hash chains; insert in reverse so each chain lists literals in index order.
  memory.fill(PF_HASH_OFFSET, 0, PF_HASH_SIZE * 2);
  let long: u32 = 0;
  for (let k = <i32>nLits - 1; k >= 0; k--) {
    const lit = LIT_BYTES_OFFSET + <u32>k * MAX_LITERAL_LEN;
    if (load<u32>(LIT_LEN_OFFSET + (<u32>k << 2)) < 4) continue;
    const h = hash4(lit);
    store<u16>(HASH_NEXT + (<u32>k << 1), load<u16>(PF_HASH_OFFSET + (h << 1)));
    store<u16>(PF_HASH_OFFSET + (h << 1), <u16>(k + 1));
    long++;
  }
  hashed = long >= PF_HASH_MIN_LITERALS;
  for (let n: u32 = 0; n < nNodes; n++) {
    const need = NODE_NEED_OFFSET + (n * LIT_WORDS_MAX << 2);
    let lo: u32 = LIT_WORDS_MAX;
    let hi: u32 = 0;
    for (let x: u32 = 0; x < LIT_WORDS_MAX; x++) {
      if (load<u32>(need + (x << 2)) != 0) {
        if (lo == LIT_WORDS_MAX) lo = x;
        hi = x + 1;
      }
    }
    if (hi == 0) lo = 0; // needs nothing: empty range
    store<u32>(NODE_RANGE + (n << 2), lo | (hi << 16));
  }
  litCount = nLits;
  nodeCount = nNodes;
  litWords = (nLits + 31) >> 5;
  nodeWords = (nNodes + 31) >> 5;
  return PF_OK;
}

/** u32 words per line in LIT_MASKS for the current table. */
export function prefilterLitWords(): u32 {
  return litWords;
}

/** u32 words per line in NODE_MASKS for the current table. */
export function prefilterNodeWords(): u32 {
  return nodeWords;
}

/**
 * True when the literal (bytes at `lit`, length n, probe positions pa, pb) occurs within
 * INPUT[s, e).
 */
// @ts-ignore: decorator
@inline
function occurs(lit: usize, n: u32, pa: u32, pb: u32, s: u32, e: u32): bool {
  if (e - s < n) return false;
  const va = i8x16.splat(load<i8>(lit + pa));
  const vb = i8x16.splat(load<i8>(lit + pb));
  const lastStart = e - n; // last admissible start offset (inclusive)
  for (let p = s; p <= lastStart; p += 16) {
    const a = v128.load(INPUT_OFFSET + p + pa);
    const b = v128.load(INPUT_OFFSET + p + pb);
    let m = i8x16.bitmask(v128.and(i8x16.eq(a, va), i8x16.eq(b, vb)));
    const remaining = lastStart - p + 1;
    if (remaining < 16) m &= (1 << remaining) - 1;
    while (m != 0) {
      if (same(INPUT_OFFSET + p + <u32>ctz(m), lit, n)) return true;
      m &= m - 1;
    }
  }
  return false;
}

// @ts-ignore: decorator
@inline
function hash4(p: usize): u32 {
  return (load<u32>(p) * 0x9e3779b1) >> (32 - PF_HASH_BITS);
}

/** Hash pass over INPUT[s, e): sets the bit of every 4+ byte literal found (see above). */
function hashLine(s: u32, e: u32, lm: usize): void {
  if (e - s < 4) return;
  const last = e - 4;
  for (let p = s; p <= last; p++) {
    let k = <u32>load<u16>(PF_HASH_OFFSET + (hash4(INPUT_OFFSET + p) << 1));
    while (k != 0) {
      k--;
      const n = load<u32>(LIT_LEN_OFFSET + (k << 2));
      const wp = lm + ((k >> 5) << 2);
      const bit: u32 = 1 << (k & 31);
      if ((load<u32>(wp) & bit) == 0 && p + n <= e && same(INPUT_OFFSET + p, LIT_BYTES_OFFSET + k * MAX_LITERAL_LEN, n)) {
        store<u32>(wp, load<u32>(wp) | bit);
      }
      k = <u32>load<u16>(HASH_NEXT + (k << 1));
    }
  }
}

// @ts-ignore: decorator
@inline
function same(a: usize, b: usize, n: u32): bool {
  for (let i: u32 = 0; i < n; i++) {
    if (load<u8>(a + i) != load<u8>(b + i)) return false;
  }
  return true;
}

/**
 * Fills LIT_MASKS and NODE_MASKS for lines 0..nLines-1 of LINES. Returns how many lines have
 * at least one candidate node.
 */
export function prefilterRun(nLines: u32): u32 {
  const lw = litWords;
  const nw = nodeWords;
  let candidates: u32 = 0;
  for (let j: u32 = 0; j < nLines; j++) {
    const rec = LINES_OFFSET + (j << 3);
    const s = load<u32>(rec);
    const e = load<u32>(rec, 4);
    const lm = LIT_MASKS_OFFSET + j * (lw << 2);
    for (let w: u32 = 0; w < lw; w++) store<u32>(lm + (w << 2), 0);
    if (hashed) hashLine(s, e, lm);
    for (let k: u32 = 0; k < litCount; k++) {
      const n = load<u32>(LIT_LEN_OFFSET + (k << 2));
      if (hashed && n >= 4) continue;
      const probe = load<u32>(LIT_PROBE_OFFSET + (k << 2));
      if (occurs(LIT_BYTES_OFFSET + k * MAX_LITERAL_LEN, n, probe & 0xffff, probe >> 16, s, e)) {
        const wp = lm + ((k >> 5) << 2);
        store<u32>(wp, load<u32>(wp) | (1 << (k & 31)));
      }
    }
    const nm = NODE_MASKS_OFFSET + j * (nw << 2);
    let any: u32 = 0;
    for (let w: u32 = 0; w < nw; w++) {
      let bits: u32 = 0;
      const top = min<u32>(32, nodeCount - (w << 5));
      for (let b: u32 = 0; b < top; b++) {
        const node = (w << 5) + b;
        const need = NODE_NEED_OFFSET + (node * LIT_WORDS_MAX << 2);
        const range = load<u32>(NODE_RANGE + (node << 2));
        let ok = true;
        for (let x: u32 = range & 0xffff; x < (range >> 16); x++) {
          const r = load<u32>(need + (x << 2));
          if ((load<u32>(lm + (x << 2)) & r) != r) { ok = false; break; }
        }
        if (ok) bits |= 1 << b;
      }
      store<u32>(nm + (w << 2), bits);
      any |= bits;
    }
    if (any != 0) candidates++;
  }
  return candidates;
}
