/**
 * Differential test of whole-pipeline alerts: seeded sshd and nginx logs of 50,000 lines each
 * (fixtures/generate-bf-logs.ts) are replayed through the Debian crowdsec 1.4.6 binary and
 * through Palisade with the same hub parsers, scenarios and data files, and the multisets of
 * (scenario, source IP, events_count) alerts are compared.
 *
 * Replay semantics both sides share (spec §4.7): bucket time is the log's time, and buckets
 * still pending when input ends are discarded. Skipped when the Debian tree is unavailable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianReference, type DebianReference } from '../support/debian.js';
import { runCrowdsecReplay, type DumpEvent } from '../support/crowdsec-runner.js';
import { runReplay } from '../../src/pipeline/replay.js';
import { generateNginx, generateSshd } from '../../fixtures/generate-bf-logs.js';

const LINES = 50_000;
const SEED = 424242;
const CROWDSEC_TIMEOUT_MS = 240_000;

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
 * Differences allowed between the two alert sets, each explained by a documented quirk.
 * Key: "scenario ip events_count"; value: the spec section. Empty means exact agreement.
 */
const EXPLAINED: Record<string, string> = {};

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

/** Alert keys of a crowdsec bucket dump: one per overflow that produced an alert with a source. */
function crowdsecAlerts(dump: DumpEvent[]): string[] {
  const out: string[] = [];
  for (const e of dump) {
    const alert = (e.Overflow as { Alert?: Record<string, unknown> } | undefined)?.Alert;
    if (!alert) continue;
    const source = alert.source as { value?: string } | undefined;
    out.push(`${String(alert.scenario)} ${source?.value ?? '?'} ${String(alert.events_count)}`);
  }
  return out.sort();
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

/** Multiset difference a - b. */
function minus(a: string[], b: string[]): string[] {
  const counts = new Map<string, number>();
  for (const k of b) counts.set(k, (counts.get(k) ?? 0) + 1);
  const out: string[] = [];
  for (const k of a) {
    const n = counts.get(k) ?? 0;
    if (n > 0) counts.set(k, n - 1);
    else out.push(k);
  }
  return out;
}

const ref = debianReference();

for (const [name, setup, gen] of [['sshd', SSHD, generateSshd], ['nginx', NGINX, generateNginx]] as const) {
  test(`alerts: palisade == crowdsec 1.4.6 on ${LINES} seeded ${name} lines`, { skip: ref ? false : 'Debian crowdsec tree unavailable', timeout: CROWDSEC_TIMEOUT_MS + 120_000 }, async () => {
    const r = ref!;
    const dir = mkdtempSync(join(tmpdir(), `palisade-diff-alerts-${name}-`));
    try {
      const logFile = join(dir, `${name}.log`);
      writeFileSync(logFile, gen(LINES, SEED));
      const data = dataDir(r, dir);
      const cfg = palisadeConfig(r, dir, data, setup);
      const ours = await palisadeAlerts(cfg, logFile, setup.type);
      const res = await runCrowdsecReplay({
        logFile,
        type: setup.type,
        parsers: setup.parsers,
        scenarios: setup.scenarios,
        patternsDir: r.patterns,
        dataDir: data,
        timeoutMs: CROWDSEC_TIMEOUT_MS,
        crowdsecBin: r.crowdsecBin,
        hubDir: r.hub,
      });
      const theirs = crowdsecAlerts(res.bucketDump);
      const onlyOurs = minus(ours, theirs);
      const onlyTheirs = minus(theirs, ours);
      const byScenario = new Map<string, number>();
      for (const k of theirs) byScenario.set(k.split(' ')[0]!, (byScenario.get(k.split(' ')[0]!) ?? 0) + 1);
      const agree = theirs.length - onlyTheirs.length;
      console.log(`${name}: crowdsec ${theirs.length} alerts, palisade ${ours.length}, agreeing ${agree} ` +
        `(${((100 * agree) / Math.max(1, Math.max(ours.length, theirs.length))).toFixed(2)}%); by scenario ${JSON.stringify(Object.fromEntries(byScenario))}`);
      if (onlyOurs.length) console.log(`only palisade:\n  ${onlyOurs.join('\n  ')}`);
      if (onlyTheirs.length) console.log(`only crowdsec:\n  ${onlyTheirs.join('\n  ')}`);

      // The comparison must mean something: several scenarios fire, and well under crowdsec's
      // ~5,000 stored-alert ceiling (stack-notes §9).
      assert.ok(theirs.length >= 20 && theirs.length < 4000, `crowdsec alert count ${theirs.length}`);
      assert.ok(byScenario.size >= 2, 'at least two scenarios fire');
      const unexplained = [...onlyOurs.map((k) => `palisade ${k}`), ...onlyTheirs.map((k) => `crowdsec ${k}`)].filter((k) => !(k.split(' ').slice(1).join(' ') in EXPLAINED));
      assert.deepEqual(unexplained, [], 'every difference is explained by a documented quirk');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
