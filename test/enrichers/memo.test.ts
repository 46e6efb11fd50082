/**
 * The memoised enrichers (the default) against their simple twin (memo: false): a seeded
 * stream of dates (repeats, other layouts, unparsable text, a year change of the clock) and
 * addresses (repeats, IPv6, invalid) gives the same outputs, call by call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEnrichers } from '../../src/parse/enrichers/index.js';
import { newLogEvent } from '../../src/core/event.js';
import { packageDir, CITY_PACKAGE, ASN_PACKAGE } from '../../src/parse/enrichers/geoip.js';
import { mulberry32 as prng } from '../../fixtures/seeded.js';


const DATES = ['Feb 12 14:10:21', 'Feb 12 14:10:22', 'Feb 29 00:00:01', '12/Feb/2024:14:10:21 +0100', '2024-02-12T14:10:21Z', 'nonsense', '', '230212 14:10:21'];
const FORMATS = ['', '', '', '060102 15:04:05'];

test('ParseDate memo = direct, over a seeded stream with a clock that crosses a year', async () => {
  let clock = new Date('2023-12-31T23:59:58Z');
  const now = () => clock;
  const memo = (await buildEnrichers({ geoipDir: null, now })).get('ParseDate')!;
  const direct = (await buildEnrichers({ geoipDir: null, now, memo: false })).get('ParseDate')!;
  const rnd = prng(99);
  const evt = newLogEvent('x', {});
  let fallbacks = 0;
  for (let i = 0; i < 3000; i++) {
    if (i === 1500) clock = new Date('2024-01-01T00:00:05Z'); // Feb 29 exists again
    evt.StrTimeFormat = FORMATS[Math.floor(rnd() * FORMATS.length)]!;
    // Runs of the same text, as in real logs.
    const v = DATES[Math.floor(rnd() * DATES.length)]!;
    for (let k = Math.floor(rnd() * 3); k >= 0; k--) {
      const a = memo(v, evt);
      const b = direct(v, evt);
      assert.deepEqual(a, b, `call ${i}: ${JSON.stringify(v)} format ${JSON.stringify(evt.StrTimeFormat)}`);
      if (b?.get('MarshaledTime') === clock.toISOString().replace('.000Z', 'Z')) fallbacks++;
    }
  }
  assert.ok(fallbacks > 0, 'the stream includes unparsable values');
});

const installed = packageDir(CITY_PACKAGE) !== null && packageDir(ASN_PACKAGE) !== null;

test('GeoIP memo = direct, over a seeded stream of addresses', { skip: installed ? false : 'GeoIP npm data packages not installed' }, async () => {
  const memo = await buildEnrichers({});
  const direct = await buildEnrichers({ memo: false });
  const rnd = prng(7);
  const pool = Array.from({ length: 200 }, (_, i) =>
    i % 10 === 0 ? `2001:db8:${i.toString(16)}::1` : i % 17 === 0 ? 'not-an-ip' : `${1 + Math.floor(rnd() * 222)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`);
  pool.push('', '8.8.8.8', '2a00:1450:4007:80e::200e');
  const evt = newLogEvent('x', {});
  let found = 0;
  for (let i = 0; i < 5000; i++) {
    const ip = pool[Math.floor(rnd() * pool.length)]!;
    for (const m of ['GeoIpCity', 'GeoIpASN', 'IpToRange']) {
      const a = memo.get(m)!(ip, evt);
      const b = direct.get(m)!(ip, evt);
      assert.deepEqual(a, b, `${m}(${ip})`);
      if (b?.get('ASNOrg')) found++;
    }
  }
  assert.ok(found > 0, 'some addresses are in the ASN data');
});
