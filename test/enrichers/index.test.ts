import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEnrichers } from '../../src/parse/enrichers/index.js';
import { newLogEvent } from '../../src/core/event.js';
import { packageDir, CITY_PACKAGE, ASN_PACKAGE } from '../../src/parse/enrichers/geoip.js';

const fixedNow = () => new Date('2026-11-27T18:00:00Z');

test('ParseDate only, with GeoIP disabled and rdns off', async () => {
  const m = await buildEnrichers({ geoipDir: null, now: fixedNow, warn: () => assert.fail('no warning expected') });
  assert.deepEqual([...m.keys()], ['ParseDate']);
  const evt = newLogEvent('x', {});
  assert.deepEqual(m.get('ParseDate')!('Feb 12 14:10:21', evt), new Map([['MarshaledTime', '2026-02-12T14:10:21Z']]));
  evt.StrTimeFormat = '060102 15:04:05';
  assert.deepEqual(m.get('ParseDate')!('230212 14:10:21', evt), new Map([['MarshaledTime', '2023-02-12T14:10:21Z']]));
  assert.deepEqual(m.get('ParseDate')!('nonsense', evt), new Map([['MarshaledTime', '2026-11-27T18:00:00Z']]));
});

test('reverse_dns is registered only on request and answers from its cache', async () => {
  const m = await buildEnrichers({
    geoipDir: null, rdns: true,
    rdnsOptions: { resolve: async (ip) => (ip === '127.0.0.1' ? ['localhost'] : []) },
  });
  const rdns = m.get('reverse_dns')!;
  const evt = newLogEvent('x', {});
  assert.equal(rdns('127.0.0.1', evt), null, 'unknown yet: the query runs in the background');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(rdns('127.0.0.1', evt), new Map([['reverse_dns', 'localhost.']]));
  assert.equal(rdns('', evt), null);
});

test('a missing geoip directory leaves the geo methods out, with warnings', async () => {
  const warnings: string[] = [];
  const m = await buildEnrichers({ geoipDir: '/nonexistent/palisade-geoip', warn: (w) => warnings.push(w) });
  assert.deepEqual([...m.keys()], ['ParseDate']);
  assert.equal(warnings.length, 2);
  assert.ok(warnings.every((w) => w.includes('/nonexistent/palisade-geoip')));
});

const installed = packageDir(CITY_PACKAGE) !== null && packageDir(ASN_PACKAGE) !== null;
test('default data packages register every geo method', { skip: installed ? false : 'GeoIP data packages not installed' }, async () => {
  const m = await buildEnrichers({ warn: (w) => assert.fail(w) });
  assert.deepEqual([...m.keys()].sort(), ['GeoIpASN', 'GeoIpCity', 'IpToRange', 'ParseDate']);
  const evt = newLogEvent('x', {});
  assert.equal(m.get('GeoIpCity')!('8.8.8.8', evt)!.get('IsoCode'), 'US');
  assert.equal(m.get('GeoIpASN')!('8.8.8.8', evt)!.get('ASNOrg'), 'Google LLC');
  assert.equal(m.get('IpToRange')!('8.8.8.8', evt)!.get('SourceRange'), '8.8.8.0/24');
});
