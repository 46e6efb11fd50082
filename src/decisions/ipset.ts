/**
 * The active-decision IP set: a path-compressed binary radix (Patricia) tree over address
 * prefixes in the 128-bit space, IPv4 mapped into ::ffff:0:0/96 as core/ip.ts does. Each
 * prefix carries the ids of the decisions on it; lookups return every id whose prefix
 * covers an address (what `GET /v1/decisions?ip=` asks, spec §7.5), the longest match, or
 * every id inside a range (`contains=false`).
 *
 * Families are kept apart as the store keeps them: a prefix is IPv4 when it lies inside
 * ::ffff:0:0/96 (and so is at least /96), and an IPv4 query never matches an IPv6 prefix
 * such as ::/0 (spec §7.5 "same family"). Hence two trees, one per family.
 *
 * Node storage: one Int32Array of 8-int32 records (32 bytes, index 0 = the root, /0, never
 * removed); a walk step reads one record, i.e. one cache line:
 *
 *   [0..3]  prefix words, most significant first, host bits 0
 *   [4]     prefix length 0..128 (bits 0-7) | 0x100 when the node carries ids
 *   [5]     child for next bit 0 (0 = none; the root is never a child)
 *   [6]     child for next bit 1
 *   [7]     parent (-1 for the root and for free slots)
 *
 * plus `ids[i]`, the decision ids on node i's exact prefix (null = glue node).
 *
 * Lookups touch only typed arrays and 32-bit integers (no BigInt, no allocation besides the
 * result), which is what keeps the bouncer hot path cheap. Inserts take BigInt or words.
 *
 * Longest-prefix lookups also come in batches (`BatchPrefixSet`): the answer per address is
 * a handle of the matching prefix (0 = none) whose ids `idsAt` gives. The WebAssembly set
 * (src/bindings/ipset-core.ts) implements the same interface; this tree is its TS twin.
 */

/** 4 x 32-bit words of a 128-bit address, most significant first. */
export type AddrWords = Int32Array | Uint32Array | readonly number[];

/** What every implementation of the set offers (the tree and its linear twin). */
export interface PrefixSet {
  readonly size: number;
  /** Adds decision `id` on `words`/`len` (host bits are cleared). An id already present moves. */
  insert(id: number, words: AddrWords, len: number): void;
  /** Removes decision `id`; false when it was not there. */
  delete(id: number): boolean;
  has(id: number): boolean;
  /** Ids of every prefix of length <= `maxLen` covering `words` (same family), shortest prefix first. */
  covering(words: AddrWords, maxLen?: number, out?: number[]): number[];
  /** Ids on the longest prefix covering `words`, or null. */
  longest(words: AddrWords): readonly number[] | null;
  /** Ids of every prefix inside the block `words`/`len` (same family). */
  inside(words: AddrWords, len: number, out?: number[]): number[];
  clear(): void;
}

/** Answer of a lookup when no prefix covers the address. */
export const NO_PREFIX = 0;
/** Answer of a text lookup when the text is not an address (same as the WASM module's). */
export const INVALID_ADDRESS = 0xffffffff;

/**
 * Longest-prefix match, one address or many per call. An answer is a handle of the longest
 * prefix covering the address (same family), NO_PREFIX when none; `idsAt(handle)` gives the
 * ids on it. A handle stays valid while its prefix holds ids; handles of two
 * implementations differ, their ids do not.
 */
export interface PrefixLookup {
  lookup(words: AddrWords): number;
  /** out[i] = lookup(words[4i .. 4i+4)) for i < n (out.length >= n); returns the hits. */
  lookupBatch(words: Int32Array | Uint32Array, n: number, out: Uint32Array): number;
  /** out[i] = the answer for texts[i], INVALID_ADDRESS when it is not an address; returns the hits. */
  lookupTextBatch(texts: readonly string[], out: Uint32Array): number;
  /**
   * Addresses one per line ('\n'; the last line needs none; bytes taken as latin1, no trim):
   * out[k] = the answer for line k. Returns the number of lines; RangeError if out is too short.
   */
  lookupTextBytes(text: Uint8Array, out: Uint32Array): number;
  idsAt(handle: number): readonly number[];
}

export interface BatchPrefixSet extends PrefixSet, PrefixLookup {}

// ---------------------------------------------------------------------------------------
// Address words

/** IPv4 and its block in the 128-bit space: ::ffff:0:0/96. */
const V4_W2 = 0xffff;

