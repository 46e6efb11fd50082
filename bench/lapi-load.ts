/**
 * `npm run bench:lapi`: Local API load and latency on loopback (issue 5) against a store
 * holding 100,000 active decisions (85% IPv4 /32, 5% IPv4 /24, 5% IPv6 /128, 5% IPv6 /64).
 *
 *   paced      GET /v1/decisions?ip=X on an open-loop schedule: request k leaves at
 *              t0 + k/rate (5,000/s) on the first idle keep-alive connection, whatever the
 *              earlier answers did. Dispatch waits for each send in short futex sleeps
 *              (Atomics.wait, ≤ 50 µs slices, then a turn of the event loop to read answers);
 *              `--no-spin` runs it on a 1 ms timer instead (requests then leave in groups of
 *              about 5). The legacy client spins on setImmediate when pinned, else the timer.
 *              Latency is taken from the scheduled time (a late client or a queue counts
 *              against the server) and from the actual send; the gap between the two
 *              (send lateness) is the generator's own delay. Half the probes hold a
 *              decision (a /32, a /24, a v6 /128 or a v6 /64), half none (70% v4, 30% v6).
 *              2 s of warm-up at the same rate are not recorded. Target: p99 < 2 ms.
 *              The client is bench/lib/paced-client.ts (pre-built requests, fixed read
 *              buffers, byte-level framing, preallocated arrays); this process runs with a
 *              64 MB young generation so what garbage is left rarely stops it.
 *              `--legacy-client` uses the previous client (a Buffer per read, a regexp and
 *              strings per answer, default heap) to check the new one against.
 *              Beside the latencies: both processes' GCs during the phase (count, time,
 *              longest pause: gc-watch.ts) and young-generation bytes allocated per request
 *              (alloc-watch.ts), and the server's CPU time per request.
 *   lookup     the same requests with autocannon 8 and `overallRate`. Note what that does:
 *              each connection sends back-to-back (closed loop) until it has made its share
 *              of the second, then waits for the next second; so the server sees bursts of
 *              `connections` concurrent requests, not an even 5,000/s. Kept for comparison
 *              with the figures of earlier sessions.
 *   startup    GET /v1/decisions/stream?startup=true returning all 100,000: time to the last
 *              byte and to parsed JSON (a fresh request each time; best / median of 3).
 *              Target: < 1 s.
 *   bouncers   1,000 bouncers (one API key each) polling /v1/decisions/stream every 10 s
 *              (100 req/s over 100 connections) for 60 s while 10 new decisions/s are
 *              written by another process: errors, latency, decisions delivered. The
 *              bouncers are primed as after their startup pull (last_pull = now), so each
 *              poll is a delta, as in steady state.
 *
 * `--bare` replaces the API by a bare node:http server answering `null` (the platform's
 * floor, measured the same way). By default `?ip=` lookups are answered at the connection level
 * (src/api/raw-lookup.ts, before node:http parses them); `--no-raw-lookup` leaves them to the
 * request-level fast path (src/api/fast-lookup.ts), `--no-fast-lookup` to fastify's route
 * (both fast paths off), for A/B runs.
 *
 * The API runs in a child process (`--serve`): createApiServer as `palisade lapi` builds it
 * (durable store, metrics counted, store upkeep timers on), with node's default flags as
 * `palisade lapi` (`--server-flags` adds some, e.g. a young-generation size), so the load
 * generator (this process) and the server never share an event loop. `npm run bench:lapi`
 * runs this file bundled into plain JS (scripts/bundle-bench.mjs), as `palisade lapi` runs
 * compiled JS: under `--import tsx` each process carries the loader's hooks thread, whose
 * GCs showed in the tail. After the paced phase it reports its
 * scavenges one by one (count, mean, longest), its new-space size and its RSS. `--pin` also
 * pins them to different cores: the server to CPU 0 (`taskset -c 0`), this process to CPU 1.
 * The server's CPU time per request is read from the child (process.cpuUsage) around each
 * load phase. Setup (filling the store, creating keys) is outside the measured parts.
 * Bounded: about 2 min.
 *
 *   npm run bench:lapi -- [--decisions 100000] [--rate 5000] [--duration 20]
 *        [--connections 20] [--ac-connections 50] [--bouncers 1000] [--poll-duration 60]
 *        [--only paced,lookup,startup,bouncers] [--pin] [--spin|--no-spin] [--no-active-set] [--no-fast-lookup] [--no-raw-lookup]
 *        [--server-prof DIR] [--server-flags "--trace-gc ..."] [--server-build ROOT] [--dump-latency FILE.csv] [--bare]
 *        [--legacy-client] [--nice N]
 * (unbundled: node --import tsx bench/lapi-load.ts ...)
 * The server runs this repository's compiled dist/ (api/server.js, decisions/store.js, built by
 * `npm run build`) as `palisade lapi` runs it, WebAssembly IP set included; `--server-build ROOT`
 * runs another tree's (A/B of two servers under one load generator, e.g. --server-build
 * /work/wt/base), `--server-build bundle` this bundle's copy of src/ (whose IP set path,
 * ../../build from .bench-build/, misses build/palisade.wasm: the active set then falls back to
 * its TS twin — every run before 2026-11-28 11:00 UTC measured that).
 */
