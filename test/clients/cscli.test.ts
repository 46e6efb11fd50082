/**
 * The Debian cscli 1.4.6, unmodified, against Palisade's Local API (issue 5 item 6; spec §9).
 * cscli edits the database directly for machines and bouncers, so only its LAPI-backed verbs
 * are used: `lapi status` (login), `decisions list|add|delete`, `alerts list|inspect`.
 *
 * The machine is registered with `palisade machines add`; cscli gets its own config.yaml and
 * local_api_credentials.yaml (support/crowdsec-home.ts) pointing at 127.0.0.1:<port>.
 * What Palisade holds is seeded with the palisade CLI (manual decisions) and with one agent
 * alert pushed over HTTP exactly as the crowdsec agent sends it (spec §7.6).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { debianReference } from '../support/debian.js';
import { makeCrowdsecHome, type CrowdsecHome } from './support/crowdsec-home.js';
import { run, skipReason, type RunResult } from './support/netns.js';
import { startLapiUnderTest, type LapiUnderTest } from './support/palisade-lapi.js';

const MACHINE = 'cscli-test';
const PASSWORD = 'cscli-test-password-0123456789';
const BANNED_V4 = '203.0.113.10';
const BANNED_V6 = '2001:db8:77::10';
const AGENT_IP = '198.51.100.7';

let lapi: LapiUnderTest | undefined;
let home: CrowdsecHome | undefined;
let agentAlertId = '';

interface CsDecision { id: number; origin: string; type: string; scope: string; value: string; scenario: string; duration: string; simulated: boolean }
interface CsAlert {
  id: number; machine_id: string; scenario: string; message: string; events_count: number; capacity: number; leakspeed: string;
  source: { scope: string; value: string; ip?: string }; decisions: CsDecision[] | null; events: { timestamp: string; meta: { key: string; value: string }[] }[];
  start_at: string; stop_at: string; created_at: string;
}

function cscli(args: string[], h: CrowdsecHome = home!): Promise<RunResult> {
  return run(h.cscli, ['-c', h.configFile, ...args], { env: h.env, timeoutMs: 30_000, cwd: h.dir });
}

async function cscliJson<T>(args: string[]): Promise<T> {
  const r = await cscli([...args, '-o', 'json']);
  assert.equal(r.code, 0, `cscli ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}\n--- LAPI ---\n${lapi!.output().slice(-2000)}`);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`cscli ${args.join(' ')} -o json printed no JSON:\n${r.stdout}\n${r.stderr}`);
  }
}

/** Go duration → seconds (h, m, s parts; what cscli prints for decisions). */
function goSeconds(d: string): number {
  const m = /^(-)?(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?$/.exec(d);
  assert.ok(m && d !== '', `a Go duration: ${d}`);
  return (m[1] ? -1 : 1) * (Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0));
}

/** Logs in as the machine and pushes one ssh-bf alert the way crowdsec 1.4.6 does. */
async function pushAgentAlert(): Promise<string> {
  const ua = { 'User-Agent': 'crowdsec/v1.4.6-debian', 'Content-Type': 'application/json' };
  const login = await fetch(`${lapi!.url}/v1/watchers/login`, {
    method: 'POST', headers: ua, body: JSON.stringify({ machine_id: MACHINE, password: PASSWORD, scenarios: ['crowdsecurity/ssh-bf'] }),
  });
  assert.equal(login.status, 200, `login: ${await login.clone().text()}`);
  const { token } = (await login.json()) as { token: string };
  const now = new Date();
  const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const start = new Date(now.getTime() - 5000);
  const alert = {
    capacity: 5, decisions: null, events_count: 6, labels: null, leakspeed: '10s', remediation: true, simulated: false,
    message: `Ip ${AGENT_IP} performed 'crowdsecurity/ssh-bf' (6 events over 5s) at ${iso(now)}`,
    scenario: 'crowdsecurity/ssh-bf', scenario_hash: 'a'.repeat(64), scenario_version: '0.1',
    source: { ip: AGENT_IP, scope: 'Ip', value: AGENT_IP },
    start_at: iso(start), stop_at: iso(now),
    events: Array.from({ length: 6 }, (_, i) => ({
      timestamp: iso(new Date(start.getTime() + i * 1000)),
      meta: [{ key: 'log_type', value: 'ssh_failed-auth' }, { key: 'source_ip', value: AGENT_IP }],
    })),
  };
  const r = await fetch(`${lapi!.url}/v1/alerts`, { method: 'POST', headers: { ...ua, Authorization: `Bearer ${token}` }, body: JSON.stringify([alert]) });
  const body = await r.text();
  assert.equal(r.status, 201, `POST /v1/alerts: ${body}`);
  const ids = JSON.parse(body) as string[];
  assert.equal(ids.length, 1);
  assert.match(ids[0]!, /^\d+$/, 'alert ids are strings of digits');
  return ids[0]!;
}

