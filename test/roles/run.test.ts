/**
 * `palisade run --config FILE`: agent + API in one process. Brute-force lines written to a
 * tailed file become decisions that a bouncer sees through the API; the operator verbs work
 * remotely (`--lapi`) against it; SIGTERM flushes and exits 0; config errors name the key.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Credentials } from '../../src/api/credentials.js';
import { Store } from '../../src/decisions/store.js';
import { loadRunConfig } from '../../src/cli/run.js';
import { LoadError } from '../../src/core/errors.js';
import { repoRoot } from '../support/debian.js';
import { tempRoot } from '../api/support.js';
import { bouncerDecisions, bruteForce, killAll, palisade, waitFor, waitStderr } from './support.js';

const root = tempRoot('run');
const data = join(root, 'data');
const logs = join(root, 'logs');
const config = join(root, 'palisade.yaml');
let key = '';

before(async () => {
  mkdirSync(logs);
  writeFileSync(join(logs, 'auth.log'), '');
  // Credentials are created before the daemon starts (it holds the store afterwards).
  const store = Store.open(data);
  const creds = new Credentials(store);
  key = (await creds.addBouncer('fw')).key;
  await creds.addMachine('ops', 'ops-pass', { validated: true });
  await store.close();
  writeFileSync(config, `data_dir: data
acquisition:
  - filenames: [logs/*.log]
    labels: {type: syslog}
api:
  listen: 127.0.0.1:0
`);
});

after(killAll);

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), ...args], {
    cwd: repoRoot, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1', PALISADE_MACHINE_ID: 'ops', PALISADE_PASSWORD: 'ops-pass' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('run config errors name the file and the key', () => {
  const bad = join(root, 'bad.yaml');
  writeFileSync(bad, 'data_dir: x\napi:\n  listen: 127.0.0.1:0\n  lissen: 1\n');
  assert.throws(() => loadRunConfig(bad), (e: unknown) => e instanceof LoadError && e.message.includes('bad.yaml') && /unknown key 'api\.lissen'/.test(e.message));
  writeFileSync(bad, 'acquisition:\n  - source: pigeon\n    labels: {type: x}\n');
  assert.throws(() => loadRunConfig(bad), /unknown source 'pigeon'/);
  writeFileSync(bad, 'api:\n  tls: {cert_file: nope.pem, key_file: nope.key}\n');
  assert.throws(() => loadRunConfig(bad), /api\.tls\.cert_file: cannot read .*nope\.pem \(ENOENT\)/);
  const c = loadRunConfig(config);
  assert.equal(c.dataDir, data, 'relative paths are relative to the config file');
  assert.equal(c.acquisition[0]!.source === 'file' && c.acquisition[0]!.filenames[0], 'logs/*.log');
  const r = cli(['run', '--config', join(root, 'missing.yaml')]);
  assert.equal(r.code, 2);
});

test('palisade run: tail -> detection -> decision visible to a bouncer; remote operator verbs; graceful stop', async () => {
  // Acquisition paths, as in CrowdSec, are relative to the daemon's cwd (not the config file):
  // the daemon runs from the repo, so give the logs' absolute path.
  writeFileSync(config, `data_dir: data
acquisition:
  - filenames: [${join(logs, '*.log')}]
    labels: {type: syslog}
api:
  listen: 127.0.0.1:0
`);
  const daemon = palisade(['run', '--config', config]);
  const m = await waitStderr(daemon, /API listening on (http:\/\/\S+)/);
  const url = m[1]!;
  const t0 = Date.now();
  appendFileSync(join(logs, 'auth.log'), bruteForce('203.0.113.5', 8));
  const ds = await waitFor(() => bouncerDecisions(url, key, '203.0.113.5'), 'a decision for 203.0.113.5', 10_000);
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(ds[0]!.scenario, 'palisade/ssh-bf');

  // A log file that appears later under the glob is read from its start.
  writeFileSync(join(logs, 'other.log'), bruteForce('2001:db8::66', 8));
  await waitFor(() => bouncerDecisions(url, key, '2001:db8::66'), 'a decision for the IPv6 source of a new file', 10_000);

  // Operator verbs against the running API (machine login from the environment).
  let r = cli(['decisions', 'list', '--lapi', url, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const listed = JSON.parse(r.stdout) as { value: string; origin: string; duration: string }[];
  assert.deepEqual(listed.map((d) => d.value).sort(), ['2001:db8::66', '203.0.113.5']);
  r = cli(['decisions', 'add', '--lapi', url, '--ip', '192.0.2.44', '--duration', '1h', '--reason', 'manual test', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const added = JSON.parse(r.stdout) as { alert_id: number; decision_ids: number[] };
  assert.equal(added.decision_ids.length, 1);
  const manual = await bouncerDecisions(url, key, '192.0.2.44');
  assert.equal(manual![0]!.origin, 'cscli');
  r = cli(['alerts', 'list', '--lapi', url]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Ip:203\.0\.113\.5\s+palisade\/ssh-bf\s+ban:1/);
  r = cli(['alerts', 'inspect', String(added.alert_id), '--lapi', url, '--json']);
  assert.equal(JSON.parse(r.stdout).scenario, 'manual test');
  r = cli(['decisions', 'delete', '--lapi', url, '--ip', '192.0.2.44', '--json']);
  assert.deepEqual(JSON.parse(r.stdout), { nbDeleted: '1' });
  assert.equal(await bouncerDecisions(url, key, '192.0.2.44'), null);
  r = cli(['decisions', 'list', '--lapi', url, '--machine-id', 'ops', '--password', 'wrong']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^palisade: Local API: login as 'ops': HTTP 401/);

  // Lines written right before SIGTERM: read, turned into an alert, flushed to the store.
  appendFileSync(join(logs, 'auth.log'), bruteForce('203.0.113.6', 8));
  daemon.child.kill('SIGTERM');
  assert.equal(await daemon.exited, 0, daemon.stderr());
  r = cli(['decisions', 'list', '--data-dir', data, '--ip', '203.0.113.6', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout)?.[0]?.value, '203.0.113.6', `decision written on shutdown; daemon stderr: ${daemon.stderr()}`);
});
