/**
 * `palisade replay`: time-machine replay of archived logs (plain, .gz, stdin) through the
 * whole detection path, writing alerts and decisions to the store. Buckets use the logs'
 * timestamps; decisions get their true expiry (stop_at + duration), so replays of old logs
 * mostly yield already-expired decisions, as in CrowdSec (spec §4.7).
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { openSource } from '../acquisition/lines.js';
import { Store } from '../decisions/store.js';
import { DetectionEngine } from './engine.js';
import { AlertSink, SinkQueue, type SinkedAlert } from './sink.js';
import { getHeapSpaceStatistics, setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { SHIPPED_RULES_DIR } from '../config/rules-dir.js';
import { GEOIP_METHODS } from '../parse/enrichers/index.js';
import { ExpectMode } from '../core/event.js';
import { batchLines, type Batch } from './batcher.js';
import type { LapiAlert } from '../scenarios/overflow.js';
import { ParsePool, WORKER_SEMI_SPACE_MB, loadTimeTierUp, type LoadTimeTierUp } from './pool.js';
import { YoungGenCap } from './young-gen.js';

export interface ReplayOptions {
  files: string[];
  type: string;
  configDir?: string;
  /** null: write nothing (--no-decisions). */
  dataDir: string | null;
  geoipDir?: string | null;
  maxBuckets?: number;
  /**
   * Parse workers: 0 parses inline on this thread (the simple twin of the pool); N > 0 uses a
   * pool of N. Default: defaultReplayWorkers(files), one per core (inline for small inputs).
   */
  workers?: number;
  /** Pool batch size in bytes (default POOL_BATCH_BYTES). */
  batchBytes?: number;
  onAlert?: (a: SinkedAlert) => void;
  onProgress?: (p: { bytesDone: number; bytesTotal: number; lines: number; elapsedMs: number }) => void;
  warn?: (m: string) => void;
}

export interface ReplaySummary {
  lines: number;
  parsed: number;
  unparsed: number;
  whitelisted: number;
  dropped: number;
  alerts: number;
  decisions: number;
  elapsedMs: number;
  linesPerSec: number;
  truncatedLines: number;
  /** Parse workers used (0 = inline). */
  workers: number;
}


/**
 * Bytes of input per pool batch. Smaller batches keep less of each in flight and in the
 * workers' young generation (WORKER_YOUNG_GENERATION_MB in pool.ts): 1 MiB batches gave
 * ~18 MB more peak RSS on 1M sshd lines (2 workers), CPU time the same within the noise.
 */
export const POOL_BATCH_BYTES = 256 * 1024;

/**
 * Alerts the pour loop may run ahead of the store (profiles + writes, SinkQueue) before it
 * waits: a few write batches (AlertSink's 500), a few MB of alerts.
 */
export const SINK_BACKLOG_MAX = 2000;

/** Below this much input, starting workers (rules loaded once more per worker) costs more than it saves. */
export const POOL_MIN_BYTES = 8 * 1024 * 1024;

/**
 * This thread's new space (both semi-spaces, bytes) when the pool parses: V8 grows it to
 * 2 x 16 MB by default; capped at 2 x 8 MB here (young-gen.ts): ~-17 MB of peak RSS. 2 x 4 MB
 * saved ~8 MB more but cost this thread 4-5x the scavenges and, in some runs, 8 -> ~75 full
 * GCs (more promoted): +2 us/line of process CPU on 1M nginx lines (bench/lib/main-side.ts).
 */
export const POOL_MAIN_NEW_SPACE_BYTES = 16 * 1024 * 1024;

/**
 * Parse workers when none are asked for: one per core (os.availableParallelism()), since the
 * main thread's share (reading, pours, alerts, the store) is small next to a worker's
 * parsing. Inputs known to be under POOL_MIN_BYTES parse inline (0): each worker loads the
 * rules again (~1 s of CPU), more than a small file takes to parse. Stdin ('-') counts as
 * large (its size is unknown).
 */