/** Family of a prefix as core/ip.ts parseCidr decides it. */
export function prefixFamily(words: AddrWords, len: number): 4 | 6 {
  return len >= 96 && words[0] === 0 && words[1] === 0 && (words[2]! | 0) === V4_W2 ? 4 : 6;
}

/** Words of a 128-bit BigInt (insert side; not used by lookups). */
export function bigintToWords(v: bigint, out: Int32Array = new Int32Array(4)): Int32Array {
  out[0] = Number((v >> 96n) & 0xffffffffn) | 0;
  out[1] = Number((v >> 64n) & 0xffffffffn) | 0;
  out[2] = Number((v >> 32n) & 0xffffffffn) | 0;
  out[3] = Number(v & 0xffffffffn) | 0;
  return out;
}

export function wordsToBigint(w: AddrWords): bigint {
  return (BigInt(w[0]! >>> 0) << 96n) | (BigInt(w[1]! >>> 0) << 64n) | (BigInt(w[2]! >>> 0) << 32n) | BigInt(w[3]! >>> 0);
}

/** Mask for the first `bits` (0..32) bits of a word, as int32. */
function headMask(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? -1 : ~(-1 >>> bits);
}

function maskWords(src: AddrWords, len: number, out: Int32Array): Int32Array {
  for (let i = 0; i < 4; i++) out[i] = (src[i]! | 0) & headMask(len - 32 * i);
  return out;
}

/**
 * Parses an IPv4 or IPv6 address text into `out` without BigInt; returns the family, or 0
 * when the text is not an address. Same acceptance as core/ip.ts parseIp (Go's rules: no
 * leading zeros in dotted quads, optional %zone, embedded IPv4 tail).
 */
export function parseAddressWords(s: string, out: Int32Array): 0 | 4 | 6 {
  if (s.indexOf(':') < 0) {
    const v4 = parseV4(s, 0, s.length);
    if (v4 < 0) return 0;
    out[0] = 0; out[1] = 0; out[2] = V4_W2; out[3] = v4 | 0;
    return 4;
  }
  let end = s.indexOf('%');
  if (end < 0) end = s.length;
  if (end < 2) return 0;
  // Up to 8 groups before and after '::'.
  const groups = GROUPS;
  let n = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return 0;
    gap = 0;
    i = 2;
    if (i === end) return fill(groups, n, gap, out);
  }
  for (;;) {
    // One group: hex digits up to ':' or end, or an IPv4 tail.
    let j = i;
    let v = 0;
    while (j < end) {
      const c = s.charCodeAt(j);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) break;
      v = v * 16 + d;
      j++;
    }
    if (j < end && s.charCodeAt(j) === 46) {
      // Embedded IPv4: must be the last thing and fit in two groups.
      const v4 = parseV4(s, i, end);
      if (v4 < 0 || n > 6) return 0;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      return fill(groups, n, gap, out);
    }
    const digits = j - i;
    if (digits === 0 || digits > 4 || n >= 8) return 0;
    groups[n++] = v;
    if (j === end) return fill(groups, n, gap, out);
    if (s.charCodeAt(j) !== 58) return 0;
    j++;
    if (j < end && s.charCodeAt(j) === 58) {
      if (gap >= 0) return 0;
      gap = n;
      j++;
      if (j === end) return fill(groups, n, gap, out);
    } else if (j === end) return 0; // trailing single ':'
    i = j;
  }
}

const GROUPS = new Array<number>(8).fill(0);

function fill(groups: number[], n: number, gap: number, out: Int32Array): 0 | 4 | 6 {
  if (gap < 0 ? n !== 8 : n > 7) return 0;
  const missing = 8 - n;
  let k = 0;
  for (let w = 0; w < 4; w++) {
    let word = 0;
    for (let h = 0; h < 2; h++) {
      const pos = w * 2 + h;
      let g: number;
      if (gap < 0 || pos < gap) g = groups[pos]!;
      else if (pos < gap + missing) g = 0;
      else g = groups[pos - missing]!;
      word = h === 0 ? g << 16 : word | g;
      k++;
    }
    out[w] = word | 0;
  }
  return out[0] === 0 && out[1] === 0 && out[2] === V4_W2 ? 4 : 6;
}

