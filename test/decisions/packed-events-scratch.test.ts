/** packEvents builds in a reused work array: each result must be its own, exact-length array. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packEvents, unpackEvents } from '../../src/decisions/packed-events.js';
import { StoreError } from '../../src/decisions/records.js';

const event = (k: number, n: number) => ({
  timestamp: `2026-01-05T00:00:0${k}Z`,
  meta: Array.from({ length: n }, (_, m) => ({ key: `k${m}`, value: m % 2 === 0 ? 'same' : `v${k}-${m}` })),
});

test('a long packing then a short one: the short result holds nothing of the long one', () => {
  const long = [event(1, 30), event(2, 30), event(3, 30)];
  const short = [event(4, 2)];
  const a = packEvents(long, 0);
  const b = packEvents(short, 1);
  assert.notEqual(a.e, b.e);
  assert.deepEqual(unpackEvents(a), long);
  assert.deepEqual(unpackEvents(b), short);
  // timestamp, count, then two entries of (key, value): nothing past them.
  assert.deepEqual(b.e, [short[0]!.timestamp, 2, 'k0', 'same', 'k1', 'v4-1']);
  assert.equal(packEvents([], 2).e.length, 0);
});

test('a packing that fails half-way leaves the next one intact', () => {
  const bad = [event(1, 10), { timestamp: 5 }];
  assert.throws(() => packEvents(bad, 3), StoreError);
  const ok = [event(2, 3)];
  const p = packEvents(ok, 4);
  assert.deepEqual(unpackEvents(p), ok);
  assert.equal(p.e.length, 2 + 2 * 3);
});
