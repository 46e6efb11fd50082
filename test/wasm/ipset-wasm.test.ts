/**
 * The WebAssembly IP set (assembly/ipset.ts through src/bindings/ipset-core.ts) against its
 * TS twin, the radix tree of src/decisions/ipset.ts: one table of cases run on both, then a
 * seeded differential fuzz of inserts, deletes, batch / single / text lookups, covering and
 * inside, and a fuzz of the text parsers on mutated and random input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCidr } from '../../src/core/ip.js';
import {
  bigintToWords,
  INVALID_ADDRESS,
  NO_PREFIX,
  parseAddressWords,
  RadixPrefixSet,
  type BatchPrefixSet,
} from '../../src/decisions/ipset.js';
import { createWasmPrefixSet } from '../../src/bindings/ipset-wasm.js';
import * as abi from '../../src/bindings/abi.generated.js';
import { ensureWasm, prng } from './support.js';

ensureWasm();

const IMPLS: [string, () => BatchPrefixSet][] = [
  ['wasm', () => createWasmPrefixSet()],
  ['ts', () => new RadixPrefixSet()],
];

const words = (text: string): Int32Array => {
  const w = new Int32Array(4);
  assert.notEqual(parseAddressWords(text, w), 0, `parse ${text}`);
  return w;
};
/** Words and 128-bit length of a CIDR text (IPv4 /n is 96 + n); host bits kept as written. */
const cidr = (text: string): [Int32Array, number] => {
  const [addr, bits] = text.split('/');
  const w = words(addr!);
  const v4 = !addr!.includes(':');
  return [w, v4 ? Number(bits) + 96 : Number(bits)];
};
const sorted = (xs: readonly number[] | null): number[] | null => (xs ? [...xs].sort((a, b) => a - b) : null);

/** Ids answered for each text, by every lookup form: single, batch, strings, bytes. */
function answers(s: BatchPrefixSet, texts: string[]): (number[] | 'invalid')[] {
  const n = texts.length;
  const flat = new Int32Array(n * 4);
  const valid = texts.map((t, i) => parseAddressWords(t, flat.subarray(i * 4, i * 4 + 4)) !== 0);
  const batch = new Uint32Array(n);
  const byText = new Uint32Array(n);
  const byBytes = new Uint32Array(n);
  s.lookupBatch(flat, n, batch);
  s.lookupTextBatch(texts, byText);
  assert.equal(s.lookupTextBytes(Buffer.from(texts.join('\n'), 'latin1'), byBytes), n);
  return texts.map((t, i) => {
    if (!valid[i]) {
      assert.equal(byText[i], INVALID_ADDRESS, `text ${t}`);
      assert.equal(byBytes[i], INVALID_ADDRESS, `bytes ${t}`);
      return 'invalid';
    }
    const single = s.lookup(flat.subarray(i * 4, i * 4 + 4));
    for (const [what, h] of [['batch', batch[i]!], ['text', byText[i]!], ['bytes', byBytes[i]!]] as const) {
      assert.deepEqual(sorted(s.idsAt(h)), sorted(s.idsAt(single)), `${what} lookup of ${t}`);
    }
    const ids = sorted(s.idsAt(single))!;
    assert.deepEqual(sorted(s.longest(flat.subarray(i * 4, i * 4 + 4))), single === NO_PREFIX ? null : ids, `longest ${t}`);
    return ids;
  });
}