/** Dotted quad in s[from, to) as a u32, -1 when invalid. */
function parseV4(s: string, from: number, to: number): number {
  let n = 0;
  let parts = 0;
  let i = from;
  while (parts < 4) {
    const start = i;
    let v = 0;
    while (i < to) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || v > 255 || (len > 1 && s.charCodeAt(start) === 48)) return -1;
    n = n * 256 + v;
    parts++;
    if (parts < 4) {
      if (i >= to || s.charCodeAt(i) !== 46) return -1;
      i++;
    }
  }
  return i === to ? n : -1;
}

// ---------------------------------------------------------------------------------------
// One tree (one family)

/** Int32 fields of one node record (see the layout at the top of the file). */
const STRIDE = 8;
const F_LEN = 4; // prefix length (bits 0-7) | HAS_IDS
const F_C0 = 5;
const F_C1 = 6;
const F_PARENT = 7;
const HAS_IDS = 0x100;

class Tree {
  /** Node records, STRIDE int32 each; one record fits in half a cache line, so a step of
   *  the walk costs one memory access (separate arrays per field cost one each). */
  n = new Int32Array(16 * STRIDE);
  /** Decision ids per node (null for glue nodes); read only when HAS_IDS is set. */
  ids: (number[] | null)[] = [null];
  private free: number[] = [];
  private count = 1; // slots in use or freed; slot 0 is the root (/0)

  constructor() {
    this.n[F_PARENT] = -1;
  }

  len(i: number): number {
    return this.n[i * STRIDE + F_LEN]! & 0xff;
  }

  private alloc(words: Int32Array, len: number, ids: number[] | null): number {
    let i = this.free.pop();
    if (i === undefined) {
      i = this.count++;
      if ((i + 1) * STRIDE > this.n.length) {
        const g = new Int32Array(this.n.length * 2);
        g.set(this.n);
        this.n = g;
      }
    }
    const o = i * STRIDE, n = this.n;
    n[o] = words[0]!; n[o + 1] = words[1]!; n[o + 2] = words[2]!; n[o + 3] = words[3]!;
    n[o + F_LEN] = len;
    n[o + F_C0] = 0;
    n[o + F_C1] = 0;
    n[o + F_PARENT] = -1;
    this.ids[i] = ids;
    return i;
  }

  /** Marks whether node i carries ids (kept beside the length so lookups skip empty nodes cheaply). */
  flag(i: number, has: boolean): void {
    const o = i * STRIDE + F_LEN;
    this.n[o] = has ? this.n[o]! | HAS_IDS : this.n[o]! & 0xff;
  }

  private keyBit(i: number, b: number): number {
    return (this.n[i * STRIDE + (b >>> 5)]! >>> (31 - (b & 31))) & 1;
  }

  /** Length of the common prefix of node i's key and w, capped at 128. */
  private common(i: number, w: Int32Array): number {
    const n = this.n, o = i * STRIDE;
    for (let k = 0; k < 4; k++) {
      const x = n[o + k]! ^ w[k]!;
      if (x !== 0) return 32 * k + Math.clz32(x);
    }
    return 128;
  }

  private child(i: number, bit: number): number {
    return this.n[i * STRIDE + F_C0 + bit]!;
  }

  private setChild(p: number, bit: number, c: number): void {
    this.n[p * STRIDE + F_C0 + bit] = c;
    if (c !== 0) this.n[c * STRIDE + F_PARENT] = p;
  }

  /** Node holding exactly `w`/`len`, created if missing (w already masked). */
  nodeFor(w: Int32Array, len: number): number {
    let i = 0;
    for (;;) {
      const il = this.len(i);
      if (il === len) return i; // the walk only reaches nodes whose key prefixes w
      const b = bitOf(w, il);
      const c = this.child(i, b);
      if (c === 0) {
        const leaf = this.alloc(w, len, []);
        this.setChild(i, b, leaf);
        return leaf;
      }
      const cLen = this.len(c);
      const cl = Math.min(this.common(c, w), len, cLen);
      if (cl === cLen) { i = c; continue; }
      if (cl === len) {
        // The new prefix sits between i and c.
        const mid = this.alloc(w, len, []);
        this.setChild(mid, this.keyBit(c, len), c);
        this.setChild(i, b, mid);
        return mid;
      }
      // Diverge below cl: a glue node with c and the new leaf as children.
      const g = this.alloc(maskWords(w, cl, SCRATCH), cl, null);
      this.setChild(g, this.keyBit(c, cl), c);
      const leaf = this.alloc(w, len, []);
      this.setChild(g, bitOf(w, cl), leaf);
      this.setChild(i, b, g);
      return leaf;
    }
  }

