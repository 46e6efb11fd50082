import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressMatches,
  addrToBytes,
  blockEnd,
  bytesToAddr,
  intervalContains,
  isAddressScope,
  maskTo,
  parseInterval,
} from '../../src/decisions/address.js';

const V4 = 0xffffn << 32n;

test('IPv4 addresses and ranges map into ::ffff:0:0/96 with a 128-bit prefix', () => {
  assert.deepEqual(parseInterval('1.2.3.4'), { family: 4, prefix128: 128, start: V4 | 0x01020304n, end: V4 | 0x01020304n });
  const r = parseInterval('10.0.0.77/24')!;
  assert.equal(r.family, 4);
  assert.equal(r.prefix128, 120);
  assert.equal(r.start, V4 | 0x0a000000n); // host bits cleared, as Go's ParseCIDR
  assert.equal(r.end, V4 | 0x0a0000ffn);
  // IPv4-mapped IPv6 counts as IPv4 (spec §7.5)
  assert.deepEqual(parseInterval('::ffff:1.2.3.4'), parseInterval('1.2.3.4'));
});

test('IPv6 ranges and invalid text', () => {
  const r = parseInterval('2001:db8::/32')!;
  assert.equal(r.family, 6);
  assert.equal(r.prefix128, 32);
  assert.equal(r.start, 0x20010db8n << 96n);
  assert.equal(r.end, (0x20010db8n << 96n) | ((1n << 96n) - 1n));
  for (const bad of ['', '1.2.3', '1.2.3.4/33', '2001:db8::/129', 'bob', '1.2.3.256', '::1/x']) {
    assert.equal(parseInterval(bad), null, bad);
  }
});

test('contains=true wants decisions holding the query; contains=false decisions inside it; families never mix', () => {
  const d24 = parseInterval('10.0.0.0/24')!;
  const ip = parseInterval('10.0.0.5')!;
  const q16 = parseInterval('10.0.0.0/16')!;
  assert.equal(addressMatches(d24, ip, true), true);
  assert.equal(addressMatches(d24, ip, false), false);
  assert.equal(addressMatches(d24, q16, true), false);
  assert.equal(addressMatches(d24, q16, false), true);
  assert.equal(intervalContains(d24, d24), true);
  const all6 = parseInterval('::/0')!;
  assert.equal(intervalContains(all6, ip), false, 'an IPv6 ::/0 does not hold an IPv4 address');
});

test('masks, block ends and the 16-byte big-endian form round-trip', () => {
  const a = parseInterval('2001:db8:1234:5678::9')!.start;
  assert.equal(maskTo(a, 48), 0x20010db81234n << 80n);
  assert.equal(maskTo(a, 0), 0n);
  assert.equal(maskTo(a, 128), a);
  assert.equal(blockEnd(0n, 0), (1n << 128n) - 1n);
  assert.equal(blockEnd(a, 128), a);
  const b = addrToBytes(a);
  assert.equal(b.length, 16);
  assert.equal(b[0], 0x20);
  assert.equal(b[15], 0x09);
  assert.equal(bytesToAddr(b), a);
  assert.equal(bytesToAddr(addrToBytes((1n << 128n) - 1n)), (1n << 128n) - 1n);
  assert.equal(isAddressScope('ip'), true);
  assert.equal(isAddressScope('RANGE'), true);
  assert.equal(isAddressScope('Country'), false);
});
