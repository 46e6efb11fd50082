/**
 * The main thread's side of a pool replay alone, repeatable on a busy machine: what it does
 * with the pour records the workers send back (PourBatch.read, apply: pours, overflows,
 * alerts) and the alerts' way to the store (SinkQueue: profiles, LMDB writes, mapped-page
 * release), exactly as runReplay sequences them, minus reading the file and feeding the pool.
 * The records are made once per (file, lines, batch) by the worker code path in-process (statics
 * deferral on, as in parse-worker.ts: since session 9 h5 it changes the records) and
 * cached on disk, so A/B runs of the main side start from the same bytes (a cache written by
 * another record format fails PourBatch.read's magic check: delete it).
 *
 * Reported: CPU time of this thread (/proc/thread-self/stat) and of the whole process
 * (V8's helper threads: parallel scavenges, concurrent marking; LMDB's writer), per line;
 * this thread's scavenges and full GCs (gc-watch.ts).
 *
 *   node --import tsx bench/lib/main-side.ts FILE TYPE [--lines N] [--batch-bytes 262144]
 *        [--data-dir DIR | --no-store] [--cache DIR (default $TMPDIR/palisade-pour-records)]
 *        [--profile OUT.cpuprofile] [--sink-batch N (AlertSink's write batch, default 500)]
 *        [--promoted OUT.heapprofile (sampled allocations that outlived the young generation)]
 *        [--alloc OUT.heapprofile (every sampled allocation, those scavenges collected too)]
 *        [--no-young-cap (this thread's new space as V8 grows it; runReplay caps it at 2 x 8 MB)]
 *        [--root DIR (run DIR/dist's main side, e.g. a baseline worktree's build, in this harness:
 *         A/B of the same measurement; the records are still made by this worktree's sources)]
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import { DetectionEngine } from '../../src/pipeline/engine.js';
import { PourBatch, PourRecordWriter } from '../../src/pipeline/pour-records.js';
import { fieldNeeds } from '../../src/pipeline/field-needs.js';
import { planDeferral, planTails, runDeferred } from '../../src/parse/deferred.js';
import { enableDeferral } from '../../src/parse/stages.js';
import { PreparedRoutes } from '../../src/scenarios/engine.js';
import { ExpectMode } from '../../src/core/event.js';
import { Store } from '../../src/decisions/store.js';
import { AlertSink, SinkQueue } from '../../src/pipeline/sink.js';
import { SINK_BACKLOG_MAX } from '../../src/pipeline/replay.js';
import { SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';
import type { LapiAlert } from '../../src/scenarios/overflow.js';
import { arg } from './args.js';
import { cpuMs, startCpuProfile } from './measure.js';
import { gcSince, gcSnapshot, watchGc } from './gc-watch.js';
import { YoungGenCap } from '../../src/pipeline/young-gen.js';
import { POOL_MAIN_NEW_SPACE_BYTES } from '../../src/pipeline/replay.js';
import { WORKER_SEMI_SPACE_MB } from '../../src/pipeline/pool.js';
import { Session } from 'node:inspector/promises';

/** The main side's code: this worktree's sources, or another build's dist/ (--root). */
interface Mods {
  DetectionEngine: typeof DetectionEngine;
  PourBatch: typeof PourBatch;
  ExpectMode: typeof ExpectMode;
  Store: typeof Store;
  AlertSink: typeof AlertSink;
  SinkQueue: typeof SinkQueue;
  SINK_BACKLOG_MAX: number;
  SHIPPED_RULES_DIR: string;
  YoungGenCap: typeof YoungGenCap;
  POOL_MAIN_NEW_SPACE_BYTES: number;
  WORKER_SEMI_SPACE_MB: number;
}

const HERE: Mods = { DetectionEngine, PourBatch, ExpectMode, Store, AlertSink, SinkQueue, SINK_BACKLOG_MAX, SHIPPED_RULES_DIR, YoungGenCap, POOL_MAIN_NEW_SPACE_BYTES, WORKER_SEMI_SPACE_MB };

async function loadModules(root: string): Promise<Mods> {
  const at = (m: string): Promise<Record<string, never>> => import(pathToFileURL(join(resolve(root), 'dist', m)).href);
  const [engine, pour, event, store, sink, replay, rulesDir, young, pool] = await Promise.all(
    ['pipeline/engine.js', 'pipeline/pour-records.js', 'core/event.js', 'decisions/store.js', 'pipeline/sink.js', 'pipeline/replay.js', 'config/rules-dir.js', 'pipeline/young-gen.js', 'pipeline/pool.js'].map(at),
  );
  return {
    DetectionEngine: engine!.DetectionEngine, PourBatch: pour!.PourBatch, ExpectMode: event!.ExpectMode, Store: store!.Store,
    AlertSink: sink!.AlertSink, SinkQueue: sink!.SinkQueue, SINK_BACKLOG_MAX: replay!.SINK_BACKLOG_MAX, SHIPPED_RULES_DIR: rulesDir!.SHIPPED_RULES_DIR,
    YoungGenCap: young!.YoungGenCap, POOL_MAIN_NEW_SPACE_BYTES: replay!.POOL_MAIN_NEW_SPACE_BYTES, WORKER_SEMI_SPACE_MB: pool!.WORKER_SEMI_SPACE_MB,
  };
}

