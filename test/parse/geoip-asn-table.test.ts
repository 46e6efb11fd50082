import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { AsnTable, buildAsnTable, ASN_TABLE_MAGIC } from '../../src/parse/enrichers/asn-table.js';
import { defaultCacheDir, loadAsnTable } from '../../src/parse/enrichers/asn-cache.js';
import {
  ASN_PACKAGE, exportGeo, importGeo, openGeoSources, packageDir, rangeAsnFromCsv, RangeAsnSource, type SharedGeo,
} from '../../src/parse/enrichers/geoip.js';
import { parseIp, formatIp } from '../../src/core/ip.js';

const enc = new TextEncoder();
const ip = (s: string) => parseIp(s)!;
const v4n = (s: string) => Number(ip(s).value & 0xffffffffn);

// IPv6 rows chosen so that bounds differ only in low words, and one range crosses a 32-bit
// word carry (…:ffff:ffff -> next word), where a word-wise comparison could go wrong.
const V4 = [
  `${v4n('1.0.0.0')},${v4n('1.0.0.255')},13335,"Cloudflare, Inc."`,
  `${v4n('1.0.4.0')},${v4n('1.0.7.255')},38803,Gtelecom Pty Ltd`,
  `${v4n('8.8.4.0')},${v4n('8.8.7.255')},3356,Level 3`, // out of order on purpose
  `${v4n('2.0.0.0')},${v4n('2.0.0.15')},64500,Télécom Éire`,
  `${v4n('3.0.0.0')},${v4n('3.0.0.3')},99999999999,too large an AS number`,
  'garbage line',
  `${v4n('10.0.0.5')},${v4n('10.0.0.20')},64512,"Quote ""Inc"""`,
  `${v4n('8.8.8.0')},${v4n('8.8.8.255')},15169,Google LLC`,
].join('\r\n') + '\n';
const V6 = [
  '2001:db8::,2001:db8:0:0:ffff:ffff:ffff:ffff,64501,Low Words',
  '2001:db8:0:1::,2001:db8:0:1::ffff,64502,Carry Before',
  '2001:db8:0:1::1:0,2001:db8:0:2:0:1::,64503,Across A Carry',
  '2a01:4f8::,2a01:4f9:ffff:ffff:ffff:ffff:ffff:ffff,24940,Hetzner Online GmbH',
  '2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC',
  'not,an,ipv6,row',
  '2001:db8:9::,2001:db8:8::,1,end before start',
].join('\n') + '\n';

