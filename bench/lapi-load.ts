/**
 * `npm run bench:lapi`: Local API load and latency on loopback (issue 5 item 7) with
 * autocannon, against a store holding 100,000 active decisions.
 *
 *   lookup     GET /v1/decisions?ip=X at a fixed 5,000 req/s for 20 s (half the IPs hold a
 *              decision): achieved rate, latency percentiles, errors. Target: p99 < 2 ms.
 *   startup    GET /v1/decisions/stream?startup=true returning all 100,000: time to the last
 *              byte and to parsed JSON (a fresh request each time; best / median of 3).
 *              Target: < 1 s.
 *   bouncers   1,000 bouncers (one API key each) polling /v1/decisions/stream every 10 s
 *              (100 req/s over 100 connections) for 60 s while 10 new decisions/s are
 *              written by another process: errors, latency, decisions delivered. The
 *              bouncers are primed as after their startup pull (last_pull = now), so each
 *              poll is a delta, as in steady state.
 *
 * The API runs in a child process (`--serve`, createApiServer exactly as `palisade lapi`
 * builds it, durable store) so that autocannon and the server each have a core. Setup
 * (filling the store, creating keys) is outside the measured parts. Bounded: about 2 min.
 *
 *   node --import tsx bench/lapi-load.ts [--decisions 100000] [--rate 5000] [--duration 20]
 *        [--bouncers 1000] [--poll-duration 60] [--only lookup,startup,bouncers] [--no-active-set]
 *        [--server-prof DIR]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { createApiServer } from '../src/api/server.js';
import { Credentials } from '../src/api/credentials.js';
import { Store } from '../src/decisions/store.js';
import type { AlertInput, DecisionInput } from '../src/decisions/records.js';
import { fmtInt, machineInfo, machineLine, table } from './lib/machine.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const optStr = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};

// ---------------------------------------------------------------------------------------
// Child: the API server

async function serve(dir: string, activeSet: boolean): Promise<void> {
  const store = Store.open(dir);
  const api = createApiServer({ store, profiles: [], listen: '127.0.0.1:0', activeSet, metrics: false });
  const t0 = performance.now();
  const { url } = await api.listen();
  process.send!({ url, loadMs: performance.now() - t0, rssMb: process.memoryUsage().rss / 2 ** 20 });
  process.on('message', async (m: { cmd: string }) => {
    if (m.cmd === 'rss') process.send!({ rssMb: process.memoryUsage().rss / 2 ** 20 });
    if (m.cmd === 'stop') {
      await api.close();
      await store.close();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------------
// Parent: setup and load

const iso = (ms: number) => new Date(ms).toISOString();
function alertOf(value: string, scope: string, now: number): AlertInput {
  return {
    scenario: 'bench/lapi', scenario_hash: '', scenario_version: '', message: `bench ${value}`, events_count: 1,
    start_at: iso(now), stop_at: iso(now), capacity: 0, leakspeed: '0', simulated: false,
    source: { scope, value }, events: [], machine_id: 'bench',
  };
}

/** Decision values: 90% IPv4 /32, 5% IPv4 /24, 5% IPv6 /128; the i-th is deterministic. */
function valueOf(i: number): { scope: string; value: string; probe: string } {
  if (i % 20 === 0) {
    const v = `2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`;
    return { scope: 'Ip', value: v, probe: v };
  }
  if (i % 20 === 1) {
    const k = (i - 1) / 20; // one /24 per k, unique below 16,384 ranges
    const p = `100.${64 + ((k >>> 8) & 63)}.${k & 255}`;
    return { scope: 'Range', value: `${p}.0/24`, probe: `${p}.${i & 255}` };
  }
  const a = (0x0a000000 + i * 7) >>> 0;
  const v = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  return { scope: 'Ip', value: v, probe: v };
}

async function fill(store: Store, n: number): Promise<number> {
  const now = Date.now();
  const t0 = performance.now();
  for (let base = 0; base < n; base += 10_000) {
    const batch: { alert: AlertInput; decisions: DecisionInput[] }[] = [];
    for (let a = base; a < Math.min(n, base + 10_000); a += 100) {
      const decisions: DecisionInput[] = [];
      for (let i = a; i < Math.min(n, a + 100); i++) {
        const v = valueOf(i);
        decisions.push({ origin: 'crowdsec', type: 'ban', scope: v.scope, value: v.value, scenario: 'bench/lapi', durationMs: 24 * 3600_000 });
      }
      batch.push({ alert: alertOf(valueOf(a).value, valueOf(a).scope, now), decisions });
    }
    await store.addAlerts(batch, now);
  }
  return performance.now() - t0;
}

