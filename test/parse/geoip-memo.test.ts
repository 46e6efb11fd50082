import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildEnrichers } from '../../src/parse/enrichers/index.js';
import { detach, GeoMemo } from '../../src/parse/enrichers/geo-memo.js';
import { PEvent } from '../../src/core/event.js';
import { ASN_PACKAGE, CITY_PACKAGE, packageDir } from '../../src/parse/enrichers/geoip.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

test('detach: equal strings, whatever their length or characters', () => {
  for (const s of ['', '1.2.3.4', '109.196.230.59', '2001:db8::1234:5678', 'Télécom Éire, ☃ and more text'.repeat(3)]) {
    const sliced = `prefix ${s} suffix`.slice(7, 7 + s.length);
    assert.equal(detach(sliced), s);
  }
});

test('detach: a kept slice no longer holds its 1 MB parent (as GeoIP memo keys did in pool workers)', () => {
  const decoder = new TextDecoder();
  const N = 40, MB = 1 << 20;
  // Like batchText(): one flat string per 1 MB batch, an address sliced out of each.
  const batch = (i: number): string => decoder.decode(new Uint8Array(MB).fill(97 + (i % 26)));
  const slices = (keep: (s: string) => string): string[] => {
    const out: string[] = [];
    for (let i = 0; i < N; i++) out.push(keep(batch(i).slice(1000, 1000 + 15)));
    return out;
  };
  const base = heapAfterGc();
  const pinned = slices((s) => s);
  const withParents = heapAfterGc() - base;
  assert.equal(pinned.length, N);
  pinned.length = 0;
  const base2 = heapAfterGc();
  const copies = slices(detach);
  const withoutParents = heapAfterGc() - base2;
  assert.equal(copies[0], 'a'.repeat(15));
  assert.ok(withParents > (N / 2) * MB, `raw slices keep their batches: ${(withParents / MB).toFixed(1)} MB`);
  assert.ok(withoutParents < 4 * MB, `detached slices do not: ${(withoutParents / MB).toFixed(1)} MB`);
});

const installed = packageDir(CITY_PACKAGE) !== null && packageDir(ASN_PACKAGE) !== null;

test('GeoMemo: one slot per address for the three methods, answers shared by content, bounded', () => {
  const memo = new GeoMemo(4);
  let calls = 0;
  const city = (v: string) => { calls++; return v.startsWith('10.') ? null : new Map([['IsoCode', v.startsWith('1.') ? 'AU' : 'US']]); };
  const range = (v: string) => { calls++; return new Map([['SourceRange', `${v}/32`]]); };
  const a = memo.get(0, '1.1.1.1', city);
  assert.deepEqual(a, new Map([['IsoCode', 'AU']]));
  assert.equal(memo.get(0, '1.1.1.1', city), a, 'a hit returns the stored map');
  assert.equal(calls, 1);
  assert.deepEqual(memo.get(2, '1.1.1.1', range), new Map([['SourceRange', '1.1.1.1/32']]));
  assert.equal(memo.size, 1, 'two methods, one address, one slot');
  assert.equal(memo.get(0, '1.2.3.4', city), a, 'same content: the same map object');
  assert.equal(memo.get(0, '10.0.0.1', city), null);
  assert.equal(memo.get(0, '10.0.0.1', city), null);
  assert.equal(calls, 4, 'null answers are memoised too');
  assert.notEqual(memo.get(0, '8.8.8.8', city), a);
  assert.equal(memo.size, 4);
  memo.get(0, '9.9.9.9', city);
  assert.equal(memo.size, 1, 'full: started over');
  const before = calls;
  memo.get(0, '1.1.1.1', city);
  assert.equal(calls, before + 1, 'forgotten after starting over');
});

test('GeoMemo: the last address is answered without a map look-up, across start-overs and methods', () => {
  const memo = new GeoMemo(2);
  const calls = new Map<string, number>();
  const fn = (m: number) => (v: string) => {
    calls.set(`${m}:${v}`, (calls.get(`${m}:${v}`) ?? 0) + 1);
    return new Map([['k', `${m}:${v}`]]);
  };
  const fns = [fn(0), fn(1), fn(2)] as const;
  // A seeded-like fixed walk: repeats of the last address, returns to older ones, and a
  // bound of 2 so that the map starts over while the last slot is still in use.
  const walk = ['a', 'a', 'b', 'b', 'a', 'c', 'c', 'a', 'b', 'd', 'd', 'd', 'a'];
  const seen = new Set<string>();
  let computed = 0;
  for (const v of walk) {
    for (const m of [0, 2, 1, 0] as const) {
      const got = memo.get(m, v, fns[m]);
      assert.deepEqual(got, new Map([['k', `${m}:${v}`]]), `${m}(${v})`);
    }
    seen.add(v);
  }
  for (const n of calls.values()) computed += n;
  // Each (method, address) is computed once per stay in the memo; the last address never
  // again while it stays the last one, whatever the map holds.
  for (const v of seen) for (const m of [0, 1, 2]) assert.ok((calls.get(`${m}:${v}`) ?? 0) >= 1);
  assert.equal(calls.get('0:d'), 1, 'a run of the same address computes once');
  assert.ok(computed < walk.length * 3, `${computed} computations for ${walk.length * 4} calls`);
});

test('GeoIP memo: answers are those of the direct path, for repeated and new addresses', { skip: installed ? false : 'GeoIP data packages not installed' }, async () => {
  const warn = () => {};
  const memo = await buildEnrichers({ warn });
  const direct = await buildEnrichers({ warn, memo: false });
  const evt = new PEvent({ Raw: '', Src: '', Time: new Date(0), Labels: new Map(), Module: '', Process: false });
  assert.ok(memo.has('GeoIpASN') && memo.has('GeoIpCity') && memo.has('IpToRange'));
  const line = 'Jan  5 00:00:00 host sshd[1]: Failed password for root from 109.196.230.59 port 1 ssh2';
  const addr = line.slice(line.indexOf('from ') + 5, line.indexOf(' port'));
  for (const method of ['GeoIpCity', 'GeoIpASN', 'IpToRange']) {
    for (const v of [addr, addr, '8.8.8.8', '2001:4860:4860::8888', 'not an ip', '']) {
      assert.deepEqual(memo.get(method)!(v, evt), direct.get(method)!(v, evt), `${method}(${v})`);
    }
  }
});