import { execFileSync, fork, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { createApiServer } from '../src/api/server.js';
import { Credentials } from '../src/api/credentials.js';
import { Store } from '../src/decisions/store.js';
import type { AlertInput, DecisionInput } from '../src/decisions/records.js';
import { fmtInt, machineInfo, machineLine, table } from './lib/machine.js';
import { pacedLoad as pacedClient } from './lib/paced-client.js';
import { gcSince, gcSnapshot, resetGcMax, touchYoungGeneration, watchGc, type GcTotals } from './lib/gc-watch.js';
import { allocStart, allocStop } from './lib/alloc-watch.js';
import { constants as perfConstants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Node flags a child needs to run this file: tsx for the .ts source, none for a bundle of it. */
const TS_LOADER = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];
const argv = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const optStr = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};

/** Young-generation size of the load generator process (see main). */
const GENERATOR_SEMI_SPACE = ['--min-semi-space-size=64', '--max-semi-space-size=64'];
/** Garbage allocated before a paced phase: four times the semi-space, so every page was written. */
const GENERATOR_YOUNG_TOUCH_BYTES = 4 * 64 * 2 ** 20;

// ---------------------------------------------------------------------------------------
// Child: the API server

type ChildMsg = { cmd: 'rss' | 'cpu' | 'stop' | 'gcmax' | 'alloc' | 'young' };

/** The server's scavenges since the phase began, one pause each (gc-watch keeps totals only). */
const scavengeMs: number[] = [];
function watchScavenges(): void {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) scavengeMs.push(e.duration);
    }
  }).observe({ entryTypes: ['gc'] });
}
/** The young generation during a phase and the server's memory after it (RSS, and its anonymous part, MB). */
interface YoungReport { scavenges: number; meanMs: number; minMs: number; medianMs: number; maxMs: number; newSpaceMb: number; rssMb: number; rssAnonMb: number }
function youngReport(): YoungReport {
  const newSpace = getHeapSpaceStatistics().find((sp) => sp.space_name === 'new_space');
  const anonKb = /^RssAnon:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  const total = scavengeMs.reduce((a, b) => a + b, 0);
  // The shortest and the median say what a scavenge costs when the server is not preempted in it.
  const sorted = [...scavengeMs].sort((a, b) => a - b);
  return {
    scavenges: sorted.length, meanMs: sorted.length ? total / sorted.length : 0,
    minMs: sorted[0] ?? 0, medianMs: sorted[sorted.length >> 1] ?? 0, maxMs: sorted[sorted.length - 1] ?? 0,
    newSpaceMb: (newSpace?.space_size ?? 0) / 2 ** 20, rssMb: process.memoryUsage().rss / 2 ** 20, rssAnonMb: anonKb ? Number(anonKb) / 1024 : 0,
  };
}

/**
 * `--bare`: a bare node:http server answering `null` to everything, measured the same way:
 * the floor this machine, Node's HTTP stack and the load generator put under any API.
 */
async function serveBare(): Promise<void> {
  const { createServer } = await import('node:http');
  const srv = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': '4' });
    res.end('null');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address() as { port: number };
  process.send!({ url: `http://127.0.0.1:${addr.port}`, loadMs: 0, rssMb: process.memoryUsage().rss / 2 ** 20 });
  process.on('message', (m: ChildMsg) => {
    if (m.cmd === 'rss') process.send!({ rssMb: process.memoryUsage().rss / 2 ** 20 });
    if (m.cmd === 'cpu') process.send!({ cpu: process.cpuUsage(), bouncerStoreReads: 0, gc: gcSnapshot() });
    if (m.cmd === 'gcmax') { resetGcMax(); allocStart(); scavengeMs.length = 0; process.send!({}); }
    if (m.cmd === 'young') process.send!(youngReport());
    if (m.cmd === 'alloc') process.send!({ bytes: allocStop() });
    if (m.cmd === 'stop') srv.close(() => process.exit(0));
  });
}

/** The tree whose compiled dist/ the server runs: `--server-build ROOT`, by default this repository ('bundle': this bundle's copy of src/). */
function serverBuild(): string {
  const b = optStr('server-build') ?? ROOT;
  return b === 'bundle' ? b : resolve(b);
}