function startServer(dir: string, activeSet: boolean): Promise<{ child: ChildProcess; url: string; loadMs: number; rssMb: number }> {
  const args = ['--serve', dir, ...(activeSet ? [] : ['--no-active-set'])];
  // --server-prof DIR: CPU profile of the server process (written when it stops).
  const prof = optStr('server-prof');
  const execArgv = ['--import', 'tsx', ...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [])];
  const child = fork(fileURLToPath(import.meta.url), args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { url: string; loadMs: number; rssMb: number }) => resolve({ child, ...m }));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

function childRss(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m: { rssMb: number }) => resolve(m.rssMb));
    child.send({ cmd: 'rss' });
  });
}

function get(url: string, key: string): Promise<{ status: number; bytes: number; body: string; ttlbMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(url, { headers: { 'X-Api-Key': key, 'User-Agent': 'palisade-bench/1' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, bytes: body.length, body: body.toString('utf8'), ttlbMs: performance.now() - t0 });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

// autocannon 8 ships no types: the part of its API used here.
interface AcRequest { method?: string; path?: string; headers?: Record<string, string> }
interface AcOptions {
  url: string;
  connections: number;
  overallRate?: number;
  duration: number;
  headers?: Record<string, string>;
  requests?: (AcRequest & { setupRequest?: (req: AcRequest) => AcRequest; onResponse?: (status: number, body: string) => void })[];
}
interface AcResult {
  requests: { total: number; average: number };
  latency: Record<string, number>;
  errors: number;
  timeouts: number;
  non2xx: number;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (o: AcOptions) => Promise<AcResult>;
const lat = (r: AcResult) => r.latency;

async function main(): Promise<void> {
  if (argv[0] === '--serve') return serve(argv[1]!, !argv.includes('--no-active-set'));
  const n = opt('decisions', 100_000);
  const rate = opt('rate', 5000);
  const duration = opt('duration', 20);
  const nBouncers = opt('bouncers', 1000);
  const pollDuration = opt('poll-duration', 60);
  const only = new Set((optStr('only') ?? 'lookup,startup,bouncers').split(','));
  const activeSet = !argv.includes('--no-active-set');
  const machine = machineInfo(ROOT);
  const work = mkdtempSync(join(tmpdir(), 'palisade-lapi-bench-'));
  const dir = join(work, 'store');
  const report: Record<string, unknown> = { benchmark: 'lapi-load', machine, decisions: n, activeSet };
  const lines: string[] = [];
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  const store = Store.open(dir, { noSync: true });
  try {
    // ---- setup ----------------------------------------------------------------------------
    const fillMs = await fill(store, n);
    const active = store.listDecisions({}).length;
    const creds = new Credentials(store);
    const { key } = await creds.addBouncer('bench-lookup');
    console.error(`setup: ${active} active decisions written in ${(fillMs / 1000).toFixed(1)} s`);
    server = await startServer(dir, activeSet);
    console.error(`server: ${server.url}, listening after ${server.loadMs.toFixed(0)} ms (active set ${activeSet ? 'loaded' : 'off'}), RSS ${server.rssMb.toFixed(0)} MB`);
    report.setup = { fillMs, active, serverListenMs: server.loadMs, serverRssMb: server.rssMb };

    // ---- lookup ---------------------------------------------------------------------------
    if (only.has('lookup')) {
      const probes: string[] = [];
      for (let i = 0; i < 4096; i++) probes.push(i % 2 ? valueOf((i * 24) % n).probe : `203.0.${(i >>> 8) & 255}.${i & 255}`);
      let pi = 0;
      const hits = (await Promise.all(probes.slice(0, 64).map((p) => get(`${server!.url}/v1/decisions?ip=${encodeURIComponent(p)}`, key)))).filter((r) => r.body !== 'null').length;
      if (hits !== 32) throw new Error(`lookup sanity check: ${hits}/32 hits expected to hold a decision`);
      const r = await autocannon({
        url: server.url,
        connections: 50,
        overallRate: rate,
        duration,
        headers: { 'X-Api-Key': key, 'User-Agent': 'palisade-bench/1' },
        requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/v1/decisions?ip=${encodeURIComponent(probes[(pi = (pi + 1) & 4095)]!)}` }) }],
      });
      const l = lat(r);
      const row = { targetRate: rate, achievedRate: r.requests.total / duration, total: r.requests.total, errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, p50: l.p50, p90: l.p90, p99: l.p99, p99_9: l.p99_9, max: l.max, mean: l.average };
      report.lookup = row;
      lines.push(table([
        ['GET /v1/decisions?ip=', 'target/s', 'achieved/s', 'requests', 'errors', 'non-2xx', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms'],
        [`${duration} s, 50 conns`, fmtInt(rate), fmtInt(row.achievedRate), fmtInt(r.requests.total), r.errors + r.timeouts, r.non2xx, l.p50!, l.p90!, l.p99!, l.p99_9!, l.max!],
      ]));
    }

    // ---- startup stream ---------------------------------------------------------------------
    if (only.has('startup')) {
      const runs: { ttlbMs: number; parsedMs: number; bytes: number; items: number }[] = [];
      for (let k = 0; k < 3; k++) {
        const t0 = performance.now();
        const res = await get(`${server.url}/v1/decisions/stream?startup=true`, key);
        const parsed = JSON.parse(res.body) as { new: unknown[] | null };
        const parsedMs = performance.now() - t0;
        if (res.status !== 200) throw new Error(`startup stream answered ${res.status}`);
        runs.push({ ttlbMs: res.ttlbMs, parsedMs, bytes: res.bytes, items: parsed.new?.length ?? 0 });
      }
      const sorted = [...runs].sort((a, b) => a.ttlbMs - b.ttlbMs);
      report.startup = { runs, bestMs: sorted[0]!.ttlbMs, medianMs: sorted[1]!.ttlbMs };
      lines.push(table([
        ['GET /v1/decisions/stream?startup=true', 'decisions', 'MB', 'best ms', 'median ms', 'parsed (median) ms'],
        ['3 runs', fmtInt(runs[0]!.items), (runs[0]!.bytes / 2 ** 20).toFixed(1), sorted[0]!.ttlbMs.toFixed(0), sorted[1]!.ttlbMs.toFixed(0), [...runs].sort((a, b) => a.parsedMs - b.parsedMs)[1]!.parsedMs.toFixed(0)],
      ]));
    }

    // ---- 1,000 polling bouncers ----------------------------------------------------------------
    if (only.has('bouncers')) {
      const keys: string[] = [];
      const now = Date.now();
      const cursor = store.changeCursor();
      for (let i = 0; i < nBouncers; i++) {
        const b = await creds.addBouncer(`bench-poll-${i}`);
        await creds.touchBouncer(b.bouncer.name, { lastPull: now, streamCursor: cursor }, now);
        keys.push(b.key);
      }
      // A trickle of new decisions from this process while the bouncers poll.
      let written = 0;
      const writer = setInterval(() => {
        const t = Date.now();
        const v = `198.18.${(written >>> 8) & 255}.${written & 255}`;
        written++;
        void store.addAlerts([{ alert: alertOf(v, 'Ip', t), decisions: [{ origin: 'cscli', type: 'ban', scope: 'Ip', value: v, scenario: 'bench/trickle', durationMs: 3600_000 }] }], t);
      }, 100);
      let ki = 0;
      let delivered = 0;
      const pollRate = nBouncers / 10;
      const r = await autocannon({
        url: server.url,
        connections: Math.min(100, nBouncers),
        overallRate: pollRate,
        duration: pollDuration,
        headers: { 'User-Agent': 'crowdsec-firewall-bouncer/v0.0.25' },
        requests: [{
          method: 'GET',
          setupRequest: (req) => {
            const k = keys[ki]!;
            ki = ki + 1 === keys.length ? 0 : ki + 1;
            return { ...req, path: '/v1/decisions/stream', headers: { ...req.headers, 'X-Api-Key': k } };
          },
          onResponse: (status, body) => {
            if (status === 200 && body) {
              const j = JSON.parse(body) as { new: unknown[] | null };
              delivered += j.new?.length ?? 0;
            }
          },
        }],
      });
      clearInterval(writer);
      const l = lat(r);
      const rss = await childRss(server.child);
      report.bouncers = { bouncers: nBouncers, pollRate, durationS: pollDuration, total: r.requests.total, errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, p50: l.p50, p99: l.p99, max: l.max, written, delivered, serverRssMb: rss };
      lines.push(table([
        ['1,000 bouncers polling /v1/decisions/stream', 'polls/s', 'polls', 'errors', 'non-2xx', 'p50 ms', 'p99 ms', 'max ms', 'new written', 'new delivered (all polls)', 'server RSS MB'],
        [`every 10 s for ${pollDuration} s`, fmtInt(r.requests.total / pollDuration), fmtInt(r.requests.total), r.errors + r.timeouts, r.non2xx, l.p50!, l.p99!, l.max!, written, fmtInt(delivered), rss.toFixed(0)],
      ]));
    }

    console.log(`\n${machineLine(machine)}\n`);
    console.log(lines.join('\n\n'));
    const outDir = join(ROOT, 'bench/results');
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `lapi-${machine.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    console.log(`\nwrote ${file}`);
  } finally {
    if (server) {
      server.child.send({ cmd: 'stop' });
      await new Promise((r) => server!.child.once('exit', r));
    }
    await store.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exit(1);
});
