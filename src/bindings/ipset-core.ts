/**
 * Browser-safe binding of the IP set in palisade.wasm (assembly/ipset.ts): the same
 * `BatchPrefixSet` interface as the TS radix tree (src/decisions/ipset.ts, its twin).
 *
 * The module stores one u32 value per prefix; here that value is a slot number, and the
 * slot holds the decision ids on the prefix (several decisions may share one), so lookup
 * answers (handles) are slot numbers. Each set is its own instance of the module: the set's
 * memory grows as prefixes are added, which would detach a scanner's views of a shared one.
 * Batches are copied into the module's fixed regions and answered by one call per
 * IPSET_MAX_BATCH addresses; nothing crosses the boundary per address.
 */
import * as abi from './abi.generated.js';
import { parseAddressWords, type AddrWords, type BatchPrefixSet } from '../decisions/ipset.js';

/** The IP-set exports of palisade.wasm (see assembly/README.md). */
export interface IpSetExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  abiVersion(): number;
  ipsetReset(): number;
  ipsetInsert(len: number, value: number): number;
  ipsetRemove(len: number): number;
  ipsetGet(len: number): number;
  ipsetSize(): number;
  ipsetHeapBytes(): number;
  ipsetLookup(n: number): number;
  ipsetLookupText(len: number): number;
  ipsetCovering(maxLen: number): number;
  ipsetInside(len: number, skip: number): number;
}

// Only the parts of the WebAssembly JS API used here (the project's lib has no DOM types).
interface WasmApi {
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const ARG = abi.IPSET_ARG_OFFSET >>> 2;
const ADDRS = abi.IPSET_ADDRS_OFFSET >>> 2;
const RESULTS = abi.IPSET_RESULTS_OFFSET >>> 2;
const MAX = abi.IPSET_MAX_BATCH;
/** Longest text that can be a valid address without a zone; longer ones are parsed here. */
const LONG_TEXT = 1024;
/** UTF-16 units of text per chunk: their UTF-8 (at most 3 bytes each) fits IPSET_MAX_TEXT. */
const TEXT_UNITS = Math.floor(abi.IPSET_MAX_TEXT / 3);
const UTF8 = new TextEncoder();
const NO_IDS: readonly number[] = Object.freeze([]);
const INSERT_ERRORS: Record<number, string> = {
  [abi.IPSET_BAD_LENGTH]: 'prefix length outside 0..128',
  [abi.IPSET_BAD_VALUE]: 'value 0',
  [abi.IPSET_NO_MEMORY]: 'out of WebAssembly memory',
};

export class WasmPrefixSet implements BatchPrefixSet {
  readonly impl = 'wasm' as const;
  private readonly x: IpSetExports;
  private buf!: ArrayBuffer;
  private u8!: Uint8Array;
  private u32!: Uint32Array;
  private i32!: Int32Array;
  /** Ids per slot (slot 0 unused); the module maps each prefix to its slot. */
  private slotIds: (number[] | undefined)[] = [undefined];
  /** Prefix of each slot: 4 words + length, to remove it when its last id goes. */
  private slotPrefix = new Int32Array(5 * 64);
  private freeSlots: number[] = [];
  private readonly where = new Map<number, number>();
  private readonly w = new Int32Array(4);

  constructor(x: IpSetExports) {
    this.x = x;
    this.views();
    check(x.ipsetReset(), 'ipsetReset');
    this.views();
  }

  /** Re-creates the views after the module's memory grew (its ArrayBuffer was replaced). */
  private views(): void {
    const b = this.x.memory.buffer;
    if (b === this.buf) return;
    this.buf = b;
    this.u8 = new Uint8Array(b);
    this.u32 = new Uint32Array(b);
    this.i32 = new Int32Array(b);
  }

  get size(): number {
    return this.where.size;
  }

  /** Distinct prefixes held. */
  get prefixes(): number {
    return this.x.ipsetSize();
  }

  /** Bytes of tree nodes in the module's memory (past its fixed regions). */
  get heapBytes(): number {
    return this.x.ipsetHeapBytes();
  }

  private putArg(words: AddrWords, len: number): void {
    const i = this.i32;
    for (let k = 0; k < 4; k++) i[ARG + k] = (words[k]! | 0) & headMask(len - 32 * k);
  }

  insert(id: number, words: AddrWords, len: number): void {
    if (!(len >= 0 && len <= 128 && Number.isInteger(len))) throw new RangeError(`prefix length ${len} is outside 0..128`);
    if (this.where.has(id)) this.delete(id);
    this.putArg(words, len);
    let slot = this.x.ipsetGet(len);
    if (slot === 0) {
      slot = this.newSlot(len);
      const rc = this.x.ipsetInsert(len, slot);
      this.views();
      if (rc !== abi.IPSET_OK) {
        this.freeSlot(slot);
        throw new RangeError(`ipsetInsert: ${INSERT_ERRORS[rc] ?? `error ${rc}`}`);
      }
    }
    this.slotIds[slot]!.push(id);
    this.where.set(id, slot);
  }

