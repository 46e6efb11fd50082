/**
 * `palisade agent --lapi URL`: a separate agent process tails a log file and pushes its
 * alerts to a Local API on loopback, where the profiles turn them into decisions that a
 * bouncer sees. SIGTERM stops it gracefully: what was written before is read and delivered.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { harness, tempRoot, type Harness } from '../api/support.js';
import { bouncerDecisions, bruteForce, killAll, palisade, waitFor, waitStderr } from './support.js';

let h: Harness;
let url = '';
let key = '';
const root = tempRoot('agent');
const log = join(root, 'auth.log');
const acquis = join(root, 'acquis.yaml');

before(async () => {
  h = await harness({ realClock: true });
  url = (await h.server.listen()).url;
  await h.server.ctx.creds.addMachine('edge-1', 'agent-pass', { validated: true });
  key = (await h.server.ctx.creds.addBouncer('fw')).key;
  writeFileSync(log, bruteForce('198.51.100.99', 10)); // history: tail starts after it
  writeFileSync(acquis, `filenames:\n  - ${log}\nlabels:\n  type: syslog\n`);
});

after(async () => {
  await killAll();
  await h?.cleanup();
});

test('agent refuses to start without credentials (exit 2) or with wrong ones (exit 1)', async () => {
  const none = palisade(['agent', '--lapi', url, '--acquis', acquis, '--data-dir', join(root, 'd0')], { PALISADE_MACHINE_ID: '', PALISADE_PASSWORD: '' });
  assert.equal(await none.exited, 2);
  assert.match(none.stderr(), /machine credentials needed/);
  const wrong = palisade(['agent', '--lapi', url, '--machine-id', 'edge-1', '--password', 'nope', '--acquis', acquis, '--data-dir', join(root, 'd1')]);
  assert.equal(await wrong.exited, 1);
  assert.match(wrong.stderr(), /incorrect Username or Password/);
});

test('brute-force lines written to the tailed file become decisions visible through the API', async () => {
  const agent = palisade(['agent', '--lapi', url, '--acquis', acquis, '--data-dir', join(root, 'd2')], { PALISADE_MACHINE_ID: 'edge-1', PALISADE_PASSWORD: 'agent-pass' });
  await waitStderr(agent, /agent logged in/);
  const t0 = Date.now();
  appendFileSync(log, bruteForce('203.0.113.77', 8));
  const ds = await waitFor(() => bouncerDecisions(url, key, '203.0.113.77'), 'a decision for 203.0.113.77', 10_000);
  const took = Date.now() - t0;
  assert.equal(ds[0]!.type, 'ban');
  assert.equal(ds[0]!.origin, 'crowdsec');
  assert.equal(ds[0]!.scenario, 'palisade/ssh-bf');
  assert.ok(took < 5000, `decision after ${took} ms`);
  // The history before the agent started is not replayed (tail starts at the end).
  assert.equal(await bouncerDecisions(url, key, '198.51.100.99'), null);
  const alerts = h.store.listAlerts({ ip: '203.0.113.77' });
  assert.equal(alerts[0]!.machineId, 'edge-1');
  assert.ok(h.server.ctx.creds.getMachine('edge-1')!.scenarios.includes('palisade/ssh-bf'), 'scenarios sent at login');

  // Graceful shutdown: lines written just before SIGTERM are still read, and the alert is flushed.
  appendFileSync(log, bruteForce('203.0.113.78', 8));
  agent.child.kill('SIGTERM');
  assert.equal(await agent.exited, 0, agent.stderr());
  assert.ok(await bouncerDecisions(url, key, '203.0.113.78'), `alert flushed on shutdown; stderr: ${agent.stderr()}`);
  assert.match(agent.stderr(), /stopped \(lines \d+, alerts 2, pushed 2\)/);

  // A restart resumes from the saved position: lines written while down are read once.
  appendFileSync(log, bruteForce('203.0.113.79', 8));
  const again = palisade(['agent', '--lapi', url, '--acquis', acquis, '--data-dir', join(root, 'd2'), '--machine-id', 'edge-1', '--password', 'agent-pass']);
  await waitFor(() => bouncerDecisions(url, key, '203.0.113.79'), 'a decision for lines written while the agent was down', 15_000);
  again.child.kill('SIGTERM');
  assert.equal(await again.exited, 0);
  assert.match(again.stderr(), /stopped \(lines 8, alerts 1, pushed 1\)/, 'no line read twice');
});