test('ASN table: lookups at and around every row bound, names in UTF-8, bad rows skipped', () => {
  const t = new AsnTable(buildAsnTable(enc.encode(V4), V6));
  assert.equal(t.size, 6 + 5, '6 IPv4 + 5 IPv6 rows survive');
  const at = (s: string) => t.find(ip(s));
  assert.deepEqual(at('1.0.0.0'), { number: 13335, org: 'Cloudflare, Inc.', start: ip('1.0.0.0').value, end: ip('1.0.0.255').value });
  assert.equal(at('1.0.0.255')?.number, 13335);
  assert.equal(at('1.0.1.0'), null, 'just past a row');
  assert.equal(at('1.0.3.255'), null, 'just before a row');
  assert.equal(at('1.0.4.0')?.org, 'Gtelecom Pty Ltd');
  assert.equal(at('0.0.0.0'), null, 'before the first row');
  assert.equal(at('255.255.255.255'), null, 'after the last row');
  assert.equal(at('8.8.4.4')?.org, 'Level 3', 'unsorted row found');
  assert.equal(at('8.8.8.8')?.org, 'Google LLC');
  assert.equal(at('2.0.0.9')?.org, 'Télécom Éire');
  assert.equal(at('3.0.0.1'), null, 'a row with an AS number beyond 32 bits is skipped');
  assert.equal(at('10.0.0.9')?.org, 'Quote "Inc"');
  assert.equal(at('::ffff:8.8.8.8')?.number, 15169, 'mapped IPv4 uses the IPv4 rows');

  assert.equal(at('2001:db8::')?.org, 'Low Words');
  assert.equal(at('2001:db8::ffff:ffff:ffff:ffff')?.org, 'Low Words');
  assert.equal(at('2001:db8:0:1::')?.org, 'Carry Before');
  assert.equal(at('2001:db8:0:1::ffff')?.org, 'Carry Before');
  assert.equal(at('2001:db8:0:1::1:0')?.org, 'Across A Carry');
  assert.equal(at('2001:db8:0:1:ffff:ffff:ffff:ffff')?.org, 'Across A Carry');
  assert.equal(at('2001:db8:0:2::')?.org, 'Across A Carry');
  assert.equal(at('2001:db8:0:2:0:1::')?.org, 'Across A Carry');
  assert.equal(at('2001:db8:0:2:0:1::1'), null, 'one past the end');
  assert.equal(at('2001:db8:0:1::1:ffff')?.org, 'Across A Carry');
  assert.equal(at('2001:db8:0:1::1:0')?.start, ip('2001:db8:0:1::1:0').value);
  assert.equal(at('2001:db8:0:1::1:0')?.end, ip('2001:db8:0:2:0:1::').value);
  assert.equal(at('2001:db8:9::1'), null, 'a row ending before it starts is skipped');
  assert.equal(at('2a01:4f9::1')?.number, 24940);
  assert.equal(at('2001:4860:4860::8888')?.org, 'Google LLC');
  assert.equal(at('::'), null);
  assert.equal(at('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), null);
});

test('ASN table: damaged or foreign images are refused with a reason', () => {
  const good = buildAsnTable(enc.encode(V4), V6);
  const copy = (mutate: (b: Uint8Array) => Uint8Array = (b) => b): ArrayBuffer => {
    const b = mutate(new Uint8Array(good).slice());
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  };
  assert.equal(new AsnTable(copy()).size, 11, 'an unshared copy opens too');
  assert.throws(() => new AsnTable(new ArrayBuffer(8)), /shorter than its header/);
  assert.throws(() => new AsnTable(copy((b) => b.subarray(0, b.length - 1))), /header announces/);
  assert.throws(() => new AsnTable(copy((b) => { b[0] ^= 1; return b; })), /bad magic/);
  assert.throws(() => new AsnTable(copy((b) => { new DataView(b.buffer).setUint32(4, 99, true); return b; })), /format 99, expected 1/);
  // First IPv4 org index (after the header and the start/end/asn columns) pointing past the names.
  assert.throws(() => new AsnTable(copy((b) => { new DataView(b.buffer).setUint32(32 + 3 * 6 * 4, 1000, true); return b; })), /names organisation 1000/);
  assert.equal(new Uint32Array(good, 0, 1)[0], ASN_TABLE_MAGIC);
});

/** A fake @ip-location-db/asn package directory. */
function fakePackage(dir: string, v4: string, v6: string, version = '1.2.3'): void {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: '@ip-location-db/asn', version }));
  writeFileSync(join(dir, 'asn-ipv4-num.csv'), v4);
  writeFileSync(join(dir, 'asn-ipv6.csv'), v6);
}

