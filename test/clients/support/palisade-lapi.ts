/**
 * Starts `palisade lapi` (node --import tsx src/cli/main.ts lapi --listen ADDR --data-dir S)
 * with a temp data dir, on the host's loopback or on the loopback of a test namespace, waits
 * for `GET /health` to answer `{"status":"up"}`, and drives the operator CLI against the same
 * store (`--data-dir S`; LMDB is multi-process, design.md §3).
 *
 * The client tests talk to it through the `LapiUnderTest` interface so the same tests can run
 * against CrowdSec 1.4.6's own LAPI as a control (reference-lapi.ts, PALISADE_CLIENTS_LAPI=crowdsec):
 * a harness that passes against the reference and fails against Palisade points at Palisade.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../support/debian.js';
import { run, startDaemon, waitFor, type Daemon, type RunResult } from './netns.js';

/** A decision as `palisade decisions list --json` / the LAPI prints it (spec §7.6). */
export interface DecisionView {
  id?: number;
  origin: string;
  type: string;
  scope: string;
  value: string;
  scenario: string;
  duration: string;
  simulated?: boolean;
}

/** An alert as `palisade alerts list --json` / `GET /v1/alerts` prints it (the fields tests read). */
export interface AlertView {
  id: number;
  machine_id: string;
  scenario: string;
  events_count: number;
  capacity: number;
  leakspeed: string;
  simulated: boolean;
  source: { scope: string; value: string; ip?: string };
  decisions: DecisionView[] | null;
  events: { timestamp: string; meta: { key: string; value: string }[] }[];
  start_at: string;
  stop_at: string;
}

export interface HttpResult {
  status: number;
  body: string;
}

export interface LapiUnderTest {
  readonly kind: 'palisade' | 'crowdsec';
  /** Base URL as clients in the same namespace see it, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  readonly netns?: string;
  readonly dataDir: string;
  addBouncer(name: string): Promise<string>;
  addMachine(name: string, password: string): Promise<void>;
  addDecision(ip: string, duration?: string): Promise<void>;
  deleteDecision(ip: string): Promise<number>;
  listDecisions(): Promise<DecisionView[]>;
  listAlerts(): Promise<AlertView[]>;
  /** One HTTP request from inside the server's namespace (or the host). */
  http(method: string, path: string, headers?: Record<string, string>): Promise<HttpResult>;
  /** The server's log so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

const CLI = join(repoRoot, 'src/cli/main.ts');

/** Why `palisade lapi` cannot be started from this tree, or null. */
export function palisadeLapiMissing(): string | null {
  for (const f of ['src/cli/lapi.ts', 'src/api/server.ts']) if (!existsSync(join(repoRoot, f))) return `${f} does not exist yet`;
  return null;
}

/** Runs the palisade CLI from source (tsx), optionally inside a namespace. */
export function palisadeCli(args: string[], o: { netns?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return run(process.execPath, ['--import', 'tsx', CLI, ...args], {
    netns: o.netns,
    timeoutMs: o.timeoutMs ?? 60_000,
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1' },
  });
}

async function cliOk(args: string[]): Promise<string> {
  const r = await palisadeCli(args);
  if (r.code !== 0) throw new Error(`palisade ${args.join(' ')} ${r.timedOut ? 'timed out' : `exited ${r.code ?? r.signal}`}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

const HTTP_JS = `
const [url, method, headers] = process.argv.slice(1);
fetch(url, { method, headers: JSON.parse(headers), signal: AbortSignal.timeout(5000) })
  .then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })))
  .catch((e) => { process.stdout.write(JSON.stringify({ status: 0, body: String(e.cause ?? e) })); });
