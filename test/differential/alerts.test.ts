/**
 * Differential test of whole-pipeline alerts: seeded sshd and nginx logs of 50,000 lines each
 * (fixtures/generate-bf-logs.ts) are replayed through the Debian crowdsec 1.4.6 binary and
 * through Palisade with the same hub parsers, scenarios and data files, and the multisets of
 * (scenario, source IP, events_count) alerts are compared.
 *
 * Replay semantics both sides share (spec §4.7): bucket time is the log's time, and buckets
 * still pending when input ends are discarded. crowdsec's alerts are read back from its
 * database with cscli (see crowdsecAlerts). Skipped when the Debian tree is unavailable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { debianReference, type DebianReference } from '../support/debian.js';
import { runReplay } from '../../src/pipeline/replay.js';
import { generateNginx, generateSshd } from '../../fixtures/generate-bf-logs.js';
import { freePort, minus, readCrowdsecAlerts, writeCrowdsecConfig } from '../support/crowdsec-alerts.js';

const LINES = 50_000;
const SEED = 424242;
/** A normal run takes ~15 s (sshd) to ~95 s (nginx) here. */
const CROWDSEC_TIMEOUT_MS = 180_000;
const execFileP = promisify(execFile);

const COMMON_PARSERS = ['s00-raw/crowdsecurity/syslog-logs.yaml', 's02-enrich/crowdsecurity/dateparse-enrich.yaml', 's02-enrich/crowdsecurity/whitelists.yaml'];
const SSHD = { type: 'syslog', parsers: [...COMMON_PARSERS, 's01-parse/crowdsecurity/sshd-logs.yaml'], scenarios: ['crowdsecurity/ssh-bf.yaml', 'crowdsecurity/ssh-slow-bf.yaml'] };
// The http scenarios of the base-http-scenarios collection that `crowdsecurity/nginx` pulls in by default.
const NGINX = {
  type: 'nginx',
  parsers: [...COMMON_PARSERS, 's01-parse/crowdsecurity/nginx-logs.yaml', 's02-enrich/crowdsecurity/http-logs.yaml'],
  scenarios: ['http-probing', 'http-crawl-non_statics', 'http-sensitive-files', 'http-bad-user-agent', 'http-path-traversal-probing',
    'http-xss-probing', 'http-sqli-probing', 'http-backdoors-attempts', 'http-generic-bf', 'http-open-proxy', 'nginx-req-limit-exceeded'].map((s) => `crowdsecurity/${s}.yaml`),
};

/**
 * Observed quirk of the 1.4.6 binary (not yet written up in the spec; closest text: §4.6
 * blackhole and §4.7 replay): identical replays of the same file do not give the same alerts.
 * On this sshd log back-to-back runs gave 386-389 alerts; the differences are second
 * overflows of one source close to the blackhole expiry (ssh-bf 6 events, ssh-slow-bf 11),
 * and they go BOTH ways: some runs drop an alert Palisade emits, some emit one
 * (e.g. ssh-bf 81.8.250.224 6) that Palisade and other runs do not. The max-over-runs rule
 * below therefore still fails on the second kind: the comparison rule is unsettled.
 */
const CROWDSEC_RUNS = 3;

type Setup = typeof SSHD;

/** The hub's data files, plus the name http-path-traversal-probing asks for (stack-notes §9). */
function dataDir(ref: DebianReference, dir: string): string {
  const d = join(dir, 'data');
  mkdirSync(d);
  for (const f of readdirSync(ref.data)) copyFileSync(join(ref.data, f), join(d, f));
  copyFileSync(join(ref.data, 'path_traversal.txt'), join(d, 'http_path_traversal.txt'));
  return d;
}

/** A Palisade config dir laid out like /etc/crowdsec, with symlinks into the hub (as cscli does). */
function palisadeConfig(ref: DebianReference, dir: string, data: string, s: Setup): string {
  const cfg = join(dir, `cfg-${s.type}`);
  mkdirSync(join(cfg, 'scenarios'), { recursive: true });
  symlinkSync(ref.patterns, join(cfg, 'patterns'));
  symlinkSync(data, join(cfg, 'data'));
  for (const p of s.parsers) {
    const [stage, , file] = p.split('/');
    mkdirSync(join(cfg, 'parsers', stage!), { recursive: true });
    symlinkSync(join(ref.hub, 'parsers', p), join(cfg, 'parsers', stage!, file!));
  }
  for (const p of s.scenarios) symlinkSync(join(ref.hub, 'scenarios', p), join(cfg, 'scenarios', p.split('/')[1]!));
  return cfg;
}

/**
 * Runs crowdsec 1.4.6 on one file and reads the alerts back with cscli from its SQLite DB.
 * Own wrapper rather than test/support/crowdsec-runner.ts: that one always asks for
 * `-dump-data`, whose parser dump for 50k lines exhausts the test's heap when parsed.
 * The config mirrors the runner's (in-process LAPI on a free loopback port, see its header).
 */
