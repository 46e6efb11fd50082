/**
 * ASN ranges (`start,end,asn,org` rows with inclusive bounds, as @ip-location-db/asn ships
 * them) as one flat binary image, looked up by binary search.
 *
 * The image is what the disk cache stores (asn-cache.ts) and what worker threads share: a
 * single SharedArrayBuffer, so a process holds one copy whatever its thread count, and
 * opening it costs a file read instead of a CSV parse. Layout, little-endian u32 words:
 *
 *   header    magic, FORMAT, n4, n6, nOrgs, nameBytes, keyLo, keyHi   (8 words)
 *   IPv4      start[n4] end[n4] asn[n4] org[n4]
 *   IPv6      start[4*n6] end[4*n6] asn[n6] org[n6]   bounds as 4 words, most significant first
 *   orgs      nameOffset[nOrgs + 1]   byte offsets into the names
 *   names     UTF-8 bytes of every organisation name, once each
 *
 * Rows are sorted by start. keyLo/keyHi identify the source files (set by the cache).
 */
import { formatIp, parseIPv6, type IpValue } from '../../core/ip.js';

export const ASN_TABLE_MAGIC = 0x4e53414c; // 'LASN'
/** Bump when the layout changes: cached images of another format are rebuilt. */
export const ASN_TABLE_FORMAT = 1;
const HEADER_WORDS = 8;

export interface AsnRow {
  number: number;
  org: string;
  /** Inclusive bounds in the 128-bit space (IPv4 mapped to ::ffff:a.b.c.d). */
  start: bigint;
  end: bigint;
}

const ALL128 = (1n << 128n) - 1n;
const MAPPED = 0xffffn << 32n;

/** An opened image: typed-array views over its buffer, no copy. */
export class AsnTable {
  private readonly v4Start: Uint32Array;
  private readonly v4End: Uint32Array;
  private readonly v4Asn: Uint32Array;
  private readonly v4Org: Uint32Array;
  private readonly v6Start: Uint32Array;
  private readonly v6End: Uint32Array;
  private readonly v6Asn: Uint32Array;
  private readonly v6Org: Uint32Array;
  private readonly nameOff: Uint32Array;
  private readonly names: Buffer;
  /** Source identity stamped by the cache (0 when built in memory). */
  readonly keyLo: number;
  readonly keyHi: number;

  /** Throws an Error saying what is wrong when `buffer` is not a whole image of this format. */
  constructor(readonly buffer: SharedArrayBuffer | ArrayBuffer) {
    if (buffer.byteLength < HEADER_WORDS * 4) throw new Error(`ASN table: ${buffer.byteLength} bytes, shorter than its header`);
    const h = new Uint32Array(buffer, 0, HEADER_WORDS);
    if (h[0] !== ASN_TABLE_MAGIC) throw new Error('ASN table: bad magic number');
    if (h[1] !== ASN_TABLE_FORMAT) throw new Error(`ASN table: format ${h[1]}, expected ${ASN_TABLE_FORMAT}`);
    const [n4, n6, nOrgs, nameBytes] = [h[2]!, h[3]!, h[4]!, h[5]!];
    this.keyLo = h[6]!;
    this.keyHi = h[7]!;
    const words = HEADER_WORDS + 4 * n4 + 10 * n6 + nOrgs + 1;
    if (buffer.byteLength !== words * 4 + nameBytes) {
      throw new Error(`ASN table: ${buffer.byteLength} bytes, the header announces ${words * 4 + nameBytes}`);
    }
    let at = HEADER_WORDS * 4;
    const take = (n: number): Uint32Array => {
      const a = new Uint32Array(buffer, at, n);
      at += n * 4;
      return a;
    };
    this.v4Start = take(n4); this.v4End = take(n4); this.v4Asn = take(n4); this.v4Org = take(n4);
    this.v6Start = take(4 * n6); this.v6End = take(4 * n6); this.v6Asn = take(n6); this.v6Org = take(n6);
    this.nameOff = take(nOrgs + 1);
    this.names = Buffer.from(buffer, at, nameBytes);
    if (this.nameOff[nOrgs] !== nameBytes) throw new Error('ASN table: name offsets do not end at the name bytes');
    for (const org of [this.v4Org, this.v6Org]) {
      for (let i = 0; i < org.length; i++) if (org[i]! >= nOrgs) throw new Error(`ASN table: row ${i} names organisation ${org[i]} of ${nOrgs}`);
    }
  }

