/**
 * `palisade bouncers|machines ...` on a store directory, and `palisade lapi` serving it:
 * a key created by the CLI in one process works against the API in another, and changes
 * made by the CLI while the API runs show on the next request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/debian.js';

const MAIN = join(repoRoot, 'src/cli/main.ts');

function palisade(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('bouncers and machines verbs: add (key printed once), list, validate, delete, exit codes', () => {
  const root = mkdtempSync(join(tmpdir(), 'palisade-credcli-'));
  const data = join(root, 'data');
  try {
    const add = palisade(['bouncers', 'add', 'fw', '--data-dir', data, '--json']);
    assert.equal(add.code, 0, add.stderr);
    const { name, key } = JSON.parse(add.stdout) as { name: string; key: string };
    assert.equal(name, 'fw');
    assert.match(key, /^[0-9a-f]{32}$/);
    const custom = palisade(['bouncers', 'add', 'fw2', '--key', 'my-own-key-123', '--data-dir', data]);
    assert.equal(custom.code, 0);
    assert.match(custom.stdout, /my-own-key-123/);
    const dup = palisade(['bouncers', 'add', 'fw', '--data-dir', data]);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^palisade: bouncer 'fw' already exists\n$/);
    const list = palisade(['bouncers', 'list', '--data-dir', data, '--json']);
    const rows = JSON.parse(list.stdout) as Record<string, unknown>[];
    assert.deepEqual(rows.map((r) => r.name), ['fw', 'fw2']);
    assert.ok(!list.stdout.includes(key), 'list never shows the key');
    assert.equal(palisade(['bouncers', 'delete', 'fw2', '--data-dir', data]).code, 0);

    assert.equal(palisade(['machines', 'add', 'm1', '--data-dir', data]).code, 2); // no password
    const madd = palisade(['machines', 'add', 'm1', '--password', 'pw', '--data-dir', data, '--json']);
    assert.equal(madd.code, 0, madd.stderr);
    assert.deepEqual(JSON.parse(madd.stdout), { machine_id: 'm1' });
    const auto = palisade(['machines', 'add', 'm2', '--auto', '--data-dir', data, '--json']);
    assert.match((JSON.parse(auto.stdout) as { password: string }).password, /^[A-Za-z0-9_-]{32}$/);
    const ml = JSON.parse(palisade(['machines', 'list', '--data-dir', data, '--json']).stdout) as { machineId: string; isValidated: boolean }[];
    assert.deepEqual(ml.map((m) => [m.machineId, m.isValidated]), [['m1', true], ['m2', true]]);
    assert.ok(!JSON.stringify(ml).includes('scrypt'), 'password hashes are not printed');
    assert.equal(palisade(['machines', 'delete', 'm2', '--data-dir', data]).code, 0);
    const human = palisade(['machines', 'list', '--data-dir', data]);
    assert.match(human.stdout, /^Name\s+IP Address/);
    assert.match(human.stdout, /m1 .*validated/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('palisade lapi serves the store; CLI changes made meanwhile are visible (decisions at once, a deleted bouncer within 1 s)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'palisade-lapicli-'));
  const data = join(root, 'data');
  const key = (JSON.parse(palisade(['bouncers', 'add', 'fw', '--data-dir', data, '--json']).stdout) as { key: string }).key;
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'lapi', '--listen', '127.0.0.1:0', '--data-dir', data, '--metrics-listen', '127.0.0.1:0'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`lapi did not start: ${err}`)), 30_000);
      child.stderr!.on('data', (c: Buffer) => {
        err += c.toString();
        const m = /listening on (http:\/\/\S+)/.exec(err);
        if (m) { clearTimeout(timer); resolve(m[1]!); }
      });
      child.on('exit', (code) => reject(new Error(`lapi exited ${code}: ${err}`)));
    });
    const get = async (path: string, k = key) => {
      const r = await fetch(`${url}${path}`, { headers: { 'x-api-key': k } });
      return { status: r.status, body: await r.text() };
    };
    assert.deepEqual(await get('/v1/decisions/stream?startup=true'), { status: 200, body: '{"deleted":null,"new":null}' });
    assert.equal(palisade(['decisions', 'add', '--ip', '192.0.2.10', '--duration', '1h', '--data-dir', data]).code, 0);
    const s = JSON.parse((await get('/v1/decisions/stream')).body) as { new: { value: string; duration: string }[] };
    assert.deepEqual(s.new.map((d) => d.value), ['192.0.2.10']);
    assert.match(s.new[0]!.duration, /^59m\d/);
    assert.equal(palisade(['bouncers', 'delete', 'fw', '--data-dir', data]).code, 0);
    // Revocation by another process: the server's key cache checks the store's credentials
    // counter on every request, so the first request after the CLI exited is refused.
    assert.equal((await get('/v1/decisions')).status, 403, 'a bouncer deleted by the CLI is refused at once');
    // machine added by the CLI can log in
    assert.equal(palisade(['machines', 'add', 'agent', '--password', 'pw', '--data-dir', data]).code, 0);
    const login = await fetch(`${url}/v1/watchers/login`, { method: 'POST', headers: { 'user-agent': 'crowdsec/v1.4.6', 'content-type': 'application/json' }, body: '{"machine_id":"agent","password":"pw","scenarios":[]}' });
    assert.equal(login.status, 200);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(root, { recursive: true, force: true });
  }
});

test('palisade lapi: bad options exit 2 with one line', () => {
  for (const args of [['lapi', '--listen', 'nonsense'], ['lapi', '--tls-cert', 'x.pem'], ['lapi', '--body-limit', '-3']]) {
    const r = palisade(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
