import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addrKey,
  alertDecisionKey,
  capEventMeta,
  getTime,
  metaJsonBound,
  getU48,
  parseRfc3339,
  prefixEnd,
  StoreError,
  timeKey,
  U48_MAX,
  u48Key,
  valueKey,
} from '../../src/decisions/records.js';
import { mulberry32 } from '../../fixtures/seeded.js';

test('key encodings: big-endian, ordered like the numbers they hold, decodable', () => {
  for (const v of [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12345, U48_MAX]) assert.equal(getU48(u48Key(v), 0), v);
  const times = [-8.64e15, -1, 0, 1, 1_700_000_000_000, 8.64e15];
  const keys = times.map((t) => timeKey(t, 7));
  for (let i = 1; i < keys.length; i++) assert.equal(Buffer.compare(keys[i - 1]!, keys[i]!), -1, `${times[i - 1]} < ${times[i]}`);
  times.forEach((t, i) => assert.equal(getTime(keys[i]!, 0), t));
  assert.equal(getU48(timeKey(5, 99), 8), 99);
  assert.ok(Buffer.compare(timeKey(5), timeKey(5, 0)) < 0, 'the bare time sorts before every id at that time');
  // value keys: length-prefixed, so one value's prefix never covers another value
  const a = valueKey('ab'), ab1 = valueKey('ab', 1), abc1 = valueKey('abc', 1);
  assert.equal(ab1.subarray(0, a.length).equals(a), true);
  assert.equal(abc1.subarray(0, a.length).equals(a), false);
  assert.equal(getU48(ab1, ab1.length - 6), 1);
  assert.equal(valueKey('x'.repeat(1000)).length, 402, 'long values share a truncated key');
  assert.equal(addrKey(4, 120, new Uint8Array(16), 3).length, 24);
  assert.equal(getU48(alertDecisionKey(5, 6), 6), 6);
  assert.deepEqual([...prefixEnd(Buffer.from([1, 2, 0xff]))!], [1, 3]);
  assert.equal(prefixEnd(Buffer.from([0xff, 0xff])), undefined);
});

test('event meta cap: long values are stripped step by step, dropped when nothing fits', () => {
  const small = [{ key: 'a', value: 'b' }];
  assert.equal(capEventMeta(small), small);
  const cut = capEventMeta([{ key: 'k', value: 'v'.repeat(5000) }, { key: 'k2', value: 'w'.repeat(5000) }]);
  assert.deepEqual(cut.map((m) => m.value.length), [2048 + 10, 2048 + 10]);
  const many = Array.from({ length: 2000 }, (_, i) => ({ key: `key${i}`, value: 'x' }));
  assert.deepEqual(capEventMeta(many), [], 'keys alone exceed the limit');
});

test('event meta cap: the length bound never undercounts, and the cap answers as a full stringify would', () => {
  // The cap before the bound existed: stringify every time.
  const reference = (meta: { key: string; value: string }[]): { key: string; value: string }[] => {
    if (JSON.stringify(meta).length <= 8191) return meta;
    for (let n = 2048; n >= 1; n = Math.floor(n / 2)) {
      const cut = meta.map((m) => (m.value.length > 2 * n ? { key: m.key, value: m.value.slice(0, n) + '<stripped>' } : m));
      if (JSON.stringify(cut).length <= 8191) return cut;
    }
    return [];
  };
  const rnd = mulberry32(20261128);
  // Characters JSON writes as 1, 2 (\" \\ \n) or 6 (\u0001, lone surrogates) characters, and non-ASCII.
  const alphabet = ['a', 'Z', '0', ' ', '"', '\\', '\n', '\u0001', '\u00e9', '\ud800', '\udc00', '\u2028', '😀'];
  const text = (len: number): string => Array.from({ length: len }, () => alphabet[Math.floor(rnd() * alphabet.length)]!).join('');
  let capped = 0, exact = 0;
  for (let i = 0; i < 400; i++) {
    const n = Math.floor(rnd() * 12);
    // Sizes around the 8191 limit, from either side.
    const meta = Array.from({ length: n }, () => ({ key: text(1 + Math.floor(rnd() * 12)), value: text(Math.floor(rnd() * (i % 2 ? 1400 : 300))) }));
    const json = JSON.stringify(meta).length;
    assert.ok(metaJsonBound(meta) >= json, `bound ${metaJsonBound(meta)} < ${json}`);
    const got = capEventMeta(meta);
    assert.deepEqual(got, reference(meta));
    if (json <= 8191) { assert.equal(got, meta, 'under the limit: the same array'); exact++; } else capped++;
  }
  assert.ok(capped > 20 && exact > 20, `both sides of the limit covered (${capped} capped, ${exact} kept)`);
  assert.equal(metaJsonBound([]), JSON.stringify([]).length);
  // All-escaped text: off by the one comma counted for the last entry.
  assert.equal(metaJsonBound([{ key: '\u0001', value: '\u0001' }]), JSON.stringify([{ key: '\u0001', value: '\u0001' }]).length + 1);
});

test('RFC3339 parsing: zones, fractions, Go zero time, garbage', () => {
  assert.equal(parseRfc3339('2023-02-12T14:10:21Z'), Date.UTC(2023, 1, 12, 14, 10, 21));
  assert.equal(parseRfc3339('2023-02-12T14:10:21.123456789+01:00'), Date.UTC(2023, 1, 12, 13, 10, 21, 123));
  assert.equal(parseRfc3339('2023-02-12T14:10:21-05:30'), Date.UTC(2023, 1, 12, 19, 40, 21));
  assert.equal(new Date(parseRfc3339('0001-01-01T00:00:00Z')!).getUTCFullYear(), 1);
  for (const bad of ['', '2023-02-12', '2023-13-01T00:00:00Z', '12/02/2023 14:10', '2023-02-12T14:10:21']) assert.equal(parseRfc3339(bad), null, bad);
  const e = new StoreError('INVALID_INPUT', 'expected a string', { alert: 2, decision: 0, field: 'type' });
  assert.equal(e.message, 'alerts[2].decisions[0].type: expected a string');
  assert.equal(e.reason, 'expected a string');
});
