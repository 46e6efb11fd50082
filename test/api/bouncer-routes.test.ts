/**
 * Bouncer routes (spec §7.4, §7.5): GET /v1/decisions filters and address matching for
 * IPv4 and IPv6; the stream's startup / new / deleted / dedup semantics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertInput } from '../../src/decisions/records.js';
import { agentAlert, bouncerKey, harness, machineToken, manualAlert, type Harness } from './support.js';

interface D { duration: string; id: number; origin: string; scenario: string; scope: string; type: string; value: string }
interface S { deleted: D[] | null; new: D[] | null }

async function setup(): Promise<{ h: Harness; auth: Record<string, string>; bouncer: Record<string, string> }> {
  const h = await harness();
  const auth = { authorization: `Bearer ${await machineToken(h)}` };
  const bouncer = { 'x-api-key': await bouncerKey(h), 'user-agent': 'crowdsec-firewall-bouncer/v0.0.25' };
  return { h, auth, bouncer };
}

async function post(h: Harness, auth: Record<string, string>, alerts: Record<string, unknown>[]): Promise<void> {
  const r = await h.server.app.inject({ method: 'POST', url: '/v1/alerts', headers: auth, payload: alerts });
  assert.equal(r.statusCode, 201, r.body);
}

test('GET /v1/decisions: ip-in-range matching (v4, v6, mapped), contains=false, scopes, origins, type, value, scenarios', async () => {
  const { h, auth, bouncer } = await setup();
  try {
    const now = h.clock.t;
    await post(h, auth, [
      manualAlert('10.0.0.0/24', now, { scope: 'Range' }), // 1
      manualAlert('10.0.0.5', now), // 2
      manualAlert('2001:db8::/48', now, { scope: 'Range', type: 'captcha' }), // 3
      manualAlert('2001:db8::7', now, { origin: 'crowdsec', scenario: 'crowdsecurity/ssh-bf' }), // 4
      manualAlert('bob', now, { scope: 'Username' }), // 5
      manualAlert('FR', now, { scope: 'Country', origin: 'CAPI', scenario: 'crowdsecurity/http-probing' }), // 6
    ]);
    const get = async (q: string) => {
      const r = await h.server.app.inject({ url: `/v1/decisions${q}`, headers: bouncer });
      assert.equal(r.statusCode, 200, `${q}: ${r.body}`);
      const list = JSON.parse(r.body) as D[] | null;
      return list === null ? null : list.map((d) => d.id);
    };
    assert.deepEqual(await get(''), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(await get('?ip=10.0.0.5'), [1, 2]);
    assert.deepEqual(await get('?ip=10.0.0.6'), [1]);
    assert.deepEqual(await get('?ip=::ffff:10.0.0.6'), [1]); // v4-mapped is IPv4
    assert.equal(await get('?ip=10.0.1.1'), null);
    assert.deepEqual(await get('?range=10.0.0.0/28'), [1]); // decisions holding the whole range
    assert.deepEqual(await get('?range=10.0.0.0/16&contains=false'), [1, 2]); // decisions inside it
    assert.deepEqual(await get('?ip=2001:db8::7'), [3, 4]);
    assert.deepEqual(await get('?ip=2001:db8:0:ffff::1'), [3]);
    assert.equal(await get('?ip=2001:db9::1'), null);
    assert.deepEqual(await get('?range=2001:db8::/32&contains=false'), [3, 4]);
    assert.deepEqual(await get('?scopes=range'), [1, 3]);
    assert.deepEqual(await get('?scopes=ip,country'), [2, 4, 6]);
    assert.deepEqual(await get('?scope=ip&value=bob'), [5]); // singular scope ignored (1.4.6)
    assert.deepEqual(await get('?origins=crowdsec,CAPI'), [4, 6]);
    assert.deepEqual(await get('?type=captcha'), [3]);
    assert.deepEqual(await get('?scenarios_containing=SSH,probing'), [4, 6]);
    assert.deepEqual(await get('?scenarios_not_containing=manual'), [4, 6]);
    assert.deepEqual(await get('?foo=bar&community_pull=false'), [1, 2, 3, 4, 5, 6]); // unknown params ignored
    const bad = await h.server.app.inject({ url: '/v1/decisions?ip=10.0.0.300', headers: bouncer });
    assert.equal(bad.statusCode, 500);
    assert.equal(bad.body, `{"message":"invalid ip address / range '10.0.0.300'"}`);
    const one = JSON.parse((await h.server.app.inject({ url: '/v1/decisions?ip=10.0.0.5&scopes=ip', headers: bouncer })).body) as D[];
    assert.deepEqual(Object.keys(one[0]!), ['duration', 'id', 'origin', 'scenario', 'scope', 'type', 'value']);
    assert.equal(one[0]!.scenario, "manual 'ban' from 'testMachine'");
  } finally {
    await h.cleanup();
  }
});

test('stream: startup lists active as new and expired as deleted, then only deltas; last_pull stored', async () => {
  const { h, auth, bouncer } = await setup();
  try {
    const t0 = h.clock.t;
    await post(h, auth, [manualAlert('1.1.1.1', t0, { duration: '1h' }), manualAlert('2.2.2.2', t0, { duration: '10s' }), manualAlert('bob', t0, { scope: 'Username' })]);
    // an old alert whose decision is already expired (replayed log)
    await post(h, auth, [agentAlert('3.3.3.3', t0 - 5 * 3600_000)]);
    const stream = async (q = '') => {
      const r = await h.server.app.inject({ url: `/v1/decisions/stream${q}`, headers: bouncer });
      assert.equal(r.statusCode, 200, r.body);
      return JSON.parse(r.body) as S;
    };
    const ids = (l: D[] | null) => (l === null ? null : l.map((d) => d.value));
    h.clock.advance(1000);
    const s1 = await stream('?startup=true');
    assert.deepEqual(ids(s1.new), ['1.1.1.1', '2.2.2.2']); // scopes default to ip,range: no Username
    assert.deepEqual(ids(s1.deleted), ['3.3.3.3']);
    assert.match(s1.deleted![0]!.duration, /^-\d+h/); // negative Go duration
    assert.equal(h.server.ctx.creds.getBouncer('fw')!.lastPull, h.clock.t);

    h.clock.advance(1000);
    const s2 = await stream();
    assert.deepEqual(s2, { deleted: null, new: null });
    const raw = await h.server.app.inject({ url: '/v1/decisions/stream', headers: bouncer });
    assert.equal(raw.body, '{"deleted":null,"new":null}');

    // a new decision, a soft delete and a natural expiry between two pulls
    h.clock.advance(1000);
    await post(h, auth, [manualAlert('4.4.4.4', h.clock.t)]);
    const del = await h.server.app.inject({ method: 'DELETE', url: '/v1/decisions?ip=1.1.1.1', headers: auth });
    assert.equal(del.body, '{"nbDeleted":"1"}');
    h.clock.advance(10_000); // 2.2.2.2 (10s) expires
    const s3 = await stream();
    assert.deepEqual(ids(s3.new), ['4.4.4.4']);
    assert.deepEqual(ids(s3.deleted)?.sort(), ['1.1.1.1', '2.2.2.2']);
    assert.ok(s3.deleted!.every((d) => d.duration.startsWith('-')));

    h.clock.advance(5000);
    assert.deepEqual(await stream(), { deleted: null, new: null });
    const withUser = await stream('?startup=true&scopes=ip,range,Username');
    assert.deepEqual(ids(withUser.new), ['bob', '4.4.4.4']); // id order
    const head = await h.server.app.inject({ method: 'HEAD', url: '/v1/decisions/stream?startup=true', headers: bouncer });
    assert.equal(head.statusCode, 200);
    assert.equal(head.body, '');
  } finally {
    await h.cleanup();
  }
});

test('stream dedup: longest decision per (value, type, scope) wins; dedup=false shows all', async () => {
  const { h, auth, bouncer } = await setup();
  try {
    const t0 = h.clock.t;
    // two identical expired decisions: deduplicated to one deleted entry (spec §14)
    await post(h, auth, [agentAlert('6.6.6.6', t0 - 5 * 3600_000), agentAlert('6.6.6.6', t0 - 5 * 3600_000)]);
    // a short and a long active decision on the same IP: only the long one is new
    await post(h, auth, [manualAlert('7.7.7.7', t0, { duration: '1h' }), manualAlert('7.7.7.7', t0, { duration: '3h' })]);
    // an expired decision for an IP that still has an active one is not "deleted"
    await post(h, auth, [agentAlert('8.8.8.8', t0 - 5 * 3600_000), manualAlert('8.8.8.8', t0, { duration: '2h' })]);
    // different type: not a duplicate
    await post(h, auth, [manualAlert('7.7.7.7', t0, { duration: '1h', type: 'captcha' })]);
    h.clock.advance(1000);
    const r = JSON.parse((await h.server.app.inject({ url: '/v1/decisions/stream?startup=true', headers: bouncer })).body) as S;
    const fmt = (l: D[] | null) => (l ?? []).map((d) => `${d.value}/${d.type}/${d.id}`);
    assert.deepEqual(fmt(r.new), ['7.7.7.7/ban/4', '8.8.8.8/ban/6', '7.7.7.7/captcha/7']);
    assert.deepEqual(fmt(r.deleted), ['6.6.6.6/ban/1']);
    const key2 = await bouncerKey(h, 'fw2');
    const all = JSON.parse((await h.server.app.inject({ url: '/v1/decisions/stream?startup=true&dedup=false', headers: { 'x-api-key': key2 } })).body) as S;
    assert.deepEqual(fmt(all.new), ['7.7.7.7/ban/3', '7.7.7.7/ban/4', '8.8.8.8/ban/6', '7.7.7.7/captcha/7']);
    assert.deepEqual(fmt(all.deleted), ['6.6.6.6/ban/1', '6.6.6.6/ban/2', '8.8.8.8/ban/5']);
    // GET /v1/decisions is not deduped
    const live = JSON.parse((await h.server.app.inject({ url: '/v1/decisions?ip=7.7.7.7', headers: bouncer })).body) as D[];
    assert.equal(live.length, 3);
  } finally {
    await h.cleanup();
  }
});

test('stream: origins and scenario filters, simulated excluded unless asked, per-bouncer cursors', async () => {
  const { h, auth, bouncer } = await setup();
  try {
    const t0 = h.clock.t;
    await post(h, auth, [
      manualAlert('1.0.0.1', t0, { origin: 'crowdsec', scenario: 'crowdsecurity/ssh-bf' }),
      manualAlert('1.0.0.2', t0, { origin: 'CAPI', scenario: 'crowdsecurity/http-probing' }),
      agentAlert('1.0.0.3', t0, { simulated: true }),
    ]);
    const get = async (q: string, headers = bouncer) =>
      (JSON.parse((await h.server.app.inject({ url: `/v1/decisions/stream${q}`, headers })).body) as S).new?.map((d) => d.value) ?? null;
    assert.deepEqual(await get('?startup=true&origins=CAPI'), ['1.0.0.2']);
    assert.deepEqual(await get('?startup=true&scenarios_containing=ssh'), ['1.0.0.1']);
    assert.deepEqual(await get('?startup=true&scenarios_not_containing=ssh'), ['1.0.0.2']);
    assert.deepEqual(await get('?startup=true'), ['1.0.0.1', '1.0.0.2']);
    assert.deepEqual(await get('?startup=true&simulated=true'), ['1.0.0.1', '1.0.0.2', '1.0.0.3']);
    // a second bouncer has its own last_pull: its first non-startup pull sees everything
    const other = { 'x-api-key': await bouncerKey(h, 'other') };
    h.clock.advance(1000);
    assert.deepEqual(await get('', other), ['1.0.0.1', '1.0.0.2']);
    assert.deepEqual(await get('', other), null);
    assert.deepEqual(await get(''), null);
  } finally {
    await h.cleanup();
  }
});

test('stream: a decision written by another process between pulls is not lost (change-log path)', async () => {
  const { h, auth, bouncer } = await setup();
  try {
    const t0 = h.clock.t;
    await post(h, auth, [manualAlert('1.2.3.4', t0)]);
    const pull = async (q = '') => JSON.parse((await h.server.app.inject({ url: `/v1/decisions/stream${q}`, headers: bouncer })).body) as S;
    await pull('?startup=true');
    // A writer whose created_at is before the last pull but whose commit lands after it:
    // created_at < last_pull, so the time-based query alone would never report it.
    await h.store.addAlerts([{ alert: { ...agentAlert('9.9.9.9', t0), machine_id: 'x' } as unknown as AlertInput, decisions: [{ origin: 'crowdsec', type: 'ban', scope: 'Ip', value: '9.9.9.9', scenario: 's', duration: '4h' }] }], t0 - 500);
    h.clock.advance(1000);
    const s = await pull();
    assert.deepEqual(s.new?.map((d) => d.value), ['9.9.9.9']);
    // hard delete (alert deleted) is reported as deleted too
    const del = await h.server.app.inject({ method: 'DELETE', url: '/v1/alerts?value=9.9.9.9', headers: auth });
    assert.equal(del.body, '{"nbDeleted":"1"}');
    h.clock.advance(1000);
    const s2 = await pull();
    assert.deepEqual(s2.deleted?.map((d) => d.value), ['9.9.9.9']);
    assert.equal(s2.new, null);
  } finally {
    await h.cleanup();
  }
});
