/**
 * The agent's Local API client against the real API server on loopback: login with a
 * NAME/VERSION User-Agent, batched pushes, re-login after a restart invalidates the token,
 * re-queue on failure, bounded queue, flush on stop.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiServer, type ApiServer } from '../../src/api/server.js';
import { LapiClient } from '../../src/pipeline/lapi-client.js';
import type { LapiAlert } from '../../src/scenarios/overflow.js';
import { agentAlert, harness, testProfiles, type Harness } from '../api/support.js';

let h: Harness;
const extra: ApiServer[] = [];
after(async () => {
  for (const s of extra) await s.close();
  await h?.cleanup();
});

const alert = (ip: string) => agentAlert(ip, Date.now()) as unknown as LapiAlert;

test('login, push in one batch, decisions made by the API profiles', async () => {
  h = await harness({ realClock: true });
  const { url } = await h.server.listen();
  await h.server.ctx.creds.addMachine('agent-a', 's3cret', { validated: true });
  const c = new LapiClient({ url, machineId: 'agent-a', password: 's3cret', scenarios: ['palisade/ssh-bf'], pushIntervalMs: 60_000 });
  await c.start();
  const m = h.server.ctx.creds.getMachine('agent-a')!;
  assert.equal(m.scenarios, 'palisade/ssh-bf');
  assert.equal(m.version, 'v0.1.0', 'the User-Agent is NAME/VERSION');
  c.enqueue([alert('192.0.2.1'), alert('192.0.2.2')]);
  await c.push();
  assert.equal(c.stats.pushed, 2);
  assert.equal(c.queued, 0);
  const ds = h.store.listDecisions({ status: 'active' });
  assert.deepEqual(ds.map((d) => d.value).sort(), ['192.0.2.1', '192.0.2.2']);
  await c.heartbeat();
  assert.ok(h.server.ctx.creds.getMachine('agent-a')!.lastHeartbeat > 0);
  await c.stop();
});

test('bad credentials fail at start with the API message', async () => {
  const url = serverUrl();
  const c = new LapiClient({ url, machineId: 'agent-a', password: 'wrong' });
  await assert.rejects(c.start(), /login as 'agent-a': HTTP 401 incorrect Username or Password/);
});

function serverUrl(): string {
  const a = h.server.app.server.address();
  return typeof a === 'object' && a ? `http://127.0.0.1:${a.port}` : '';
}

test('API down: the batch is re-queued; after a restart (new JWT secret) the client logs in again and delivers', async () => {
  const url = serverUrl();
  const port = Number(new URL(url).port);
  const c = new LapiClient({ url, machineId: 'agent-a', password: 's3cret', pushIntervalMs: 60_000, timeoutMs: 2000 });
  await c.start();
  assert.equal(c.stats.logins, 1);
  await h.server.close();
  c.enqueue([alert('192.0.2.10')]);
  await assert.rejects(c.push());
  c.enqueue([alert('192.0.2.11')]);
  assert.equal(c.queued, 2, 'the failed batch is back in the queue, ahead of newer alerts');
  // Same store, same port, another JWT secret: the old token is now refused (401).
  const again = createApiServer({ store: h.store, profiles: testProfiles(mkdtempSync(join(tmpdir(), 'palisade-prof-')), h.store), listen: `127.0.0.1:${port}`, jwtSecret: Buffer.alloc(64, 9) });
  extra.push(again);
  await again.listen();
  await c.push();
  assert.equal(c.queued, 0);
  assert.equal(c.stats.logins, 2, 'a 401 drops the token and logs in again');
  assert.equal(c.stats.pushFailures, 1);
  const values = again.ctx.store.listDecisions({ status: 'active' }).map((d) => d.value);
  assert.ok(values.includes('192.0.2.10') && values.includes('192.0.2.11'), values.join(','));
  await c.stop();
});

test('the queue is bounded: the oldest alerts are dropped and counted', () => {
  const warnings: string[] = [];
  const c = new LapiClient({ url: 'http://127.0.0.1:9', machineId: 'x', password: 'y', maxQueue: 3, warn: (m) => warnings.push(m) });
  c.enqueue([alert('192.0.2.20'), alert('192.0.2.21')]);
  c.enqueue([alert('192.0.2.22'), alert('192.0.2.23'), alert('192.0.2.24')]);
  assert.equal(c.queued, 3);
  assert.equal(c.stats.dropped, 2);
  assert.match(warnings[0]!, /dropped 2 oldest/);
  assert.throws(() => new LapiClient({ url: 'ftp://x', machineId: 'x', password: 'y' }), /must be http/);
});

test('stop() flushes alerts queued since the last push', async () => {
  const server = extra[0]!;
  const a = server.app.server.address();
  const url = typeof a === 'object' && a ? `http://127.0.0.1:${a.port}` : '';
  const c = new LapiClient({ url, machineId: 'agent-a', password: 's3cret', pushIntervalMs: 60_000 });
  await c.start();
  c.enqueue([alert('192.0.2.30')]);
  await c.stop();
  assert.equal(c.queued, 0);
  assert.ok(server.ctx.store.listDecisions({ status: 'active', value: '192.0.2.30' }).length === 1);
});
