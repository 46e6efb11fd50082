/**
 * ActiveDecisionSet.lookupAddress (the live bouncer's `?ip=X`) against the generic
 * lookup it short-cuts, `lookup({ status: 'active', excludeSimulated, ip })`: same records,
 * same order, same errors, over a seeded random set of v4/v6 addresses and ranges with
 * several decisions per address, expiries, deletions, scopes, types, origins and simulated
 * ones, with both prefix-set implementations (WASM or radix default, linear twin).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ActiveDecisionSet } from '../../src/decisions/active-set.js';
import { LinearPrefixSet, RadixPrefixSet } from '../../src/decisions/ipset.js';
import { Store } from '../../src/decisions/store.js';
import type { DecisionRecord } from '../../src/decisions/records.js';
import { alertFor, decisionFor, rng, T0, tempDir } from './support.js';

const FAR = 4_000_000_000_000;

function v4(r: () => number): string {
  return `10.${Math.floor(r() * 3)}.${Math.floor(r() * 4)}.${Math.floor(r() * 64)}`;
}
function v6(r: () => number): string {
  return `2001:db8::${Math.floor(r() * 64).toString(16)}`;
}

async function seed(store: Store, r: () => number, n: number): Promise<void> {
  const batch = [];
  for (let i = 0; i < n; i++) {
    const k = r();
    let value: string, scope = 'Ip';
    if (k < 0.5) value = v4(r);
    else if (k < 0.55) { scope = 'Range'; value = `10.${Math.floor(r() * 3)}.${Math.floor(r() * 4)}.${Math.floor(r() * 64)}/${[22, 24, 28, 30, 32][Math.floor(r() * 5)]}`; }
    else if (k < 0.85) value = v6(r);
    else if (k < 0.88) { scope = 'Range'; value = `2001:db8::${Math.floor(r() * 64).toString(16)}/${[122, 125, 128][Math.floor(r() * 3)]}`; }
    else { scope = 'username'; value = `user${i}`; }
    const until = r() < 0.3 ? T0 + 1000 + Math.floor(r() * 5000) : FAR; // some expire during the test
    // Several decisions on one alert sometimes (same value, different type/origin).
    const decisions = [];
    const m = r() < 0.2 ? 2 + Math.floor(r() * 2) : 1;
    for (let j = 0; j < m; j++) {
      decisions.push(decisionFor(value, { scope, until, durationMs: undefined, type: r() < 0.7 ? 'ban' : 'captcha', origin: ['crowdsec', 'cscli', 'CAPI'][Math.floor(r() * 3)]!, simulated: r() < 0.15 }));
    }
    batch.push({ alert: alertFor(value, { scope }), decisions });
  }
  await store.addAlerts(batch, T0);
}

/** Query texts: hit and miss addresses, mapped and odd spellings, CIDRs, invalid ones. */
function randomIp(r: () => number): string {
  const k = r();
  if (k < 0.45) return v4(r);
  if (k < 0.65) return v6(r);
  if (k < 0.7) return `::ffff:${v4(r)}`;
  if (k < 0.75) return `2001:0db8:0000::${Math.floor(r() * 8)}`;
  if (k < 0.8) return ` ${v4(r)} `;
  if (k < 0.85) return `10.${Math.floor(r() * 3)}.${Math.floor(r() * 4)}.0/${[16, 24, 28, 32][Math.floor(r() * 4)]}`;
  if (k < 0.88) return `2001:db8::/${[32, 64, 126][Math.floor(r() * 3)]}`;
  if (k < 0.9) return `192.0.2.${Math.floor(r() * 255)}`;
  if (k < 0.92) return r() < 0.5 ? `11.2.${Math.floor(r() * 4)}.1` : `2001:db9::${Math.floor(r() * 9)}`;
  return ['10.0.0.256', 'nope', '1.2.3', '2001:db8:::1', '10.0.0.1/33', '::ffff:1.2.3.4.5', '1.2.3.4/'][Math.floor(r() * 7)]!;
}

