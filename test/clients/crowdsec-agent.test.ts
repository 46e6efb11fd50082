/**
 * The Debian crowdsec 1.4.6 binary, unmodified, as an agent of Palisade's Local API (issue 5
 * item 6): its own LAPI disabled (`api.server.enable: false`), its client credentials pointing
 * at `palisade lapi`, a machine registered with `palisade machines add`. It replays a small
 * sshd log (`-dsn file://... -type syslog`, hub parsers + crowdsecurity/ssh-bf) whose
 * timestamps are shifted to "now" (TZ=UTC), so the alerts it POSTs to /v1/alerts become live
 * decisions in Palisade — asserted with `palisade decisions list --json` / `alerts list --json`.
 * The log goes through a FIFO (see `replay` for the crowdsec 1.4.6 shutdown deadlock it avoids).
 *
 * The log holds one attacker (8 failures in 8 s: one ssh-bf overflow, then the bucket is
 * blackholed), one address below the threshold (3 failures) and one private address above it
 * (whitelisted by crowdsecurity/whitelists): exactly one alert and one decision must arrive.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { debianReference } from '../support/debian.js';
import { makeCrowdsecHome, type CrowdsecHome } from './support/crowdsec-home.js';
import { runOk, skipReason, startDaemon, waitFor } from './support/netns.js';
import { startLapiUnderTest, type LapiUnderTest } from './support/palisade-lapi.js';

const MACHINE = 'agent-test';
const PASSWORD = 'agent-test-password-0123456789';
const ATTACKER = '203.0.113.50';
const BELOW = '198.51.100.23';
const PRIVATE = '10.11.12.13';

let lapi: LapiUnderTest | undefined;
let home: CrowdsecHome | undefined;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** RFC 3164 timestamp in UTC (`Nov  7 09:05:03`): the agent runs with TZ=UTC. */
function syslogTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

function sshdLog(now: number): string {
  const lines: string[] = [];
  const at = (secAgo: number, msg: string): void => {
    lines.push(`${syslogTime(new Date(now - secAgo * 1000))} web-1 sshd[${4000 + lines.length}]: ${msg}`);
  };
  // Interleaved as a real auth.log would be; oldest first.
  for (let i = 0; i < 8; i++) {
    at(20 - i, `Failed password for invalid user admin from ${ATTACKER} port ${40000 + i} ssh2`);
    if (i < 3) at(20 - i, `Failed password for root from ${BELOW} port ${50000 + i} ssh2`);
    at(20 - i, `Failed password for invalid user oracle from ${PRIVATE} port ${60000 + i} ssh2`);
  }
  at(10, `Accepted publickey for deploy from ${BELOW} port 50100 ssh2: ED25519 SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG`);
  return lines.join('\n') + '\n';
}

const ref = debianReference();
const skip = skipReason(ref ? null : 'Debian crowdsec reference tree missing (scripts/setup-reference.sh crowdsec)');

before(async () => {
  if (skip || !ref) return;
  lapi = await startLapiUnderTest();
  await lapi.addMachine(MACHINE, PASSWORD);
  home = makeCrowdsecHome(ref, {
    lapiUrl: lapi.url,
    login: MACHINE,
    password: PASSWORD,
    parsers: [
      's00-raw/crowdsecurity/syslog-logs.yaml',
      's01-parse/crowdsecurity/sshd-logs.yaml',
      's02-enrich/crowdsecurity/dateparse-enrich.yaml',
      's02-enrich/crowdsecurity/whitelists.yaml',
    ],
    scenarios: ['crowdsecurity/ssh-bf.yaml'],
  });
}, { timeout: 120_000 });

after(async () => {
  await lapi?.stop();
  home?.remove();
}, { timeout: 60_000 });

/**
 * One replay by the agent, fed through a FIFO so that EOF comes only after Palisade holds the
 * alert. Why: crowdsec 1.4.6 in -dsn mode starts shutting down as soon as the file ends, and
 * when the overflow is still in flight then (easily under CPU load), its bucket and output
 * routines deadlock — a goroutine dump (SIGQUIT) shows LeakRoutine blocked sending to the
 * output routine, which is itself blocked on a channel send, while shutdown waits on the
 * bucket tomb — and the alert is never pushed (seen against CrowdSec's own LAPI as well).
 * With the FIFO held open, the output routine pushes on its own tick while acquisition is
 * still running, and shutdown has nothing in flight.
 */
