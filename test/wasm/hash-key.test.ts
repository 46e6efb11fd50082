/**
 * hashKey128 is MurmurHash3 x86 128-bit over the string's UTF-16LE bytes: checked against a
 * byte-wise implementation of the algorithm written here, for every tail length (the tail is
 * read with explicit bounds, zero-padded) and both seeds the bucket table uses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DISTINCT_SEED, hashKey128 } from '../../src/bindings/buckets-core.js';
import { prng } from './support.js';

const C1 = 0x239b961b, C2 = 0xab0e9789, C3 = 0x38b34ae5, C4 = 0xa1e38b93;
const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));
const fmix = (h: number): number => {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
};

/** MurmurHash3_x86_128 of `data`, as four uint32 words. */
function murmur128(data: Uint8Array, seed: number): number[] {
  let h1 = seed | 0, h2 = h1, h3 = h1, h4 = h1;
  const word = (p: number): number => data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16) | (data[p + 3]! << 24);
  const blocks = data.length >>> 4;
  for (let b = 0; b < blocks; b++) {
    const p = b * 16;
    h1 ^= Math.imul(rotl(Math.imul(word(p), C1), 15), C2);
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    h2 ^= Math.imul(rotl(Math.imul(word(p + 4), C2), 16), C3);
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    h3 ^= Math.imul(rotl(Math.imul(word(p + 8), C3), 17), C4);
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    h4 ^= Math.imul(rotl(Math.imul(word(p + 12), C4), 18), C1);
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  // Tail: the remaining bytes, zero-padded to four little-endian words.
  const tail = new Uint8Array(16);
  tail.set(data.subarray(blocks * 16));
  const rest = data.length - blocks * 16;
  const t = (i: number): number => tail[i]! | (tail[i + 1]! << 8) | (tail[i + 2]! << 16) | (tail[i + 3]! << 24);
  if (rest > 12) h4 ^= Math.imul(rotl(Math.imul(t(12), C4), 18), C1);
  if (rest > 8) h3 ^= Math.imul(rotl(Math.imul(t(8), C3), 17), C4);
  if (rest > 4) h2 ^= Math.imul(rotl(Math.imul(t(4), C2), 16), C3);
  if (rest > 0) h1 ^= Math.imul(rotl(Math.imul(t(0), C1), 15), C2);
  const len = data.length;
  h1 ^= len; h2 ^= len; h3 ^= len; h4 ^= len;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0; h3 = (h3 + h1) | 0; h4 = (h4 + h1) | 0;
  h1 = fmix(h1); h2 = fmix(h2); h3 = fmix(h3); h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0; h3 = (h3 + h1) | 0; h4 = (h4 + h1) | 0;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

test('hashKey128 is MurmurHash3 x86_128 of the UTF-16LE bytes, every tail length, both seeds', () => {
  const rnd = prng(20261128);
  const out = new Uint32Array(6);
  let checked = 0;
  for (let n = 0; n <= 40; n++) {
    for (let k = 0; k < 30; k++) {
      // ASCII, then any code unit (lone surrogates included: the hash reads code units).
      const wide = k % 2 === 1;
      let s = '';
      for (let j = 0; j < n; j++) s += String.fromCharCode(Math.floor(rnd() * (wide ? 0x10000 : 0x80)));
      for (const seed of [0, DISTINCT_SEED]) {
        out.fill(7);
        hashKey128(s, out, 1, seed);
        const want = murmur128(Buffer.from(s, 'utf16le'), seed);
        assert.deepEqual(Array.from(out.subarray(1, 5)), want, `length ${n}, seed ${seed}: ${JSON.stringify(s)}`);
        assert.equal(out[0], 7, 'nothing written before off');
        assert.equal(out[5], 7, 'nothing written after off + 3');
        checked++;
      }
    }
  }
  assert.equal(checked, 41 * 30 * 2);
});

test('hashKey128 of a known input matches the reference and differs by seed', () => {
  const a = new Uint32Array(4), b = new Uint32Array(4);
  hashKey128('35.188.49.176', a);
  hashKey128('35.188.49.176', b, 0, DISTINCT_SEED);
  assert.deepEqual(Array.from(a), murmur128(Buffer.from('35.188.49.176', 'utf16le'), 0));
  assert.notDeepEqual(Array.from(a), Array.from(b));
});
