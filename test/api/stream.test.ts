/**
 * The startup stream has two paths — every stored decision, or the in-memory active set
 * plus the store's expired ones — and they must agree. Seeded random tables, several
 * queries, dedup on and off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActiveDecisionSet } from '../../src/decisions/active-set.js';
import { parseStreamQuery } from '../../src/decisions/filters.js';
import type { DecisionInput } from '../../src/decisions/records.js';
import { Store } from '../../src/decisions/store.js';
import { streamDelta } from '../../src/api/stream.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

test('startup stream from the active set equals the store-only computation', async () => {
  const root = mkdtempSync(join(tmpdir(), 'palisade-stream-'));
  const store = Store.open(join(root, 'data'), { noSync: true });
  try {
    const now = Date.UTC(2026, 5, 1);
    for (const seed of [1, 2, 3]) {
      const r = rng(seed);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
      const values = ['1.1.1.1', '1.1.1.2', '10.0.0.0/24', '2001:db8::1', '2001:db8::/64', 'bob', 'FR'];
      const batch = [];
      for (let i = 0; i < 40; i++) {
        const value = pick(values);
        const scope = value === 'bob' ? 'Username' : value === 'FR' ? 'Country' : value.includes('/') ? 'Range' : 'Ip';
        const d: DecisionInput = {
          origin: pick(['crowdsec', 'cscli', 'CAPI']), type: pick(['ban', 'captcha']), scope, value,
          scenario: pick(['crowdsecurity/ssh-bf', 'crowdsecurity/http-probing']),
          until: now + Math.floor((r() - 0.4) * 7_200_000), simulated: r() < 0.1,
        };
        const stop = new Date(now).toISOString();
        batch.push({ alert: { scenario: 's', scenario_hash: '', scenario_version: '', message: '', events_count: 1, start_at: stop, stop_at: stop, capacity: 0, leakspeed: '0', simulated: false, source: { scope, value }, events: [] }, decisions: [d] });
      }
      await store.addAlerts(batch, now - 10_000);
      await store.deleteDecisions({ value: pick(values) }, now - 5000); // some soft deletes
      const set = new ActiveDecisionSet(store, { now: () => now }).start();
      try {
        for (const qs of ['startup=true', 'startup=true&dedup=false', 'startup=true&scopes=ip', 'startup=true&origins=crowdsec&simulated=true', 'startup=true&scenarios_containing=ssh&scopes=range']) {
          const q = parseStreamQuery(new URLSearchParams(qs));
          const a = streamDelta(store, q, { lastPull: 0, cursor: 0 }, now);
          const b = streamDelta(store, q, { lastPull: 0, cursor: 0 }, now, set);
          const ids = (x: { new: { id: number }[]; deleted: { id: number }[] }) => ({ new: x.new.map((d) => d.id), deleted: x.deleted.map((d) => d.id) });
          assert.deepEqual(ids(b), ids(a), `seed ${seed}, ${qs}`);
          assert.equal(b.next.cursor, a.next.cursor);
          if (qs === 'startup=true') assert.ok(a.new.length > 0 && a.deleted.length > 0, 'both lists are exercised');
        }
      } finally {
        set.stop();
      }
    }
  } finally {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  }
});