for (const [name, make] of IMPLS) {
  test(`${name}: the table of cases`, () => {
    const s = make();
    const queries = [
      '10.1.2.3', '10.1.2.4', '10.1.3.1', '10.2.0.1', '11.0.0.1', '::ffff:10.1.2.3', '::ffff:a01:203', '1.2.3.4',
      '2001:db8:1::5', '2001:db8:2::1', '2001:db9::1', '::1', '::', '0.0.0.0', '255.255.255.255',
      'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '10.0.255.255', '10.0.0.0', 'not an ip', '10.1.2', '',
      'fe80::1%eth0', '::ffff:0:0', '::fffe:0:1',
    ];
    const empty = answers(s, queries);
    for (const [i, a] of empty.entries()) assert.ok(a === 'invalid' || a.length === 0, `empty set answers nothing for ${queries[i]}`);

    s.insert(1, ...cidr('10.0.0.0/8'));
    s.insert(2, ...cidr('10.1.0.0/16'));
    s.insert(3, ...cidr('10.1.2.0/24'));
    s.insert(4, ...cidr('10.1.2.3/32'));
    s.insert(5, ...cidr('10.1.2.3/32')); // a second decision on the same prefix
    s.insert(6, ...cidr('2001:db8::/32'));
    s.insert(7, ...cidr('2001:db8:1::/48'));
    s.insert(8, ...cidr('2001:db8:1::5/128'));
    s.insert(9, ...cidr('10.0.0.0/15')); // straddles two 16-bit slots
    s.insert(10, ...cidr('255.255.255.255/32'));
    s.insert(11, ...cidr('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128'));
    assert.equal(s.size, 11);
    let got = answers(s, queries);
    const want: Record<string, number[] | 'invalid'> = {
      '10.1.2.3': [4, 5], '10.1.2.4': [3], '10.1.3.1': [2], '10.2.0.1': [1], '11.0.0.1': [], '::ffff:10.1.2.3': [4, 5],
      '::ffff:a01:203': [4, 5], '1.2.3.4': [], '2001:db8:1::5': [8], '2001:db8:2::1': [6], '2001:db9::1': [], '::1': [],
      '::': [], '0.0.0.0': [], '255.255.255.255': [10], 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff': [11],
      '10.0.255.255': [9], '10.0.0.0': [9], 'not an ip': 'invalid', '10.1.2': 'invalid', '': 'invalid', 'fe80::1%eth0': [],
      '::ffff:0:0': [], '::fffe:0:1': [],
    };
    assert.deepEqual(Object.fromEntries(queries.map((q, i) => [q, got[i]])), want);
    assert.deepEqual(s.covering(words('10.1.2.3')), [1, 9, 2, 3, 4, 5], 'covering, shortest first');
    assert.deepEqual(s.covering(words('10.1.2.3'), 120), [1, 9, 2, 3], 'covering up to /24');
    assert.deepEqual(sorted(s.inside(...cidr('10.1.0.0/16'))), [2, 3, 4, 5]);
    assert.deepEqual(sorted(s.inside(...cidr('10.0.0.0/8'))), [1, 2, 3, 4, 5, 9]);
    assert.deepEqual(sorted(s.inside(...cidr('2001:db8::/32'))), [6, 7, 8]);
    assert.deepEqual(s.inside(...cidr('10.1.2.4/32')), []);

    // /0 of each family: the other family never matches it (spec §7.5 "same family").
    s.insert(20, ...cidr('0.0.0.0/0'));
    s.insert(21, ...cidr('::/0'));
    got = answers(s, ['1.2.3.4', '::1', '11.0.0.1', '::ffff:1.2.3.4', '2001:db9::1', '10.1.2.3']);
    assert.deepEqual(got, [[20], [21], [20], [20], [21], [4, 5]]);
    assert.deepEqual(s.covering(words('10.1.2.3')), [20, 1, 9, 2, 3, 4, 5]);
    assert.deepEqual(s.covering(words('2001:db8:1::5')), [21, 6, 7, 8]);
    // A v6-family prefix over the v4-mapped block does not match IPv4 addresses.
    s.insert(22, ...cidr('::ffff:0:0/95'));
    assert.deepEqual(answers(s, ['1.2.3.4', '::fffe:0:1']), [[20], [22]]);

    // Deleting the longest restores the shorter one; deleting the last id of a prefix removes it.
    assert.equal(s.delete(4), true);
    assert.deepEqual(answers(s, ['10.1.2.3']), [[5]]);
    assert.equal(s.delete(5), true);
    assert.equal(s.delete(5), false);
    assert.deepEqual(answers(s, ['10.1.2.3']), [[3]]);
    assert.equal(s.delete(3), true);
    assert.equal(s.delete(2), true);
    assert.deepEqual(answers(s, ['10.1.2.3', '10.0.9.9']), [[9], [9]]);
    assert.equal(s.delete(9), true);
    assert.deepEqual(answers(s, ['10.1.2.3', '10.0.9.9']), [[1], [1]]);
    assert.equal(s.delete(20), true);
    assert.equal(s.delete(1), true);
    assert.deepEqual(answers(s, ['10.1.2.3', '2001:db8:1::5', '2001:db8:1::6']), [[], [8], [7]]);

    // Re-inserting an id moves it; host bits of a prefix are ignored.
    s.insert(30, ...cidr('1.2.3.99/24'));
    assert.deepEqual(answers(s, ['1.2.3.4']), [[30]]);
    s.insert(30, ...cidr('5.6.7.8/24'));
    assert.deepEqual(answers(s, ['1.2.3.4', '5.6.7.200']), [[], [30]]);
    s.insert(31, ...cidr('5.6.7.0/24'));
    assert.deepEqual(answers(s, ['5.6.7.1']), [[30, 31]]);
    assert.ok(s.has(31) && !s.has(4));
    assert.throws(() => s.insert(40, [0, 0, 0, 0], 129), RangeError);
    assert.throws(() => s.insert(40, [0, 0, 0, 0], -1), RangeError);
    assert.throws(() => s.lookupBatch(new Int32Array(4), 2, new Uint32Array(2)), RangeError);

    s.clear();
    assert.equal(s.size, 0);
    assert.deepEqual(answers(s, ['5.6.7.1', '2001:db8:1::5']), [[], []]);
    s.insert(1, ...cidr('5.6.7.0/24'));
    assert.deepEqual(answers(s, ['5.6.7.1']), [[1]]);
  });
}