  /** Rows (IPv4 + IPv6). */
  get size(): number {
    return this.v4Asn.length + this.v6Asn.length;
  }

  private org(i: number): string {
    return this.names.toString('utf8', this.nameOff[i]!, this.nameOff[i + 1]!);
  }

  /** The row holding `ip` (IPv4 and mapped IPv4 in the IPv4 rows), or null. */
  find(ip: IpValue): AsnRow | null {
    if (ip.family === 4) {
      const x = Number(ip.value & 0xffffffffn);
      const s = this.v4Start;
      // Last row whose start <= x.
      let lo = 0, hi = s.length - 1, at = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (s[mid]! <= x) { at = mid; lo = mid + 1; } else hi = mid - 1;
      }
      if (at < 0 || x > this.v4End[at]!) return null;
      return { number: this.v4Asn[at]!, org: this.org(this.v4Org[at]!), start: MAPPED | BigInt(s[at]!), end: MAPPED | BigInt(this.v4End[at]!) };
    }
    const x = ip.value;
    const x0 = Number(x >> 96n), x1 = Number((x >> 64n) & 0xffffffffn), x2 = Number((x >> 32n) & 0xffffffffn), x3 = Number(x & 0xffffffffn);
    const s = this.v6Start;
    let lo = 0, hi = this.v6Asn.length - 1, at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (wordsLe(s, mid * 4, x0, x1, x2, x3)) { at = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (at < 0 || !geWords(this.v6End, at * 4, x0, x1, x2, x3)) return null;
    return { number: this.v6Asn[at]!, org: this.org(this.v6Org[at]!), start: wordsValue(s, at * 4), end: wordsValue(this.v6End, at * 4) };
  }
}

/** a[i..i+3] <= (x0..x3), comparing most significant words first. */
function wordsLe(a: Uint32Array, i: number, x0: number, x1: number, x2: number, x3: number): boolean {
  if (a[i] !== x0) return a[i]! < x0;
  if (a[i + 1] !== x1) return a[i + 1]! < x1;
  if (a[i + 2] !== x2) return a[i + 2]! < x2;
  return a[i + 3]! <= x3;
}

/** a[i..i+3] >= (x0..x3). */
function geWords(a: Uint32Array, i: number, x0: number, x1: number, x2: number, x3: number): boolean {
  if (a[i] !== x0) return a[i]! > x0;
  if (a[i + 1] !== x1) return a[i + 1]! > x1;
  if (a[i + 2] !== x2) return a[i + 2]! > x2;
  return a[i + 3]! >= x3;
}

function wordsValue(a: Uint32Array, i: number): bigint {
  return (BigInt(a[i]!) << 96n) | (BigInt(a[i + 1]!) << 64n) | (BigInt(a[i + 2]!) << 32n) | BigInt(a[i + 3]!);
}

/** Largest CIDR block holding `ip` that lies inside [start, end] (128-bit space). */
export function rangeBlock(ip: IpValue, start: bigint, end: bigint): string {
  const max = ip.family === 4 ? 32 : 128;
  for (let p = 0; p <= max; p++) {
    const bits = ip.family === 4 ? p + 96 : p;
    const host = bits >= 128 ? 0n : ALL128 >> BigInt(bits);
    const lo = ip.value & ~host & ALL128;
    if (lo >= start && (lo | host) <= end) return `${formatIp(lo, ip.family)}/${p}`;
  }
  return `${formatIp(ip.value, ip.family)}/${max}`; // unreachable: the /max block always fits
}

// ---------------------------------------------------------------------------------------
// Building an image from the CSV files

/**
 * The image of an IPv4 CSV with decimal bounds (`asn-ipv4-num.csv`) and an IPv6 CSV with
 * textual bounds (`asn-ipv6.csv`), in a SharedArrayBuffer. Rows that do not parse (or whose
 * AS number does not fit 32 bits) are skipped; rows are sorted if the files are not.
 */