export function defaultReplayWorkers(files: readonly string[] = []): number {
  const bytes = files.reduce((n, f) => n + (f === '-' ? Infinity : safeSize(f)), 0);
  return files.length > 0 && bytes < POOL_MIN_BYTES ? 0 : Math.max(1, availableParallelism());
}

export async function runReplay(o: ReplayOptions): Promise<ReplaySummary> {
  const t0 = performance.now();
  const workers = o.workers ?? defaultReplayWorkers(o.files);
  if (!(Number.isInteger(workers) && workers >= 0)) throw new RangeError(`workers must be a non-negative integer, not ${workers}`);
  // Before the rules load: loading them (and the GeoIP data) is what grows the new space.
  const youngCap = workers > 0 ? new YoungGenCap(POOL_MAIN_NEW_SPACE_BYTES, WORKER_SEMI_SPACE_MB) : null;
  const warmup = loadTimeTierUp();
  try {
    return await replayFiles(o, workers, youngCap, t0, warmup);
  } finally {
    warmup.end();
    youngCap?.release();
  }
}

async function replayFiles(o: ReplayOptions, workers: number, youngCap: YoungGenCap | null, t0: number, warmup: LoadTimeTierUp): Promise<ReplaySummary> {
  const bytesTotal = o.files.reduce((n, f) => n + (f === '-' ? 0 : safeSize(f)), 0);
  const engine = await DetectionEngine.create({ configDir: o.configDir, mode: 'replay', geoipDir: o.geoipDir, maxBuckets: o.maxBuckets, warn: o.warn, role: workers > 0 ? 'pour' : 'all' });
  // Inline, the lines come next; pooled, the workers end it once their rules are loaded.
  if (workers === 0) warmup.end();
  youngCap?.check();
  const store = o.dataDir ? Store.open(o.dataDir) : null;
  const sink = new AlertSink(AlertSink.profilesFor(o.configDir ?? SHIPPED_RULES_DIR, engine.rules.helpers, store), store);
  const labels = new Map([['type', o.type]]);
  let truncated = 0;
  let bytesDone = 0;
  let lastReport = performance.now();
  const progress = (): void => {
    if (!o.onProgress) return;
    const now = performance.now();
    if (now - lastReport > 250) {
      lastReport = now;
      o.onProgress({ bytesDone, bytesTotal, lines: engine.counters.lines, elapsedMs: now - t0 });
    }
  };
  // Profiles and store writes run behind the pours (SinkQueue), in alert order: pouring never
  // reads the store, and the pour loop keeps the parse workers fed while a batch commits.
  // Each write batch's index inserts fault pages all over data.mdb; unmapping them after the
  // batch keeps the file from becoming resident as it grows. 10M sshd lines (78,736 alerts, a
  // 112 MB file): data.mdb resident 111 -> at most 21 MB, peak RSS 406 -> 313-329 MB, CPU
  // within the noise (one close and open per 500 alerts). Not after the last flush: the
  // process ends.
  const queue = new SinkQueue(sink, o.onAlert, store ? () => store.releaseMappedPages() : undefined);
  const emit = async (alerts: readonly LapiAlert[]): Promise<void> => {
    queue.push(alerts);
    if (queue.backlog > SINK_BACKLOG_MAX) await queue.settle(SINK_BACKLOG_MAX);
  };
  const geo = [...engine.rules.parserMethods].some((m) => GEOIP_METHODS.has(m));
  // The pool's heaps (this thread's and the workers') hold little live data but many events
  // that die soon after leaving the young generation; V8's default lets the old generation
  // grow to ~4x the live size before a full GC. 1.5x: 1M lines, 2 workers, sshd 500 -> 345 MB,
  // nginx 450 -> 320 MB at the same CPU. Read by V8 whenever it sets the next full-GC limit, so
  // setting it now works; process-wide, so it covers the workers. Not inline: nginx cost +15% CPU.
  if (workers > 0) setFlagsFromString('--heap-growing-percent=50');
  const memTrace = process.env.PALISADE_MEM_TRACE ? startMemTrace(engine, t0) : null;
  const pool = workers > 0 ? await ParsePool.create({ workers, configDir: o.configDir, geoipDir: o.geoipDir, geo, warn: o.warn }) : null;
  // Each worker's heap set-up reset the cap's growth factor (young-gen.ts): set it again once they are up.
  youngCap?.check();
  void pool?.online.then(() => youngCap?.check());
  try {
    for (const file of o.files) {
      const src = file === '-' ? 'stdin' : resolve(file);
      const stream = openSource(file);
      if (pool) {
        const batches = countBytes(batchLines(stream, { batchBytes: o.batchBytes ?? POOL_BATCH_BYTES, onTruncated: () => truncated++ }), (n) => (bytesDone += n));
        for await (const batch of pool.parse(batches, src, labels)) {
          // A batch came back: the workers have loaded their rules (they ended it already).
          warmup.end();
          engine.addCounts(batch.counts);
          // Alerts go to the sink after the batch, in the same order (pouring never reads the store).
          const alerts = batch.apply(engine, src, labels, ExpectMode.TIMEMACHINE);
          if (alerts.length > 0) await emit(alerts);
          youngCap?.check();
          progress();
        }
        continue;
      }
      // Inline: the same batches, scanned once each (line ends, syslog headers) in WebAssembly.
      const batches = countBytes(batchLines(stream, { batchBytes: o.batchBytes, onTruncated: () => truncated++ }), (n) => (bytesDone += n));
      for await (const b of batches) {
        const pending: LapiAlert[] = [];
        engine.processBatch(new Uint8Array(b.bytes), src, labels, (a) => { for (const x of a) pending.push(x); });
        if (pending.length > 0) await emit(pending);
        progress();
      }
    }
    // Input is over: pending buckets are discarded, as CrowdSec does at the end of a replay.
    // Every alert is committed before the replay reports.
    await queue.drain();
    await sink.flush();
  } finally {
    memTrace?.();
    await queue.stopped();
    await pool?.close();
    await store?.close();
  }
  const c = engine.counters;
  const elapsedMs = performance.now() - t0;
  return {
    lines: c.lines,
    parsed: c.parsed,
    unparsed: c.unparsed,
    whitelisted: c.whitelisted,
    dropped: c.dropped,
    alerts: c.alerts,
    decisions: sink.decisions,
    elapsedMs,
    linesPerSec: c.lines / (elapsedMs / 1000),
    truncatedLines: truncated,
    workers,
  };
}

