/**
 * CrowdSec 1.4.6's own Local API (`crowdsec -no-cs`, SQLite in a temp dir) behind the same
 * `LapiUnderTest` interface as Palisade's, driven with the package's cscli. Used only when
 * PALISADE_CLIENTS_LAPI=crowdsec: it shows the client tests' expectations hold for the real
 * thing, so a failure against Palisade is Palisade's.
 */
import { requireDebianReference } from '../../support/debian.js';
import { makeCrowdsecHome } from './crowdsec-home.js';
import { run, startDaemon, type RunResult } from './netns.js';
import { freePort, httpIn, waitHealthy, type AlertView, type DecisionView, type LapiUnderTest, type StartOptions } from './palisade-lapi.js';

export async function startReferenceLapi(o: StartOptions = {}): Promise<LapiUnderTest> {
  const ref = requireDebianReference({ skip: () => {} });
  if (!ref) throw new Error('Debian crowdsec reference tree is missing');
  const port = o.netns ? 8080 : await freePort();
  const url = `http://127.0.0.1:${port}`;
  const home = makeCrowdsecHome(ref, { lapiUrl: url, login: 'control', password: 'controlPassword1', server: { listen: `127.0.0.1:${port}` } });
  const cscli = async (args: string[]): Promise<RunResult> => {
    const r = await run(home.cscli, ['-c', home.configFile, ...args], { netns: o.netns, env: home.env, timeoutMs: 30_000, cwd: home.dir });
    if (r.code !== 0) throw new Error(`cscli ${args.join(' ')} exited ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  await cscli(['machines', 'add', 'control', '--password', 'controlPassword1', '-f', home.credentialsFile, '--force']);
  const daemon = startDaemon('crowdsec lapi', home.crowdsec, ['-c', home.configFile, '-no-cs'], { netns: o.netns, env: home.env, cwd: home.dir });
  try {
    await waitHealthy(o.netns, url, daemon, o.timeoutMs ?? 30_000);
  } catch (e) {
    await daemon.stop();
    home.remove();
    throw e;
  }
  return {
    kind: 'crowdsec',
    url,
    port,
    netns: o.netns,
    dataDir: home.dir,
    async addBouncer(name) {
      return (await cscli(['bouncers', 'add', name, '-o', 'raw'])).stdout.trim();
    },
    async addMachine(name, password) {
      await cscli(['machines', 'add', name, '--password', password, '-f', `${home.dir}/${name}.yaml`, '--force']);
    },
    async addDecision(ip, duration = '4h') {
      await cscli(['decisions', 'add', '--ip', ip, '--duration', duration, '--reason', 'palisade client test']);
    },
    async deleteDecision(ip) {
      const r = await cscli(['decisions', 'delete', '--ip', ip]);
      return Number(/(\d+) decision\(s\) deleted/.exec(r.stdout + r.stderr)?.[1] ?? NaN);
    },
    async listDecisions() {
      const alerts = JSON.parse((await cscli(['decisions', 'list', '-o', 'json'])).stdout) as { decisions: DecisionView[] }[] | null;
      return (alerts ?? []).flatMap((a) => a.decisions);
    },
    async listAlerts() {
      return (JSON.parse((await cscli(['alerts', 'list', '-o', 'json'])).stdout) as AlertView[] | null) ?? [];
    },
    http: (method, path, headers) => httpIn(o.netns, method, url + path, headers),
    output: () => daemon.output(),
    async stop() {
      await daemon.stop();
      home.remove();
    },
  };
}
