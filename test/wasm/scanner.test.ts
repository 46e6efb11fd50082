import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_INPUT, MAX_LINES } from '../../src/bindings/abi.generated.js';
import type { BatchScanner } from '../../src/bindings/types.js';
import { bothScanners, bytes, latin1, mutate, prng, randomBytes } from './support.js';
import { generateSshd } from '../../fixtures/generate-bf-logs.js';

const [wasm, twin] = bothScanners();

function split(s: BatchScanner, input: Uint8Array, final: boolean): { lines: string[]; consumed: number } {
  const r = s.scanLines(input, final);
  const lines: string[] = [];
  for (let j = 0; j < r.count; j++) {
    lines.push(Buffer.from(input.subarray(r.lines[2 * j]!, r.lines[2 * j + 1]!)).toString('latin1'));
  }
  return { lines, consumed: r.consumed };
}

for (const s of [wasm, twin]) {
  test(`${s.impl}: \\n and \\r\\n endings, empty lines, lone \\r kept`, () => {
    assert.deepEqual(split(s, latin1('a\nbb\r\n\n\r\nx\ry\n'), false), { lines: ['a', 'bb', '', '', 'x\ry'], consumed: 13 });
    assert.deepEqual(split(s, latin1(''), true), { lines: [], consumed: 0 });
    assert.deepEqual(split(s, latin1('\n'), false), { lines: [''], consumed: 1 });
  });

  test(`${s.impl}: a batch ending mid-line leaves the tail unconsumed unless final`, () => {
    assert.deepEqual(split(s, latin1('one\ntwo\nthr'), false), { lines: ['one', 'two'], consumed: 8 });
    assert.deepEqual(split(s, latin1('one\ntwo\nthr'), true), { lines: ['one', 'two', 'thr'], consumed: 11 });
    assert.deepEqual(split(s, latin1('no newline at all'), false), { lines: [], consumed: 0 });
    // A final '\r' without '\n' is still a line ending in the last batch.
    assert.deepEqual(split(s, latin1('end\r'), true), { lines: ['end'], consumed: 4 });
  });

  test(`${s.impl}: lines longer than 64 KiB and invalid UTF-8 pass through byte for byte`, () => {
    const long = 'x'.repeat(70000) + '\xff\xfe' + 'y'.repeat(70001);
    const input = latin1(`short\n${long}\n\xc3\x28\xa0\n`);
    const r = split(s, input, false);
    assert.deepEqual(r.lines.map((l) => l.length), [5, 140003, 3]);
    assert.equal(r.lines[1], long);
    assert.equal(r.lines[2], '\xc3\x28\xa0');
  });

  test(`${s.impl}: stops at MAX_LINES and reports what it consumed`, () => {
    const input = new Uint8Array(MAX_LINES + 10).fill(0x0a);
    const r = s.scanLines(input, true);
    assert.equal(r.count, MAX_LINES);
    assert.equal(r.consumed, MAX_LINES);
  });

  test(`${s.impl}: a batch above MAX_INPUT is refused with a clear error`, () => {
    assert.throws(() => s.scanLines(new Uint8Array(MAX_INPUT + 1), false), /at most 4194304 \(MAX_INPUT\)/);
  });
}

/** Feeds `input` in chunks of random size, carrying unconsumed tails, as acquisition does. */
function streamLines(s: BatchScanner, input: Uint8Array, rand: () => number): string[] {
  const out: string[] = [];
  let pending = new Uint8Array(0);
  let pos = 0;
  while (pos < input.length || pending.length > 0) {
    const take = Math.min(input.length - pos, 1 + Math.floor(rand() * 300));
    const batch = new Uint8Array(pending.length + take);
    batch.set(pending);
    batch.set(input.subarray(pos, pos + take), pending.length);
    pos += take;
    const final = pos >= input.length;
    const r = s.scanLines(batch, final);
    for (let j = 0; j < r.count; j++) {
      out.push(Buffer.from(batch.subarray(r.lines[2 * j]!, r.lines[2 * j + 1]!)).toString('latin1'));
    }
    pending = batch.slice(r.consumed);
    if (final) {
      assert.equal(pending.length, 0);
      break;
    }
  }
  return out;
}

test('batches cut mid-line (and mid-\\r\\n) give the same lines as one whole batch', () => {
  const text = generateSshd(400, 7).replace(/\n/g, (_, i: number) => (i % 3 === 0 ? '\r\n' : '\n'));
  const input = bytes(text);
  const expected = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (expected[expected.length - 1] === '') expected.pop();
  for (const s of [wasm, twin]) {
    const got = streamLines(s, input, prng(11));
    assert.equal(got.length, expected.length, s.impl);
    assert.deepEqual(got.map((l) => Buffer.from(l, 'latin1').toString('utf8')), expected, s.impl);
  }
});

test('seeded differential fuzz: wasm scanner == twin (random bytes, mutated logs, all flags)', () => {
  const rand = prng(20261127);
  const base = bytes(generateSshd(200, 3));
  for (let i = 0; i < 300; i++) {
    const input = i % 2 === 0 ? randomBytes(rand, Math.floor(rand() * 2000)) : mutate(rand, base.subarray(0, 1 + Math.floor(rand() * base.length)), 0.05);
    for (const final of [false, true]) {
      const a = wasm.scanLines(input, final);
      const b = twin.scanLines(input, final);
      assert.equal(a.count, b.count, `case ${i}`);
      assert.equal(a.consumed, b.consumed, `case ${i}`);
      assert.deepEqual(Array.from(a.lines), Array.from(b.lines), `case ${i}`);
    }
  }
});