const ref = debianReference();
const skip = skipReason(ref ? null : 'Debian crowdsec reference tree missing (scripts/setup-reference.sh crowdsec)');

before(async () => {
  if (skip || !ref) return;
  lapi = await startLapiUnderTest();
  await lapi.addMachine(MACHINE, PASSWORD);
  home = makeCrowdsecHome(ref, { lapiUrl: lapi.url, login: MACHINE, password: PASSWORD });
  await lapi.addDecision(BANNED_V4, '4h');
  await lapi.addDecision(BANNED_V6, '2h');
  agentAlertId = await pushAgentAlert();
}, { timeout: 120_000 });

after(async () => {
  await lapi?.stop();
  home?.remove();
}, { timeout: 60_000 });

test('cscli lapi status logs in to Palisade with the registered machine', { timeout: 60_000, skip }, async () => {
  assert.ok(home && lapi, 'setup completed');
  const r = await cscli(['lapi', 'status']);
  const out = r.stdout + r.stderr;
  assert.equal(r.code, 0, `${out}\n--- LAPI ---\n${lapi!.output().slice(-2000)}`);
  assert.match(out, new RegExp(`Trying to authenticate with username ${MACHINE} on ${lapi!.url.replace(/\./g, '\\.')}`));
  assert.match(out, /You can successfully interact with Local API \(LAPI\)/);

  // A wrong password is refused, and cscli says why.
  const bad = `${home.dir}/bad-credentials.yaml`;
  writeFileSync(bad, `url: ${lapi!.url}\nlogin: ${MACHINE}\npassword: not-the-password\n`);
  const badHome: CrowdsecHome = { ...home, configFile: join(home.dir, 'bad-config.yaml') };
  writeFileSync(badHome.configFile, readFileSync(home.configFile, 'utf8').replace(home.credentialsFile, bad));
  const r2 = await cscli(['lapi', 'status'], badHome);
  assert.notEqual(r2.code, 0, 'a wrong password must fail');
  assert.match(r2.stdout + r2.stderr, /incorrect Username or Password/);
});

test('cscli decisions list shows the decisions Palisade holds', { timeout: 60_000, skip }, async () => {
  assert.ok(home && lapi, 'setup completed');
  const alerts = await cscliJson<CsAlert[] | null>(['decisions', 'list']);
  assert.ok(Array.isArray(alerts), 'cscli printed an array of alerts');
  const decisions = alerts.flatMap((a) => (a.decisions ?? []).map((d) => ({ ...d, alert: a })));
  const byValue = new Map(decisions.map((d) => [d.value, d]));
  assert.deepEqual([...byValue.keys()].sort(), [BANNED_V6, AGENT_IP, BANNED_V4].sort(), JSON.stringify(decisions, null, 1));

  const v4 = byValue.get(BANNED_V4)!;
  assert.equal(v4.type, 'ban');
  assert.equal(v4.scope, 'Ip');
  assert.equal(v4.origin, 'cscli');
  const s4 = goSeconds(v4.duration);
  assert.ok(s4 > 4 * 3600 - 120 && s4 <= 4 * 3600, `about 4h left: ${v4.duration}`);
  const s6 = goSeconds(byValue.get(BANNED_V6)!.duration);
  assert.ok(s6 > 2 * 3600 - 120 && s6 <= 2 * 3600, `about 2h left: ${byValue.get(BANNED_V6)!.duration}`);

  const agent = byValue.get(AGENT_IP)!;
  assert.equal(agent.origin, 'crowdsec');
  assert.equal(agent.scenario, 'crowdsecurity/ssh-bf');
  assert.equal(agent.type, 'ban');
  assert.equal(String(agent.alert.id), agentAlertId);

  // A filter goes to the API (`ip=`), and only the matching decision comes back.
  const one = await cscliJson<CsAlert[] | null>(['decisions', 'list', '--ip', BANNED_V4]);
  assert.deepEqual((one ?? []).flatMap((a) => (a.decisions ?? []).map((d) => d.value)), [BANNED_V4]);
  const none = await cscliJson<CsAlert[] | null>(['decisions', 'list', '--ip', '192.0.2.99']);
  assert.ok(none === null || none.length === 0, `no decision for an unknown IP: ${JSON.stringify(none)}`);
});

