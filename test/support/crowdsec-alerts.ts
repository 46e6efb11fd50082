/**
 * Running crowdsec 1.4.6 replays for alert comparisons, shared by the alert differential test
 * and bench/compare: a throw-away config.yaml (in-process LAPI on a free loopback port, one
 * routine per stage), and reading the alerts back — the replay's LAPI stops with it, so the
 * LAPI is served alone (`-no-cs`) and `cscli alerts list -o json` reads every alert. Alerts
 * are compared as multisets of "scenario sourceValue eventsCount" keys.
 */
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/**
 * Writes `<cfg>/config.yaml` and the machine credentials for one replay; returns the config
 * path. `cfg` must already hold parsers/, scenarios/, acquis.yaml, simulation.yaml, profiles.yaml.
 */
export function writeCrowdsecConfig(cfg: string, hubDir: string, dataDir: string, port: number, login: string, password: string): string {
  const file = join(cfg, 'config.yaml');
  writeFileSync(file, [
    'common:', '  daemonize: false', '  log_media: stdout', '  log_level: info', `  working_dir: ${cfg}`,
    'config_paths:', `  config_dir: ${cfg}/`, `  data_dir: ${dataDir}/`, `  simulation_path: ${cfg}/simulation.yaml`,
    `  hub_dir: ${hubDir}/`, `  index_path: ${hubDir}/.index.json`, `  notification_dir: ${cfg}/notifications/`, `  plugin_dir: ${cfg}/plugins/`,
    'crowdsec_service:', `  acquisition_path: ${cfg}/acquis.yaml`, '  parser_routines: 1', '  buckets_routines: 1', '  output_routines: 1',
    'db_config:', '  type: sqlite', `  db_path: ${cfg}/crowdsec.db`, '  use_wal: false',
    'api:', '  client:', `    credentials_path: ${cfg}/local_api_credentials.yaml`, '  server:', '    log_level: warning',
    `    listen_uri: 127.0.0.1:${port}`, `    profiles_path: ${cfg}/profiles.yaml`, '    trusted_ips: [127.0.0.1, "::1"]',
    'prometheus:', '  enabled: false', '',
  ].join('\n'));
  writeFileSync(join(cfg, 'local_api_credentials.yaml'), `url: http://127.0.0.1:${port}\nlogin: ${login}\npassword: ${password}\n`);
  return file;
}

export interface CrowdsecCli {
  crowdsecBin: string;
  cscli: string;
  cfgFile: string;
  env: NodeJS.ProcessEnv;
}

/** The alert keys stored by a finished replay, sorted. */
export async function readCrowdsecAlerts(c: CrowdsecCli): Promise<string[]> {
  const lapi = spawn(c.crowdsecBin, ['-c', c.cfgFile, '-no-cs'], { env: c.env, stdio: 'ignore' });
  let stdout = '';
  try {
    for (let i = 0; ; i++) {
      try {
        stdout = (await execFileP(c.cscli, ['-c', c.cfgFile, 'alerts', 'list', '-o', 'json', '--limit', '0'], { env: c.env, maxBuffer: 256 * 1024 * 1024, timeout: 60_000 })).stdout;
        break;
      } catch (e) {
        if (i >= 30) throw e; // the LAPI did not come up within ~15 s
        await new Promise((res) => setTimeout(res, 500));
      }
    }
  } finally {
    lapi.kill('SIGKILL');
  }
  const list = JSON.parse(stdout) as { scenario: string; source?: { value?: string }; events_count: number }[] | null;
  return (list ?? []).map((a) => `${a.scenario} ${a.source?.value ?? '?'} ${a.events_count}`).sort();
}

/** Multiset difference a - b. */
export function minus(a: readonly string[], b: readonly string[]): string[] {
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
