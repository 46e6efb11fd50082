/**
 * The radix IP set against its linear twin (same interface, BigInt intervals): seeded
 * random inserts, deletes and lookups over overlapping IPv4 and IPv6 prefixes, plus the
 * text parser against core/ip.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp, parseCidr } from '../../src/core/ip.js';
import {
  bigintToWords,
  LinearPrefixSet,
  parseAddressWords,
  prefixFamily,
  RadixPrefixSet,
  wordsToBigint,
  type PrefixSet,
} from '../../src/decisions/ipset.js';
import { rng } from './support.js';

const words = (text: string): Int32Array => {
  const w = new Int32Array(4);
  assert.notEqual(parseAddressWords(text, w), 0, `parse ${text}`);
  return w;
};
const cidr = (text: string): [Int32Array, number] => {
  const r = parseCidr(text);
  assert.ok(r, text);
  return [bigintToWords(r.start), r.family === 4 ? r.prefix + 96 : r.prefix];
};
const sorted = (xs: readonly number[] | null) => (xs ? [...xs].sort((a, b) => a - b) : null);

test('covering returns every overlapping prefix, shortest first; families never mix', () => {
  const s = new RadixPrefixSet();
  s.insert(1, ...cidr('10.0.0.0/8'));
  s.insert(2, ...cidr('10.1.0.0/16'));
  s.insert(3, ...cidr('10.1.2.0/24'));
  s.insert(4, ...cidr('10.1.2.3/32'));
  s.insert(5, ...cidr('10.1.2.3/32')); // two decisions on one value
  s.insert(6, ...cidr('::/0')); // IPv6 family: must not match IPv4 queries (spec §7.5)
  s.insert(7, ...cidr('2001:db8::/32'));
  s.insert(8, ...cidr('2001:db8:1::/48'));
  s.insert(9, ...cidr('0.0.0.0/0'));
  assert.deepEqual(s.covering(words('10.1.2.3')), [9, 1, 2, 3, 4, 5]);
  assert.deepEqual(s.covering(words('10.1.2.4')), [9, 1, 2, 3]);
  assert.deepEqual(s.covering(words('10.2.0.1')), [9, 1]);
  assert.deepEqual(s.covering(words('::ffff:10.1.2.3')), [9, 1, 2, 3, 4, 5]);
  assert.deepEqual(s.covering(words('2001:db8:1::5')), [6, 7, 8]);
  assert.deepEqual(s.covering(words('2001:db9::1')), [6]);
  assert.deepEqual(sorted(s.longest(words('10.1.2.3'))), [4, 5]);
  assert.deepEqual(s.longest(words('2001:db8:2::1')), [7]);
  assert.deepEqual(s.covering(words('10.1.2.3'), 120), [9, 1, 2, 3]); // range=10.1.2.0/24 contains=true
  assert.deepEqual(sorted(s.inside(...cidr('10.1.0.0/16'))), [2, 3, 4, 5]);
  assert.deepEqual(sorted(s.inside(...cidr('2001:db8::/32'))), [7, 8]);
  assert.equal(s.size, 9);
});

test('deletes prune the tree and leave the other prefixes answering', () => {
  const s = new RadixPrefixSet();
  s.insert(1, ...cidr('192.168.0.0/16'));
  s.insert(2, ...cidr('192.168.1.0/24'));
  s.insert(3, ...cidr('192.168.1.7/32'));
  s.insert(4, ...cidr('192.168.2.7/32'));
  assert.equal(s.delete(2), true);
  assert.equal(s.delete(2), false);
  assert.deepEqual(s.covering(words('192.168.1.7')), [1, 3]);
  assert.equal(s.delete(1), true);
  assert.deepEqual(s.covering(words('192.168.1.7')), [3]);
  assert.deepEqual(s.covering(words('192.168.2.7')), [4]);
  assert.equal(s.delete(3), true);
  assert.equal(s.delete(4), true);
  assert.deepEqual(s.covering(words('192.168.2.7')), []);
  assert.equal(s.size, 0);
  // Re-inserting an id moves it.
  s.insert(9, ...cidr('1.2.3.0/24'));
  s.insert(9, ...cidr('5.6.7.0/24'));
  assert.deepEqual(s.covering(words('1.2.3.4')), []);
  assert.deepEqual(s.covering(words('5.6.7.8')), [9]);
});

test('parseAddressWords agrees with core/ip parseIp on valid and invalid text', () => {
  const cases = [
    '1.2.3.4', '0.0.0.0', '255.255.255.255', '01.2.3.4', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.4 ',
    '::', '::1', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8::', '1::2::3',
    ':::', ':1::', '1:', '12345::', '::ffff:1.2.3.4', '::FFFF:1.2.3.4', '::1.2.3.4', '1:2:3:4:5:6:1.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3.4:5', 'fe80::1%eth0', '2001:DB8::A', 'g::1', '', ':', '1.2.3.04',
    '::ffff:0:0', '::fffe:1.2.3.4', '64:ff9b::1.2.3.4',
    // Shapes the API's ?ip= path relies on this parser alone to refuse (no second check).
    '1::2:3:4:5:6:1.2.3.4', '1::2:3:4:5:1.2.3.4', '::ab.1.2.3', ':1.2.3.4', '1.2.3.4::', '1.2.3.4::1', 'fe80::1%', '%eth0', '::%x', 'f%::',
    '1:2:3:4:5:6:7:', ' ::1', '::1 ', '::1\n', '1:2:3:4:5:6:7:8:9', '::01234', '::-1', '::+1', '::0x1', '1:::2', '::1.2.3.4.5', '::1.2.3',
    '::256.1.1.1', '::1.02.3.4', '[::1]', '::1/128', '１::1',
  ];
  const r = rng(7);
  for (let i = 0; i < 2000; i++) {
    const g = Array.from({ length: 8 }, () => Math.floor(r() * 65536).toString(16));
    const cut = Math.floor(r() * 8);
    cases.push(r() < 0.5 ? g.join(':') : g.slice(0, cut).join(':') + '::' + g.slice(cut + 1 + Math.floor(r() * (7 - cut))).join(':'));
    cases.push(`${Math.floor(r() * 300)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`);
  }
  const w = new Int32Array(4);
  for (const c of cases) {
    const ref = parseIp(c);
    const fam = parseAddressWords(c, w);
    if (!ref) assert.equal(fam, 0, `'${c}' should be rejected`);
    else {
      assert.equal(fam, ref.family, `family of '${c}'`);
      assert.equal(wordsToBigint(w), ref.value, `value of '${c}'`);
    }
  }
});

/** Random prefixes clustered so that they overlap a lot: few /8s, nested /16, /24, /32, and IPv6 likewise. */
function randomPrefix(r: () => number): [Int32Array, number, string] {
  if (r() < 0.6) {
    const a = [10 + Math.floor(r() * 3), Math.floor(r() * 4), Math.floor(r() * 4), Math.floor(r() * 8)];
    const bits = [0, 8, 12, 16, 20, 24, 28, 30, 31, 32, 32, 32][Math.floor(r() * 12)]!;
    const text = `${a.join('.')}/${bits}`;
    return [...cidr(text), text];
  }
  const g = ['2001', 'db8', Math.floor(r() * 3).toString(16), '0', '0', '0', '0', Math.floor(r() * 4).toString(16)];
  const bits = [0, 16, 32, 33, 48, 64, 96, 127, 128, 128][Math.floor(r() * 10)]!;
  const text = `${g.join(':')}/${bits}`;
  return [...cidr(text), text];
}