test('cscli alerts list and inspect show the alerts Palisade holds', { timeout: 60_000, skip }, async () => {
  assert.ok(home && lapi, 'setup completed');
  const alerts = await cscliJson<CsAlert[] | null>(['alerts', 'list']);
  assert.ok(Array.isArray(alerts) && alerts.length === 3, `three alerts: ${JSON.stringify(alerts)}`);
  const agent = alerts.find((a) => String(a.id) === agentAlertId);
  assert.ok(agent, `the pushed alert ${agentAlertId} is listed`);
  assert.equal(agent.scenario, 'crowdsecurity/ssh-bf');
  assert.equal(agent.machine_id, MACHINE);
  assert.equal(agent.events_count, 6);
  assert.equal(agent.capacity, 5);
  assert.equal(agent.leakspeed, '10s');
  assert.deepEqual({ scope: agent.source.scope, value: agent.source.value }, { scope: 'Ip', value: AGENT_IP });
  const manual = alerts.filter((a) => a !== agent);
  assert.deepEqual(manual.map((a) => a.source.value).sort(), [BANNED_V4, BANNED_V6].sort());
  for (const a of manual) assert.equal(a.decisions?.[0]?.origin, 'cscli');

  const inspected = await cscliJson<CsAlert>(['alerts', 'inspect', agentAlertId]);
  assert.equal(String(inspected.id), agentAlertId);
  assert.equal(inspected.events.length, 6, 'inspect returns the events');
  const meta = new Map(inspected.events[0]!.meta.map((m) => [m.key, m.value]));
  assert.equal(meta.get('source_ip'), AGENT_IP);
  assert.equal(meta.get('log_type'), 'ssh_failed-auth');
});

test('cscli decisions add and delete go through Palisade', { timeout: 90_000, skip }, async () => {
  assert.ok(home && lapi, 'setup completed');
  const ip = '192.0.2.44';
  const add = await cscli(['decisions', 'add', '--ip', ip, '--duration', '30m', '--reason', 'cscli against palisade']);
  assert.equal(add.code, 0, `${add.stdout}\n${add.stderr}\n--- LAPI ---\n${lapi!.output().slice(-2000)}`);
  let held = (await lapi!.listDecisions()).filter((d) => d.value === ip);
  assert.equal(held.length, 1, JSON.stringify(held));
  assert.equal(held[0]!.origin, 'cscli');
  assert.equal(held[0]!.type, 'ban');
  assert.equal(held[0]!.scenario, 'cscli against palisade');
  const left = goSeconds(held[0]!.duration);
  assert.ok(left > 28 * 60 && left <= 30 * 60, `about 30m left: ${held[0]!.duration}`);

  const del = await cscli(['decisions', 'delete', '--ip', ip]);
  assert.equal(del.code, 0, `${del.stdout}\n${del.stderr}`);
  assert.match(del.stdout + del.stderr, /1 decision\(s\) deleted/);
  held = (await lapi!.listDecisions()).filter((d) => d.value === ip);
  assert.deepEqual(held, [], 'the decision is no longer active');
  const others = (await lapi!.listDecisions()).map((d) => d.value).sort();
  assert.deepEqual(others, [BANNED_V4, BANNED_V6, AGENT_IP].sort(), 'other decisions untouched');
});
