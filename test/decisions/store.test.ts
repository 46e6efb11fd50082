import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../../src/decisions/store.js';
import { StoreError, type DecisionInput } from '../../src/decisions/records.js';
import type { DecisionFilter } from '../../src/decisions/filters.js';
import { alertFor, decisionFor, rng, tempDir, T0 } from './support.js';

const H = 3600_000;

async function withStore(tag: string, fn: (s: Store, dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir(tag);
  const s = Store.open(dir, { noSync: true });
  try {
    await fn(s, dir);
  } finally {
    await s.close();
    cleanup();
  }
}

/** One alert per decision, the way the agent posts them. */
async function seed(s: Store, ds: DecisionInput[], now = T0) {
  return s.addAlerts(ds.map((d) => ({ alert: alertFor(d.value, { scope: d.scope, stopAt: now }), decisions: [d] })), now);
}

const values = (xs: { value: string }[]) => xs.map((x) => x.value);

test('decisions are stored with until = stop_at + duration and found through every filter', async () => {
  await withStore('filters', async (s) => {
    await seed(s, [
      decisionFor('1.2.3.4'),
      decisionFor('10.0.0.0/24', { scope: 'Range', type: 'captcha', origin: 'cscli', scenario: "manual 'captcha' from 'm'" }),
      decisionFor('10.0.0.7', { durationMs: 1 * H }),
      decisionFor('2001:db8::/48', { scope: 'Range', origin: 'CAPI', scenario: 'http:scan' }),
      decisionFor('2001:db8::42'),
      decisionFor('::ffff:192.168.1.1', { durationMs: undefined, duration: '30m' }),
      decisionFor('bob', { scope: 'username', simulated: true }),
    ]);
    const all = s.listDecisions({}, T0);
    assert.equal(all.length, 7);
    assert.deepEqual(all.map((d) => d.id), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(all[0]!.until, T0 + 4 * H);
    assert.equal(all[5]!.until, T0 + 30 * 60_000, "Go duration text counts from the alert's stop_at");
    assert.equal(all[5]!.family, 4, 'IPv4-mapped IPv6 counts as IPv4');

    assert.deepEqual(values(s.listDecisions({ ip: '10.0.0.7' }, T0)), ['10.0.0.0/24', '10.0.0.7']);
    assert.deepEqual(values(s.listDecisions({ ip: '10.0.0.7', contains: false }, T0)), ['10.0.0.7']);
    assert.deepEqual(values(s.listDecisions({ range: '10.0.0.0/16', contains: false }, T0)), ['10.0.0.0/24', '10.0.0.7']);
    assert.deepEqual(values(s.listDecisions({ range: '10.0.0.0/16' }, T0)), []);
    assert.deepEqual(values(s.listDecisions({ range: '10.0.0.0/28' }, T0)), ['10.0.0.0/24']);
    assert.deepEqual(values(s.listDecisions({ ip: '2001:db8::42' }, T0)), ['2001:db8::/48', '2001:db8::42']);
    assert.deepEqual(values(s.listDecisions({ range: '2001:db8::/32', contains: false }, T0)), ['2001:db8::/48', '2001:db8::42']);
    assert.deepEqual(values(s.listDecisions({ ip: '192.168.1.1' }, T0)), ['::ffff:192.168.1.1']);
    assert.deepEqual(values(s.listDecisions({ range: '::/0', contains: false }, T0)), ['2001:db8::/48', '2001:db8::42'], 'families never mix');
    assert.deepEqual(values(s.listDecisions({ scopes: ['Range'] }, T0)), ['10.0.0.0/24', '2001:db8::/48']);
    assert.deepEqual(values(s.listDecisions({ origins: ['cscli', 'CAPI'] }, T0)), ['10.0.0.0/24', '2001:db8::/48']);
    assert.deepEqual(values(s.listDecisions({ type: 'captcha' }, T0)), ['10.0.0.0/24']);
    assert.deepEqual(values(s.listDecisions({ value: 'bob' }, T0)), ['bob']);
    assert.deepEqual(values(s.listDecisions({ value: 'bob', excludeSimulated: true }, T0)), []);
    assert.deepEqual(values(s.listDecisions({ scenario: 'http:scan' }, T0)), ['2001:db8::/48']);
    assert.deepEqual(values(s.listDecisions({ scenariosNotContaining: ['ssh', 'MANUAL'] }, T0)), ['2001:db8::/48']);
    assert.deepEqual(values(s.listDecisions({ limit: 2 }, T0)), ['1.2.3.4', '10.0.0.0/24']);
    // 2 h later the 1 h and 30 m decisions have expired
    assert.deepEqual(values(s.listDecisions({ status: 'expired' }, T0 + 2 * H)), ['10.0.0.7', '::ffff:192.168.1.1']);
    assert.equal(s.listDecisions({ ip: '10.0.0.7' }, T0 + 2 * H).length, 1);
    assert.throws(() => s.listDecisions({ ip: 'nope' }, T0), (e: StoreError) => e.code === 'INVALID_ADDRESS');
    assert.equal(s.countDecisions('1.2.3.4'), 1);
    assert.equal(s.countDecisions('1.2.3.4', T0), 0, 'created at T0 is not after T0');
  });
});

test('indexed lookups agree with a full scan (seeded differential run)', async () => {
  await withStore('diff', async (s) => {
    const r = rng(42);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
    const v4 = () => `10.${Math.floor(r() * 4)}.${Math.floor(r() * 8)}.${Math.floor(r() * 256)}`;
    const v6 = () => `2001:db8:${Math.floor(r() * 4).toString(16)}::${Math.floor(r() * 65536).toString(16)}`;
    const mk = (): DecisionInput => {
      const k = r();
      const common = { type: pick(['ban', 'captcha']), origin: pick(['crowdsec', 'cscli', 'CAPI']), durationMs: (r() * 8 - 2) * H, simulated: r() < 0.1 };
      if (k < 0.45) return decisionFor(v4(), common);
      if (k < 0.65) return decisionFor(`${v4()}/${pick([8, 16, 20, 24, 28, 32])}`, { ...common, scope: 'Range' });
      if (k < 0.8) return decisionFor(v6(), common);
      if (k < 0.9) return decisionFor(`${v6()}/${pick([0, 32, 48, 64, 128])}`, { ...common, scope: 'Range' });
      return decisionFor(pick(['bob', 'alice', 'FR', 'AS1234']), { ...common, scope: pick(['username', 'Country']) });
    };
    const inputs = Array.from({ length: 800 }, mk);
    await seed(s, inputs);
    await s.deleteDecisions({ origins: ['cscli'], type: 'captcha' }, T0 + 1000);
    const queries: DecisionFilter[] = [];
    for (let i = 0; i < 150; i++) {
      const q: DecisionFilter = {};
      const k = r();
      if (k < 0.3) q.ip = pick([v4, v6])();
      else if (k < 0.55) { q.range = pick([`${v4()}/${pick([8, 16, 24, 30, 32])}`, `${v6()}/${pick([16, 32, 48, 64, 127])}`]); q.contains = r() < 0.5; }
      else if (k < 0.65) q.value = pick(inputs).value;
      else if (k < 0.7) q.id = 1 + Math.floor(r() * 820);
      else if (k < 0.75) q.alertId = 1 + Math.floor(r() * 820);
      if (r() < 0.3) q.status = pick(['active', 'expired', 'all'] as const);
      if (r() < 0.2) q.type = 'ban';
      if (r() < 0.2) q.origins = ['crowdsec', 'CAPI'];
      if (r() < 0.1) { q.status = 'all'; q.untilGt = T0 - H; q.untilLt = T0 + 2 * H; }
      queries.push(q);
    }
    let nonEmpty = 0;
    for (const q of queries) {
      const now = T0 + Math.floor(r() * 3 * H);
      const fast = s.listDecisions(q, now).map((d) => d.id);
      const slow = s.listDecisions(q, now, { forceScan: true }).map((d) => d.id);
      assert.deepEqual(fast, slow, JSON.stringify(q));
      if (fast.length) nonEmpty++;
    }
    assert.ok(nonEmpty > 40, `queries should hit something (${nonEmpty})`);
  });
});

test('an ip lookup among many decisions touches only the matching index entries', async () => {
  await withStore('big', async (s) => {
    const ds: DecisionInput[] = [];
    // 40k keeps the run short; the candidate counts below show no lookup depends on the total.
    for (let i = 0; i < 40_000; i++) ds.push(decisionFor(`11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, { origin: 'CAPI', scenario: 'community' }));
    ds.push(decisionFor('11.0.0.0/16', { scope: 'Range' }));
    await s.addAlerts([{ alert: alertFor('community', { scope: 'crowdsecurity/community-blocklist' }), decisions: ds }], T0);
    const ex = s.explainDecisions({ ip: '11.0.100.7' }, T0);
    assert.equal(ex.index, 'address');
    assert.equal(ex.candidates, 2);
    const t = performance.now();
    for (let i = 0; i < 2000; i++) {
      const hit = s.listDecisions({ ip: `11.0.${i % 128}.${(i * 7) & 255}` }, T0);
      assert.equal(hit.length, 2);
    }
    const perLookupMs = (performance.now() - t) / 2000;
    assert.ok(perLookupMs < 2, `ip lookup took ${perLookupMs.toFixed(3)} ms`);
    assert.equal(s.explainDecisions({ range: '11.0.16.0/20', contains: false }, T0).candidates, 4096);
    assert.equal(s.explainDecisions({ ip: '11.1.0.1' }, T0).candidates, 0);
    assert.equal(s.explainDecisions({ value: '11.0.2.3' }, T0).candidates, 1);
    assert.equal(s.listAlerts({ limit: 0 }, T0)[0]!.decisions.length, 40_001);
  });
});

test('soft delete sets until = now, shows in changesSince as deleted, and is idempotent', async () => {
  await withStore('soft', async (s) => {
    await seed(s, [decisionFor('1.1.1.1'), decisionFor('2.2.2.2'), decisionFor('3.3.3.3', { type: 'captcha' })]);
    assert.equal(s.changeCursor(), 3);
    const first = s.changesSince(0);
    assert.deepEqual(first.changes.map((c) => [c.seq, c.kind, c.decisionId]), [[1, 'new', 1], [2, 'new', 2], [3, 'new', 3]]);
    assert.equal(first.cursor, 3);
    assert.equal(first.truncated, false);

    const at = T0 + 60_000;
    assert.equal(await s.deleteDecisions({ ip: '1.1.1.1' }, at), 1);
    assert.equal(await s.deleteDecisions({ ip: '1.1.1.1' }, at), 0, 'only active decisions are soft-deleted');
    assert.equal(await s.deleteDecision(2, at), true);
    assert.equal(await s.deleteDecision(2, at), true);
    assert.equal(await s.deleteDecision(999, at), false);
    const next = s.changesSince(first.cursor);
    assert.deepEqual(next.changes.map((c) => [c.kind, c.decisionId]), [['deleted', 1], ['deleted', 2]]);
    assert.equal(next.changes[0]!.decision!.until, at);
    assert.equal(next.changes[0]!.decision!.value, '1.1.1.1');
    assert.deepEqual(values(s.listDecisions({}, at)), ['3.3.3.3']);
    const gone = s.getDecision(1)!;
    assert.equal(gone.until, at);
    assert.equal(gone.deletedAt, at);
    // stream-style queries: deleted since a last pull, new since a last pull
    assert.deepEqual(values(s.listDecisions({ status: 'expired', untilGt: at - 2000, untilLt: at + 5000 }, at + 5000)), ['1.1.1.1', '2.2.2.2']);
    assert.deepEqual(s.changesSince(next.cursor).changes, []);
    assert.equal(await s.deleteDecisions({}, at), 1, 'no filter: every active decision');
  });
});

test('sweepExpired reports expiry once, hard-deletes past the retention and trims the change log', async () => {
  await withStore('sweep', async (s) => {
    await seed(s, [decisionFor('1.1.1.1', { durationMs: H }), decisionFor('2.2.2.2', { durationMs: 10 * H })]);
    let cur = s.changesSince(0).cursor;
    assert.equal(await s.sweepExpired(T0 + 30 * 60_000, 24 * H), 0);
    assert.equal(s.changesSince(cur).changes.length, 0, 'nothing expired yet');
    assert.equal(await s.sweepExpired(T0 + 2 * H, 24 * H), 0);
    const ch = s.changesSince(cur);
    assert.deepEqual(ch.changes.map((c) => [c.kind, c.decisionId]), [['deleted', 1]]);
    cur = ch.cursor;
    assert.equal(await s.sweepExpired(T0 + 3 * H, 24 * H), 0);
    assert.equal(s.changesSince(cur).changes.length, 0, 'reported once');
    assert.equal(s.listDecisions({ status: 'expired' }, T0 + 3 * H).length, 1, 'kept during the retention');
    // 1.1.1.1 expired at T0+1h; with a 24 h retention it goes at T0+25h+; 2.2.2.2 expires at T0+10h
    assert.equal(await s.sweepExpired(T0 + 26 * H, 24 * H), 1);
    assert.equal(s.getDecision(1), undefined);
    assert.equal(s.getDecision(2)!.value, '2.2.2.2');
    const late = s.changesSince(cur);
    assert.deepEqual(late.changes.map((c) => [c.kind, c.decisionId]), [['deleted', 2]], 'natural expiry of 2, no second report for 1');
    assert.equal(s.getAlert(1)!.decisions.length, 0, 'the alert stays, without its swept decision');
    // everything written before T0+2h is older than the retention at T0+27h
    await s.sweepExpired(T0 + 27 * H, 24 * H);
    const trimmed = s.changesSince(0);
    assert.equal(trimmed.truncated, true, 'a cursor older than the trimmed log must resync');
    assert.ok(trimmed.changes.every((c) => c.seq > 3));
    assert.equal(s.changesSince(late.cursor).truncated, false);
  });
});

test('flushAlerts keeps at most max_items newest alerts and drops those older than max_age', async () => {
  await withStore('flush', async (s) => {
    for (let i = 0; i < 10; i++) await seed(s, [decisionFor(`9.9.9.${i}`, { durationMs: 100 * H })], T0 + i * H);
    const cur = s.changeCursor();
    assert.equal(await s.flushAlerts({ maxItems: 6, maxAgeMs: 0 }, T0 + 10 * H), 4);
    assert.deepEqual(s.listAlerts({ sort: 'ASC' }, T0 + 10 * H).map((a) => a.id), [5, 6, 7, 8, 9, 10]);
    assert.equal(s.listDecisions({}, T0 + 10 * H).length, 6, 'decisions go with their alerts');
    assert.deepEqual(s.changesSince(cur).changes.map((c) => [c.kind, c.decisionId]), [1, 2, 3, 4].map((id) => ['deleted', id]));
    // max_age 3h at T0+10h: alerts created before T0+7h go (ids 5..7)
    assert.equal(await s.flushAlerts({ maxItems: 0, maxAgeMs: 3 * H }, T0 + 10 * H), 3);
    assert.deepEqual(s.listAlerts({}, T0 + 10 * H).map((a) => a.id), [10, 9, 8]);
    assert.equal(await s.flushAlerts({ maxItems: 5000, maxAgeMs: 7 * 24 * H }, T0 + 10 * H), 0);
  });
});

test('alerts: listing filters, default order, limit, deletion by filter and by id', async () => {
  await withStore('alerts', async (s) => {
    await s.addAlerts([
      { alert: alertFor('1.1.1.1', { stopAt: T0 - 5 * H }), decisions: [decisionFor('1.1.1.1', { durationMs: H })] },
      { alert: alertFor('10.0.0.0/24', { scope: 'Range', stopAt: T0 - H, scenario: 'x/y' }), decisions: [decisionFor('10.0.0.0/24', { scope: 'Range', scenario: 'x/y' })] },
      { alert: alertFor('3.3.3.3', { simulated: true }), decisions: [] },
      { alert: alertFor('4.4.4.4'), decisions: [decisionFor('4.4.4.4', { origin: 'CAPI' })] },
    ], T0);
    const ids = (f: Parameters<Store['listAlerts']>[0]) => s.listAlerts(f, T0).map((a) => a.id);
    assert.deepEqual(ids({}), [4, 3, 2, 1], 'DESC on created_at, id');
    assert.deepEqual(ids({ sort: 'ASC', limit: 2 }), [1, 2]);
    assert.deepEqual(ids({ scope: 'Range' }), [2]);
    assert.deepEqual(ids({ value: '1.1.1.1' }), [1]);
    assert.deepEqual(ids({ scenario: 'x/y' }), [2]);
    assert.deepEqual(ids({ ip: '10.0.0.9' }), [2]);
    assert.deepEqual(ids({ range: '10.0.0.0/8', contains: false }), [2]);
    assert.deepEqual(ids({ startedAtGte: T0 - 2 * H }), [4, 3, 2]);
    assert.deepEqual(ids({ startedAtLte: T0 - 2 * H }), [1]);
    assert.deepEqual(ids({ hasActiveDecision: true }), [4, 2]);
    assert.deepEqual(ids({ hasActiveDecision: false }), [3]);
    assert.deepEqual(ids({ includeCapi: false }), [2, 1]);
    assert.deepEqual(ids({ origin: 'CAPI' }), [4]);
    assert.deepEqual(ids({ excludeSimulated: true }), [4, 2, 1]);
    const a = s.getAlert(2)!;
    assert.equal(a.machineId, 'testMachine');
    assert.equal(a.source.scope, 'Range');
    assert.equal(a.source.ip, '');
    assert.equal(a.stoppedAt, T0 - H);
    assert.equal(a.decisions[0]!.until, T0 + 3 * H);
    assert.equal(s.getAlert(99), undefined);

    const cur = s.changeCursor();
    assert.equal(await s.deleteAlerts({ ip: '10.0.0.1' }, T0), 1);
    assert.deepEqual(s.changesSince(cur).changes.map((c) => [c.kind, c.decisionId]), [['deleted', 2]]);
    assert.equal(s.listDecisions({ value: '10.0.0.0/24', status: 'all' }, T0).length, 0, 'hard delete removes the rows');
    assert.equal(await s.deleteAlert(1, T0), true);
    assert.equal(await s.deleteAlert(1, T0), false);
    assert.equal(await s.deleteAlerts({}, T0), 2);
    assert.deepEqual(ids({}), []);
  });
});

test('ids and the change cursor keep increasing across reopen, also after deleting the newest rows', async () => {
  const { dir, cleanup } = tempDir('reopen');
  try {
    let s = Store.open(dir, { noSync: true });
    await seed(s, [decisionFor('1.1.1.1'), decisionFor('2.2.2.2')]);
    await s.deleteAlert(2);
    const cursor = s.changeCursor();
    await s.close();
    s = Store.open(dir, { noSync: true });
    const [r] = await seed(s, [decisionFor('3.3.3.3')]);
    assert.deepEqual(r, { alertId: 3, decisionIds: [3] });
    assert.equal(s.changeCursor(), cursor + 1);
    await s.close();
    const ro = Store.open(dir, { readOnly: true });
    assert.deepEqual(values(ro.listDecisions({}, T0)), ['1.1.1.1', '3.3.3.3']);
    await assert.rejects(ro.addAlerts([{ alert: alertFor('4.4.4.4'), decisions: [] }]), (e: StoreError) => e.code === 'READ_ONLY');
    await ro.close();
    await assert.rejects(ro.deleteDecision(1), (e: StoreError) => e.code === 'CLOSED');
  } finally {
    cleanup();
  }
  assert.throws(() => Store.open('/nonexistent/palisade-store', { readOnly: true }), (e: StoreError) => e.code === 'OPEN_FAILED' && e.message.includes('/nonexistent/palisade-store'));
});

test('bad input is rejected with its location and writes nothing', async () => {
  await withStore('bad', async (s) => {
    const ok = { alert: alertFor('1.1.1.1'), decisions: [decisionFor('1.1.1.1')] };
    await assert.rejects(s.addAlerts([ok, { alert: alertFor('x'), decisions: [decisionFor('1.1.1.1'), decisionFor('999.1.1.1')] }]), (e: StoreError) => {
      assert.equal(e.code, 'INVALID_ADDRESS');
      assert.deepEqual(e.where, { alert: 1, decision: 1, field: 'value' });
      assert.match(e.message, /^alerts\[1\]\.decisions\[1\]\.value: invalid ip address \/ range '999\.1\.1\.1'$/);
      return true;
    });
    await assert.rejects(s.addAlerts([{ alert: alertFor('1.1.1.1'), decisions: [decisionFor('1.1.1.1', { durationMs: undefined, duration: '4d' })] }]), (e: StoreError) => e.code === 'INVALID_DURATION' && e.where.field === 'duration');
    await assert.rejects(s.addAlerts([{ alert: alertFor('1.1.1.1'), decisions: [decisionFor('1.1.1.1', { durationMs: undefined })] }]), (e: StoreError) => e.code === 'INVALID_INPUT');
    const noSource = { ...alertFor('1.1.1.1'), source: undefined } as unknown as ReturnType<typeof alertFor>;
    await assert.rejects(s.addAlerts([{ alert: noSource, decisions: [] }]), (e: StoreError) => e.where.field === 'source');
    const badScenario = { ...alertFor('1.1.1.1'), scenario: 42 } as unknown as ReturnType<typeof alertFor>;
    await assert.rejects(s.addAlerts([{ alert: badScenario, decisions: [] }]), (e: StoreError) => e.where.field === 'scenario');
    assert.equal(s.changeCursor(), 0);
    assert.equal(s.listAlerts({}).length, 0);
    // a decision of another scope may hold any value
    await s.addAlerts([{ alert: alertFor('bob', { scope: 'username' }), decisions: [decisionFor('not an ip', { scope: 'username' })] }], T0);
    assert.equal(s.listDecisions({}, T0).length, 1);
    await assert.rejects(s.addAlerts([{ alert: alertFor('1.1.1.1'), decisions: [decisionFor('1.1.1.1', { until: T0 })] }]), (e: StoreError) => e.code === 'INVALID_INPUT' && /exactly one/.test(e.message));
  });
});

test('event metas are capped as the LAPI stores them; times parse with offsets', async () => {
  await withStore('meta', async (s) => {
    const a = alertFor('1.1.1.1');
    a.start_at = '2023-02-12T14:10:00+01:00';
    a.stop_at = 'not a time';
    a.events = [{ timestamp: a.stop_at, meta: [{ key: 'big', value: 'x'.repeat(9000) }, { key: 'small', value: 'ok' }] }];
    a.meta = [{ key: 'ctx', value: 'y'.repeat(5000) }];
    const [r] = await s.addAlerts([{ alert: a, decisions: [] }], T0);
    const got = s.getAlert(r!.alertId)!;
    assert.deepEqual(got.events[0]!.meta, [{ key: 'big', value: 'x'.repeat(2048) + '<stripped>' }, { key: 'small', value: 'ok' }]);
    assert.equal(got.meta[0]!.value.length, 4095);
    assert.equal(got.startedAt, Date.parse('2023-02-12T13:10:00Z'));
    assert.equal(got.stoppedAt, T0, 'unparseable stop_at falls back to now');
    assert.equal(got.start_at, '2023-02-12T14:10:00+01:00', 'the posted text is kept for display');
  });
});

test('countDecisions from the value index alone agrees with reading the records (short and cut values, deletes)', async () => {
  await withStore('count', async (s) => {
    const long = 'u'.repeat(450);
    const long2 = 'u'.repeat(400) + 'v'.repeat(50); // same 400-byte key prefix as `long`
    const exact = 'w'.repeat(399);
    const ds = [
      decisionFor('1.2.3.4'), decisionFor('1.2.3.4', { durationMs: -H }), decisionFor('1.2.3.45'),
      decisionFor(long, { scope: 'Username' }), decisionFor(long2, { scope: 'Username' }), decisionFor(long2, { scope: 'Username' }),
      decisionFor(exact, { scope: 'Username' }),
    ];
    const res = await seed(s, ds);
    const byRecords = (v: string) => s.listDecisions({ value: v, status: 'all' }, T0).length;
    const check = () => {
      for (const v of ['1.2.3.4', '1.2.3.45', '1.2.3', long, long2, exact, 'u'.repeat(400), 'nobody']) {
        assert.equal(s.countDecisions(v), byRecords(v), `count of ${v.slice(0, 20)}… (${v.length})`);
      }
    };
    check();
    assert.equal(s.countDecisions('1.2.3.4'), 2, 'expired decisions count too');
    assert.equal(s.countDecisions(long2), 2);
    assert.equal(s.countDecisions(long), 1);
    await s.deleteDecisions({ value: '1.2.3.45' }, T0); // soft delete: still counted
    await s.deleteAlert(res[0]!.alertId, T0); // hard delete of one 1.2.3.4 decision
    check();
    assert.equal(s.countDecisions('1.2.3.4'), 1);
    assert.equal(s.countDecisions('1.2.3.45'), 1);
  });
});

test('one batch hands out alert ids, decision ids and change seqs in batch order, as alert-by-alert writes did', async () => {
  await withStore('batch-ids', async (s) => {
    const batch = [
      { alert: alertFor('1.1.1.1'), decisions: [] as DecisionInput[] },
      { alert: alertFor('2.2.2.2'), decisions: [decisionFor('2.2.2.2'), decisionFor('2.2.2.3')] },
      { alert: alertFor('3.3.3.3'), decisions: [decisionFor('3.3.3.3')] },
    ];
    assert.deepEqual(await s.addAlerts(batch, T0), [
      { alertId: 1, decisionIds: [] },
      { alertId: 2, decisionIds: [1, 2] },
      { alertId: 3, decisionIds: [3] },
    ]);
    assert.equal(s.changeCursor(), 3);
    const changes = s.changesSince(0).changes;
    assert.deepEqual(changes.map((c) => [c.seq, c.decisionId, c.decision?.value, c.decision?.alertId]), [[1, 1, '2.2.2.2', 2], [2, 2, '2.2.2.3', 2], [3, 3, '3.3.3.3', 3]]);
    // The counters go on from there; an empty batch or one without decisions moves only what it uses.
    assert.deepEqual(await s.addAlerts([], T0), []);
    assert.deepEqual(await s.addAlerts([{ alert: alertFor('4.4.4.4'), decisions: [] }], T0), [{ alertId: 4, decisionIds: [] }]);
    assert.equal(s.changeCursor(), 3);
    assert.deepEqual(await s.addAlerts([{ alert: alertFor('5.5.5.5'), decisions: [decisionFor('5.5.5.5')] }], T0), [{ alertId: 5, decisionIds: [4] }]);
    assert.equal(s.changeCursor(), 4);
    assert.deepEqual(s.listAlerts({}).map((a) => a.id).sort((a, b) => a - b), [1, 2, 3, 4, 5]);
  });
});

test('prepareAlert + addPrepared store what addAlerts stores (same records, ids, stored bytes); machineId replaces the alert\'s', async () => {
  const { prepareAlert } = await import('../../src/decisions/store.js');
  const { open } = await import('lmdb');
  const batch = [
    { alert: { ...alertFor('1.1.1.1'), machine_id: 'agent-a' }, decisions: [decisionFor('1.1.1.1')] },
    { alert: alertFor('2001:db8::1'), decisions: [decisionFor('2001:db8::1'), decisionFor('2001:db8::/64', { scope: 'Range' })] },
  ];
  const rawOf = async (dir: string) => {
    const env = open({ path: dir, noSubdir: false, maxDbs: 16, readOnly: true });
    const out: string[] = [];
    for (const name of ['alerts', 'decisions', 'changes']) {
      const db = env.openDB({ name, sharedStructuresKey: Symbol.for('palisade.structures'), compression: name === 'alerts' });
      for (const key of db.getKeys({})) if (typeof key === 'number') out.push(`${name} ${key} ${Buffer.from(db.getBinary(key)!).toString('hex')}`);
    }
    await env.close();
    return out;
  };
  let viaAdd: string[] = [], viaPrepared: string[] = [];
  await withStore('prepared-a', async (s, dir) => {
    assert.deepEqual(await s.addAlerts(batch.map((b) => ({ ...b, alert: { ...b.alert, machine_id: 'm1' } })), T0), [{ alertId: 1, decisionIds: [1] }, { alertId: 2, decisionIds: [2, 3] }]);
    viaAdd = await rawOf(dir);
    assert.deepEqual(s.listAlerts({}).map((a) => a.machineId), ['m1', 'm1']);
  });
  await withStore('prepared-b', async (s, dir) => {
    const prepared = batch.map((b, i) => prepareAlert(b, i, T0, 'm1'));
    assert.equal(prepared[1]!.decisions.length, 2);
    assert.deepEqual(await s.addPrepared(prepared, T0), [{ alertId: 1, decisionIds: [1] }, { alertId: 2, decisionIds: [2, 3] }]);
    viaPrepared = await rawOf(dir);
  });
  assert.equal(viaAdd.length, 2 + 3 + 3);
  assert.deepEqual(viaPrepared, viaAdd);
  assert.throws(() => prepareAlert({ alert: { ...alertFor('3.3.3.3'), scenario: 5 as unknown as string }, decisions: [] }, 4, T0), (e: StoreError) => e.where.alert === 4 && e.where.field === 'scenario');
});