type Outcome = { ids: number[] } | { error: string };
function outcome(fn: () => readonly DecisionRecord[] | null): Outcome {
  try {
    const list = fn();
    assert.ok(list !== null, 'the set answers');
    return { ids: list.map((d) => d.id) };
  } catch (e) {
    return { error: `${(e as Error).name}: ${(e as Error).message} ${(e as { code?: string }).code ?? ''}` };
  }
}

test('lookupAddress equals lookup({status, excludeSimulated, ip}) over a seeded random set, through expiry and deletions', async (t) => {
  const { dir, cleanup } = tempDir('aset-addr');
  const store = Store.open(join(dir, 's'), { noSync: true });
  try {
    const r = rng(5);
    await seed(store, r, 900);
    // Broad ranges elsewhere, so that the 10.x and 2001:db8:: queries also get single hits.
    await store.addAlerts(['11.0.0.0/8', '11.2.0.0/16', '2001:db9::/32'].map((value) => ({ alert: alertFor(value, { scope: 'Range' }), decisions: [decisionFor(value, { scope: 'Range', until: FAR, durationMs: undefined })] })), T0);
    const impls = [['default', undefined], ['radix', () => new RadixPrefixSet()], ['linear', () => new LinearPrefixSet()]] as const;
    const counts = { hit: 0, multi: 0, error: 0, cidr: 0 };
    for (const [name, make] of impls) {
      let now = T0 + 500;
      const set = new ActiveDecisionSet(store, { now: () => now, ...(make ? { prefixSet: make() } : {}) });
      set.load();
      const q = rng(77);
      const compare = (label: string) => {
        for (let i = 0; i < 500; i++) {
          const ip = randomIp(q);
          for (const ex of [true, false]) {
            const want = outcome(() => set.lookup({ status: 'active', excludeSimulated: ex, ip }, now));
            const got = outcome(() => set.lookupAddress(ip, now, ex));
            assert.deepEqual(got, want, `${name} ${label} ip=${JSON.stringify(ip)} excludeSimulated=${ex}`);
            if ('error' in want) counts.error++;
            else if (want.ids.length > 1) counts.multi++;
            else if (want.ids.length === 1) counts.hit++;
            if (ip.includes('/')) counts.cidr++;
          }
        }
      };
      compare('loaded');
      // Expired entries still held (no expire() yet): skipped by both.
      now = T0 + 3500;
      compare('some expired, not swept');
      set.expire(now);
      compare('swept');
      // Deletions through the store, seen by both through the set's catch-up.
      const live = set.all().slice(0, 60);
      let deleted = 0;
      for (const d of live) deleted += await store.deleteDecisions({ id: d.id }, now);
      assert.ok(deleted > 0 || name !== 'default', 'some decisions deleted');
      set.sync();
      compare('after deletions');
      now = T0 + 7000;
      compare('most short ones expired');
    }
    t.diagnostic(JSON.stringify(counts));
    assert.ok(counts.hit > 100 && counts.multi > 100 && counts.error > 20 && counts.cidr > 20, JSON.stringify(counts));
  } finally {
    await store.close();
    cleanup();
  }
});

test('lookupAddress: null while not loaded or for an empty address, a shared empty answer on a miss', async () => {
  const { dir, cleanup } = tempDir('aset-addr2');
  const store = Store.open(join(dir, 's'), { noSync: true });
  try {
    await store.addAlerts([{ alert: alertFor('10.1.2.3'), decisions: [decisionFor('10.1.2.3', { until: FAR, durationMs: undefined })] }], T0);
    const set = new ActiveDecisionSet(store, { now: () => T0 + 1 });
    assert.equal(set.lookupAddress('10.1.2.3', T0 + 1, true), null);
    set.load();
    assert.equal(set.lookupAddress('', T0 + 1, true), null);
    assert.deepEqual(set.lookupAddress('10.1.2.3', T0 + 1, true)!.map((d) => d.value), ['10.1.2.3']);
    const miss = set.lookupAddress('10.1.2.4', T0 + 1, true)!;
    assert.equal(miss.length, 0);
    assert.equal(set.lookupAddress('10.9.9.9', T0 + 1, true), miss);
    assert.ok(Object.isFrozen(miss));
  } finally {
    await store.close();
    cleanup();
  }
});