/**
 * --promoted OUT.heapprofile: sampled allocations that survived the young generation (objects a
 * scavenge collected are left out, those a full GC collected are kept): what this thread
 * promotes, i.e. what its scavenges copy and its full GCs (concurrent marking) must trace.
 */
async function startPromotedProfile(file: string | undefined, all = false): Promise<() => Promise<void>> {
  if (!file) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: all } as never);
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

/** CPU ms of the calling thread (utime + stime of /proc/thread-self/stat, 10 ms ticks). */
export function threadCpuMs(): number {
  const stat = readFileSync('/proc/thread-self/stat', 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** Pour-record buffers of `file` as a pool worker would send them (batches of about `batchBytes` of input). */
async function makeRecords(file: string, type: string, lines: number, batchBytes: number): Promise<Uint8Array[]> {
  const worker = await DetectionEngine.create({ mode: 'replay', warn: () => {} });
  // As parse-worker.ts: statics only routed events need run after routing (geoip-enrich as blocks).
  const set = worker.rules.parsers.set;
  enableDeferral(set, planDeferral(set, worker.scenarios, worker.rules.postoverflows.set), planTails(set, worker.scenarios, worker.rules.postoverflows.set));
  const writer = new PourRecordWriter(fieldNeeds(worker.scenarios, worker.rules.postoverflows.set), worker.scenarios);
  const labels = new Map([['type', type]]);
  const all = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').slice(0, lines);
  const out: Uint8Array[] = [];
  const routes = new PreparedRoutes();
  let bytes = 0, n = 0, parsed = 0;
  const flush = (): void => {
    out.push(writer.finish({ lines: n, parsed, unparsed: 0, whitelisted: 0, dropped: 0 }));
    bytes = n = parsed = 0;
  };
  for (const line of all) {
    const evt = worker.parseLine(line, file, labels);
    n++;
    bytes += line.length + 1;
    if (evt) {
      parsed++;
      const r = worker.buckets.routeInto(evt, routes);
      if (r.count > 0) runDeferred(evt);
      writer.add(evt, r);
    }
    if (bytes >= batchBytes) flush();
  }
  if (n > 0) flush();
  return out;
}

function loadOrMake(cacheFile: string, make: () => Promise<Uint8Array[]>): Promise<Uint8Array[]> | Uint8Array[] {
  if (existsSync(cacheFile)) {
    const all = readFileSync(cacheFile);
    const out: Uint8Array[] = [];
    for (let at = 0; at < all.length;) {
      const n = all.readUInt32LE(at);
      // Own, 8-aligned buffers, as the pool hands them over.
      const b = new Uint8Array(n);
      b.set(all.subarray(at + 4, at + 4 + n));
      out.push(b);
      at += 4 + n;
    }
    return out;
  }
  return make().then((bufs) => {
    const parts: Buffer[] = [];
    for (const b of bufs) {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.byteLength);
      parts.push(len, Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    }
    writeFileSync(cacheFile, Buffer.concat(parts));
    return bufs;
  });
}

export interface MainSideCosts {
  lines: number;
  alerts: number;
  /** Bucket engine counters: overflows (emitted or not), those a blackhole silenced, events poured, (event, scenario) pours. */
  overflows: number;
  blackholed: number;
  events: number;
  pours: number;
  /** µs per line: this thread, and the process (this thread + V8 helpers + LMDB's writer). */
  threadUs: number;
  processUs: number;
  gc: ReturnType<typeof gcSince>;
  wallMs: number;
}

export async function measureMainSide(file: string, type: string, o: { lines?: number; batchBytes?: number; dataDir?: string | null; cache?: string; profile?: string; sinkBatch?: number; promoted?: string; alloc?: string; noYoungCap?: boolean; root?: string } = {}): Promise<MainSideCosts> {
  const lines = o.lines ?? Infinity;
  const batchBytes = o.batchBytes ?? 256 * 1024;
  // Not next to the logs: .cache/bench is shared between worktrees, and 1M lines make 0.1-0.2 GB.
  const cache = o.cache ?? join(tmpdir(), 'palisade-pour-records');
  mkdirSync(cache, { recursive: true });
  const cacheFile = join(cache, `${basename(file)}-${Number.isFinite(lines) ? lines : 'all'}-${batchBytes}.records`);
  const bufs = await loadOrMake(cacheFile, () => makeRecords(file, type, lines, batchBytes));
  const { DetectionEngine, PourBatch, ExpectMode, Store, AlertSink, SinkQueue, SINK_BACKLOG_MAX, SHIPPED_RULES_DIR, YoungGenCap, POOL_MAIN_NEW_SPACE_BYTES, WORKER_SEMI_SPACE_MB } = o.root ? await loadModules(o.root) : HERE;
  // As runReplay caps it for a pool replay (young-gen.ts), before the rules load.
  const youngCap = o.noYoungCap ? null : new YoungGenCap(POOL_MAIN_NEW_SPACE_BYTES, WORKER_SEMI_SPACE_MB);
  const engine = await DetectionEngine.create({ mode: 'replay', warn: () => {}, role: 'pour' });
  youngCap?.check();
  if (o.dataDir) rmSync(o.dataDir, { recursive: true, force: true });
  const store = o.dataDir ? Store.open(o.dataDir) : null;
  const sink = new AlertSink(AlertSink.profilesFor(SHIPPED_RULES_DIR, engine.rules.helpers, store), store, o.sinkBatch);
  const queue = new SinkQueue(sink, undefined, store ? () => store.releaseMappedPages() : undefined);
  const emit = async (alerts: readonly LapiAlert[]): Promise<void> => {
    queue.push(alerts);
    if (queue.backlog > SINK_BACKLOG_MAX) await queue.settle(SINK_BACKLOG_MAX);
  };
  const labels = new Map([['type', type]]);
  // As runReplay sets it for a pool replay (process-wide: it shapes this thread's full GCs too).
  setFlagsFromString('--heap-growing-percent=50');
  (globalThis as { gc?: () => void }).gc?.();
  const stopProfile = await startCpuProfile(o.profile);
  const stopPromoted = await startPromotedProfile(o.promoted ?? o.alloc, o.alloc !== undefined);
  watchGc();
  const g0 = gcSnapshot();
  const t0 = threadCpuMs(), p0 = cpuMs(), w0 = performance.now();
  for (const buf of bufs) {
    const batch = PourBatch.read(buf);
    engine.addCounts(batch.counts);
    const alerts = batch.apply(engine, file, labels, ExpectMode.TIMEMACHINE);
    if (alerts.length > 0) await emit(alerts);
    youngCap?.check();
    // The pool's generator yields one batch per turn of the event loop.
    await new Promise<void>((r) => setImmediate(r));
  }
  await queue.drain();
  await sink.flush();
  const wallMs = performance.now() - w0;
  const thread = threadCpuMs() - t0, proc = cpuMs() - p0;
  await new Promise((r) => setTimeout(r, 20));
  const gc = gcSince(g0, gcSnapshot());
  await stopProfile();
  await stopPromoted();
  youngCap?.release();
  await queue.stopped();
  await store?.close();
  const n = engine.counters.lines;
  const st = engine.buckets.stats;
  return { lines: n, alerts: engine.counters.alerts, overflows: st.overflows, blackholed: st.blackholed, events: st.events, pours: st.pours, threadUs: (thread * 1000) / n, processUs: (proc * 1000) / n, gc, wallMs };
}

if (process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]))) {
  const args = process.argv.slice(2);
  const [file, type] = args;
  if (!file || !type) {
    console.error('usage: bench/lib/main-side.ts FILE TYPE [--lines N] [--batch-bytes B] [--data-dir DIR | --no-store] [--cache DIR] [--profile OUT] [--promoted OUT] [--no-young-cap] [--root DIR]');
    process.exit(2);
  }
  const dataDir = args.includes('--no-store') ? null : arg(args, 'data-dir') ?? join('/tmp', `main-side-${process.pid}`);
  const r = await measureMainSide(file, type, {
    lines: arg(args, 'lines') ? Number(arg(args, 'lines')) : undefined,
    batchBytes: arg(args, 'batch-bytes') ? Number(arg(args, 'batch-bytes')) : undefined,
    dataDir, cache: arg(args, 'cache'), profile: arg(args, 'profile'), sinkBatch: arg(args, 'sink-batch') ? Number(arg(args, 'sink-batch')) : undefined,
    promoted: arg(args, 'promoted'), alloc: arg(args, 'alloc'), noYoungCap: args.includes('--no-young-cap'), root: arg(args, 'root'),
  });
  if (dataDir && !arg(args, 'data-dir')) rmSync(dataDir, { recursive: true, force: true });
  const f = (x: number): string => x.toFixed(2);
  console.log(`${r.lines} lines, ${r.events} events, ${r.pours} pours, ${r.overflows} overflows (${r.blackholed} blackholed), ${r.alerts} alerts${dataDir ? '' : ' (no store)'}: main thread ${f(r.threadUs)} us/line, process ${f(r.processUs)} us/line, wall ${(r.wallMs / 1000).toFixed(2)} s; ` +
    `GC ${r.gc.minor} scavenges ${r.gc.minorMs.toFixed(0)} ms, ${r.gc.major} major ${r.gc.majorMs.toFixed(0)} ms`);
}
