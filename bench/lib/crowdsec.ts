/**
 * Times the Debian crowdsec 1.4.6 binary replaying one file with the hub rules of
 * hub-rules.ts, then reads its alerts back.
 *
 * Not test/support/crowdsec-runner.ts: that one always asks for `-dump-data`, whose dumps are
 * written at exit, cost time and memory, and would be part of what is timed here. The config
 * follows the same findings (its header lists them): an in-process LAPI on a free loopback port
 * with a machine registered first by cscli, a per-run SQLite file, one parser/bucket/output
 * routine (the default install's counts on a small machine), no CAPI, no Prometheus. After the
 * replay the LAPI is served alone (`-no-cs`) so that `cscli alerts list -o json` can read the
 * alerts. 1.4.6 may hang at exit (stack-notes §9; seen here on a 100k-line sshd cut: idle in a
 * futex wait for minutes after its last database write): a run whose CPU time stops moving for
 * 30 s is killed and counted as finished at its last CPU activity, and its alerts are read from
 * the database as usual. A run past the overall timeout is reported as failed.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { linkRules, type HubTree } from './hub-rules.js';
import { measure, type Measured } from './measure.js';
import { freePort, minus, readCrowdsecAlerts, writeCrowdsecConfig } from '../../test/support/crowdsec-alerts.js';

const execFileP = promisify(execFile);

export interface CrowdsecBench {
  measured: Measured;
  /** `scenario source-ip events_count`, sorted; null when the run failed or timed out. */
  alerts: string[] | null;
  configDir: string;
}

export async function crowdsecReplay(ref: HubTree & { crowdsecBin: string }, dir: string, data: string, logFile: string, type: string, timeoutMs: number): Promise<CrowdsecBench> {
  const cfg = join(dir, `crowdsec-${type}`);
  for (const d of ['postoverflows', 'notifications', 'plugins']) mkdirSync(join(cfg, d), { recursive: true });
  linkRules(ref, cfg);
  writeFileSync(join(cfg, 'acquis.yaml'), '');
  writeFileSync(join(cfg, 'simulation.yaml'), 'simulation: off\n');
  writeFileSync(join(cfg, 'profiles.yaml'), 'name: default_ip_remediation\nfilters:\n - Alert.Remediation == true && Alert.GetScope() == "Ip"\ndecisions:\n - type: ban\n   duration: 4h\non_success: break\n');
  const port = await freePort();
  const cfgFile = writeCrowdsecConfig(cfg, ref.hub, data, port, 'benchMachine', 'benchPassword');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cfg, TZ: 'UTC', LANG: 'C' };
  const cscli = join(dirname(ref.crowdsecBin), 'cscli');
  const big = { env, maxBuffer: 256 * 1024 * 1024 };
  await execFileP(cscli, ['-c', cfgFile, 'machines', 'add', 'benchMachine', '--password', 'benchPassword', '-f', join(cfg, 'local_api_credentials.yaml'), '--force'], { ...big, timeout: 60_000 });

  // 30 s without CPU progress = the hang at exit: its alerts are already in the database.
  const measured = await measure(ref.crowdsecBin, ['-c', cfgFile, '-dsn', `file://${logFile}`, '-type', type], { cwd: cfg, env, timeoutMs, maxStdout: 1024 * 1024, idleKillMs: 30_000 });
  if (measured.timedOut || (measured.code !== 0 && !measured.idleKilled)) return { measured, alerts: null, configDir: cfg };

  const alerts = await readCrowdsecAlerts({ crowdsecBin: ref.crowdsecBin, cscli, cfgFile, env });
  return { measured, alerts, configDir: cfg };
}

export { minus };
