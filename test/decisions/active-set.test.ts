/**
 * The in-memory active set against the store it mirrors: same answers as
 * store.listDecisions for address queries (seeded random queries, both prefix-set
 * implementations), expiry by `until`, soft deletes, and a decision written by
 * `palisade decisions add --data-dir S` in another process showing up within a second.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ActiveDecisionSet } from '../../src/decisions/active-set.js';
import { LinearPrefixSet } from '../../src/decisions/ipset.js';
import { Store } from '../../src/decisions/store.js';
import type { DecisionFilter } from '../../src/decisions/filters.js';
import type { Change } from '../../src/decisions/records.js';
import { alertFor, decisionFor, rng, T0, tempDir } from './support.js';

const root = new URL('../..', import.meta.url).pathname;
const FAR = 4_000_000_000_000;

async function seed(store: Store, r: () => number, n: number): Promise<void> {
  const batch = [];
  for (let i = 0; i < n; i++) {
    const k = r();
    let value: string, scope = 'Ip';
    if (k < 0.45) value = `10.${Math.floor(r() * 3)}.${Math.floor(r() * 4)}.${Math.floor(r() * 6)}`;
    else if (k < 0.7) { scope = 'Range'; value = `10.${Math.floor(r() * 3)}.${Math.floor(r() * 4)}.0/${[8, 16, 22, 24, 30][Math.floor(r() * 5)]}`; }
    else if (k < 0.85) value = `2001:db8::${Math.floor(r() * 8).toString(16)}`;
    else if (k < 0.95) { scope = 'Range'; value = `2001:db8::/${[32, 64, 125][Math.floor(r() * 3)]}`; }
    else { scope = 'username'; value = `user${i}`; }
    const until = r() < 0.2 ? T0 + 1000 + Math.floor(r() * 5000) : FAR; // some expire during the test
    batch.push({
      alert: alertFor(value, { scope }),
      decisions: [decisionFor(value, { scope, until, durationMs: undefined, type: r() < 0.8 ? 'ban' : 'captcha', origin: r() < 0.5 ? 'crowdsec' : 'cscli', simulated: r() < 0.1 })],
    });
  }
  await store.addAlerts(batch, T0);
}

function randomQuery(r: () => number): DecisionFilter {
  const f: DecisionFilter = { status: 'active' };
  const k = r();
  if (k < 0.5) f.ip = `10.${Math.floor(r() * 3)}.${Math.floor(r() * 4)}.${Math.floor(r() * 6)}`;
  else if (k < 0.65) f.ip = `2001:db8::${Math.floor(r() * 8).toString(16)}`;
  else if (k < 0.8) f.range = `10.${Math.floor(r() * 3)}.${Math.floor(r() * 4)}.0/${[16, 24, 28][Math.floor(r() * 3)]}`;
  else if (k < 0.9) f.range = `2001:db8::/${[32, 64, 126][Math.floor(r() * 3)]}`;
  else f.ip = `::ffff:10.${Math.floor(r() * 3)}.0.${Math.floor(r() * 6)}`;
  if (r() < 0.3) f.contains = r() < 0.5;
  if (r() < 0.2) f.type = 'ban';
  if (r() < 0.2) f.origins = ['cscli'];
  if (r() < 0.5) f.excludeSimulated = true;
  if (r() < 0.1) f.scopes = ['Range'];
  return f;
}

test('lookups equal store.listDecisions for random address queries, before and after expiry (radix and linear twin)', async () => {
  const { dir, cleanup } = tempDir('aset');
  const store = Store.open(join(dir, 's'), { noSync: true });
  try {
    const r = rng(11);
    await seed(store, r, 600);
    let now = T0 + 500;
    for (const impl of ['radix', 'linear'] as const) {
      now = T0 + 500;
      const set = new ActiveDecisionSet(store, { now: () => now, ...(impl === 'linear' ? { prefixSet: new LinearPrefixSet() } : {}) });
      set.load();
      assert.equal(set.size, store.listDecisions({ scopes: ['Ip', 'Range'] }, now).length);
      let nonEmpty = 0;
      for (const at of [T0 + 500, T0 + 3000, T0 + 7000]) {
        now = at;
        if (at === T0 + 7000) assert.ok(set.expire(now) > 0, 'some entries expire');
        const q = rng(99);
        for (let i = 0; i < 400; i++) {
          const f = randomQuery(q);
          const got = set.lookup(f, now)!.map((d) => d.id);
          const want = store.listDecisions(f, now).map((d) => d.id);
          assert.deepEqual(got, want, `${impl} ${JSON.stringify(f)} at +${at - T0}`);
          if (want.length) nonEmpty++;
        }
      }
      assert.ok(nonEmpty > 300, `queries should hit (${nonEmpty})`);
      assert.equal(set.size, store.listDecisions({ scopes: ['Ip', 'Range'] }, now).length);
    }
  } finally {
    await store.close();
    cleanup();
  }
});

test('follows writes and soft deletes; non-address filters and invalid addresses', async () => {
  const { dir, cleanup } = tempDir('aset');
  const store = Store.open(join(dir, 's'), { noSync: true });
  try {
    const set = new ActiveDecisionSet(store);
    set.load();
    const seen: Change[] = [];
    set.subscribe({ changes: (c) => seen.push(...c), reset: () => assert.fail('no reset expected') });
    assert.deepEqual(set.lookup({ ip: '192.0.2.1' }), []);
    const [res] = await store.addAlerts([{ alert: alertFor('192.0.2.0/24', { scope: 'Range' }), decisions: [decisionFor('192.0.2.0/24', { scope: 'Range', until: FAR, durationMs: undefined })] }]);
    // Same-process write, announced by invalidate() (as the API's write routes do): the next
    // lookup notices the cursor moved and catches up at once.
    set.invalidate();
    assert.deepEqual(set.lookup({ ip: '192.0.2.1' })!.map((d) => d.id), res!.decisionIds);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.kind, 'new');
    assert.equal(await store.deleteDecisions({ ip: '192.0.2.77' }), 1);
    set.invalidate();
    assert.deepEqual(set.lookup({ ip: '192.0.2.1' }), []);
    assert.equal(set.size, 0);
    assert.equal(seen.at(-1)!.kind, 'deleted');
    assert.equal(set.cursor, store.changeCursor());
    assert.equal(set.lookup({ value: '1.2.3.4' }), null, 'non-address queries go to the store');
    assert.equal(set.lookup({ ip: '1.2.3.4', status: 'all' }), null);
    assert.throws(() => set.lookup({ ip: '999.1.1.1' }), (e: Error & { code?: string }) => e.code === 'INVALID_ADDRESS' && /invalid ip address \/ range '999.1.1.1'/.test(e.message));
    assert.throws(() => set.lookup({ range: '1.2.3.0/40' }), (e: Error & { code?: string }) => e.code === 'INVALID_ADDRESS');
  } finally {
    await store.close();
    cleanup();
  }
});

/**
 * lmdb-js renews this process's read snapshot on a timer after a read, not when another
 * env commits: in the server an event-loop turn passes between requests; here, let the
 * timer run so the other Store's commit is visible (without it the test raced the timer
 * and failed now and then on a loaded machine).
 */