`;

/** An HTTP request made from inside `netns` (a host process cannot reach a namespace's loopback). */
export async function httpIn(netns: string | undefined, method: string, url: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  if (!netns) {
    try {
      const r = await fetch(url, { method, headers, signal: AbortSignal.timeout(5000) });
      return { status: r.status, body: await r.text() };
    } catch (e) {
      return { status: 0, body: String((e as { cause?: unknown }).cause ?? e) };
    }
  }
  const r = await run(process.execPath, ['-e', HTTP_JS, url, method, JSON.stringify(headers)], { netns, timeoutMs: 15_000 });
  try {
    return JSON.parse(r.stdout) as HttpResult;
  } catch {
    return { status: 0, body: `request helper failed (exit ${r.code ?? r.signal}): ${r.stderr.slice(-500)}` };
  }
}

/** A port that is free on the host's loopback now (another process may take it: callers retry). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Waits until GET /health answers 200 {"status":"up"}; fails early if the server exited. */
export async function waitHealthy(netns: string | undefined, url: string, daemon: Daemon, timeoutMs: number): Promise<void> {
  await waitFor(`${url}/health`, timeoutMs, async () => {
    if (daemon.exited()) throw new Error(`server exited before answering /health:\n${daemon.output().slice(-3000)}`);
    const r = await httpIn(netns, 'GET', `${url}/health`);
    if (r.status === 200 && (JSON.parse(r.body) as { status?: string }).status === 'up') return true;
    return undefined;
  }, 250).catch((e: unknown) => {
    throw new Error(`${String(e)}\n--- server output ---\n${daemon.output().slice(-3000)}`);
  });
}

export interface StartOptions {
  /** Serve on this namespace's loopback (port 8080 there) instead of the host's. */
  netns?: string;
  timeoutMs?: number;
}

export async function startPalisadeLapi(o: StartOptions = {}): Promise<LapiUnderTest> {
  const missing = palisadeLapiMissing();
  if (missing) throw new Error(`palisade lapi is not available: ${missing}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-clients-data-'));
  const timeoutMs = o.timeoutMs ?? 30_000;
  let daemon: Daemon | undefined;
  let port = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      // A fresh namespace has every port free; on the host, probe one and retry if taken.
      port = o.netns ? 8080 : await freePort();
      daemon = startDaemon('palisade lapi', process.execPath, ['--import', 'tsx', CLI, 'lapi', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], {
        netns: o.netns, cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' },
      });
      try {
        await waitHealthy(o.netns, `http://127.0.0.1:${port}`, daemon, timeoutMs);
        break;
      } catch (e) {
        await daemon.stop();
        if (attempt < 3 && !o.netns && /EADDRINUSE|address already in use/i.test(daemon.output())) continue;
        throw e;
      }
    }
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  const d = daemon!;
  const url = `http://127.0.0.1:${port}`;
  return {
    kind: 'palisade',
    url,
    port,
    netns: o.netns,
    dataDir,
    async addBouncer(name) {
      const out = await cliOk(['bouncers', 'add', name, '--json', '--data-dir', dataDir]);
      const j = JSON.parse(out) as { name?: string; key?: string };
      if (j.name !== name || typeof j.key !== 'string' || j.key.length < 16) throw new Error(`bouncers add --json printed ${out}`);
      return j.key;
    },
    async addMachine(name, password) {
      await cliOk(['machines', 'add', name, '--password', password, '--data-dir', dataDir]);
    },
    async addDecision(ip, duration = '4h') {
      await cliOk(['decisions', 'add', '--ip', ip, '--duration', duration, '--reason', 'palisade client test', '--data-dir', dataDir]);
    },
    async deleteDecision(ip) {
      const out = await cliOk(['decisions', 'delete', '--ip', ip, '--json', '--data-dir', dataDir]);
      return Number((JSON.parse(out) as { nbDeleted: string }).nbDeleted);
    },
    async listDecisions() {
      const out = await cliOk(['decisions', 'list', '--json', '--data-dir', dataDir]);
      return (JSON.parse(out) as DecisionView[] | null) ?? [];
    },
    async listAlerts() {
      const out = await cliOk(['alerts', 'list', '--json', '--data-dir', dataDir]);
      return (JSON.parse(out) as AlertView[] | null) ?? [];
    },
    http: (method, path, headers) => httpIn(o.netns, method, url + path, headers),
    output: () => d.output(),
    async stop() {
      await d.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The LAPI the client tests run against: Palisade's by default; CrowdSec 1.4.6's own with
 * PALISADE_CLIENTS_LAPI=crowdsec (a control for the harness itself).
 */
export async function startLapiUnderTest(o: StartOptions = {}): Promise<LapiUnderTest> {
  if (process.env.PALISADE_CLIENTS_LAPI === 'crowdsec') {
    const { startReferenceLapi } = await import('./reference-lapi.js');
    return startReferenceLapi(o);
  }
  return startPalisadeLapi(o);
}