test('wasm: lookups stay right after the module memory grows, inside() pages past one batch', () => {
  const s = createWasmPrefixSet();
  const before = s.heapBytes;
  const r = prng(9);
  const hex = () => Math.floor(r() * 65536).toString(16);
  const texts: string[] = [];
  for (let i = 0; i < 5000; i++) texts.push(`2001:db8:77:1:${hex()}:${hex()}:${hex()}:${hex()}`);
  texts.forEach((t, i) => s.insert(i + 1, words(t), 128));
  assert.equal(s.prefixes, new Set(texts).size);
  assert.equal(s.inside(...cidr('2001:db8:77:1::/64')).length, 5000, 'more than IPSET_MAX_BATCH results');
  // ~300,000 IPv4 /32s need ~19 MB of nodes: the memory grows several times.
  for (let i = 0; i < 300_000; i++) s.insert(10_000 + i, [0, 0, 0xffff, (Math.floor(r() * 2 ** 32) | 0)], 128);
  assert.ok(s.heapBytes > before + 16 * 2 ** 20, `heap grew to ${s.heapBytes}`);
  const out = new Uint32Array(texts.length);
  assert.equal(s.lookupTextBatch(texts, out), texts.length);
  texts.forEach((t, i) => assert.ok(s.idsAt(out[i]!).includes(i + 1), t));
  assert.equal(s.inside(...cidr('2001:db8:77:1::/64')).length, 5000);
});

test('wasm: very long texts (a zone) and the raw ABI results', () => {
  const s = createWasmPrefixSet();
  s.insert(1, ...cidr('fe80::/10'));
  const zone = `fe80::1%${'z'.repeat(3000)}`;
  const out = new Uint32Array(3);
  s.lookupTextBatch(['1.2.3.4', zone, 'fe80::2'], out);
  assert.deepEqual([...out].map((h) => h === INVALID_ADDRESS ? 'invalid' : [...s.idsAt(h)]), [[], [1], [1]]);
  const big = Buffer.from(`fe80::3\n${zone}\n${'9'.repeat(abi.IPSET_MAX_TEXT + 5)}\nfe80::4`, 'latin1');
  const out4 = new Uint32Array(4);
  assert.equal(s.lookupTextBytes(big, out4), 4);
  assert.deepEqual([...out4].map((h) => h === INVALID_ADDRESS ? 'invalid' : [...s.idsAt(h)]), [[1], [1], 'invalid', [1]]);
  assert.throws(() => s.lookupTextBytes(Buffer.from('1.2.3.4\n5.6.7.8'), new Uint32Array(1)), RangeError);

  // The exports themselves (what a non-TS caller of the module sees).
  const x = (s as unknown as { x: Record<string, (...a: number[]) => number> & { memory: { buffer: ArrayBuffer } } }).x;
  const arg = new Uint32Array(x.memory.buffer, abi.IPSET_ARG_OFFSET, 4);
  arg.set([0, 0, 0xffff, 0x0a000000]);
  assert.equal(x.ipsetInsert!(129, 5), abi.IPSET_BAD_LENGTH);
  assert.equal(x.ipsetInsert!(104, 0), abi.IPSET_BAD_VALUE);
  assert.equal(x.ipsetInsert!(104, 77), abi.IPSET_OK);
  assert.equal(x.ipsetGet!(104), 77);
  assert.equal(x.ipsetGet!(105), 0);
  assert.equal(x.ipsetRemove!(105), 0, 'absent prefix');
  assert.equal(x.ipsetRemove!(104), 77);
  assert.equal(x.ipsetRemove!(104), 0);
});

// ---------------------------------------------------------------------------------------
// Differential fuzz