/** The server's modules: `serverBuild()`'s compiled dist/ (as `palisade lapi` runs them), or this bundle's. */
async function serverModules(): Promise<{ createApiServer: typeof createApiServer; Store: typeof Store }> {
  const root = serverBuild();
  if (root === 'bundle') return { createApiServer, Store };
  for (const need of ['dist/api/server.js', 'build/palisade.wasm']) {
    if (!existsSync(join(root, need))) throw new Error(`server build ${root}: ${need} missing; run npm run build there (or pass --server-build bundle)`);
  }
  const dist = (rel: string) => pathToFileURL(join(resolve(root), 'dist', rel)).href;
  const api = (await import(dist('api/server.js'))) as { createApiServer: typeof createApiServer };
  const st = (await import(dist('decisions/store.js'))) as { Store: typeof Store };
  return { createApiServer: api.createApiServer, Store: st.Store };
}

async function serve(dir: string, activeSet: boolean): Promise<void> {
  watchGc();
  watchScavenges();
  if (argv.includes('--bare')) return serveBare();
  const { createApiServer, Store } = await serverModules();
  const store = Store.open(dir);
  // As `palisade lapi` builds it (src/cli/lapi.ts): metrics counted, upkeep timers running.
  const api = createApiServer({ store, profiles: [], listen: '127.0.0.1:0', activeSet, maintenance: true, fastLookup: !argv.includes('--no-fast-lookup'), rawLookup: !argv.includes('--no-raw-lookup') });
  const t0 = performance.now();
  const { url } = await api.listen();
  process.send!({ url, loadMs: performance.now() - t0, rssMb: process.memoryUsage().rss / 2 ** 20 });
  process.on('message', async (m: ChildMsg) => {
    if (m.cmd === 'rss') process.send!({ rssMb: process.memoryUsage().rss / 2 ** 20 });
    if (m.cmd === 'cpu') process.send!({ cpu: process.cpuUsage(), bouncerStoreReads: api.ctx.bouncers.storeReads, gc: gcSnapshot() });
    if (m.cmd === 'gcmax') { resetGcMax(); allocStart(); scavengeMs.length = 0; process.send!({}); }
    if (m.cmd === 'young') process.send!(youngReport());
    if (m.cmd === 'alloc') process.send!({ bytes: allocStop() });
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

const hex = (n: number) => n.toString(16);

/**
 * The i-th decision (deterministic): 85% IPv4 /32, 5% IPv4 /24 (100.64.0.0/10), 5% IPv6
 * /128 (2001:db8::/32), 5% IPv6 /64 (2001:db9::/32); `probe` is an address it covers.
 */
function valueOf(i: number): { scope: string; value: string; probe: string } {
  const k = Math.floor(i / 20);
  switch (i % 20) {
    case 0: {
      const v = `2001:db8:${hex(i >>> 16)}:${hex(i & 0xffff)}::1`;
      return { scope: 'Ip', value: v, probe: v };
    }
    case 1: {
      const p = `100.${64 + ((k >>> 8) & 63)}.${k & 255}`; // one /24 per k, unique below 16,384 ranges
      return { scope: 'Range', value: `${p}.0/24`, probe: `${p}.${(i * 7) & 255}` };
    }
    case 2: {
      const p = `2001:db9:${hex(k >>> 16)}:${hex(k & 0xffff)}`;
      return { scope: 'Range', value: `${p}::/64`, probe: `${p}:${hex(i & 0xffff)}::${hex((i * 13) & 0xffff)}` };
    }
    default: {
      const a = (0x0a000000 + i * 7) >>> 0;
      const v = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
      return { scope: 'Ip', value: v, probe: v };
    }
  }
}

/** 4,096 probes: even ones hold a decision (a seeded pick of the decisions), odd ones none (70% v4, 30% v6). */
function probesFor(n: number): { probes: string[]; hits: number } {
  let seed = 0x9e3779b9;
  const rnd = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  const probes: string[] = [];
  for (let i = 0; i < 4096; i++) {
    if (i % 2 === 0) probes.push(valueOf(Math.floor(rnd() * n)).probe);
    else if (rnd() < 0.7) probes.push(`203.0.${(i >>> 8) & 255}.${i & 255}`); // TEST-NET-3: no decision
    else probes.push(`2001:db8:ffff:${hex(i)}::2`); // outside every stored /128 and /64
  }
  return { probes, hits: 2048 };
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

function checkTaskset(): void {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  } catch {
    throw new Error('--pin needs taskset (util-linux)');
  }
}

/** The server's extra node flags (--server-flags "..."); none by default, as `palisade lapi`. */
function serverNodeFlags(): string[] {
  return (optStr('server-flags') ?? '').split(' ').filter(Boolean);
}

function startServer(dir: string, activeSet: boolean, pin: boolean): Promise<{ child: ChildProcess; url: string; loadMs: number; rssMb: number }> {
  const passOn = ['--bare', '--no-fast-lookup', '--no-raw-lookup'].filter((f) => argv.includes(f));
  const args = ['--serve', dir, ...(activeSet ? [] : ['--no-active-set']), ...passOn, '--server-build', serverBuild()];
  // --server-prof DIR: CPU profile of the server process (written when it stops).
  const prof = optStr('server-prof');
  // --server-flags "...": extra node flags for the server (e.g. --trace-gc, a semi-space size).
  const extra = serverNodeFlags();
  const nodeArgs = [...TS_LOADER, ...extra, ...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [])];
  // --pin: the server starts under `taskset -c 0`, so every thread it creates stays on CPU 0.
  // --nice N: the server (all its threads) runs at that scheduling priority (see main).
  const nice = optStr('nice');
  const wrap = [...(nice !== undefined ? ['nice', '-n', nice] : []), ...(pin ? ['taskset', '-c', '0'] : [])];
  const child = wrap.length > 0
    ? fork(fileURLToPath(import.meta.url), args, { execPath: wrap[0]!, execArgv: [...wrap.slice(1), process.execPath, ...nodeArgs], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    : fork(fileURLToPath(import.meta.url), args, { execArgv: nodeArgs, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { url: string; loadMs: number; rssMb: number }) => resolve({ child, ...m }));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

function ask<T>(child: ChildProcess, cmd: ChildMsg['cmd']): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m: T) => resolve(m));
    child.send({ cmd });
  });
}
const childRss = async (child: ChildProcess) => (await ask<{ rssMb: number }>(child, 'rss')).rssMb;
interface CpuSample { cpu: NodeJS.CpuUsage; bouncerStoreReads: number; gc: GcTotals }
const childCpu = (child: ChildProcess) => ask<CpuSample>(child, 'cpu');
/** Server CPU (user + system) per request between two samples, in µs. */
const cpuPerRequest = (a: CpuSample, b: CpuSample, requests: number) => (b.cpu.user - a.cpu.user + b.cpu.system - a.cpu.system) / requests;
/** The kernel's share of it (socket reads and writes, epoll, loopback TCP). */
const sysShare = (a: CpuSample, b: CpuSample) => Math.round((100 * (b.cpu.system - a.cpu.system)) / Math.max(1, b.cpu.user - a.cpu.user + b.cpu.system - a.cpu.system));