/**
 * PALISADE_MEM_TRACE=1: this thread's memory every second on stderr (bench/lib/mem-sample.ts
 * --trace-gc shows the workers' heaps). Returns the function that stops it (with a last line);
 * PALISADE_MEM_TRACE=snapshot also writes this thread's heap snapshot then, before the pool
 * and the store close (its file name goes to stderr).
 */
function startMemTrace(engine: DetectionEngine, t0: number): () => void {
  const mb = (n: number): string => (n / 1e6).toFixed(1);
  const line = (): void => {
    const m = process.memoryUsage();
    const space = (name: string): string => mb(getHeapSpaceStatistics().find((s) => s.space_name === name)?.space_size ?? 0);
    process.stderr.write(
      `mem ${((performance.now() - t0) / 1000).toFixed(1)}s lines ${engine.counters.lines} buckets ${engine.buckets.stats.buckets}: ` +
        `rss ${mb(m.rss)} heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} (new ${space('new_space')}, old ${space('old_space')}, lo ${space('large_object_space')}, code ${space('code_space')}) ` +
        `external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)} MB\n`,
    );
  };
  const timer = setInterval(line, 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    line();
    if (process.env.PALISADE_MEM_TRACE === 'snapshot') process.stderr.write(`heap snapshot: ${writeHeapSnapshot()}\n`);
  };
}

async function* countBytes(batches: AsyncIterable<Batch>, add: (n: number) => void): AsyncGenerator<Batch> {
  for await (const b of batches) {
    add(b.bytes.byteLength);
    yield b;
  }
}

function safeSize(f: string): number {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
}
