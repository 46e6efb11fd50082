/**
 * The command-line contract (design.md §3): exit codes, JSON-only stdout, explain on hostile
 * files, replay of a known brute force, and the decisions verbs over a temp store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/debian.js';

function palisade(args: string[], input?: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), ...args], {
    cwd: repoRoot, encoding: 'utf8', input, timeout: 60_000, env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = mkdtempSync(join(tmpdir(), 'palisade-cli-'));

test('bad usage exits 2 with a one-line reason', () => {
  for (const args of [['bogus'], ['explain', '--line', 'x'], ['replay', '--type', 'syslog'], ['decisions', 'add', '--ip', '1.2.3', '--data-dir', tmp]]) {
    const r = palisade(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^palisade: /);
  }
});

test('a failed operation exits 1 (missing file)', () => {
  const r = palisade(['replay', join(tmp, 'nope.log'), '--type', 'syslog', '--no-decisions']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nope\.log/);
});

test('explain --json prints one object per input line, in order, junk included', () => {
  const file = join(tmp, 'mixed.log');
  const lines = [
    'Feb 12 14:10:21 host sshd[1]: Failed password for root from 203.0.113.9 port 22 ssh2',
    '\u0000\u0001binary junk \uFFFD',
    'Feb 12 14:10:22 host sshd[1]: Accepted publickey for bob from 203.0.113.9 port 22 ssh2: RSA SHA256:x',
  ];
  writeFileSync(file, Buffer.concat([Buffer.from(lines[0] + '\n'), Buffer.from([0, 1, 0xff, 0xfe, 0x0a]), Buffer.from(lines[2] + '\n')]));
  const r = palisade(['explain', '--type', 'syslog', '--file', file, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(out.length, 3);
  assert.equal(out[0].success, true);
  assert.equal(out[0].meta.log_type, 'ssh_failed-auth');
  assert.ok(out[0].scenarios.includes('palisade/ssh-bf'), JSON.stringify(out[0].scenarios));
  assert.equal(out[1].success, false);
  assert.equal(out[2].meta.log_type, 'ssh_success-auth');
  assert.deepEqual(out[2].scenarios, []);
  for (const o of out) for (const k of ['line', 'success', 'parsers', 'parsed', 'meta', 'whitelisted', 'scenarios']) assert.ok(k in o, k);
});

test('replay finds a brute force in a .gz archive, prints LAPI alerts, writes decisions', () => {
  const lines = ['21', '21', '22', '22', '23', '23'].map((s, i) => `Feb 12 14:10:${s} sd-126005 sshd[16378]: Invalid user user${i} from 35.188.49.176 port 53502`);
  const gz = join(tmp, 'auth.log.gz');
  writeFileSync(gz, gzipSync(lines.join('\n') + '\n'));
  const dataDir = join(tmp, 'state');
  const r = palisade(['replay', gz, '--type', 'syslog', '--data-dir', dataDir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const alerts = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const bf = alerts.find((a) => a.scenario === 'palisade/ssh-bf');
  assert.ok(bf, `no palisade/ssh-bf alert in ${r.stdout}`);
  assert.equal(bf.source.value, '35.188.49.176');
  assert.equal(bf.events_count, 6);
  assert.match(bf.message, /^Ip 35\.188\.49\.176 performed 'palisade\/ssh-bf' \(6 events over 2s\) at \d{4}-02-12 14:10:23 \+0000 UTC$/);
  assert.equal(bf.decisions[0].type, 'ban');
  assert.match(r.stderr, /lines 6, parsed 6, unparsed 0, whitelisted 0, alerts \d+, decisions \d+/);
  // Old logs: the decision exists with its true (past) expiry, so it is not active...
  const active = palisade(['decisions', 'list', '--data-dir', dataDir, '--json']);
  assert.equal(active.stdout.trim(), 'null');
  const all = palisade(['decisions', 'list', '--all', '--data-dir', dataDir, '--json']);
  const decs = JSON.parse(all.stdout);
  assert.ok(decs.some((d: { value: string; duration: string }) => d.value === '35.188.49.176' && d.duration.startsWith('-')), all.stdout);
  // ...and the alert is in the store.
  const al = JSON.parse(palisade(['alerts', 'list', '--data-dir', dataDir, '--json']).stdout);
  assert.ok(al.some((a: { scenario: string }) => a.scenario === 'palisade/ssh-bf'));
});

test('decisions add / list --ip (range match) / delete over the local store', () => {
  const dataDir = join(tmp, 'ops');
  assert.equal(palisade(['decisions', 'add', '--range', '198.51.100.0/24', '--duration', '2h', '--reason', 'r1', '--data-dir', dataDir]).code, 0);
  assert.equal(palisade(['decisions', 'add', '--ip', '2001:db8::7', '--duration', '4h', '--data-dir', dataDir]).code, 0);
  const hit = JSON.parse(palisade(['decisions', 'list', '--ip', '198.51.100.77', '--data-dir', dataDir, '--json']).stdout);
  assert.equal(hit.length, 1);
  assert.equal(hit[0].value, '198.51.100.0/24');
  assert.match(hit[0].duration, /^1h59m/);
  const del = palisade(['decisions', 'delete', '--ip', '2001:db8::7', '--data-dir', dataDir, '--json']);
  assert.deepEqual(JSON.parse(del.stdout), { nbDeleted: '1' });
  const rest = JSON.parse(palisade(['decisions', 'list', '--data-dir', dataDir, '--json']).stdout);
  assert.deepEqual(rest.map((d: { value: string }) => d.value), ['198.51.100.0/24']);
});