async function replay(h: CrowdsecHome, l: LapiUnderTest, pushMs: number): Promise<{ pushed: boolean; exit: number | 'killed'; output: string }> {
  const fifo = join(h.dir, 'auth.log');
  await runOk('mkfifo', [fifo], { timeoutMs: 10_000 });
  // O_RDWR never blocks on a FIFO (Linux), so a crowdsec that dies before opening it cannot hang
  // the test; crowdsec sees EOF once this, the only writer, is closed.
  const fd = openSync(fifo, constants.O_RDWR);
  let open = true;
  const agent = startDaemon('crowdsec agent', h.crowdsec, ['-c', h.configFile, '-dsn', `file://${fifo}`, '-type', 'syslog', '-no-capi'], { env: h.env, cwd: h.dir });
  try {
    writeSync(fd, sshdLog(Date.now()));
    const pushed = await waitFor('the agent\'s alert in Palisade', pushMs, async () => {
      if (agent.exited()) return false;
      return (await l.listAlerts()).length > 0 ? true : undefined;
    }, 300).catch(() => false);
    closeSync(fd);
    open = false;
    await waitFor('the agent to exit at EOF', 15_000, () => (agent.exited() ? true : undefined)).catch(() => undefined);
    return { pushed, exit: agent.exited() ? (agent.child.exitCode ?? 'killed') : 'killed', output: agent.output() };
  } finally {
    if (open) closeSync(fd);
    await agent.stop();
  }
}

test('crowdsec 1.4.6 agent replays an sshd log into Palisade: its alert becomes a decision', { timeout: 180_000, skip }, async (t) => {
  assert.ok(home && lapi, 'setup completed');
  const r = await replay(home, lapi, 60_000);
  const why = `crowdsec exit ${r.exit}\n--- crowdsec ---\n${r.output.slice(-4000)}\n--- LAPI ---\n${lapi.output().slice(-3000)}`;
  assert.ok(r.pushed, `Palisade got no alert from the agent within 60 s\n${why}`);
  // A hang at exit after the push is crowdsec's own (killed, noted); an error exit is a failure.
  if (r.exit === 'killed') t.diagnostic('crowdsec pushed its alert but did not exit within 15 s of EOF; killed');
  else assert.equal(r.exit, 0, `the agent exits cleanly at the end of its input\n${why}`);
  const out = r.output;
  // It was an agent only: no local API of its own; it logged in to ours and pushed its alert.
  assert.match(out, /crowdsec local API is disabled/, why);
  assert.doesNotMatch(out, /CrowdSec Local API listening/i, why);
  assert.match(out, /Ip 203\.0\.113\.50 performed 'crowdsecurity\/ssh-bf'/, why);

  const decisions = await lapi.listDecisions();
  assert.equal(decisions.length, 1, `exactly one decision: ${JSON.stringify(decisions)}\n${why}`);
  const d = decisions[0]!;
  assert.deepEqual({ value: d.value, scope: d.scope, type: d.type, origin: d.origin, scenario: d.scenario }, {
    value: ATTACKER, scope: 'Ip', type: 'ban', origin: 'crowdsec', scenario: 'crowdsecurity/ssh-bf',
  });
  // The default profile bans for 4h from the alert's stop_at (a few seconds ago): live, < 4h left.
  const m = /^(\d+)h(\d+)m([\d.]+)s$/.exec(d.duration);
  assert.ok(m, `a live Go duration: ${d.duration}`);
  const left = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  assert.ok(left > 4 * 3600 - 300 && left < 4 * 3600, `about 4h left: ${d.duration}`);

  const alerts = await lapi.listAlerts();
  assert.equal(alerts.length, 1, `exactly one alert: ${JSON.stringify(alerts)}`);
  const a = alerts[0]!;
  assert.equal(a.machine_id, MACHINE, 'owned by the machine that pushed it');
  assert.equal(a.scenario, 'crowdsecurity/ssh-bf');
  assert.deepEqual({ scope: a.source.scope, value: a.source.value }, { scope: 'Ip', value: ATTACKER });
  assert.equal(a.capacity, 5);
  assert.equal(a.leakspeed, '10s');
  assert.equal(a.events_count, 6, 'capacity 5 overflows on the 6th event');
  assert.equal(a.events.length, 6);
  for (const e of a.events) {
    const meta = new Map(e.meta.map((x) => [x.key, x.value]));
    assert.equal(meta.get('source_ip'), ATTACKER);
    assert.equal(meta.get('log_type'), 'ssh_failed-auth');
  }
  assert.equal(a.decisions?.length, 1);
  assert.equal(a.decisions![0]!.value, ATTACKER);
});