async function crowdsecAlerts(r: DebianReference, dir: string, logFile: string, data: string, s: Setup): Promise<string[]> {
  const cfg = join(dir, `crowdsec-${s.type}`);
  for (const d of ['scenarios', 'postoverflows', 'notifications', 'plugins']) mkdirSync(join(cfg, d), { recursive: true });
  symlinkSync(r.patterns, join(cfg, 'patterns'));
  for (const p of s.parsers) {
    const [stage, , file] = p.split('/');
    mkdirSync(join(cfg, 'parsers', stage!), { recursive: true });
    symlinkSync(join(r.hub, 'parsers', p), join(cfg, 'parsers', stage!, file!));
  }
  for (const p of s.scenarios) symlinkSync(join(r.hub, 'scenarios', p), join(cfg, 'scenarios', p.split('/')[1]!));
  const port = await freePort();
  const cfgFile = writeCrowdsecConfig(cfg, r.hub, data, port, 'testMachine', 'testPassword');
  const creds = join(cfg, 'local_api_credentials.yaml');
  writeFileSync(join(cfg, 'acquis.yaml'), '');
  writeFileSync(join(cfg, 'simulation.yaml'), 'simulation: off\n');
  writeFileSync(join(cfg, 'profiles.yaml'), 'name: default_ip_remediation\nfilters:\n - Alert.Remediation == true && Alert.GetScope() == "Ip"\ndecisions:\n - type: ban\n   duration: 4h\non_success: break\n');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cfg, TZ: 'UTC', LANG: 'C' };
  const cscli = join(dirname(r.crowdsecBin), 'cscli');
  const opts = { env, maxBuffer: 512 * 1024 * 1024 };
  await execFileP(cscli, ['-c', cfgFile, 'machines', 'add', 'testMachine', '--password', 'testPassword', '-f', creds, '--force'], { ...opts, timeout: 60_000 });
  // The binary sometimes hangs at exit (stack-notes §9): a killed run is retried once on a
  // fresh database, since its pushed alerts may be incomplete.
  for (let attempt = 1; ; attempt++) {
    try {
      await execFileP(r.crowdsecBin, ['-c', cfgFile, '-dsn', `file://${logFile}`, '-type', s.type], { ...opts, timeout: CROWDSEC_TIMEOUT_MS, killSignal: 'SIGKILL' });
      break;
    } catch (e) {
      const err = e as { stderr?: string; message: string; killed?: boolean };
      if (err.killed && attempt < 2) {
        console.log(`crowdsec replay of ${logFile} killed after ${CROWDSEC_TIMEOUT_MS} ms (hang at exit?), retrying`);
        rmSync(join(cfg, 'crowdsec.db'), { force: true });
        await execFileP(cscli, ['-c', cfgFile, 'machines', 'add', 'testMachine', '--password', 'testPassword', '-f', creds, '--force'], { ...opts, timeout: 60_000 });
        continue;
      }
      throw new ReferenceRunError(`crowdsec replay failed (attempt ${attempt}): ${err.message.split('\n')[0]}\n${String(err.stderr ?? '').split('\n').slice(-15).join('\n')}`);
    }
  }
  return readCrowdsecAlerts({ crowdsecBin: r.crowdsecBin, cscli, cfgFile, env });
}

async function palisadeAlerts(cfg: string, file: string, type: string): Promise<string[]> {
  const out: string[] = [];
  const warnings: string[] = [];
  const summary = await runReplay({
    files: [file],
    type,
    configDir: cfg,
    dataDir: null,
    warn: (m) => warnings.push(m),
    onAlert: ({ alert }) => out.push(`${alert.scenario} ${alert.source.value} ${alert.events_count}`),
  });
  assert.equal(summary.lines, LINES, 'palisade read every line');
  return out.sort();
}

/** Multiset with each key's largest count over the runs. */
function maxUnion(runs: string[][]): string[] {
  const best = new Map<string, number>();
  for (const run of runs) {
    const c = new Map<string, number>();
    for (const k of run) c.set(k, (c.get(k) ?? 0) + 1);
    for (const [k, n] of c) best.set(k, Math.max(best.get(k) ?? 0, n));
  }
  return [...best].flatMap(([k, n]) => Array<string>(n).fill(k)).sort();
}

/**
 * The reference binary itself failed (crashed, or hung at exit twice; stack-notes §9). That says
 * nothing about Palisade: the test is then skipped with the reason, never passed.
 */
class ReferenceRunError extends Error {}


const ref = debianReference();

