/**
 * The shipped scenarios against a seeded log with known attackers (fixtures/generate-attack-log.ts):
 * every planned attacker is caught by the scenario built for it, and no benign client
 * (logins with typos, browsing, 404s, crawlers, monitoring, mail polling) is ever flagged.
 * Also pins the shipped scenario set and a few exact thresholds (spec 4.4 bucket maths).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runReplay } from '../../src/pipeline/replay.js';
import type { SinkedAlert } from '../../src/pipeline/sink.js';
import { DetectionEngine } from '../../src/pipeline/engine.js';
import { generateAttackLog, writeAttackLog } from '../../fixtures/generate-attack-log.js';

const SEED = 20260105;


const SHIPPED = [
  'palisade/ssh-bf', 'palisade/ssh-slow-bf', 'palisade/ssh-bf_user-enum', 'palisade/ssh-slow-bf_user-enum',
  'palisade/http-probing', 'palisade/http-crawl-non_statics', 'palisade/http-sensitive-files', 'palisade/http-backdoors-attempts',
  'palisade/http-path-traversal-probing', 'palisade/http-sqli-probing', 'palisade/http-xss-probing', 'palisade/http-bad-user-agent',
  'palisade/http-bf', 'palisade/postfix-sasl-bf', 'palisade/postfix-relay-attempt', 'palisade/postfix-spam', 'palisade/dovecot-bf',
  'palisade/mysql-bf', 'palisade/rdp-bf',
];

test('shipped scenarios: all load, none simulated, all remediate with service and type labels', async () => {
  const engine = await DetectionEngine.create({ mode: 'replay', warn: () => {} });
  const names = engine.scenarios.map((s) => s.name).sort();
  assert.deepEqual(names, [...SHIPPED].sort());
  for (const s of engine.scenarios) {
    assert.equal(s.simulated, false, `${s.name} simulated`);
    assert.equal(s.remediation, true, `${s.name} remediation label`);
    assert.equal(typeof s.labels.service, 'string', `${s.name} service label`);
    assert.equal(typeof s.labels.type, 'string', `${s.name} type label`);
  }
  // Every data file a shipped scenario names exists in rules/data.
  assert.deepEqual(engine.rules.data.missing, []);
});

test('known attackers: every planned attacker is caught by its scenario, no benign client is flagged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-attackers-'));
  try {
    const plan = writeAttackLog(dir, { seed: SEED });
    const total = plan.auth.length + plan.access.length;
    assert.ok(total >= 20_000 && total <= 50_000, `log size ${total}`);
    const alerts: SinkedAlert[] = [];
    const warnings: string[] = [];
    const common = { dataDir: null, onAlert: (a: SinkedAlert) => alerts.push(a), warn: (m: string) => warnings.push(m) };
    const s1 = await runReplay({ files: [plan.authFile], type: 'syslog', ...common });
    const s2 = await runReplay({ files: [plan.accessFile], type: 'nginx', ...common });
    assert.equal(s1.lines, plan.auth.length);
    assert.equal(s2.lines, plan.access.length);
    assert.equal(s2.unparsed, 0, 'every access line parses');

    const seen = new Set(alerts.map(({ alert }) => `${alert.scenario} ${alert.source.value}`));
    const missed = plan.attackers.filter((a) => !seen.has(`${a.scenario} ${a.ip}`)).map((a) => `${a.scenario} ${a.ip} (${a.what})`);
    assert.deepEqual(missed, [], 'planned attackers not caught');

    const benign = new Set(plan.benign);
    const falsePositives = alerts.filter(({ alert }) => benign.has(alert.source.value))
      .map(({ alert }) => `${alert.scenario} ${alert.source.value}: ${alert.message}`);
    assert.deepEqual(falsePositives, [], 'benign clients flagged');

    // Nothing else either: every alert names a planned attacker.
    const attackerIps = new Set(plan.attackers.map((a) => a.ip));
    assert.deepEqual(alerts.map(({ alert }) => alert.source.value).filter((ip) => !attackerIps.has(ip)), []);

    // The default profile bans each of them for 4h (no store: no earlier decisions).
    for (const { alert, decisions } of alerts) {
      assert.equal(alert.remediation, true);
      assert.deepEqual(decisions.map((d) => [d.type, d.scope, d.value, d.duration, d.scenario]),
        [['ban', 'Ip', alert.source.value, '4h', alert.scenario]]);
    }
    // No scenario ran without its data file.
    assert.deepEqual(warnings.filter((w) => /data file|not found in expr library/.test(w)), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('attack log generator is deterministic for a seed and varies with it', () => {
  const a = generateAttackLog({ seed: 7, year: 2026, webClients: 20 });
  const b = generateAttackLog({ seed: 7, year: 2026, webClients: 20 });
  const c = generateAttackLog({ seed: 8, year: 2026, webClients: 20 });
  assert.deepEqual(a.auth, b.auth);
  assert.deepEqual(a.access, b.access);
  assert.notDeepEqual(a.access, c.access);
  assert.ok(a.auth[0]!.startsWith('Jan  5 06:'), a.auth[0]);
  // time ordered: nginx lines carry the full date
  const times = a.access.map((l) => Date.parse(l.replace(/^.*?\[(\d+)\/(\w+)\/(\d+):(\d\d:\d\d:\d\d) \+0000\].*$/, '$2 $1 $3 $4 UTC')));
  assert.ok(times.every((t, i) => i === 0 || t >= times[i - 1]!), 'access lines sorted by time');
  const planned = new Set(a.attackers.map((x) => x.ip));
  assert.ok(a.benign.every((ip) => !planned.has(ip)));
});

/** Feeds syslog/nginx lines to a fresh engine; returns the scenarios that alerted. */
async function alertsFor(type: string, lines: string[]): Promise<string[]> {
  const engine = await DetectionEngine.create({ mode: 'replay', warn: () => {} });
  const labels = new Map([['type', type]]);
  return lines.flatMap((l) => engine.processLine(l, 'test', labels).map((a) => `${a.scenario} ${a.source.value}`));
}