/** Machine-wide busy CPU time (all cores, ms) from /proc/stat, or null off Linux. */
function machineBusyMs(): number | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
    return (busy * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/**
 * What else ran during a phase: a sample of the machine's busy time, this process's and the
 * server's CPU time. `foreignCores` = (machine busy − ours) / wall time: other processes'
 * load in cores (0 on a quiet machine, 2 = both cores taken).
 */
interface Span { wall: number; busy: number | null; self: NodeJS.CpuUsage; server: CpuSample; gc: GcTotals }
// gcmax: the phase's longest pause and its young-generation allocation start here (both processes).
async function spanStart(child: ChildProcess): Promise<Span> {
  await ask(child, 'gcmax');
  resetGcMax();
  allocStart();
  return { wall: performance.now(), busy: machineBusyMs(), self: process.cpuUsage(), server: await childCpu(child), gc: gcSnapshot() };
}
interface SpanEnd { server: CpuSample; generatorCpuMs: number; serverCpuMs: number; foreignCores: number | null; generatorGc: GcTotals; serverGc: GcTotals; generatorAllocBytes: number; serverAllocBytes: number }
async function spanEnd(child: ChildProcess, a: Span): Promise<SpanEnd> {
  // Let both processes' observers see the last collections of the phase.
  await new Promise((r) => setTimeout(r, 50));
  const generatorGc = gcSince(a.gc, gcSnapshot());
  const generatorAllocBytes = allocStop();
  const serverAllocBytes = (await ask<{ bytes: number }>(child, 'alloc')).bytes;
  const server = await childCpu(child);
  const serverGc = gcSince(a.server.gc, server.gc);
  const busy = machineBusyMs();
  const wall = performance.now() - a.wall;
  const self = process.cpuUsage(a.self);
  const generatorCpuMs = (self.user + self.system) / 1000;
  const serverCpuMs = (server.cpu.user - a.server.cpu.user + server.cpu.system - a.server.cpu.system) / 1000;
  const foreignCores = busy === null || a.busy === null ? null : Math.max(0, busy - a.busy - generatorCpuMs - serverCpuMs) / wall;
  return { server, generatorCpuMs, serverCpuMs, foreignCores: foreignCores === null ? null : Math.round(foreignCores * 100) / 100, generatorGc, serverGc, generatorAllocBytes, serverAllocBytes };
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

// ---------------------------------------------------------------------------------------
// Paced (open-loop) load over raw keep-alive sockets

interface Percentiles { p50: number; p90: number; p99: number; p99_9: number; max: number; mean: number }

function percentiles(xs: Float64Array): Percentiles {
  const s = Float64Array.from(xs).sort();
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
  let sum = 0;
  for (const x of s) sum += x;
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return { p50: r3(at(0.5)), p90: r3(at(0.9)), p99: r3(at(0.99)), p99_9: r3(at(0.999)), max: r3(s[s.length - 1]!), mean: r3(sum / s.length) };
}

interface PacedResult {
  targetRate: number;
  connections: number;
  durationS: number;
  warmupS: number;
  sent: number;
  recorded: number;
  errors: number;
  non2xx: number;
  achievedRate: number;
  /** ms from the scheduled time to the last byte. */
  fromSchedule: Percentiles;
  /** ms from the write to the last byte. */
  fromSend: Percentiles;
  /** Requests that waited for a free connection. */
  queued: number;
  /** Dispatch loop on setImmediate (true) or a 1 ms timer (legacy client). */
  spin: boolean;
  /** How the raw client times its sends (paced-client.ts PacedOptions.dispatch). */
  dispatch?: 'wait' | 'timer' | 'thread';
  /** ms from the scheduled time to the write (the generator's lateness + waits for a connection); new client only. */
  sendLateness?: Percentiles;
  client: 'raw' | 'legacy';
}

function dumpLatency(schedAt: Float64Array, fromSched: Float64Array, fromSend: Float64Array, recorded: number): void {
  // --dump-latency FILE: one line per recorded request (due time, from schedule, from send; ms), to see whether slow answers cluster.
  const dump = optStr('dump-latency');
  if (!dump) return;
  const out: string[] = ['due_ms,from_schedule_ms,from_send_ms'];
  for (let i = 0; i < recorded; i++) out.push(`${schedAt[i]!.toFixed(3)},${fromSched[i]!.toFixed(3)},${fromSend[i]!.toFixed(3)}`);
  writeFileSync(dump, out.join('\n') + '\n');
}

const DISPATCH_LABEL = { thread: 'pacer thread', wait: 'wait loop', timer: '1 ms timer' } as const;

interface PacedOpts { rate: number; durationS: number; warmupS: number; connections: number; dispatch: 'wait' | 'timer' | 'thread'; spin: boolean }

/** The paced load through the allocation-free client (bench/lib/paced-client.ts). */
async function pacedLoad(url: string, paths: string[], headers: Record<string, string>, o: PacedOpts): Promise<PacedResult> {
  const u = new URL(url);
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const reqs = paths.map((p) => Buffer.from(`GET ${p} HTTP/1.1\r\nHost: ${u.host}\r\n${extra}\r\n`, 'latin1'));
  const r = await pacedClient(u.hostname, Number(u.port), reqs, o);
  dumpLatency(r.schedAt, r.fromSched, r.fromSend, r.recorded);
  const rec = (a: Float64Array) => a.subarray(0, r.recorded);
  return {
    targetRate: o.rate, connections: o.connections, durationS: o.durationS, warmupS: o.warmupS, spin: o.spin, dispatch: o.dispatch, client: 'raw',
    sent: r.sent, recorded: r.recorded, errors: r.errors, non2xx: r.non2xx, queued: r.queued,
    achievedRate: r.recorded / (r.measuredMs / 1000),
    fromSchedule: percentiles(rec(r.fromSched)),
    fromSend: percentiles(rec(r.fromSend)),
    sendLateness: percentiles(rec(r.lateness)),
  };
}

interface Conn { sock: Socket; buf: Buffer; sched: number; sent: number; busy: boolean }

/**
 * `spin`: the dispatch loop runs on setImmediate (the load generator owns its core when
 * pinned), so a request leaves within microseconds of its scheduled time; otherwise on a
 * timer, which Node rounds to 1 ms, so requests leave in groups and the "from schedule"
 * latency includes up to about a millisecond of the client's own lateness.
 */
/** The previous client (`--legacy-client`), kept to check the new one against: a Buffer per read, a regexp and strings per answer. */
async function pacedLoadLegacy(url: string, paths: string[], headers: Record<string, string>, o: PacedOpts): Promise<PacedResult> {
  const u = new URL(url);
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const reqs = paths.map((p) => Buffer.from(`GET ${p} HTTP/1.1\r\nHost: ${u.host}\r\n${extra}\r\n`, 'latin1'));
  const warm = Math.round(o.rate * o.warmupS);
  const total = warm + Math.round(o.rate * o.durationS);
  const interval = 1000 / o.rate;
  const schedAt = new Float64Array(total - warm); // ms since the first recorded request was due
  const fromSched = new Float64Array(total - warm);
  const fromSend = new Float64Array(total - warm);
  let recorded = 0, errors = 0, non2xx = 0, done = 0, queued = 0, nextK = 0, t0 = 0, lastDone = 0;
  const idle: Conn[] = [];
  const waiting: number[] = []; // scheduled times (k) of requests without a free connection
  let wHead = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));

  const send = (c: Conn, k: number) => {
    c.busy = true;
    c.sched = k;
    c.sent = performance.now();
    c.sock.write(reqs[k % reqs.length]!);
  };
  const complete = (c: Conn, status: number) => {
    const now = performance.now();
    const k = c.sched;
    if (k >= warm) {
      schedAt[recorded] = (k - warm) * interval;
      fromSched[recorded] = now - (t0 + k * interval);
      fromSend[recorded] = now - c.sent;
      recorded++;
    }
    if (status !== 200) non2xx++;
    done++;
    lastDone = now;
    c.busy = false;
    if (wHead < waiting.length) send(c, waiting[wHead++]!);
    else idle.push(c);
    if (done === total) finish();
  };
  const onData = (c: Conn, chunk: Buffer) => {
    c.buf = c.buf.length ? Buffer.concat([c.buf, chunk]) : chunk;
    for (;;) {
      const he = c.buf.indexOf('\r\n\r\n');
      if (he < 0) return;
      const head = c.buf.toString('latin1', 0, he);
      const m = /\r\ncontent-length: *(\d+)/i.exec(head);
      const len = m ? Number(m[1]) : 0;
      if (c.buf.length < he + 4 + len) return;
      const status = Number(head.slice(9, 12));
      c.buf = c.buf.subarray(he + 4 + len);
      complete(c, status);
    }
  };
  const conns = await Promise.all(Array.from({ length: o.connections }, () => new Promise<Conn>((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname, () => resolve(c));
    sock.setNoDelay(true);
    const c: Conn = { sock, buf: Buffer.alloc(0), sched: 0, sent: 0, busy: false };
    sock.on('data', (d: Buffer) => onData(c, d));
    sock.on('error', (e) => { errors++; reject(e); });
    sock.on('close', () => { if (c.busy) errors++; });
  })));
  idle.push(...conns);

  t0 = performance.now();
  const tick = () => {
    const now = performance.now();
    while (nextK < total && t0 + nextK * interval <= now) {
      const c = idle.pop();
      if (c) send(c, nextK);
      else { waiting.push(nextK); queued++; }
      nextK++;
    }
    if (nextK >= total) return;
    if (o.spin) setImmediate(tick);
    else setTimeout(tick, Math.max(0, t0 + nextK * interval - performance.now()));
  };
  tick();
  // Answers still missing 5 s after the last request was due are counted as errors.
  const deadline = t0 + total * interval + 5000;
  await Promise.race([finished, new Promise<void>((r) => { const t = setInterval(() => { if (performance.now() > deadline) { clearInterval(t); r(); } else if (done === total) clearInterval(t); }, 100); })]);
  errors += total - done;
  for (const c of conns) c.sock.destroy();
  const measuredMs = lastDone - (t0 + warm * interval);
  dumpLatency(schedAt, fromSched, fromSend, recorded);
  return {
    targetRate: o.rate, connections: o.connections, durationS: o.durationS, warmupS: o.warmupS, spin: o.spin, client: 'legacy',
    sent: nextK, recorded, errors, non2xx, queued,
    achievedRate: recorded / (measuredMs / 1000),
    fromSchedule: percentiles(fromSched.subarray(0, recorded)),
    fromSend: percentiles(fromSend.subarray(0, recorded)),
  };
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
const f3 = (x: number) => x.toFixed(3);