for (const [name, setup, gen] of [['sshd', SSHD, generateSshd], ['nginx', NGINX, generateNginx]] as const) {
  test(`alerts: palisade == crowdsec 1.4.6 on ${LINES} seeded ${name} lines`, { skip: ref ? false : 'Debian crowdsec tree unavailable', timeout: 2 * CROWDSEC_RUNS * CROWDSEC_TIMEOUT_MS + 120_000 }, async (t) => {
    const r = ref!;
    const dir = mkdtempSync(join(tmpdir(), `palisade-diff-alerts-${name}-`));
    try {
      const logFile = join(dir, `${name}.log`);
      writeFileSync(logFile, gen(LINES, SEED));
      const data = dataDir(r, dir);
      const cfg = palisadeConfig(r, dir, data, setup);
      const p0 = performance.now();
      const ours = await palisadeAlerts(cfg, logFile, setup.type);
      console.log(`${name}: palisade ${ours.length} alerts in ${((performance.now() - p0) / 1000).toFixed(1)} s`);
      const runs: string[][] = [];
      for (let i = 0; i < CROWDSEC_RUNS; i++) {
        const runDir = join(dir, `run${i}`);
        mkdirSync(runDir);
        const t0 = performance.now();
        try {
          runs.push(await crowdsecAlerts(r, runDir, logFile, data, setup));
        } catch (e) {
          if (!(e instanceof ReferenceRunError)) throw e;
          if (runs.length > 0) break; // compare with the runs we have
          t.skip(`reference crowdsec run failed, nothing to compare: ${e.message.split('\n')[0]}`);
          return;
        }
        const diff = minus(ours, runs[i]!).length + minus(runs[i]!, ours).length;
        console.log(`${name}: crowdsec run ${i + 1}: ${runs[i]!.length} alerts in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${diff} differ from palisade`);
        if (diff === 0) break;
      }
      const theirs = maxUnion(runs);
      const onlyOurs = minus(ours, theirs);
      const onlyTheirs = minus(theirs, ours);
      const byScenario = new Map<string, number>();
      for (const k of theirs) byScenario.set(k.split(' ')[0]!, (byScenario.get(k.split(' ')[0]!) ?? 0) + 1);
      const agree = theirs.length - onlyTheirs.length;
      console.log(`${name}: crowdsec ${theirs.length} alerts (max over ${runs.length} run(s)), palisade ${ours.length}, agreeing ${agree} ` +
        `(${((100 * agree) / Math.max(1, ours.length, theirs.length)).toFixed(2)}%); by scenario ${JSON.stringify(Object.fromEntries(byScenario))}`);
      if (onlyOurs.length) console.log(`only palisade:\n  ${onlyOurs.join('\n  ')}`);
      if (onlyTheirs.length) console.log(`only crowdsec:\n  ${onlyTheirs.join('\n  ')}`);

      // The comparison must mean something: several scenarios fire, and well under crowdsec's
      // ~5,000 stored-alert ceiling (stack-notes §9).
      assert.ok(theirs.length >= 20 && theirs.length < 4000, `crowdsec alert count ${theirs.length}`);
      assert.ok(byScenario.size >= 2, 'at least two scenarios fire');
      // Comparison rule. CrowdSec 1.4.6 is not deterministic on the same file: each bucket is a
      // goroutine, and events that arrive while an overflowed bucket is being torn down (right
      // after an overflow, or as a blackhole ends) are sometimes lost and sometimes start a new
      // bucket, so repeated runs differ by a few re-alerts for an IP that already alerted
      // (observed: 386-390 sshd alerts over ten runs of one file, in both directions relative
      // to Palisade, which applies pours in order and is deterministic). So, against the crowdsec
      // run closest to Palisade:
      //  1. every differing alert is a re-alert: its (scenario, IP) pair has alerts on BOTH sides
      //     (a source one side never flagged is a real difference and fails);
      //  2. there are few of them: at most max(3, 1%) of the alerts.
      const pair = (k: string): string => k.split(' ').slice(0, 2).join(' ');
      let best = runs[0]!;
      for (const run of runs) if (minus(ours, run).length + minus(run, ours).length < minus(ours, best).length + minus(best, ours).length) best = run;
      const diffs = [...minus(ours, best), ...minus(best, ours)];
      const ourPairs = new Set(ours.map(pair));
      const theirPairs = new Set(best.map(pair));
      const unexplained = diffs.filter((k) => !(ourPairs.has(pair(k)) && theirPairs.has(pair(k))));
      assert.deepEqual(unexplained, [], 'differences for a scenario/IP pair that only one side alerted on');
      const allowed = Math.max(3, Math.ceil(0.01 * ours.length));
      assert.ok(diffs.length <= allowed, `${diffs.length} run-dependent re-alerts differ from the closest crowdsec run (allowed ${allowed}): ${diffs.join(', ')}`);
      if (diffs.length) console.log(`${name}: ${diffs.length} run-dependent re-alert(s) differ from the closest crowdsec run, explained by the bucket-teardown race (see the comment above): ${diffs.join(', ')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