  /** Drops node i if it no longer carries ids and has fewer than two children, then its glue parent likewise. */
  prune(i: number): void {
    const n = this.n;
    while (i !== 0) {
      const ids = this.ids[i];
      if (ids !== null && ids!.length > 0) return;
      const o = i * STRIDE;
      const c0 = n[o + F_C0]!, c1 = n[o + F_C1]!;
      this.flag(i, false);
      if (c0 !== 0 && c1 !== 0) {
        this.ids[i] = null; // stays as glue
        return;
      }
      const p = n[o + F_PARENT]!;
      const only = c0 !== 0 ? c0 : c1;
      this.setChild(p, n[p * STRIDE + F_C0] === i ? 0 : 1, only);
      this.ids[i] = null;
      n[o + F_C0] = 0;
      n[o + F_C1] = 0;
      n[o + F_PARENT] = -1;
      this.free.push(i);
      if (only !== 0) return; // i was spliced out; p keeps the same number of children
      i = p;
    }
  }

  covering(w: AddrWords, maxLen: number, out: number[]): number[] {
    const n = this.n;
    const w0 = w[0]! | 0, w1 = w[1]! | 0, w2 = w[2]! | 0, w3 = w[3]! | 0;
    let o = 0;
    for (;;) {
      const lf = n[o + F_LEN]!;
      const l = lf & 0xff;
      if (l > maxLen || !keyMatches(n, o, l, w0, w1, w2, w3)) return out;
      if (lf & HAS_IDS) {
        const ids = this.ids[o / STRIDE]!;
        for (let k = 0; k < ids.length; k++) out.push(ids[k]!);
      }
      if (l === 128) return out;
      const c = n[o + F_C0 + ((wordAt(l, w0, w1, w2, w3) >>> (31 - (l & 31))) & 1)]!;
      if (c === 0) return out;
      o = c * STRIDE;
    }
  }

  longest(w: AddrWords): number[] | null {
    const best = this.longestNode(w[0]! | 0, w[1]! | 0, w[2]! | 0, w[3]! | 0);
    return best < 0 ? null : this.ids[best]!;
  }

  /** Node of the longest prefix with ids covering the address, -1 when none. */
  longestNode(w0: number, w1: number, w2: number, w3: number): number {
    const n = this.n;
    let o = 0;
    let best = -1;
    for (;;) {
      const lf = n[o + F_LEN]!;
      const l = lf & 0xff;
      if (!keyMatches(n, o, l, w0, w1, w2, w3)) break;
      if (lf & HAS_IDS) best = o;
      if (l === 128) break;
      const c = n[o + F_C0 + ((wordAt(l, w0, w1, w2, w3) >>> (31 - (l & 31))) & 1)]!;
      if (c === 0) break;
      o = c * STRIDE;
    }
    return best < 0 ? -1 : best / STRIDE;
  }

  /** Every id at or below the block w/len. */
  inside(w: Int32Array, len: number, out: number[]): number[] {
    // Descend to the first node whose prefix is at least len long, then check it lies in the block.
    let i = 0;
    for (;;) {
      const l = this.len(i);
      if (l >= len) {
        if (Math.min(this.common(i, w), len) < len) return out;
        break;
      }
      if (!keyMatches(this.n, i * STRIDE, l, w[0]!, w[1]!, w[2]!, w[3]!)) return out;
      i = this.child(i, bitOf(w, l));
      if (i === 0) return out;
    }
    const stack = [i];
    while (stack.length) {
      const x = stack.pop()!;
      const ids = this.ids[x];
      if (ids) for (const id of ids) out.push(id);
      const c1 = this.child(x, 1), c0 = this.child(x, 0);
      if (c1) stack.push(c1);
      if (c0) stack.push(c0);
    }
    return out;
  }
}

function bitOf(w: ArrayLike<number>, b: number): number {
  return (w[b >>> 5]! >>> (31 - (b & 31))) & 1;
}

function wordAt(bit: number, w0: number, w1: number, w2: number, w3: number): number {
  const k = bit >>> 5;
  return k === 0 ? w0 : k === 1 ? w1 : k === 2 ? w2 : w3;
}