const ssh = (sec: number, user: string, ip = '45.155.205.99'): string =>
  `Jan  5 07:${String(Math.floor(sec / 60)).padStart(2, '0')}:${String(sec % 60).padStart(2, '0')} srv1 sshd[4242]: Failed password for ${user} from ${ip} port 50000 ssh2`;

test('ssh thresholds: 5 quick failures pass, the 6th overflows ssh-bf; one every 10 s never does', async () => {
  const five = Array.from({ length: 5 }, (_, i) => ssh(i, 'root'));
  assert.deepEqual(await alertsFor('syslog', five), []);
  assert.deepEqual(await alertsFor('syslog', [...five, ssh(5, 'root')]), ['palisade/ssh-bf 45.155.205.99']);
  // One failure every 10 s (14 of them): below ssh-bf, but ssh-slow-bf (10 per minute leak) catches it.
  const paced = Array.from({ length: 14 }, (_, i) => ssh(i * 10, 'root'));
  assert.deepEqual(await alertsFor('syslog', paced), ['palisade/ssh-slow-bf 45.155.205.99']);
  // One every 61 s never overflows anything.
  assert.deepEqual(await alertsFor('syslog', Array.from({ length: 30 }, (_, i) => ssh(i * 61, 'root'))), []);
});

test('ssh user enumeration counts distinct user names only', async () => {
  const same = Array.from({ length: 12 }, (_, i) => ssh(i * 3, 'admin'));
  assert.ok(!(await alertsFor('syslog', same)).some((a) => a.includes('user-enum')));
  const users = Array.from({ length: 7 }, (_, i) => ssh(i * 3, `user${i}`));
  assert.ok((await alertsFor('syslog', users)).includes('palisade/ssh-bf_user-enum 45.155.205.99'));
});

const web = (sec: number, path: string, status: number, ua = 'Mozilla/5.0 (X11; Linux x86_64; rv:122.0) Gecko/20100101 Firefox/122.0'): string =>
  `185.220.101.99 - - [05/Jan/2026:08:00:${String(sec).padStart(2, '0')} +0000] "GET ${path} HTTP/1.1" ${status} 512 "-" "${ua}"`;

test('http probing ignores static assets and repeated paths', async () => {
  const assets = Array.from({ length: 30 }, (_, i) => web(Math.floor(i / 3), `/static/img/missing${i}.png`, 404));
  assert.deepEqual(await alertsFor('nginx', assets), []);
  const samePage = Array.from({ length: 30 }, (_, i) => web(Math.floor(i / 3), '/gone', 404));
  assert.deepEqual(await alertsFor('nginx', samePage), []);
  const pages = Array.from({ length: 11 }, (_, i) => web(Math.floor(i / 3), `/nope${i}`, 404));
  assert.deepEqual(await alertsFor('nginx', pages), ['palisade/http-probing 185.220.101.99']);
});

test('http content scenarios: one sensitive file or one generic client is not enough', async () => {
  assert.deepEqual(await alertsFor('nginx', [web(0, '/.env', 404), web(1, '/about', 200)]), []);
  assert.deepEqual(await alertsFor('nginx', [web(0, '/a', 200, 'curl/8.5.0'), web(1, '/b', 200, 'python-requests/2.31.0'), web(2, '/c', 200, 'Wget/1.21')]), []);
  assert.deepEqual(await alertsFor('nginx', [web(0, '/', 200, 'sqlmap/1.7.2#stable (https://sqlmap.org)'), web(1, '/', 200, 'sqlmap/1.7.2#stable (https://sqlmap.org)')]),
    ['palisade/http-bad-user-agent 185.220.101.99']);
  // Benign queries with quotes and words like "select" or "script" do not look like injections.
  const benignQueries = ['/search?q=o%27reilly+and+sons', '/search?q=select+a+plan', '/docs?topic=javascript+basics', '/search?q=%22quoted%22+text'];
  assert.deepEqual(await alertsFor('nginx', Array.from({ length: 24 }, (_, i) => web(Math.floor(i / 4), benignQueries[i % 4]!, 200))), []);
});