async function main(): Promise<void> {
  if (argv[0] === '--serve') return serve(argv[1]!, !argv.includes('--no-active-set'));
  if (process.env.PALISADE_LAPI_BENCH_GENERATOR !== '1') {
    // The load generator's young generation: its setImmediate spin loop allocates an
    // Immediate per iteration (~60 MB/s in total), which with V8's default 1–16 MB
    // semi-space meant a scavenge every ~0.2 s, each one delaying the requests due during
    // it. Flags of the young generation only take effect at process start, so this
    // process runs itself again with them (the legacy client keeps the old settings).
    // --nice N (isolation for a shared machine, reported as such: negative values need
    // root): the generator and the server run at that priority, so other processes'
    // time slices land on them less often.
    const nice = optStr('nice');
    const heap = argv.includes('--legacy-client') ? [] : GENERATOR_SEMI_SPACE;
    const cmd = [...(nice !== undefined ? ['nice', '-n', nice] : []), process.execPath, ...process.execArgv, ...heap, fileURLToPath(import.meta.url), ...argv];
    const r = spawnSync(cmd[0]!, cmd.slice(1), { stdio: 'inherit', env: { ...process.env, PALISADE_LAPI_BENCH_GENERATOR: '1' } });
    process.exit(r.status ?? 1);
  }
  watchGc();
  const n = opt('decisions', 100_000);
  const rate = opt('rate', 5000);
  const duration = opt('duration', 20);
  const connections = opt('connections', 20);
  const acConnections = opt('ac-connections', 50);
  const nBouncers = opt('bouncers', 1000);
  const pollDuration = opt('poll-duration', 60);
  const only = new Set((optStr('only') ?? 'paced,lookup,startup,bouncers').split(','));
  const activeSet = !argv.includes('--no-active-set');
  const pin = argv.includes('--pin');
  // The legacy client's setImmediate spin needs a core of its own (it runs only when pinned,
  // or with --spin). The raw client's dispatch: --pacer thread|wait|timer (--no-spin = timer).
  const spin = argv.includes('--spin') || (!argv.includes('--no-spin') && (pin || !argv.includes('--legacy-client')));
  const pacerOpt = optStr('pacer') ?? (argv.includes('--no-spin') ? 'timer' : 'thread');
  if (pacerOpt !== 'thread' && pacerOpt !== 'wait' && pacerOpt !== 'timer') throw new Error(`--pacer: thread, wait or timer, not ${pacerOpt}`);
  const dispatch: 'wait' | 'timer' | 'thread' = pacerOpt;
  if (pin) {
    checkTaskset();
    // This process (the load generator) and all its threads on CPU 1; the server gets CPU 0.
    execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  }
  const machine = machineInfo(ROOT);
  const work = mkdtempSync(join(tmpdir(), 'palisade-lapi-bench-'));
  const dir = join(work, 'store');
  const report: Record<string, unknown> = { benchmark: 'lapi-load', machine, decisions: n, serverNodeFlags: serverNodeFlags(), serverBuild: serverBuild(), nice: optStr('nice') ?? null, activeSet, fastLookup: !argv.includes('--no-fast-lookup'), rawLookup: !argv.includes('--no-fast-lookup') && !argv.includes('--no-raw-lookup'), pinned: pin, bare: argv.includes('--bare') };
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
    server = await startServer(dir, activeSet, pin);
    console.error(`server: ${server.url}, listening after ${server.loadMs.toFixed(0)} ms (active set ${activeSet ? 'loaded' : 'off'}; server code: ${serverBuild() === 'bundle' ? 'this bundle' : `${serverBuild()}/dist`}), RSS ${server.rssMb.toFixed(0)} MB${pin ? ', pinned: server CPU 0, load generator CPU 1' : ''}`);
    report.setup = { fillMs, active, serverListenMs: server.loadMs, serverRssMb: server.rssMb };

    const { probes } = probesFor(n);
    const paths = probes.map((p) => `/v1/decisions?ip=${encodeURIComponent(p)}`);
    const lookupHeaders = { 'X-Api-Key': key, 'User-Agent': 'palisade-bench/1' };
    if ((only.has('paced') || only.has('lookup')) && !argv.includes('--bare')) {
      // Every probe answers as planned: even ones hold a decision, odd ones none.
      const answers = await Promise.all(paths.slice(0, 256).map((p) => get(`${server!.url}${p}`, key)));
      const wrong = answers.filter((r, i) => r.status !== 200 || (r.body !== 'null') !== (i % 2 === 0)).length;
      if (wrong) throw new Error(`lookup sanity check: ${wrong}/256 probes answered other than planned`);
    }

    // ---- paced lookups ----------------------------------------------------------------------
    if (only.has('paced')) {
      const warmupS = 2;
      const legacy = argv.includes('--legacy-client');
      // The new client's process has a 64 MB young generation: page it in before the clock starts.
      if (!legacy) touchYoungGeneration(GENERATOR_YOUNG_TOUCH_BYTES);
      const span = await spanStart(server.child);
      const r = await (legacy ? pacedLoadLegacy : pacedLoad)(server.url, paths, lookupHeaders, { rate, durationS: duration, warmupS, connections, dispatch, spin });
      const end = await spanEnd(server.child, span);
      const young = await ask<YoungReport>(server.child, 'young');
      const cpuUs = cpuPerRequest(span.server, end.server, r.sent);
      report.paced = { ...r, serverYoung: young, serverCpuUsPerRequest: cpuUs, serverCpuSystemPct: sysShare(span.server, end.server), bouncerStoreReads: end.server.bouncerStoreReads - span.server.bouncerStoreReads, generatorCpuMs: end.generatorCpuMs, serverCpuMs: end.serverCpuMs, foreignCores: end.foreignCores, generatorGc: end.generatorGc, serverGc: end.serverGc,
        generatorAllocBytesPerRequest: Math.round(end.generatorAllocBytes / Math.max(1, r.sent - r.errors)), serverAllocBytesPerRequest: Math.round(end.serverAllocBytes / Math.max(1, r.sent - r.errors)) };
      const s = r.fromSchedule, w = r.fromSend;
      lines.push(table([
        ['GET /v1/decisions?ip= (paced)', 'target/s', 'achieved/s', 'recorded', 'errors', 'non-2xx', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'server CPU µs/req', 'other load (cores)'],
        [`${duration} s, ${connections} conns, ${legacy ? (spin ? 'spin' : '1 ms timer') : DISPATCH_LABEL[dispatch]}, from schedule`, fmtInt(rate), fmtInt(r.achievedRate), fmtInt(r.recorded), r.errors, r.non2xx, f3(s.p50), f3(s.p90), f3(s.p99), f3(s.p99_9), f3(s.max), cpuUs.toFixed(1), end.foreignCores ?? '-'],
        ['from send', '', '', '', '', '', f3(w.p50), f3(w.p90), f3(w.p99), f3(w.p99_9), f3(w.max), '', ''],
        ...(r.sendLateness ? [['send lateness (schedule → write)', '', '', '', '', '', f3(r.sendLateness.p50), f3(r.sendLateness.p90), f3(r.sendLateness.p99), f3(r.sendLateness.p99_9), f3(r.sendLateness.max), '', '']] : []),
      ]));
      const g = end.generatorGc, sg = end.serverGc;
      lines.push(`client: ${r.client}; GC during the phase: generator ${g.minor} scavenges (${g.minorMs.toFixed(1)} ms), ${g.major} major (${g.majorMs.toFixed(1)} ms), longest ${g.maxMs.toFixed(2)} ms; ` +
        `server ${sg.minor} scavenges (${sg.minorMs.toFixed(1)} ms), ${sg.major} major (${sg.majorMs.toFixed(1)} ms), longest ${sg.maxMs.toFixed(2)} ms; ` +
        `young-generation allocation per request: generator ${fmtInt(end.generatorAllocBytes / Math.max(1, r.sent - r.errors))} B, server ${fmtInt(end.serverAllocBytes / Math.max(1, r.sent - r.errors))} B`);
      lines.push(`server young generation (${serverNodeFlags().join(' ') || 'V8 defaults'}): ${young.scavenges} scavenges in the phase (${young.scavenges ? `min ${young.minMs.toFixed(2)}, median ${young.medianMs.toFixed(2)}, mean ${young.meanMs.toFixed(2)}, max ${young.maxMs.toFixed(2)} ms` : '-'}), ` +
        `new space ${young.newSpaceMb.toFixed(1)} MB; server RSS after the phase ${young.rssMb.toFixed(0)} MB (anonymous ${young.rssAnonMb.toFixed(0)} MB)`);
    }

    // ---- autocannon lookups ------------------------------------------------------------------
    if (only.has('lookup')) {
      let pi = 0;
      const span = await spanStart(server.child);
      const r = await autocannon({
        url: server.url,
        connections: acConnections,
        overallRate: rate,
        duration,
        headers: lookupHeaders,
        requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: paths[(pi = (pi + 1) & 4095)]! }) }],
      });
      const end = await spanEnd(server.child, span);
      const cpuUs = cpuPerRequest(span.server, end.server, r.requests.total);
      const l = lat(r);
      const row = { targetRate: rate, connections: acConnections, achievedRate: r.requests.total / duration, total: r.requests.total, errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, p50: l.p50, p90: l.p90, p99: l.p99, p99_9: l.p99_9, max: l.max, mean: l.average, serverCpuUsPerRequest: cpuUs, serverCpuSystemPct: sysShare(span.server, end.server), generatorCpuMs: end.generatorCpuMs, serverCpuMs: end.serverCpuMs, foreignCores: end.foreignCores };
      report.lookup = row;
      lines.push(table([
        ['GET /v1/decisions?ip= (autocannon)', 'target/s', 'achieved/s', 'requests', 'errors', 'non-2xx', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'server CPU µs/req', 'other load (cores)'],
        [`${duration} s, ${acConnections} conns`, fmtInt(rate), fmtInt(row.achievedRate), fmtInt(r.requests.total), r.errors + r.timeouts, r.non2xx, l.p50!, l.p90!, l.p99!, l.p99_9!, l.max!, cpuUs.toFixed(1), end.foreignCores ?? '-'],
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