function randomAddress(r: () => number): Int32Array {
  if (r() < 0.6) return words([10 + Math.floor(r() * 4), Math.floor(r() * 5), Math.floor(r() * 5), Math.floor(r() * 9)].join('.'));
  return words(['2001', 'db8', Math.floor(r() * 4).toString(16), '0', '0', '0', '0', Math.floor(r() * 5).toString(16)].join(':'));
}

test('seeded differential fuzz: radix tree vs linear twin (inserts, deletes, covering, longest, inside)', () => {
  let hits = 0;
  for (const seed of [1, 2, 3, 42, 2026]) {
    const r = rng(seed);
    const fast: PrefixSet = new RadixPrefixSet();
    const twin: PrefixSet = new LinearPrefixSet();
    const live: number[] = [];
    let nextId = 1;
    for (let step = 0; step < 3000; step++) {
      const op = r();
      if (op < 0.45 || live.length === 0) {
        const [w, len] = randomPrefix(r);
        const id = r() < 0.05 && live.length ? live[Math.floor(r() * live.length)]! : nextId++;
        fast.insert(id, w, len);
        twin.insert(id, w, len);
        if (!live.includes(id)) live.push(id);
      } else if (op < 0.7) {
        const k = Math.floor(r() * live.length);
        const id = live[k]!;
        live.splice(k, 1);
        assert.equal(fast.delete(id), twin.delete(id));
      } else {
        const a = randomAddress(r);
        const ctx = `seed ${seed} step ${step}`;
        const got = fast.covering(a);
        if (got.length > 1) hits++;
        assert.deepEqual(sorted(got), sorted(twin.covering(a)), `covering, ${ctx}`);
        assert.deepEqual(sorted(fast.longest(a)), sorted(twin.longest(a)), `longest, ${ctx}`);
        const [w, len] = randomPrefix(r);
        assert.deepEqual(sorted(fast.covering(w, len)), sorted(twin.covering(w, len)), `covering /${len}, ${ctx}`);
        assert.deepEqual(sorted(fast.inside(w, len)), sorted(twin.inside(w, len)), `inside /${len}, ${ctx}`);
      }
      assert.equal(fast.size, twin.size);
    }
    // Drain everything: the tree must end empty and still answer.
    for (const id of live) assert.equal(fast.delete(id), true);
    assert.equal(fast.size, 0);
    assert.deepEqual(fast.covering(words('10.0.0.1')), []);
  }
  assert.ok(hits > 500, `the fuzz should produce overlapping matches (${hits})`);
});

test('prefix family follows core/ip parseCidr', () => {
  for (const t of ['1.2.3.0/24', '::ffff:1.2.3.0/120', '::ffff:0:0/96', '::/0', '::ffff:0:0/95', '2001:db8::/32', '0.0.0.0/0']) {
    const r = parseCidr(t)!;
    const [w, len] = [bigintToWords(r.start), r.family === 4 ? r.prefix + 96 : r.prefix];
    assert.equal(prefixFamily(w, len), r.family, t);
  }
  assert.throws(() => new RadixPrefixSet().insert(1, [0, 0, 0, 0], 129), /outside 0..128/);
});