/** Prefixes clustered so that they overlap a lot and straddle the 16-bit slots. */
function randomPrefix(r: () => number): [Int32Array, number] {
  const k = r();
  if (k < 0.55) {
    const a = [10 + Math.floor(r() * 2), Math.floor(r() * 4), Math.floor(r() * 4), Math.floor(r() * 8)];
    const bits = [0, 1, 7, 8, 12, 14, 15, 16, 17, 20, 24, 28, 31, 32, 32, 32][Math.floor(r() * 16)]!;
    return cidr(`${a.join('.')}/${bits}`);
  }
  if (k < 0.65) {
    // Around the v4-mapped block: below /96 these are IPv6-family prefixes.
    const bits = [64, 80, 95, 96, 104, 112, 120, 128][Math.floor(r() * 8)]!;
    return cidr(`::ffff:${10 + Math.floor(r() * 2)}.${Math.floor(r() * 4)}.0.${Math.floor(r() * 4)}/${bits}`);
  }
  const g = [['2001', '2002', '0'][Math.floor(r() * 3)]!, ['0', '1', 'db8'][Math.floor(r() * 3)]!, Math.floor(r() * 3).toString(16), '0', '0', '0', '0', Math.floor(r() * 4).toString(16)];
  const bits = [0, 1, 8, 15, 16, 17, 31, 32, 33, 48, 64, 96, 127, 128, 128][Math.floor(r() * 15)]!;
  return cidr(`${g.join(':')}/${bits}`);
}

function randomAddressText(r: () => number): string {
  const k = r();
  if (k < 0.55) return [10 + Math.floor(r() * 3), Math.floor(r() * 5), Math.floor(r() * 5), Math.floor(r() * 9)].join('.');
  if (k < 0.65) return `::ffff:${10 + Math.floor(r() * 3)}.${Math.floor(r() * 5)}.0.${Math.floor(r() * 5)}`;
  if (k < 0.7) return `::fffe:${Math.floor(r() * 3)}:${Math.floor(r() * 5)}`;
  return [['2001', '2002', '0', '2003'][Math.floor(r() * 4)]!, ['0', '1', 'db8'][Math.floor(r() * 3)]!, Math.floor(r() * 4).toString(16), '0', '0', '0', '0', Math.floor(r() * 5).toString(16)].join(':');
}

test('seeded differential fuzz: wasm set vs TS radix twin (100k+ ops and lookups)', () => {
  let ops = 0;
  let lookups = 0;
  let overlapping = 0;
  for (const seed of [1, 7, 42, 2026]) {
    const r = prng(seed);
    const w = createWasmPrefixSet();
    const t = new RadixPrefixSet();
    const live: number[] = [];
    let nextId = 1;
    const B = 48;
    const texts: string[] = new Array<string>(B);
    const flat = new Int32Array(B * 4);
    const outW = new Uint32Array(B);
    const outT = new Uint32Array(B);
    for (let step = 0; step < 26_000; step++) {
      const ctx = `seed ${seed} step ${step}`;
      const op = r();
      ops++;
      if (op < 0.42 || live.length === 0) {
        const [a, len] = randomPrefix(r);
        const id = r() < 0.05 && live.length ? live[Math.floor(r() * live.length)]! : nextId++;
        w.insert(id, a, len);
        t.insert(id, a, len);
        if (!live.includes(id)) live.push(id);
      } else if (op < 0.72) {
        const k = Math.floor(r() * live.length);
        const id = live[k]!;
        live[k] = live[live.length - 1]!;
        live.pop();
        assert.equal(w.delete(id), t.delete(id), ctx);
      } else if (op < 0.9995) {
        // A batch of lookups, every form, compared as id sets.
        for (let i = 0; i < B; i++) {
          texts[i] = randomAddressText(r);
          parseAddressWords(texts[i]!, flat.subarray(i * 4, i * 4 + 4));
        }
        const hw = w.lookupBatch(flat, B, outW);
        const ht = t.lookupBatch(flat, B, outT);
        assert.equal(hw, ht, `hits, ${ctx}`);
        for (let i = 0; i < B; i++) {
          const a = w.idsAt(outW[i]!), b = t.idsAt(outT[i]!);
          if (a.length !== b.length || sorted(a)!.join() !== sorted(b)!.join()) assert.fail(`${texts[i]}: wasm [${a}] ts [${b}], ${ctx}`);
        }
        lookups += B;
        if (step % 8 === 0) {
          assert.equal(w.lookupTextBatch(texts, outW), t.lookupTextBatch(texts, outT), ctx);
          for (let i = 0; i < B; i++) assert.deepEqual(sorted(w.idsAt(outW[i]!)), sorted(t.idsAt(outT[i]!)), `text ${texts[i]}, ${ctx}`);
          const a = flat.subarray(0, 4);
          const cw = w.covering(a);
          if (cw.length > 1) overlapping++;
          assert.deepEqual(cw, t.covering(a), `covering ${texts[0]}, ${ctx}`);
          const [p, len] = randomPrefix(r);
          assert.deepEqual(w.covering(p, len), t.covering(p, len), `covering /${len}, ${ctx}`);
          assert.deepEqual(sorted(w.inside(p, len)), sorted(t.inside(p, len)), `inside /${len}, ${ctx}`);
          lookups += B + 3;
        }
      } else {
        w.clear();
        t.clear();
        live.length = 0;
      }
      assert.equal(w.size, t.size, ctx);
    }
    for (const id of live) assert.equal(w.delete(id), true);
    assert.equal(w.size, 0);
    assert.equal(w.prefixes, 0, 'every prefix left the module');
    assert.deepEqual(answers(w, ['10.0.0.1', '2001:0:0::1']), [[], []]);
  }
  assert.ok(ops >= 100_000 && lookups >= 100_000, `${ops} ops, ${lookups} lookups`);
  assert.ok(overlapping > 300, `the fuzz should produce overlapping matches (${overlapping})`);
});

