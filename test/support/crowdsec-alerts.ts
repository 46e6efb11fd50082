/**
 * Reading a crowdsec 1.4.6 replay's alerts back, shared by the alert differential test and
 * bench/compare: the replay's LAPI stops with it, so the LAPI is served alone (`-no-cs`) and
 * `cscli alerts list -o json` reads every alert. Alerts are compared as multisets of
 * "scenario sourceValue eventsCount" keys.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

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