export function buildAsnTable(v4csv: Uint8Array, v6csv: string, key: readonly [number, number] = [0, 0]): SharedArrayBuffer {
  const orgs: string[] = [];
  const orgIndex = new Map<string, number>();
  const intern = (s: string): number => {
    let i = orgIndex.get(s);
    if (i === undefined) { i = orgs.length; orgs.push(s); orgIndex.set(s, i); }
    return i;
  };
  const v4 = parseNumericV4(v4csv, intern);
  const v6 = parseV6(v6csv, intern);
  const n4 = v4.start.length, n6 = v6.length;
  const nameBytes = orgs.reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), 0);
  const words = HEADER_WORDS + 4 * n4 + 10 * n6 + orgs.length + 1;
  const sab = new SharedArrayBuffer(words * 4 + nameBytes);
  const w = new Uint32Array(sab, 0, words);
  w.set([ASN_TABLE_MAGIC, ASN_TABLE_FORMAT, n4, n6, orgs.length, nameBytes, key[0] >>> 0, key[1] >>> 0]);
  let at = HEADER_WORDS;
  for (const a of [v4.start, v4.end, v4.asn, v4.org]) { w.set(a, at); at += n4; }
  for (const part of ['start', 'end'] as const) {
    for (const r of v6) {
      const v = r[part];
      w[at++] = Number(v >> 96n); w[at++] = Number((v >> 64n) & 0xffffffffn);
      w[at++] = Number((v >> 32n) & 0xffffffffn); w[at++] = Number(v & 0xffffffffn);
    }
  }
  for (const r of v6) w[at++] = r.asn;
  for (const r of v6) w[at++] = r.org;
  const names = Buffer.from(sab, words * 4, nameBytes);
  let off = 0;
  for (const s of orgs) {
    w[at++] = off;
    off += names.write(s, off, 'utf8');
  }
  w[at++] = off;
  return sab;
}

interface V6Row { start: bigint; end: bigint; asn: number; org: number }

function parseV6(csv: string, intern: (s: string) => number): V6Row[] {
  const rows: V6Row[] = [];
  for (const line of csv.split('\n')) {
    if (line.length === 0) continue;
    const r = splitRow(line.endsWith('\r') ? line.slice(0, -1) : line);
    if (!r) continue;
    const s = v6Number(r[0]), e = v6Number(r[1]), n = Number(r[2]);
    if (s === null || e === null || !Number.isInteger(n) || n < 0 || n > 0xffffffff || e < s) continue;
    rows.push({ start: s, end: e, asn: n, org: intern(r[3]) });
  }
  // The files are sorted; sort anyway so a reordered file cannot break the binary search.
  let sorted = true;
  for (let i = 1; i < rows.length; i++) if (rows[i]!.start < rows[i - 1]!.start) { sorted = false; break; }
  if (!sorted) rows.sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
  return rows;
}

/** Splits one CSV row into [start, end, asn, org]; org may be quoted with "" escapes. */
function splitRow(line: string): [string, string, string, string] | null {
  const a = line.indexOf(',');
  const b = a < 0 ? -1 : line.indexOf(',', a + 1);
  const c = b < 0 ? -1 : line.indexOf(',', b + 1);
  if (c < 0) return null;
  return [line.slice(0, a), line.slice(a + 1, b), line.slice(b + 1, c), unquote(line.slice(c + 1))];
}

function unquote(org: string): string {
  if (org.length >= 2 && org.charCodeAt(0) === 34 && org.charCodeAt(org.length - 1) === 34) return org.slice(1, -1).replace(/""/g, '"');
  return org;
}

const utf8 = new TextDecoder();

/**
 * Short field text. ASCII (nearly every name) is sliced as latin1: one flat string, where a
 * `+=` loop built a rope that the intern Map then had to flatten to hash (a third of the
 * conversion time). TextDecoder only for the rest.
 */
function decodeAscii(buf: Buffer, from: number, to: number): string {
  for (let i = from; i < to; i++) if (buf[i]! >= 0x80) return utf8.decode(buf.subarray(from, to));
  return buf.toString('latin1', from, to);
}

let NUM_AT = 0;
/** Decimal number at NUM_AT followed by a comma (consumed); -1 when malformed. */
function csvNum(buf: Uint8Array): number {
  let p = NUM_AT, v = 0, digits = 0;
  while (p < buf.length && buf[p]! >= 48 && buf[p]! <= 57) { v = v * 10 + (buf[p]! - 48); p++; digits++; }
  if (digits === 0 || digits > 10 || buf[p] !== 44) return -1;
  NUM_AT = p + 1;
  return v;
}