const ALPHABET = '0123456789abcdefABCDEF::..%% xg\n\r\u00e9\u4e2d\ud800';

function mutateText(r: () => number, s: string): string {
  const out: string[] = [];
  for (const c of s) {
    const k = r();
    if (k < 0.03) continue;
    if (k < 0.06) out.push(ALPHABET[Math.floor(r() * ALPHABET.length)]!);
    else if (k < 0.08) out.push(c, c);
    else out.push(c);
  }
  if (r() < 0.05) out.push('%', 'eth0'.slice(0, Math.floor(r() * 5)));
  return out.join('');
}

test('text parsers agree: wasm (strings and bytes) vs TS on mutated and random texts', () => {
  const r = prng(31337);
  const w = createWasmPrefixSet();
  const t = new RadixPrefixSet();
  for (let i = 0; i < 400; i++) {
    const [a, len] = randomPrefix(r);
    w.insert(i + 1, a, len);
    t.insert(i + 1, a, len);
  }
  let valid = 0;
  let invalid = 0;
  for (let round = 0; round < 60; round++) {
    const texts: string[] = [];
    for (let i = 0; i < 500; i++) {
      const k = r();
      const g = () => Math.floor(r() * 65536).toString(16);
      const base = k < 0.3 ? randomAddressText(r)
        : k < 0.5 ? `${g()}:${g()}::${g()}:${Math.floor(r() * 256)}.${Math.floor(r() * 300)}.1.${Math.floor(r() * 10)}`
          : k < 0.7 ? Array.from({ length: 8 }, g).join(':')
            : k < 0.85 ? `${Math.floor(r() * 300)}.${Math.floor(r() * 256)}.${r() < 0.1 ? '0' : ''}${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`
              : Array.from({ length: Math.floor(r() * 20) }, () => ALPHABET[Math.floor(r() * ALPHABET.length)]).join('');
      texts.push(r() < 0.5 ? mutateText(r, base) : base);
    }
    const ow = new Uint32Array(texts.length), ot = new Uint32Array(texts.length);
    assert.equal(w.lookupTextBatch(texts, ow), t.lookupTextBatch(texts, ot));
    for (let i = 0; i < texts.length; i++) {
      const ctx = `round ${round}: ${JSON.stringify(texts[i])}`;
      assert.equal(ow[i] === INVALID_ADDRESS, ot[i] === INVALID_ADDRESS, ctx);
      assert.deepEqual(sorted(w.idsAt(ow[i]!)), sorted(t.idsAt(ot[i]!)), ctx);
      if (ot[i] === INVALID_ADDRESS) invalid++;
      else valid++;
    }
    // The same texts as latin1 bytes (one byte per unit below 256), lines as the bytes cut them.
    const bytes = Uint8Array.from(texts.join('\n'), (c) => c.charCodeAt(0) & 0xff);
    const bw = new Uint32Array(bytes.length + 1), bt = new Uint32Array(bytes.length + 1);
    const nw = w.lookupTextBytes(bytes, bw);
    assert.equal(nw, t.lookupTextBytes(bytes, bt));
    for (let i = 0; i < nw; i++) {
      assert.equal(bw[i] === INVALID_ADDRESS, bt[i] === INVALID_ADDRESS, `bytes line ${i}, round ${round}`);
      assert.deepEqual(sorted(w.idsAt(bw[i]!)), sorted(t.idsAt(bt[i]!)), `bytes line ${i}, round ${round}`);
    }
  }
  assert.ok(valid > 5000 && invalid > 5000, `valid ${valid}, invalid ${invalid}`);
});

