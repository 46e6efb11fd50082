import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReverseDns } from '../../src/parse/enrichers/rdns.js';

// No real DNS here: tests may only talk to loopback, so the resolver is a fake.
function fakeResolver(answers: Record<string, string[] | Error>) {
  const calls: string[] = [];
  return {
    calls,
    resolve: async (ip: string): Promise<string[]> => {
      calls.push(ip);
      const a = answers[ip];
      if (a === undefined || a instanceof Error) throw a ?? new Error('ENOTFOUND');
      return a;
    },
  };
}

test('first lookup starts a query and returns null; later ones hit the cache', async () => {
  const f = fakeResolver({ '8.8.8.8': ['dns.google'], '1.1.1.1': ['one.one.one.one.', 'other.'] });
  const r = createReverseDns({ resolve: f.resolve });
  assert.equal(r.lookup('8.8.8.8'), null);
  assert.equal(r.lookup('8.8.8.8'), null, 'still pending');
  assert.deepEqual(f.calls, ['8.8.8.8'], 'one query per address while pending');
  await r.settle();
  assert.equal(r.lookup('8.8.8.8'), 'dns.google.', 'trailing dot added as Go returns it');
  r.lookup('1.1.1.1');
  await r.settle();
  assert.equal(r.lookup('1.1.1.1'), 'one.one.one.one.', 'first name only');
  assert.deepEqual(f.calls, ['8.8.8.8', '1.1.1.1']);
});

test('failures are cached for the negative TTL; invalid input never queries', async () => {
  let t = 0;
  const f = fakeResolver({ '10.0.0.1': new Error('ENOTFOUND') });
  const r = createReverseDns({ resolve: f.resolve, now: () => t, ttlMs: 1000, negativeTtlMs: 100 });
  r.lookup('10.0.0.1');
  await r.settle();
  assert.equal(r.lookup('10.0.0.1'), null);
  assert.equal(f.calls.length, 1);
  t = 150;
  r.lookup('10.0.0.1');
  await r.settle();
  assert.equal(f.calls.length, 2, 'expired negative entry is retried');
  assert.equal(r.lookup('not an ip'), null);
  assert.equal(r.lookup(''), null);
  assert.equal(f.calls.length, 2);
});

test('stale answers are served while refreshing; the cache is bounded', async () => {
  let t = 0;
  const answers: Record<string, string[]> = { '192.0.2.1': ['a.example.'] };
  const f = fakeResolver(answers);
  const r = createReverseDns({ resolve: f.resolve, now: () => t, ttlMs: 10, maxEntries: 2 });
  r.lookup('192.0.2.1');
  await r.settle();
  answers['192.0.2.1'] = ['b.example.'];
  t = 20;
  assert.equal(r.lookup('192.0.2.1'), 'a.example.', 'stale value while the refresh runs');
  await r.settle();
  assert.equal(r.lookup('192.0.2.1'), 'b.example.');
  for (const a of ['192.0.2.2', '192.0.2.3', '192.0.2.4']) r.lookup(a);
  await r.settle();
  assert.equal(r.size, 2);
});
