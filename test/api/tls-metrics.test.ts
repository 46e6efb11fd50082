/**
 * Real loopback listens: TLS with client-certificate auth for bouncers and agents (OU
 * allow-lists, as CrowdSec offers), and Prometheus metrics on their own listener.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bouncerKey, harness, machineToken } from './support.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A CA, a server cert for 127.0.0.1 and client certs with the given OUs. */
function makePki(dir: string, clients: Record<string, string>): Record<string, string> {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=palisade-test-ca');
  const leaf = (name: string, subj: string, ext?: string) => {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj);
    const args = ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2'];
    if (ext) {
      writeFileSync(join(dir, `${name}.ext`), ext);
      args.push('-extfile', `${name}.ext`);
    }
    run(...args);
  };
  leaf('server', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const [name, ou] of Object.entries(clients)) leaf(name, `/CN=${name}/OU=${ou}`);
  const out: Record<string, string> = {};
  for (const n of ['ca', 'server', ...Object.keys(clients)]) {
    out[`${n}.pem`] = readFileSync(join(dir, `${n}.pem`), 'utf8');
    if (n !== 'ca') out[`${n}.key`] = readFileSync(join(dir, `${n}.key`), 'utf8');
  }
  return out;
}

function httpsCall(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string; ca: string; cert?: string; key?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, ca: opts.ca, cert: opts.cert, key: opts.key }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

test('TLS: server certificate, client certificates authenticate bouncers and agents by OU', { skip: !hasOpenssl() && 'openssl not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-pki-'));
  const pki = makePki(dir, { fw1: 'bouncer-ou', agent1: 'agent-ou', stranger: 'other-ou' });
  const h = await harness({ tls: { cert: pki['server.pem']!, key: pki['server.key']!, ca: pki['ca.pem']! }, realClock: true });
  try {
    const { url } = await h.server.listen();
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = pki['ca.pem']!;
    const as = (n: string) => ({ ca, cert: pki[`${n}.pem`]!, key: pki[`${n}.key`]! });
    assert.equal((await httpsCall(`${url}/health`, { ca })).body, '{"status":"up"}');
    // API key still works over TLS
    const key = await bouncerKey(h);
    assert.equal((await httpsCall(`${url}/v1/decisions`, { ca, headers: { 'x-api-key': key } })).status, 200);
    // bouncer by certificate: auto-created as <CN>@<ip>
    const byCert = await httpsCall(`${url}/v1/decisions/stream?startup=true`, as('fw1'));
    assert.equal(byCert.status, 200);
    assert.equal(byCert.body, '{"deleted":null,"new":null}');
    const b = h.server.ctx.creds.getBouncer('fw1@127.0.0.1');
    assert.equal(b?.authType, 'tls');
    assert.equal(b?.keyHash, '');
    // wrong OU, agent OU on a bouncer route: forbidden
    assert.equal((await httpsCall(`${url}/v1/decisions`, as('stranger'))).status, 403);
    assert.equal((await httpsCall(`${url}/v1/decisions`, as('agent1'))).status, 403);
    // agent login by certificate: only scenarios needed; machine auto-created and validated
    const login = await httpsCall(`${url}/v1/watchers/login`, { ...as('agent1'), method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'crowdsec/v1.4.6' }, body: '{"scenarios":["a/b"]}' });
    assert.equal(login.status, 200, login.body);
    const m = h.server.ctx.creds.getMachine('agent1@127.0.0.1');
    assert.equal(m?.authType, 'tls');
    assert.equal(m?.isValidated, true);
    const token = (JSON.parse(login.body) as { token: string }).token;
    assert.equal((await httpsCall(`${url}/v1/alerts`, { ca, headers: { authorization: `Bearer ${token}` } })).status, 200);
    const strangerLogin = await httpsCall(`${url}/v1/watchers/login`, { ...as('stranger'), method: 'POST', headers: { 'user-agent': 'crowdsec/v1.4.6' }, body: '{"scenarios":[]}' });
    assert.equal(strangerLogin.status, 401);
    assert.equal(strangerLogin.body, '{"code":401,"message":"missing Username or Password"}');
  } finally {
    await h.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('metrics: cs_lapi_* counters and cs_active_decisions on a separate listener', async () => {
  const h = await harness({ realClock: true });
  try {
    const { url } = await h.server.listen();
    const m = await h.server.metrics!.listen('127.0.0.1', 0);
    try {
      const key = await bouncerKey(h);
      const token = await machineToken(h);
      await h.server.ctx.creds.addBouncer('x');
      const now = Date.now();
      await h.store.addAlerts([{ alert: { scenario: 's', scenario_hash: '', scenario_version: '', message: '', events_count: 1, start_at: new Date(now).toISOString(), stop_at: new Date(now).toISOString(), capacity: 0, leakspeed: '0', simulated: false, source: { scope: 'Ip', value: '1.2.3.4' }, events: [] }, decisions: [{ origin: 'cscli', type: 'ban', scope: 'Ip', value: '1.2.3.4', scenario: 's', duration: '1h' }] }]);
      for (const q of ['?ip=1.2.3.4', '?ip=9.9.9.9']) assert.equal((await fetch(`${url}/v1/decisions${q}`, { headers: { 'x-api-key': key } })).status, 200);
      assert.equal((await fetch(`${url}/v1/alerts`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
      const text = await (await fetch(m.url)).text();
      assert.match(text, /cs_lapi_route_requests_total\{route="\/v1\/decisions",method="GET"\} 2/);
      assert.match(text, /cs_lapi_bouncer_requests_total\{bouncer="fw",route="\/v1\/decisions",method="GET"\} 2/);
      assert.match(text, /cs_lapi_machine_requests_total\{machine="testMachine",route="\/v1\/alerts",method="GET"\} 1/);
      assert.match(text, /cs_lapi_decisions_ok_total\{bouncer="fw"\} 1/);
      assert.match(text, /cs_lapi_decisions_ko_total\{bouncer="fw"\} 1/);
      assert.match(text, /cs_active_decisions 1/);
      // not on the API port
      assert.equal((await fetch(`${url}/metrics`)).status, 404);
      assert.equal((await fetch(m.url.replace('/metrics', '/other'))).status, 404);
    } finally {
      m.server.close();
    }
  } finally {
    await h.cleanup();
  }
});