test('ASN cache: built once, then read; rebuilt when the CSV changes or the file is damaged', () => {
  const root = mkdtempSync(join(tmpdir(), 'palisade-asn-'));
  try {
    const pkg = join(root, 'pkg'), cache = join(root, 'cache', 'palisade');
    mkdirSync(pkg);
    fakePackage(pkg, V4, V6);
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);

    const first = loadAsnTable(pkg, cache, warn);
    assert.equal(first.from, 'built');
    assert.ok(first.path && statSync(first.path).size === first.table.buffer.byteLength);
    assert.match(first.path, /asn-1\.2\.3-[0-9a-f]{16}\.bin$/);
    const second = loadAsnTable(pkg, cache, warn);
    assert.equal(second.from, 'cache');
    assert.equal(second.path, first.path);
    assert.ok(second.table.buffer instanceof SharedArrayBuffer, 'read into shared memory');
    assert.deepEqual(new Uint8Array(second.table.buffer), new Uint8Array(first.table.buffer), 'same bytes');
    assert.equal(second.table.find(ip('8.8.8.8'))?.org, 'Google LLC');

    // A changed CSV (size and mtime) gives a new key: rebuilt, new answers.
    writeFileSync(join(pkg, 'asn-ipv4-num.csv'), `${v4n('8.8.8.0')},${v4n('8.8.8.255')},15169,Google Renamed\n`);
    const third = loadAsnTable(pkg, cache, warn);
    assert.equal(third.from, 'built');
    assert.notEqual(third.path, first.path);
    assert.equal(third.table.find(ip('8.8.8.8'))?.org, 'Google Renamed');
    assert.equal(third.table.find(ip('1.0.0.1')), null);

    // A damaged file under the right name is rebuilt, not used.
    writeFileSync(third.path!, readFileSync(third.path!).subarray(0, 40));
    const fourth = loadAsnTable(pkg, cache, warn);
    assert.equal(fourth.from, 'built');
    assert.equal(fourth.table.find(ip('8.8.8.8'))?.org, 'Google Renamed');
    assert.equal(loadAsnTable(pkg, cache, warn).from, 'cache');

    // A file with the right name but another source key (e.g. copied from elsewhere) is rebuilt.
    const foreign = buildAsnTable(enc.encode(V4), V6, [1, 2]);
    writeFileSync(fourth.path!, new Uint8Array(foreign));
    assert.equal(loadAsnTable(pkg, cache, warn).from, 'built');
    assert.equal(loadAsnTable(pkg, cache, warn).table.find(ip('8.8.8.8'))?.org, 'Google Renamed');

    // Only the newest images are kept.
    for (const v of ['2.0.0', '3.0.0', '4.0.0']) {
      fakePackage(pkg, V4, V6, v);
      assert.equal(loadAsnTable(pkg, cache, warn).from, 'built');
    }
    const left = readdirSync(cache).sort();
    assert.equal(left.length, 3, left.join(' '));
    assert.ok(left.every((n) => /^asn-[234]\.0\.0-/.test(n)), left.join(' '));
    assert.deepEqual(warnings, []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('ASN cache: no disk cache, or an unwritable one, converts in memory (one warning)', () => {
  const root = mkdtempSync(join(tmpdir(), 'palisade-asn-'));
  try {
    fakePackage(root, V4, V6);
    const warnings: string[] = [];
    const none = loadAsnTable(root, null, (m) => warnings.push(m));
    assert.equal(none.from, 'memory');
    assert.equal(none.path, null);
    assert.equal(warnings.length, 0, 'no cache asked for: nothing to warn about');

    // A regular file where the cache directory should be: mkdir fails whatever the user.
    const blocked = join(root, 'asn-ipv6.csv', 'cache');
    const a = loadAsnTable(root, blocked, (m) => warnings.push(m));
    const b = loadAsnTable(root, blocked, (m) => warnings.push(m));
    assert.equal(a.from, 'memory');
    assert.equal(b.from, 'memory');
    assert.equal(a.table.find(ip('1.0.0.1'))?.number, 13335);
    assert.equal(warnings.length, 1, 'warned once per process');
    assert.match(warnings[0]!, /cannot write the ASN table cache .*asn-ipv6\.csv\/cache\/asn-1\.2\.3-.*PALISADE_CACHE_DIR/);

    if (process.getuid?.() !== 0) {
      const ro = join(root, 'ro');
      mkdirSync(ro);
      chmodSync(ro, 0o500);
      assert.equal(loadAsnTable(root, ro, () => {}).from, 'memory');
    }
    assert.throws(() => loadAsnTable(join(root, 'missing'), null, () => {}), /ENOENT/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('ASN cache directory: PALISADE_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
  assert.equal(defaultCacheDir({ PALISADE_CACHE_DIR: '/x/p', XDG_CACHE_HOME: '/x/xdg' }), '/x/p');
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/x/xdg' }), '/x/xdg/palisade');
  assert.match(defaultCacheDir({}) ?? '', /\/\.cache\/palisade$/);
});

test('ASN table shared with a worker thread: same memory, same answers', async () => {
  const root = mkdtempSync(join(tmpdir(), 'palisade-asn-'));
  try {
    fakePackage(root, V4, V6);
    const src = new RangeAsnSource(loadAsnTable(root, null, () => {}).table, 'test');
    const shared = exportGeo({ city: null, asn: src });
    assert.ok(shared.asn && 'table' in shared.asn && shared.asn.table === src.table.buffer, 'exported without a copy');
    const probes = ['1.0.0.1', '8.8.4.4', '2.0.0.9', '10.0.0.12', '2001:db8:0:1::1:5', '2a01:4f9::1', '9.9.9.9'];
    const here = probes.map((p) => src.asn(ip(p)));
    const worker = new Worker(new URL('./geoip-share.worker.mjs', import.meta.url), { workerData: { geo: shared, probes } });
    const answer = await new Promise<unknown>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    assert.deepEqual(answer, { shared: true, answers: here });
    assert.deepEqual(importGeo(shared).asn?.asn(ip('8.8.8.8')), src.asn(ip('8.8.8.8')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------
// The installed data package (an optional dependency): skipped without it.

const asnDir = packageDir(ASN_PACKAGE);
const skip = asnDir ? false : `${ASN_PACKAGE} not installed (optional dependency)`;

test('installed ASN data: every sampled CSV row answers its own AS at both bounds; cached = converted', { skip }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'palisade-asn-'));
  try {
    const t0 = performance.now();
    const built = loadAsnTable(asnDir!, root, (m) => assert.fail(m));
    const buildMs = performance.now() - t0;
    const t1 = performance.now();
    const cached = loadAsnTable(asnDir!, root, (m) => assert.fail(m));
    const readMs = performance.now() - t1;
    assert.equal(built.from, 'built');
    assert.equal(cached.from, 'cache');
    assert.ok(readMs < buildMs, `reading the cache (${readMs.toFixed(1)} ms) beats converting (${buildMs.toFixed(1)} ms)`);
    const v4 = readFileSync(join(asnDir!, 'asn-ipv4-num.csv'));
    const v6 = readFileSync(join(asnDir!, 'asn-ipv6.csv'), 'utf8');
    const memory = rangeAsnFromCsv(v4, v6, 'memory').table;
    // Same image but for the source key stamped in header words 6-7.
    const a = new Uint8Array(memory.buffer), b = new Uint8Array(cached.table.buffer);
    assert.equal(a.length, b.length);
    assert.deepEqual(a.subarray(32), b.subarray(32));

    const t = cached.table;
    let checked = 0;
    const lines4 = v4.toString('utf8').split('\n');
    for (let i = 0; i < lines4.length; i += 97) {
      const m = /^(\d+),(\d+),(\d+),(.*)$/.exec(lines4[i]!.replace(/\r$/, ''));
      if (!m) continue;
      for (const bound of [m[1]!, m[2]!]) {
        const r = t.find({ family: 4, value: (0xffffn << 32n) | BigInt(bound) });
        assert.equal(r?.number, Number(m[3]), `row ${i} at ${bound}`);
        assert.equal(r?.org, m[4]!.replace(/^"(.*)"$/, '$1').replace(/""/g, '"'), `row ${i}`);
      }
      checked++;
    }
    const lines6 = v6.split('\n');
    for (let i = 0; i < lines6.length; i += 31) {
      const [s, e, n] = lines6[i]!.split(',');
      if (!s || !e || !n) continue;
      assert.equal(t.find(ip(s))?.number, Number(n), `v6 row ${i} at ${s}`);
      assert.equal(t.find(ip(e))?.number, Number(n), `v6 row ${i} at ${e}`);
      assert.equal(formatIp(t.find(ip(s))!.start, 6), formatIp(ip(s).value, 6));
      checked++;
    }
    assert.ok(checked > 5000, `${checked} rows checked`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('installed data: openGeoSources uses the cache and shares the table', { skip }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'palisade-asn-'));
  try {
    const g1 = await openGeoSources(undefined, (m) => assert.fail(m), true, { asnCacheDir: root });
    assert.equal(readdirSync(root).filter((n) => n.endsWith('.bin')).length, 1);
    const g2 = await openGeoSources(undefined, (m) => assert.fail(m), false, { asnCacheDir: root });
    assert.ok(g1.asn instanceof RangeAsnSource && g2.asn instanceof RangeAsnSource);
    for (const s of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '192.168.1.1']) assert.deepEqual(g2.asn.asn(ip(s)), g1.asn.asn(ip(s)), s);
    const shared: SharedGeo = exportGeo(g1);
    assert.ok(shared.asn && 'table' in shared.asn && shared.asn.table instanceof SharedArrayBuffer);
    assert.ok(shared.city && shared.city.files.every((f) => f instanceof SharedArrayBuffer));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
