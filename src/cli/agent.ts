/**
 * `palisade agent --lapi URL --machine-id ID --password P [--config-dir D] [--acquis FILE]
 * [--data-dir S]`: a detection agent without an API of its own. It logs in to a remote Local
 * API as a machine and pushes its alerts there (spec §5.1, §7.3), as CrowdSec agents do;
 * profiles and decisions are the API's business. The data dir only holds read positions.
 */
import { existsSync } from 'node:fs';
import { defaultAcquisition, loadAcquisFile, type AcquisitionSpec } from '../acquisition/acquis.js';
import { defaultDataDir } from '../core/paths.js';
import { LapiClient } from '../pipeline/lapi-client.js';
import { LiveEngine } from '../pipeline/live.js';
import { UsageError } from './errors.js';
import { untilSignal } from './run.js';

export interface AgentOptions {
  lapi?: string;
  machineId?: string;
  password?: string;
  configDir?: string;
  acquis?: string;
  dataDir?: string;
  geoipDir?: string;
}

export interface AgentHandle {
  live: LiveEngine;
  client: LapiClient;
  stop(): Promise<void>;
}

/** Machine credentials from flags, else PALISADE_MACHINE_ID / PALISADE_PASSWORD. */
export function machineCredentials(o: { machineId?: string; password?: string }, env: NodeJS.ProcessEnv = process.env): { machineId: string; password: string } {
  const machineId = o.machineId ?? env.PALISADE_MACHINE_ID;
  const password = o.password ?? env.PALISADE_PASSWORD;
  if (!machineId || !password) throw new UsageError('machine credentials needed: --machine-id and --password (or PALISADE_MACHINE_ID / PALISADE_PASSWORD)');
  return { machineId, password };
}

export async function startAgent(o: AgentOptions & { acquisition?: AcquisitionSpec[]; pollMs?: number; warn?: (m: string) => void }): Promise<AgentHandle> {
  if (!o.lapi) throw new UsageError('agent needs --lapi URL');
  const creds = machineCredentials(o);
  const warn = o.warn ?? ((m: string) => process.stderr.write(`palisade: warning: ${m}\n`));
  const acquisition = o.acquisition ?? (o.acquis ? loadAcquisFile(o.acquis) : defaultAcquisition(existsSync));
  if (acquisition.length === 0) warn('no acquisition source configured: the agent reads nothing');
  let client: LapiClient | null = null;
  const live = await LiveEngine.create({
    configDir: o.configDir, acquisition, dataDir: o.dataDir ?? defaultDataDir(), geoipDir: o.geoipDir, pollMs: o.pollMs, warn,
    onAlerts: (alerts) => client!.enqueue(alerts),
  });
  try {
    client = new LapiClient({ url: o.lapi, ...creds, scenarios: live.scenarioNames(), warn });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const c = client;
  await c.start(); // fails here on bad credentials or an unreachable API
  await live.start();
  let stopping: Promise<void> | null = null;
  return {
    live, client: c,
    stop() {
      stopping ??= (async () => {
        await live.stop();
        await c.stop();
      })();
      return stopping;
    },
  };
}

export async function agentCommand(o: AgentOptions): Promise<void> {
  if (o.acquis !== undefined && !existsSync(o.acquis)) throw new UsageError(`--acquis: ${o.acquis} does not exist`);
  const h = await startAgent(o);
  process.stderr.write(`palisade: agent logged in to ${o.lapi} as ${machineCredentials(o).machineId}\n`);
  const sig = await untilSignal();
  process.stderr.write(`palisade: ${sig}, shutting down\n`);
  await h.stop();
  const st = h.live.stats();
  process.stderr.write(`palisade: stopped (lines ${st.lines}, alerts ${st.alerts}, pushed ${h.client.stats.pushed})\n`);
}