const snapshotRenewed = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

test('lookups read the store cursor at most every checkMs: a write not announced shows within that bound', async () => {
  const { dir, cleanup } = tempDir('aset');
  const store = Store.open(join(dir, 's'), { noSync: true });
  try {
    let clock = 1000;
    const reads = { n: 0 };
    const counted = new Proxy(store, {
      get(t, k, r) {
        if (k === 'changeCursor') return () => (reads.n++, t.changeCursor());
        const v = Reflect.get(t, k, r) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    // Writes through a second Store on the same directory stand for another process's.
    const other = Store.open(join(dir, 's'), { noSync: true });
    const set = new ActiveDecisionSet(counted, { checkMs: 20, monotonic: () => clock });
    set.load();
    assert.deepEqual(set.lookup({ ip: '192.0.2.1' }), []);
    assert.equal(reads.n, 1, 'the first lookup compares cursors');
    for (let i = 0; i < 50; i++) set.lookup({ ip: '192.0.2.1' });
    assert.equal(reads.n, 1, 'no cursor read within checkMs');
    // A write by "someone else" (no invalidate): not seen before the bound, seen after it.
    const [res] = await other.addAlerts([{ alert: alertFor('192.0.2.1'), decisions: [decisionFor('192.0.2.1', { until: FAR, durationMs: undefined })] }]);
    await snapshotRenewed();
    clock += 19.9;
    assert.deepEqual(set.lookup({ ip: '192.0.2.1' }), [], 'still within checkMs of the last check');
    clock += 0.1;
    assert.deepEqual(set.lookup({ ip: '192.0.2.1' })!.map((d) => d.id), res!.decisionIds, 'caught up at checkMs');
    assert.equal(reads.n, 2);
    // invalidate(): the next lookup checks at once, whatever the clock says.
    assert.equal(await other.deleteDecisions({ ip: '192.0.2.1' }), 1);
    await snapshotRenewed();
    assert.equal(set.lookup({ ip: '192.0.2.1' })!.length, 1, 'stale until the bound or invalidate()');
    set.invalidate();
    assert.deepEqual(set.lookup({ ip: '192.0.2.1' }), []);
    assert.equal(reads.n, 3);
    // checkMs 0: every lookup compares cursors (the old behaviour).
    const eager = new ActiveDecisionSet(counted, { checkMs: 0, monotonic: () => clock });
    eager.load();
    const before = reads.n;
    await other.addAlerts([{ alert: alertFor('192.0.2.9'), decisions: [decisionFor('192.0.2.9', { until: FAR, durationMs: undefined })] }]);
    await snapshotRenewed();
    assert.equal(eager.lookup({ ip: '192.0.2.9' })!.length, 1);
    eager.lookup({ ip: '192.0.2.9' });
    assert.equal(reads.n - before, 2, 'one per lookup');
    await other.close();
  } finally {
    await store.close();
    cleanup();
  }
});

test('a decision added by `palisade decisions add --data-dir S` in another process is visible within a second', { timeout: 60_000 }, async () => {
  const { dir, cleanup } = tempDir('aset');
  const path = join(dir, 's');
  const store = Store.open(path, { noSync: true });
  const set = new ActiveDecisionSet(store, { pollMs: 200 }).start();
  try {
    assert.deepEqual(set.lookup({ ip: '198.51.100.7' }), []);
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'decisions', 'add', '--range', '198.51.100.0/24', '--duration', '4h', '--reason', 'cross-process', '--data-dir', path], { cwd: root });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    assert.equal(code, 0, err);
    const t0 = Date.now();
    // No refresh here: only the set's poll can make the other process's commit visible.
    let hit: string[] = [];
    while (Date.now() - t0 < 1000) {
      hit = (set.lookup({ ip: '198.51.100.7' }) ?? []).map((d) => d.scenario);
      if (hit.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(hit, ['cross-process'], 'visible within 1 s');
    assert.equal(set.pollErrors, 0);
  } finally {
    set.stop();
    await store.close();
    cleanup();
  }
});