/** Whether the first `len` bits of the key at record offset o equal the address's. */
function keyMatches(n: Int32Array, o: number, len: number, w0: number, w1: number, w2: number, w3: number): boolean {
  // Compare whole words, then the masked partial word; unrolled (at most 4 words).
  if (len === 0) return true;
  if (len < 32) return ((n[o]! ^ w0) & ~(-1 >>> len)) === 0;
  if (n[o] !== w0) return false;
  if (len < 64) return len === 32 || ((n[o + 1]! ^ w1) & ~(-1 >>> (len - 32))) === 0;
  if (n[o + 1] !== w1) return false;
  if (len < 96) return len === 64 || ((n[o + 2]! ^ w2) & ~(-1 >>> (len - 64))) === 0;
  if (n[o + 2] !== w2) return false;
  if (len < 128) return len === 96 || ((n[o + 3]! ^ w3) & ~(-1 >>> (len - 96))) === 0;
  return n[o + 3] === w3;
}

const SCRATCH = new Int32Array(4);

// ---------------------------------------------------------------------------------------
// The set

interface Slot {
  family: 4 | 6;
  node: number;
}

export class RadixPrefixSet implements BatchPrefixSet {
  private v4 = new Tree();
  private v6 = new Tree();
  private where = new Map<number, Slot>();
  private readonly w = new Int32Array(4);

  get size(): number {
    return this.where.size;
  }

  insert(id: number, words: AddrWords, len: number): void {
    if (!(len >= 0 && len <= 128)) throw new RangeError(`prefix length ${len} is outside 0..128`);
    if (this.where.has(id)) this.delete(id);
    const w = maskWords(words, len, this.w);
    const family = prefixFamily(w, len);
    const t = family === 4 ? this.v4 : this.v6;
    const node = t.nodeFor(w, len);
    let ids = t.ids[node];
    if (ids === null || ids === undefined) t.ids[node] = ids = [];
    ids.push(id);
    t.flag(node, true);
    this.where.set(id, { family, node });
  }

  delete(id: number): boolean {
    const s = this.where.get(id);
    if (!s) return false;
    this.where.delete(id);
    const t = s.family === 4 ? this.v4 : this.v6;
    const ids = t.ids[s.node]!;
    const k = ids.indexOf(id);
    ids[k] = ids[ids.length - 1]!;
    ids.pop();
    if (ids.length === 0) {
      t.flag(s.node, false);
      t.prune(s.node);
    }
    return true;
  }

  has(id: number): boolean {
    return this.where.has(id);
  }

  private tree(words: AddrWords): Tree {
    return words[0] === 0 && words[1] === 0 && (words[2]! | 0) === V4_W2 ? this.v4 : this.v6;
  }

  covering(words: AddrWords, maxLen = 128, out: number[] = []): number[] {
    return this.tree(words).covering(words, maxLen, out);
  }

  longest(words: AddrWords): readonly number[] | null {
    return this.tree(words).longest(words);
  }

  inside(words: AddrWords, len: number, out: number[] = []): number[] {
    const w = maskWords(words, len, new Int32Array(4));
    return (prefixFamily(w, len) === 4 ? this.v4 : this.v6).inside(w, len, out);
  }

  clear(): void {
    this.v4 = new Tree();
    this.v6 = new Tree();
    this.where.clear();
  }

  // Handles: node index * 2 + (1 for the IPv6 tree) + 1, so 0 stays "no prefix".
  private handle(w0: number, w1: number, w2: number, w3: number): number {
    if (w0 === 0 && w1 === 0 && w2 === V4_W2) {
      const i = this.v4.longestNode(w0, w1, w2, w3);
      return i < 0 ? NO_PREFIX : i * 2 + 1;
    }
    const i = this.v6.longestNode(w0, w1, w2, w3);
    return i < 0 ? NO_PREFIX : i * 2 + 2;
  }

  lookup(words: AddrWords): number {
    return this.handle(words[0]! | 0, words[1]! | 0, words[2]! | 0, words[3]! | 0);
  }

  lookupBatch(words: Int32Array | Uint32Array, n: number, out: Uint32Array): number {
    checkBatch(words, n, out);
    let hits = 0;
    for (let i = 0, o = 0; i < n; i++, o += 4) {
      const h = this.handle(words[o]! | 0, words[o + 1]! | 0, words[o + 2]! | 0, words[o + 3]! | 0);
      out[i] = h;
      if (h !== NO_PREFIX) hits++;
    }
    return hits;
  }