/** `start,end,asn,org` rows with decimal numbers, scanned as bytes: only org names become strings. */
function parseNumericV4(bytes: Uint8Array, intern: (s: string) => number): {
  start: Uint32Array; end: Uint32Array; asn: Uint32Array; org: Uint32Array;
} {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let lines = 0;
  for (let i = 0; i < buf.length; i++) if (buf[i] === 10) lines++;
  const cap = lines + 1;
  let start = new Uint32Array(cap), end = new Uint32Array(cap), asn = new Uint32Array(cap), org = new Uint32Array(cap);
  let n = 0;
  let p = 0;
  while (p < buf.length) {
    const lineStart = p;
    let eol = buf.indexOf(10, p);
    if (eol < 0) eol = buf.length;
    NUM_AT = p;
    const s = csvNum(buf), e = s < 0 ? -1 : csvNum(buf), a = e < 0 ? -1 : csvNum(buf);
    p = NUM_AT;
    if (a >= 0 && a <= 0xffffffff && s <= 0xffffffff && e <= 0xffffffff && e >= s) {
      let oe = eol;
      if (oe > p && buf[oe - 1] === 13) oe--;
      start[n] = s; end[n] = e; asn[n] = a; org[n] = intern(unquote(decodeAscii(buf, p, oe)));
      n++;
    }
    p = eol + 1;
    if (p <= lineStart) break;
  }
  start = start.slice(0, n); end = end.slice(0, n); asn = asn.slice(0, n); org = org.slice(0, n);
  let sorted = true;
  for (let i = 1; i < n; i++) if (start[i]! < start[i - 1]!) { sorted = false; break; }
  if (!sorted) {
    const idx = Array.from({ length: n }, (_, i) => i).sort((x, y) => start[x]! - start[y]!);
    start = Uint32Array.from(idx, (i) => start[i]!); end = Uint32Array.from(idx, (i) => end[i]!);
    asn = Uint32Array.from(idx, (i) => asn[i]!); org = Uint32Array.from(idx, (i) => org[i]!);
  }
  return { start, end, asn, org };
}

const GROUPS = [0, 0, 0, 0, 0, 0, 0, 0];
const TAIL = [0, 0, 0, 0, 0, 0, 0, 0];

/** Hex groups of s[from, to) into out[at..]; their count, or -1 when malformed. */
function hexGroups(s: string, from: number, to: number, out: number[], at: number): number {
  if (from >= to) return 0;
  let n = 0, v = 0, digits = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? s.charCodeAt(i) : 58;
    if (c === 58) {
      if (digits === 0 || digits > 4 || at + n >= 8) return -1;
      out[at + n++] = v;
      v = 0;
      digits = 0;
      continue;
    }
    const h = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (h < 0) return -1;
    v = v * 16 + h;
    digits++;
  }
  return n;
}

function fastV6(s: string): bigint | null {
  const dbl = s.indexOf('::');
  GROUPS.fill(0);
  if (dbl < 0) {
    if (hexGroups(s, 0, s.length, GROUPS, 0) !== 8) return null;
  } else {
    const head = hexGroups(s, 0, dbl, GROUPS, 0);
    const tail = hexGroups(s, dbl + 2, s.length, TAIL, 0);
    if (head < 0 || tail < 0 || head + tail > 7) return null;
    for (let i = 0; i < tail; i++) GROUPS[8 - tail + i] = TAIL[i]!;
  }
  const hi = BigInt(GROUPS[0]! * 65536 + GROUPS[1]!) << 32n | BigInt(GROUPS[2]! * 65536 + GROUPS[3]!);
  const lo = BigInt(GROUPS[4]! * 65536 + GROUPS[5]!) << 32n | BigInt(GROUPS[6]! * 65536 + GROUPS[7]!);
  return (hi << 64n) | lo;
}

/** IPv6 text (or a decimal number) as 128 bits: a fast path for plain hex groups, core/ip for anything else. */
function v6Number(s: string): bigint | null {
  if (s.includes(':')) return s.includes('.') || s.includes('%') ? parseIPv6(s) : fastV6(s) ?? parseIPv6(s);
  if (!/^\d{1,39}$/.test(s)) return null;
  const n = BigInt(s);
  return n <= ALL128 ? n : null;
}