test('IP-set regions: after the scanner pages, ordered, disjoint, aligned; nodes on cache lines', () => {
  const regions: [string, number, number][] = [
    ['ARG', abi.IPSET_ARG_OFFSET, 16],
    ['STATUS', abi.IPSET_STATUS_OFFSET, 16],
    ['SCRATCH', abi.IPSET_SCRATCH_OFFSET, 32],
    ['STACK', abi.IPSET_STACK_OFFSET, abi.IPSET_STACK_BYTES],
    ['MASKS', abi.IPSET_MASKS_OFFSET, 129 * 16],
    ['HEX', abi.IPSET_HEX_OFFSET, 256],
    ['ADDRS', abi.IPSET_ADDRS_OFFSET, abi.IPSET_MAX_BATCH * 16],
    ['RESULTS', abi.IPSET_RESULTS_OFFSET, abi.IPSET_MAX_BATCH * 4],
    ['QUEUE', abi.IPSET_QUEUE_OFFSET, abi.IPSET_MAX_BATCH * 4],
    ['TEXT', abi.IPSET_TEXT_OFFSET, abi.IPSET_MAX_TEXT],
    ['DT4', abi.IPSET_DT4_OFFSET, abi.IPSET_SLOTS * 8],
    ['DT6', abi.IPSET_DT6_OFFSET, abi.IPSET_SLOTS * 8],
  ];
  let end = abi.IPSET_BASE;
  assert.ok(abi.IPSET_BASE >= abi.MEMORY_PAGES * abi.PAGE_SIZE, 'a scanner instance never touches the IP-set regions');
  for (const [name, off, size] of regions) {
    assert.equal(off, end, `${name} starts where the previous region ends`);
    assert.equal(off % 16, 0, `${name} is 16-byte aligned (v128 loads)`);
    end = off + size;
  }
  assert.ok(abi.IPSET_HEAP_OFFSET >= end && abi.IPSET_HEAP_OFFSET - end < 64);
  assert.equal(abi.IPSET_HEAP_OFFSET % 64, 0, 'two node records per cache line, none straddling');
  assert.ok(abi.IPSET_MEMORY_PAGES * abi.PAGE_SIZE >= abi.IPSET_HEAP_OFFSET + 3 * abi.IPSET_NODE_BYTES);
  assert.equal(1 << abi.IPSET_SLOT_BITS, abi.IPSET_SLOTS);
  assert.ok(abi.IPSET_STACK_BYTES >= 130 * 4, 'a walk stack of 129 levels and one pending sibling');
  const readme = readFileSync(fileURLToPath(new URL('../../assembly/README.md', import.meta.url)), 'utf8');
  for (const name of ['IPSET_ARG_OFFSET', 'IPSET_STATUS_OFFSET', 'IPSET_ADDRS_OFFSET', 'IPSET_RESULTS_OFFSET', 'IPSET_TEXT_OFFSET', 'IPSET_DT4_OFFSET', 'IPSET_HEAP_OFFSET'] as const) {
    assert.ok(readme.includes(`${name} = ${abi[name]}`), `assembly/README.md quotes ${name} = ${abi[name]}`);
  }
  assert.ok(readme.includes(`IPSET_BASE = ${abi.IPSET_BASE}`));
});

test('CIDR texts of core/ip give the same prefixes as the test helper', () => {
  // Guards the helper above: parseCidr's start and length are what the sets receive in the API.
  for (const c of ['10.1.2.0/24', '2001:db8::/32', '::ffff:10.0.0.0/104', '0.0.0.0/0', '::/0']) {
    const p = parseCidr(c)!;
    const [w, len] = cidr(c);
    assert.deepEqual([...bigintToWords(p.start)], [...w].map((x, i) => x & (i * 32 >= len ? 0 : len - i * 32 >= 32 ? -1 : ~(-1 >>> (len - i * 32)))));
    assert.equal(p.family === 4 ? p.prefix + 96 : p.prefix, len);
  }
});