  lookupTextBatch(texts: readonly string[], out: Uint32Array): number {
    if (out.length < texts.length) throw new RangeError(`lookupTextBatch: ${texts.length} texts, room for ${out.length} answers`);
    const w = this.w;
    let hits = 0;
    for (let i = 0; i < texts.length; i++) {
      const h = parseAddressWords(texts[i]!, w) === 0 ? INVALID_ADDRESS : this.handle(w[0]!, w[1]!, w[2]!, w[3]!);
      out[i] = h;
      if (h !== NO_PREFIX && h !== INVALID_ADDRESS) hits++;
    }
    return hits;
  }

  lookupTextBytes(text: Uint8Array, out: Uint32Array): number {
    const w = this.w;
    let k = 0;
    let p = 0;
    while (p < text.length) {
      let e = text.indexOf(10, p);
      if (e < 0) e = text.length;
      if (k >= out.length) throw new RangeError(`lookupTextBytes: more than ${out.length} lines`);
      const line = latin1(text, p, e);
      out[k++] = parseAddressWords(line, w) === 0 ? INVALID_ADDRESS : this.handle(w[0]!, w[1]!, w[2]!, w[3]!);
      p = e + 1;
    }
    return k;
  }

  idsAt(handle: number): readonly number[] {
    if (handle === NO_PREFIX || handle === INVALID_ADDRESS) return NO_IDS;
    const t = (handle - 1) & 1 ? this.v6 : this.v4;
    return t.ids[(handle - 1) >>> 1] ?? NO_IDS;
  }
}

const NO_IDS: readonly number[] = Object.freeze([]);

function checkBatch(words: Int32Array | Uint32Array, n: number, out: Uint32Array): void {
  if (!(n >= 0 && n * 4 <= words.length && n <= out.length)) {
    throw new RangeError(`lookupBatch: ${n} addresses need ${n * 4} words (have ${words.length}) and ${n} answers (room for ${out.length})`);
  }
}

function latin1(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]!);
  return s;
}

// ---------------------------------------------------------------------------------------
// The simple twin: a list scanned with BigInt intervals. Same interface, obviously right.

interface LinearEntry {
  id: number;
  family: 4 | 6;
  len: number;
  start: bigint;
  end: bigint;
}

const ALL = (1n << 128n) - 1n;

export class LinearPrefixSet implements PrefixSet {
  private entries = new Map<number, LinearEntry>();

  get size(): number {
    return this.entries.size;
  }

  insert(id: number, words: AddrWords, len: number): void {
    if (!(len >= 0 && len <= 128)) throw new RangeError(`prefix length ${len} is outside 0..128`);
    const host = len === 128 ? 0n : ALL >> BigInt(len);
    const start = wordsToBigint(words) & ~host & ALL;
    this.entries.delete(id);
    this.entries.set(id, { id, family: familyOf(start, len), len, start, end: start | host });
  }

  delete(id: number): boolean {
    return this.entries.delete(id);
  }

  has(id: number): boolean {
    return this.entries.has(id);
  }

  covering(words: AddrWords, maxLen = 128, out: number[] = []): number[] {
    const a = wordsToBigint(words);
    const fam = familyOf(a, 128);
    const hits = [...this.entries.values()].filter((e) => e.family === fam && e.len <= maxLen && e.start <= a && a <= e.end);
    hits.sort((x, y) => x.len - y.len);
    for (const e of hits) out.push(e.id);
    return out;
  }

  longest(words: AddrWords): readonly number[] | null {
    const all = this.covering(words).map((id) => this.entries.get(id)!);
    if (!all.length) return null;
    const max = all[all.length - 1]!.len;
    return all.filter((e) => e.len === max).map((e) => e.id);
  }

  inside(words: AddrWords, len: number, out: number[] = []): number[] {
    const host = len === 128 ? 0n : ALL >> BigInt(len);
    const start = wordsToBigint(words) & ~host & ALL;
    const end = start | host;
    const fam = familyOf(start, len);
    for (const e of this.entries.values()) if (e.family === fam && e.start >= start && e.end <= end) out.push(e.id);
    return out;
  }

  clear(): void {
    this.entries.clear();
  }
}

function familyOf(start: bigint, len: number): 4 | 6 {
  return len >= 96 && start >> 32n === 0xffffn ? 4 : 6;
}
