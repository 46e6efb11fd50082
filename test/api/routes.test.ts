/**
 * Every route's happy path and its error bodies / status codes (spec §7, §14), through
 * fastify's inject().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGoDuration } from '../../src/core/duration.js';
import { agentAlert, bouncerKey, harness, machineToken, manualAlert, UA, waitFor } from './support.js';

const json = (body: string): unknown => JSON.parse(body);

test('health, unknown route 404 and wrong method 405 with empty bodies', async () => {
  const h = await harness();
  try {
    const app = h.server.app;
    const ok = await app.inject({ url: '/health' });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.body, '{"status":"up"}');
    assert.match(String(ok.headers['content-type']), /^application\/json; charset=utf-8$/);
    const nf = await app.inject({ url: '/v1/nothing' });
    assert.equal(nf.statusCode, 404);
    assert.equal(nf.body, '');
    const wm = await app.inject({ method: 'PUT', url: '/v1/decisions' });
    assert.equal(wm.statusCode, 405);
    assert.equal(wm.body, '');
    const wm2 = await app.inject({ method: 'POST', url: '/v1/alerts/12' });
    assert.equal(wm2.statusCode, 405);
  } finally {
    await h.cleanup();
  }
});

test('watchers: register, duplicate 403, schema 500, malformed 400, login before/after validation', async () => {
  const h = await harness();
  try {
    const app = h.server.app;
    const reg = await app.inject({ method: 'POST', url: '/v1/watchers', payload: { machine_id: 'newone', password: 'pw' } });
    assert.equal(reg.statusCode, 201);
    assert.equal(reg.body, '');
    const dup = await app.inject({ method: 'POST', url: '/v1/watchers', payload: { machine_id: 'newone', password: 'pw' } });
    assert.equal(dup.statusCode, 403);
    assert.equal(dup.body, `{"message":"user 'newone': user already exist"}`);
    const missing = await app.inject({ method: 'POST', url: '/v1/watchers', payload: { machine_id: 'x' } });
    assert.equal(missing.statusCode, 500);
    assert.equal(missing.body, '{"message":"validation failure list:\\npassword in body is required"}');
    const badType = await app.inject({ method: 'POST', url: '/v1/watchers', payload: { machine_id: 'x', password: 5 } });
    assert.equal(badType.statusCode, 500);
    assert.match((json(badType.body) as { message: string }).message, /password in body must be of type string/);
    const malformed = await app.inject({ method: 'POST', url: '/v1/watchers', headers: { 'content-type': 'application/json' }, payload: '{"machine_id": "x",\n "password": }' });
    assert.equal(malformed.statusCode, 400);
    assert.equal((json(malformed.body) as { message: string }).message, 'invalid JSON body: unexpected character \'}\' at line 2, column 14 (offset 33)');
    const empty = await app.inject({ method: 'POST', url: '/v1/watchers', headers: { 'content-type': 'application/json' }, payload: '' });
    assert.equal(empty.statusCode, 400);
    assert.match(empty.body, /empty request body/);

    const login = (body: unknown, headers: Record<string, string> = UA) => app.inject({ method: 'POST', url: '/v1/watchers/login', headers, payload: body as object });
    const early = await login({ machine_id: 'newone', password: 'pw' });
    assert.equal(early.statusCode, 401);
    assert.equal(early.body, '{"code":401,"message":"machine newone not validated"}');
    assert.equal(await h.server.ctx.creds.validateMachine('newone'), true);
    const wrong = await login({ machine_id: 'newone', password: 'nope' });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.body, '{"code":401,"message":"incorrect Username or Password"}');
    const unknown = await login({ machine_id: 'ghost', password: 'pw' });
    assert.equal(unknown.body, '{"code":401,"message":"incorrect Username or Password"}');
    const noPw = await login({ machine_id: 'newone' });
    assert.equal(noPw.statusCode, 401);
    assert.equal(noPw.body, '{"code":401,"message":"missing Username or Password"}');
    const badUa = await login({ machine_id: 'newone', password: 'pw' }, { 'user-agent': 'node' });
    assert.equal(badUa.statusCode, 401);
    assert.match(badUa.body, /bad user agent 'node'/);
    const ok = await login({ machine_id: 'newone', password: 'pw', scenarios: ['crowdsecurity/ssh-bf', 'crowdsecurity/http-probing'] });
    assert.equal(ok.statusCode, 200);
    const body = json(ok.body) as { code: number; expire: string; token: string };
    assert.deepEqual(Object.keys(body), ['code', 'expire', 'token']);
    assert.equal(body.code, 200);
    assert.match(body.expire, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(Date.parse(body.expire), Math.floor(h.clock.t / 1000) * 1000 + 3600_000);
    const m = h.server.ctx.creds.getMachine('newone')!;
    assert.equal(m.scenarios, 'crowdsecurity/ssh-bf,crowdsecurity/http-probing');
    assert.equal(m.version, 'v1.4.6-debian');
    assert.equal(m.ipAddress, '127.0.0.1');

    const hb = await app.inject({ url: '/v1/heartbeat', headers: { authorization: `Bearer ${body.token}` } });
    assert.equal(hb.statusCode, 200);
    assert.equal(h.server.ctx.creds.getMachine('newone')!.lastHeartbeat, h.clock.t);
    const rt = await app.inject({ url: '/v1/refresh_token', headers: { authorization: `Bearer ${body.token}` } });
    assert.equal(rt.statusCode, 200);
    assert.ok((json(rt.body) as { token: string }).token.split('.').length === 3);
  } finally {
    await h.cleanup();
  }
});

test('JWT: missing 401 cookie token is empty, expiry, tampering, query and cookie tokens, deleted machine', async () => {
  const h = await harness();
  try {
    const app = h.server.app;
    const token = await machineToken(h);
    const none = await app.inject({ url: '/v1/alerts' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.body, '{"code":401,"message":"cookie token is empty"}');
    const garbage = await app.inject({ url: '/v1/alerts', headers: { authorization: 'Basic abc' } });
    assert.equal(garbage.body, '{"code":401,"message":"cookie token is empty"}');
    assert.equal((await app.inject({ url: '/v1/alerts', headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
    assert.equal((await app.inject({ url: '/v1/heartbeat', headers: { cookie: `jwt=${token}` } })).statusCode, 200);
    assert.equal((await app.inject({ url: `/v1/heartbeat?token=${token}` })).statusCode, 200);
    const [hd, pl, sig] = token.split('.') as [string, string, string];
    const forged = `${hd}.${Buffer.from(JSON.stringify({ id: 'admin', exp: 9e9, orig_iat: 0 })).toString('base64url')}.${sig}`;
    const bad = await app.inject({ url: '/v1/alerts', headers: { authorization: `Bearer ${forged}` } });
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.body, '{"code":401,"message":"signature is invalid"}');
    const none2 = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${pl}.`;
    assert.equal((await app.inject({ url: '/v1/alerts', headers: { authorization: `Bearer ${none2}` } })).statusCode, 401);
    h.clock.advance(3600_000 + 1000);
    const expired = await app.inject({ url: '/v1/alerts', headers: { authorization: `Bearer ${token}` } });
    assert.equal(expired.statusCode, 401);
    assert.equal(expired.body, '{"code":401,"message":"Token is expired"}');
    const t2 = await machineToken(h, 'other');
    await h.server.ctx.creds.deleteMachine('other');
    const gone = await app.inject({ url: '/v1/alerts', headers: { authorization: `Bearer ${t2}` } });
    assert.equal(gone.statusCode, 403);
  } finally {
    await h.cleanup();
  }
});

test('refresh_token: a new token within the 1 h refresh window of the original login, refused after it', async () => {
  const h = await harness();
  try {
    const app = h.server.app;
    const t1 = await machineToken(h);
    h.clock.advance(59 * 60_000);
    const r1 = await app.inject({ url: '/v1/refresh_token', headers: { cookie: `jwt=${t1}` } });
    assert.equal(r1.statusCode, 200);
    const t2 = (json(r1.body) as { token: string }).token;
    h.clock.advance(31 * 60_000); // t1 expired, t2 still valid, but the window of the first login is over
    assert.equal((await app.inject({ url: '/v1/alerts', headers: { authorization: `Bearer ${t1}` } })).statusCode, 401);
    assert.equal((await app.inject({ url: '/v1/alerts', headers: { authorization: `Bearer ${t2}` } })).statusCode, 200);
    const r2 = await app.inject({ url: '/v1/refresh_token', headers: { authorization: `Bearer ${t2}` } });
    assert.equal(r2.statusCode, 401);
    assert.equal(r2.body, '{"code":401,"message":"token is expired"}');
  } finally {
    await h.cleanup();
  }
});

test('bouncer key: missing or wrong 403 access forbidden; revoked key after delete; UA recorded', async () => {
  const h = await harness();
  try {
    const app = h.server.app;
    const key = await bouncerKey(h);
    for (const headers of [{}, { 'x-api-key': '' }, { 'x-api-key': key.slice(0, -1) + (key.endsWith('0') ? '1' : '0') }]) {
      const r = await app.inject({ url: '/v1/decisions', headers });
      assert.equal(r.statusCode, 403);
      assert.equal(r.body, '{"message":"access forbidden"}');
    }
    const ok = await app.inject({ url: '/v1/decisions', headers: { 'x-api-key': key, 'user-agent': 'crowdsec-firewall-bouncer/v0.0.25' } });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.body, 'null');
    // The bookkeeping write is not awaited by the route.
    const b = await waitFor('the bouncer\'s user agent to be recorded', () => h.server.ctx.creds.getBouncer('fw')!, (x) => x.type !== '');
    assert.equal(b.type, 'crowdsec-firewall-bouncer');
    assert.equal(b.version, 'v0.0.25');
    assert.equal(b.ipAddress, '127.0.0.1');
    const head = await app.inject({ method: 'HEAD', url: '/v1/decisions', headers: { 'x-api-key': key } });
    assert.equal(head.statusCode, 200);
    assert.equal(head.body, '');
    // A JWT is no bouncer credential and an API key no machine credential.
    const token = await machineToken(h);
    assert.equal((await app.inject({ url: '/v1/decisions', headers: { authorization: `Bearer ${token}` } })).statusCode, 403);
    assert.equal((await app.inject({ url: '/v1/alerts', headers: { 'x-api-key': key } })).statusCode, 401);
    await h.server.ctx.creds.deleteBouncer('fw');
    assert.equal((await app.inject({ url: '/v1/decisions', headers: { 'x-api-key': key } })).statusCode, 403);
  } finally {
    await h.cleanup();
  }
});

test('POST /v1/alerts runs profiles and answers 201 with ids as strings; GET shapes; filters; get by id', async () => {
  const h = await harness();
  try {
    const app = h.server.app;
    const auth = { authorization: `Bearer ${await machineToken(h)}` };
    const now = h.clock.t;
    const post = await app.inject({ method: 'POST', url: '/v1/alerts', headers: auth, payload: [agentAlert('35.188.49.176', now), agentAlert('10.0.0.0/24', now, { scope: 'Range' }), manualAlert('bob', now, { scope: 'Username' })] });
    assert.equal(post.statusCode, 201);
    assert.equal(post.body, '["1","2","3"]');
    const d = h.store.listDecisions({}, now);
    assert.deepEqual(d.map((x) => [x.scope, x.value, x.origin, x.type]), [['Ip', '35.188.49.176', 'crowdsec', 'ban'], ['Range', '10.0.0.0/24', 'crowdsec', 'ban'], ['Username', 'bob', 'cscli', 'ban']]);
    assert.equal(d[0]!.until, Math.floor(now / 1000) * 1000 + 4 * 3600_000); // stop_at + 4h
    // last_push bookkeeping is not awaited by the route.
    const lastPush = await waitFor('the machine\'s last_push', () => h.server.ctx.creds.getMachine('testMachine')!.lastPush, (t) => t !== 0);
    assert.equal(lastPush, now);

    const list = await app.inject({ url: '/v1/alerts?limit=1', headers: auth });
    assert.equal(list.statusCode, 200);
    const [a] = json(list.body) as Record<string, unknown>[];
    assert.deepEqual(Object.keys(a!), ['capacity', 'created_at', 'decisions', 'events', 'events_count', 'id', 'labels', 'leakspeed', 'machine_id', 'message', 'scenario', 'scenario_hash', 'scenario_version', 'simulated', 'source', 'start_at', 'stop_at']);
    assert.equal(a!.id, 3); // DESC by default
    assert.equal(a!.machine_id, 'testMachine');
    assert.match(String(a!.start_at), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
    assert.match(String(a!.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(a!.labels, null);
    const dec = (a!.decisions as Record<string, unknown>[])[0]!;
    assert.deepEqual(Object.keys(dec), ['duration', 'id', 'origin', 'scenario', 'scope', 'simulated', 'type', 'value']);
    // until = stop_at (whole seconds) + 4h, printed as until - now in Go's format
    assert.equal(dec.duration, formatGoDuration((Math.floor(now / 1000) * 1000 + 4 * 3600_000 - now) * 1e6));
    assert.match(String(dec.duration), /^3h59m\d+(\.\d+)?s$|^4h0m0s$/);
    assert.equal(dec.simulated, false);

    const byIp = json((await app.inject({ url: '/v1/alerts?ip=10.0.0.5', headers: auth })).body) as { id: number }[];
    assert.deepEqual(byIp.map((x) => x.id), [2]);
    const v6none = await app.inject({ url: '/v1/alerts?ip=2001:db8::1', headers: auth });
    assert.equal(v6none.body, 'null');
    const unknown = await app.inject({ url: '/v1/alerts?foo=bar', headers: auth });
    assert.equal(unknown.statusCode, 500);
    assert.equal(unknown.body, `{"message":"Filter parameter 'foo' is unknown (=bar): invalid filter"}`);
    const badIp = await app.inject({ url: '/v1/alerts?ip=1.2.3', headers: auth });
    assert.equal(badIp.statusCode, 500);
    assert.match(badIp.body, /invalid ip address \/ range/);
    const active = json((await app.inject({ url: '/v1/alerts?has_active_decision=true&include_capi=false&sort=ASC', headers: auth })).body) as { id: number }[];
    assert.deepEqual(active.map((x) => x.id), [1, 2, 3]);

    const one = await app.inject({ url: '/v1/alerts/1', headers: auth });
    assert.equal(one.statusCode, 200);
    assert.equal((json(one.body) as { source: { ip: string } }).source.ip, '35.188.49.176');
    const nonInt = await app.inject({ url: '/v1/alerts/abc', headers: auth });
    assert.equal(nonInt.statusCode, 400);
    assert.equal(nonInt.body, '{"message":"alert_id must be valid integer"}');
    assert.equal((await app.inject({ url: '/v1/alerts/999', headers: auth })).statusCode, 404);
    const head = await app.inject({ method: 'HEAD', url: '/v1/alerts', headers: auth });
    assert.equal(head.statusCode, 200);
    assert.equal(head.body, '');
  } finally {
    await h.cleanup();
  }
});

test('GET /v1/alerts filters pass through: scenario, origin, decision_type, since/until, simulated, scope/value, limit 0', async () => {
  const h = await harness();
  try {
    const app = h.server.app;
    const auth = { authorization: `Bearer ${await machineToken(h)}` };
    const now = h.clock.t;
    await app.inject({ method: 'POST', url: '/v1/alerts', headers: auth, payload: [
      agentAlert('1.1.1.1', now - 2 * 3600_000, { scenario: 'crowdsecurity/ssh-bf' }), // 1: started 2h ago
      agentAlert('2.2.2.2', now, { scenario: 'crowdsecurity/http-probing', simulated: true }), // 2
      manualAlert('3.3.3.3', now, { type: 'captcha' }), // 3
    ] });
    const ids = async (q: string) => {
      const r = await app.inject({ url: `/v1/alerts${q}`, headers: auth });
      assert.equal(r.statusCode, 200, `${q}: ${r.body}`);
      const l = json(r.body) as { id: number }[] | null;
      return l === null ? null : l.map((a) => a.id).sort();
    };
    assert.deepEqual(await ids('?scenario=crowdsecurity/ssh-bf'), [1]);
    assert.deepEqual(await ids('?origin=cscli'), [3]);
    assert.deepEqual(await ids('?decision_type=captcha'), [3]);
    assert.deepEqual(await ids('?since=1h'), [2, 3]);
    assert.deepEqual(await ids('?until=1h'), [1]);
    assert.deepEqual(await ids('?simulated=false'), [1, 3]);
    assert.deepEqual(await ids('?scope=ip&value=2.2.2.2'), [2]);
    assert.deepEqual(await ids('?limit=0'), [1, 2, 3]);
    assert.equal(await ids('?scenario=nope'), null);
    const badDur = await app.inject({ url: '/v1/alerts?since=yesterday', headers: auth });
    assert.equal(badDur.statusCode, 500);
    assert.match(badDur.body, /invalid filter/);
  } finally {
    await h.cleanup();
  }
});

test('POST /v1/alerts: schema failures and bad values answer 500 with the field named; nothing stored', async () => {
  const h = await harness();
  try {
    const app = h.server.app;
    const auth = { authorization: `Bearer ${await machineToken(h)}` };
    const now = h.clock.t;
    const noSource = agentAlert('1.2.3.4', now);
    delete noSource.source;
    const r1 = await app.inject({ method: 'POST', url: '/v1/alerts', headers: auth, payload: [agentAlert('1.2.3.4', now), noSource] });
    assert.equal(r1.statusCode, 500);
    assert.equal(r1.body, '{"message":"validation failure list:\\n1.source in body is required"}');
    const badDur = await app.inject({ method: 'POST', url: '/v1/alerts', headers: auth, payload: [manualAlert('1.2.3.4', now, { duration: '4 hours' })] });
    assert.equal(badDur.statusCode, 500);
    assert.match(badDur.body, /invalid duration '4 hours'/);
    const badIp = await app.inject({ method: 'POST', url: '/v1/alerts', headers: auth, payload: [manualAlert('1.2.3.999', now)] });
    assert.equal(badIp.statusCode, 500);
    assert.match(badIp.body, /invalid ip address \/ range '1.2.3.999'/);
    const notArray = await app.inject({ method: 'POST', url: '/v1/alerts', headers: auth, payload: { scenario: 'x' } });
    assert.equal(notArray.statusCode, 500);
    assert.match(notArray.body, /body in body must be of type array/);
    assert.equal(h.store.listAlerts({}).length, 0);
  } finally {
    await h.cleanup();
  }
});

test('DELETE /v1/decisions (soft) and /v1/decisions/{id}; DELETE /v1/alerts gated by trusted IPs', async () => {
  const h = await harness({ trustedIps: ['10.1.0.0/16'] });
  try {
    const app = h.server.app;
    const auth = { authorization: `Bearer ${await machineToken(h)}` };
    const now = h.clock.t;
    await app.inject({ method: 'POST', url: '/v1/alerts', headers: auth, payload: [manualAlert('1.2.3.4', now), manualAlert('5.6.7.8', now), manualAlert('9.9.9.9', now)] });
    const badParam = await app.inject({ method: 'DELETE', url: '/v1/decisions?scope=ip', headers: auth });
    assert.equal(badParam.statusCode, 500);
    assert.equal(badParam.body, `{"message":"'scope' doesn't exist: invalid filter"}`);
    const del = await app.inject({ method: 'DELETE', url: '/v1/decisions?ip=1.2.3.4', headers: auth });
    assert.equal(del.body, '{"nbDeleted":"1"}');
    const delId = await app.inject({ method: 'DELETE', url: '/v1/decisions/2', headers: auth });
    assert.equal(delId.body, '{"nbDeleted":"1"}');
    const missing = await app.inject({ method: 'DELETE', url: '/v1/decisions/999', headers: auth });
    assert.equal(missing.statusCode, 500);
    assert.equal(missing.body, `{"message":"decision with id '999' doesn't exist: unable to delete"}`);
    const nonInt = await app.inject({ method: 'DELETE', url: '/v1/decisions/abc', headers: auth });
    assert.equal(nonInt.statusCode, 400);
    assert.equal(nonInt.body, '{"message":"decision_id must be valid integer"}');
    assert.deepEqual(h.store.listDecisions({}, now).map((d) => d.value), ['9.9.9.9']);
    assert.equal(h.store.listDecisions({ status: 'all' }, now).length, 3); // soft: rows stay

    const far = await app.inject({ method: 'DELETE', url: '/v1/alerts?value=9.9.9.9', headers: auth, remoteAddress: '192.0.2.7' });
    assert.equal(far.statusCode, 403);
    assert.equal(far.body, '{"message":"access forbidden from this IP (192.0.2.7)"}');
    const farId = await app.inject({ method: 'DELETE', url: '/v1/alerts/1', headers: auth, remoteAddress: '192.0.2.7' });
    assert.equal(farId.statusCode, 403);
    const trusted = await app.inject({ method: 'DELETE', url: '/v1/alerts/1', headers: auth, remoteAddress: '10.1.2.3' });
    assert.equal(trusted.body, '{"nbDeleted":"1"}');
    const v6loop = await app.inject({ method: 'DELETE', url: '/v1/alerts?value=9.9.9.9', headers: auth, remoteAddress: '::1' });
    assert.equal(v6loop.body, '{"nbDeleted":"1"}');
    const unknownF = await app.inject({ method: 'DELETE', url: '/v1/alerts?bogus=1', headers: auth });
    assert.equal(unknownF.statusCode, 500);
    assert.equal(h.store.listAlerts({}).length, 1);
  } finally {
    await h.cleanup();
  }
});

test('forwarded client IP is believed only from trusted proxies', async () => {
  const h = await harness({ trustedIps: ['127.0.0.1'], trustedProxies: ['10.9.0.0/16'], useForwardedFor: true });
  try {
    const app = h.server.app;
    const auth = { authorization: `Bearer ${await machineToken(h)}` };
    const viaProxy = await app.inject({ method: 'DELETE', url: '/v1/alerts/5', headers: { ...auth, 'x-forwarded-for': '203.0.113.9, 10.9.0.2' }, remoteAddress: '10.9.0.1' });
    assert.equal(viaProxy.body, '{"message":"access forbidden from this IP (203.0.113.9)"}');
    const spoof = await app.inject({ method: 'DELETE', url: '/v1/alerts/5', headers: { ...auth, 'x-forwarded-for': '127.0.0.1' }, remoteAddress: '198.51.100.1' });
    assert.equal(spoof.body, '{"message":"access forbidden from this IP (198.51.100.1)"}');
  } finally {
    await h.cleanup();
  }
});

test('usage-metrics: accepted with a key or a token, 400 on a bad payload, 403/401 without credentials', async () => {
  const h = await harness();
  try {
    const app = h.server.app;
    const key = await bouncerKey(h);
    const body = { remediation_components: [{ type: 'crowdsec-firewall-bouncer', name: 'fw', version: 'v0.0.31', metrics: [] }] };
    assert.equal((await app.inject({ method: 'POST', url: '/v1/usage-metrics', headers: { 'x-api-key': key }, payload: body })).statusCode, 201);
    const token = await machineToken(h);
    assert.equal((await app.inject({ method: 'POST', url: '/v1/usage-metrics', headers: { authorization: `Bearer ${token}` }, payload: { log_processors: [] } })).statusCode, 201);
    const bad = await app.inject({ method: 'POST', url: '/v1/usage-metrics', headers: { 'x-api-key': key }, payload: { remediation_components: 'x' } });
    assert.equal(bad.statusCode, 400);
    assert.equal((await app.inject({ method: 'POST', url: '/v1/usage-metrics', headers: { 'x-api-key': 'nope' }, payload: body })).statusCode, 403);
    assert.equal((await app.inject({ method: 'POST', url: '/v1/usage-metrics', payload: body })).statusCode, 401);
  } finally {
    await h.cleanup();
  }
});