  /** A slot for the prefix now at ARG. */
  private newSlot(len: number): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.slotIds.length;
      this.slotIds.push(undefined);
      if ((slot + 1) * 5 > this.slotPrefix.length) {
        const g = new Int32Array(this.slotPrefix.length * 2);
        g.set(this.slotPrefix);
        this.slotPrefix = g;
      }
    }
    this.slotIds[slot] = [];
    const p = this.slotPrefix, o = slot * 5;
    p.set(this.i32.subarray(ARG, ARG + 4), o);
    p[o + 4] = len;
    return slot;
  }

  private freeSlot(slot: number): void {
    this.slotIds[slot] = undefined;
    this.freeSlots.push(slot);
  }

  delete(id: number): boolean {
    const slot = this.where.get(id);
    if (slot === undefined) return false;
    this.where.delete(id);
    const ids = this.slotIds[slot]!;
    // Same order of the remaining ids as the TS tree: the last one takes the deleted one's place.
    const k = ids.indexOf(id);
    ids[k] = ids[ids.length - 1]!;
    ids.pop();
    if (ids.length === 0) {
      const o = slot * 5;
      this.i32.set(this.slotPrefix.subarray(o, o + 4), ARG);
      const was = this.x.ipsetRemove(this.slotPrefix[o + 4]!);
      if (was !== slot) throw new Error(`ipsetRemove: the module held ${was} for slot ${slot} (corrupt set)`);
      this.freeSlot(slot);
    }
    return true;
  }

  has(id: number): boolean {
    return this.where.has(id);
  }

  covering(words: AddrWords, maxLen = 128, out: number[] = []): number[] {
    if (!(maxLen >= 0)) return out;
    const i = this.i32;
    i[ARG] = words[0]! | 0; i[ARG + 1] = words[1]! | 0; i[ARG + 2] = words[2]! | 0; i[ARG + 3] = words[3]! | 0;
    const c = this.x.ipsetCovering(Math.min(maxLen, 128));
    const u = this.u32;
    for (let k = 0; k < c; k++) {
      const ids = this.slotIds[u[RESULTS + k]!]!;
      for (let j = 0; j < ids.length; j++) out.push(ids[j]!);
    }
    return out;
  }

  longest(words: AddrWords): readonly number[] | null {
    const h = this.lookup(words);
    return h === 0 ? null : this.slotIds[h]!;
  }

  inside(words: AddrWords, len: number, out: number[] = []): number[] {
    if (!(len >= 0 && len <= 128)) return out;
    this.putArg(words, len);
    const u = this.u32;
    let total = this.x.ipsetInside(len, 0);
    for (let skip = 0; skip < total; skip += MAX) {
      if (skip > 0) total = this.x.ipsetInside(len, skip);
      const m = Math.min(MAX, total - skip);
      for (let k = 0; k < m; k++) {
        const ids = this.slotIds[u[RESULTS + k]!]!;
        for (let j = 0; j < ids.length; j++) out.push(ids[j]!);
      }
    }
    return out;
  }

  clear(): void {
    check(this.x.ipsetReset(), 'ipsetReset');
    this.views();
    this.slotIds = [undefined];
    this.freeSlots = [];
    this.where.clear();
  }

  lookup(words: AddrWords): number {
    const i = this.i32;
    i[ADDRS] = words[0]! | 0; i[ADDRS + 1] = words[1]! | 0; i[ADDRS + 2] = words[2]! | 0; i[ADDRS + 3] = words[3]! | 0;
    this.x.ipsetLookup(1);
    return this.u32[RESULTS]!;
  }

  lookupBatch(words: Int32Array | Uint32Array, n: number, out: Uint32Array): number {
    if (!(n >= 0 && n * 4 <= words.length && n <= out.length)) {
      throw new RangeError(`lookupBatch: ${n} addresses need ${n * 4} words (have ${words.length}) and ${n} answers (room for ${out.length})`);
    }
    // Same element type on both sides so that set() is a plain copy.
    const dst = words instanceof Int32Array ? this.i32 : this.u32;
    let hits = 0;
    for (let off = 0; off < n; off += MAX) {
      const m = Math.min(MAX, n - off);
      dst.set(words.subarray(off * 4, (off + m) * 4), ADDRS);
      hits += this.x.ipsetLookup(m);
      out.set(this.u32.subarray(RESULTS, RESULTS + m), off);
    }
    return hits;
  }

  lookupTextBatch(texts: readonly string[], out: Uint32Array): number {
    const n = texts.length;
    if (out.length < n) throw new RangeError(`lookupTextBatch: ${n} texts, room for ${out.length} answers`);
    let hits = 0;
    let i = 0;
    while (i < n) {
      // A chunk: at most MAX texts whose UTF-8 surely fits the text region (3 bytes per unit).
      const first = i;
      let units = 0;
      while (i < n && i - first < MAX) {
        const l = texts[i]!.length;
        if (l > LONG_TEXT || units + l + 1 > TEXT_UNITS) break;
        units += l + 1;
        i++;
      }
      const m = i - first;
      if (m > 0) {
        const r = this.lookupChunk(texts, first, m);
        out.set(r, first);
        for (let k = 0; k < m; k++) if (r[k] !== 0 && r[k] !== abi.IPSET_INVALID) hits++;
      }
      if (i < n && texts[i]!.length > LONG_TEXT) {
        // Only a zone can make an address this long; parse it here.
        const h = this.lookupLong(texts[i]!);
        out[i++] = h;
        if (h !== 0 && h !== abi.IPSET_INVALID) hits++;
      }
    }
    return hits;
  }

  /** Answers of texts[first, first + m) (a view of RESULTS); they fit the text region. */
  private lookupChunk(texts: readonly string[], first: number, m: number): Uint32Array {
    // The fast way: one join and one UTF-8 encode. Right unless a text holds a '\n' or the
    // last one is empty (then the line count differs from m and the slow way is taken).
    const joined = first === 0 && m === texts.length ? texts.join('\n') : texts.slice(first, first + m).join('\n');
    const { written } = UTF8.encodeInto(joined, this.u8.subarray(abi.IPSET_TEXT_OFFSET, abi.IPSET_TEXT_OFFSET + abi.IPSET_MAX_TEXT));
    if (this.x.ipsetLookupText(written) !== m) {
      // One line per text whatever it holds: a byte above 0x7f or a '\n' becomes 0xff,
      // which no address contains (after a '%' any byte is zone, as in the TS parser).
      const u8 = this.u8;
      let p = abi.IPSET_TEXT_OFFSET;
      for (let i = first; i < first + m; i++) {
        const s = texts[i]!;
        for (let k = 0; k < s.length; k++) {
          const c = s.charCodeAt(k);
          u8[p++] = c > 0x7f || c === 10 ? 0xff : c;
        }
        u8[p++] = 10;
      }
      this.x.ipsetLookupText(p - abi.IPSET_TEXT_OFFSET);
    }
    return this.u32.subarray(RESULTS, RESULTS + m);
  }

  private lookupLong(s: string): number {
    return parseAddressWords(s, this.w) !== 0 ? this.lookup(this.w) : abi.IPSET_INVALID;
  }

  lookupTextBytes(text: Uint8Array, out: Uint32Array): number {
    const base = abi.IPSET_TEXT_OFFSET;
    let k = 0;
    let p = 0;
    while (p < text.length) {
      let end = Math.min(text.length, p + abi.IPSET_MAX_TEXT);
      if (end < text.length) {
        // Cut after the last complete line of this chunk.
        const nl = text.lastIndexOf(10, end - 1);
        if (nl < p) {
          // One line longer than the text region: only a zone makes that an address.
          let e = text.indexOf(10, p);
          if (e < 0) e = text.length;
          if (k >= out.length) throw new RangeError(`lookupTextBytes: more than ${out.length} lines`);
          let s = '';
          for (let j = p; j < e; j++) s += String.fromCharCode(text[j]!);
          out[k++] = this.lookupLong(s);
          p = e + 1;
          continue;
        }
        end = nl + 1;
      }
      this.u8.set(text.subarray(p, end), base);
      const m = this.x.ipsetLookupText(end - p);
      if (k + m > out.length) throw new RangeError(`lookupTextBytes: more than ${out.length} lines`);
      out.set(this.u32.subarray(RESULTS, RESULTS + m), k);
      k += m;
      p += this.u32[(abi.IPSET_STATUS_OFFSET >>> 2) + abi.IPSET_STATUS_CONSUMED]!;
    }
    return k;
  }

  idsAt(handle: number): readonly number[] {
    return this.slotIds[handle] ?? NO_IDS;
  }
}

/** Mask for the first `bits` bits of a word (bits may be outside 0..32), as int32. */
function headMask(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? -1 : ~(-1 >>> bits);
}

function check(rc: number, what: string): void {
  if (rc !== abi.IPSET_OK) throw new Error(`${what}: ${INSERT_ERRORS[rc] ?? `error ${rc}`}`);
}

/**
 * A new, empty IP set in a new instance (own memory) of a compiled palisade.wasm. Checks the
 * ABI version and the exports, so a stale build fails here with a clear message.
 */
export function instantiatePrefixSet(module: object): WasmPrefixSet {
  const inst = new WA.Instance(module, {});
  const x = inst.exports as IpSetExports;
  if (typeof x.abiVersion !== 'function' || x.abiVersion() !== abi.ABI_VERSION || typeof x.ipsetLookup !== 'function') {
    const got = typeof x.abiVersion === 'function' ? x.abiVersion() : 'none';
    throw new Error(`palisade.wasm ABI version ${got} without the IP set, expected ${abi.ABI_VERSION}: rebuild with npm run build:wasm`);
  }
  return new WasmPrefixSet(x);
}
