/**
 * The pool's two halves measured apart, on one thread, from the sources (tsx): what a worker
 * does per line (parse, route, write pour records) and what the main thread does (read the
 * records, pour, build alerts). The main half is the serial part of the pipeline: two
 * workers can only be ~2x one if it stays small next to the worker half. Pours alone are
 * reported as events/s and lines/s (of main-thread CPU time). Batches of --batch lines are
 * written first, then applied one after the other, as in a replay. Times are CPU time of the
 * process per phase (steadier than wall time on a shared machine; GC included). Phases run
 * batch-wise (parse all lines of a batch, then route them, then write them), so route and
 * write meet events no longer in the CPU caches: they read somewhat higher than in a worker,
 * which routes each event right after parsing it. The write phase includes the bucket-table
 * records (key hashes); the pour phase feeds them to the table a chunk per call
 * (BucketEngine.beginBatch), as the pool's main thread does.
 *
 *   node --expose-gc --import tsx bench/lib/pour-stages.ts FILE TYPE [--lines N] [--batch 4000] [--no-memo]
 *        [--profile-main OUT.cpuprofile]   (a CPU profile of the main half only)
 *        [--alloc-main OUT.heapprofile]    (sampled allocations of the main half, collected ones included)
 *
 * e.g. `bench/lib/pour-stages.ts .cache/bench/nginx-100000-s20260105.log nginx`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DetectionEngine } from '../../src/pipeline/engine.js';
import { PourBatch, PourRecordWriter } from '../../src/pipeline/pour-records.js';
import { fieldNeeds } from '../../src/pipeline/field-needs.js';
import { PreparedRoutes } from '../../src/scenarios/engine.js';
import { ExpectMode, type PEvent } from '../../src/core/event.js';
import { arg } from './args.js';
import { cpuMs } from './measure.js';


export interface StageCosts {
  lines: number;
  /** Microseconds per line, worker side. */
  parseUs: number;
  routeUs: number;
  writeUs: number;
  /** Microseconds per line, main side: reading the records, then pouring them (alerts included). */
  readUs: number;
  pourUs: number;
  /** Events given to the bucket engine per second of main-thread time. */
  eventsPerSec: number;
  alerts: number;
  recordBytes: number;
  /** Bucket table of the main half: 'wasm', or 'ts' when build/palisade.wasm is missing or stale. */
  table: 'wasm' | 'ts';
  memo: { hits: number; misses: number } | null;
}

export async function measureStages(file: string, type: string, o: { lines?: number; batch?: number; memo?: boolean; profileMain?: string; allocMain?: string } = {}): Promise<StageCosts> {
  const worker = await DetectionEngine.create({ mode: 'replay', warn: () => {}, filterMemo: o.memo });
  const main = await DetectionEngine.create({ mode: 'replay', warn: () => {}, role: 'pour' });
  const all = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const lines = all.slice(0, o.lines ?? all.length);
  const labels = new Map([['type', type]]);
  const batch = o.batch ?? 4000;
  const needs = fieldNeeds(worker.scenarios, worker.rules.postoverflows.set);
  const writer = new PourRecordWriter(needs, worker.scenarios);
  let parse = 0, route = 0, write = 0;
  const bufs: Uint8Array[] = [];
  // Phases are timed per batch in CPU time of the process (the machine is shared: wall time
  // would count other processes' turns), so garbage collection is charged to the phase that
  // triggered it.
  for (let b = 0; b < lines.length; b += batch) {
    let t = cpuMs();
    const evts: PEvent[] = [];
    for (const line of lines.slice(b, b + batch)) {
      const evt = worker.parseLine(line, file, labels);
      if (evt) evts.push(evt);
    }
    parse += cpuMs() - t;
    t = cpuMs();
    const routed = evts.map((e) => worker.buckets.routeInto(e, new PreparedRoutes()));
    route += cpuMs() - t;
    t = cpuMs();
    for (let i = 0; i < evts.length; i++) writer.add(evts[i]!, routed[i]!);
    bufs.push(writer.finish({ lines: 0, parsed: 0, unparsed: 0, whitelisted: 0, dropped: 0 }));
    write += cpuMs() - t;
  }
  // The main half starts on a collected heap, as the main thread of a replay would.
  (globalThis as { gc?: () => void }).gc?.();
  const session = o.profileMain || o.allocMain ? new Session() : null;
  if (session) session.connect();
  if (session && o.profileMain) {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  if (session && o.allocMain) {
    // Every allocation sampled, collected or not: what the main half's young generation sees.
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
  }
  let read = 0, pour = 0, alerts = 0;
  for (const buf of bufs) {
    let t = cpuMs();
    const records = PourBatch.read(buf);
    read += cpuMs() - t;
    t = cpuMs();
    alerts += records.apply(main, file, labels, ExpectMode.TIMEMACHINE).length;
    pour += cpuMs() - t;
  }
  if (session && o.profileMain) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(o.profileMain, JSON.stringify(profile));
  }
  if (session && o.allocMain) {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(o.allocMain, JSON.stringify(profile));
  }
  session?.disconnect();
  const n = lines.length;
  const us = (ms: number): number => (ms * 1000) / n;
  const memo = worker.buckets.filterMemoStats;
  return {
    lines: n, parseUs: us(parse), routeUs: us(route), writeUs: us(write), readUs: us(read), pourUs: us(pour),
    eventsPerSec: main.buckets.stats.events / ((read + pour) / 1000), alerts,
    recordBytes: bufs.reduce((a, b) => a + b.byteLength, 0),
    table: main.buckets.tableImpl,
    memo: memo && { hits: memo.hits, misses: memo.misses },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => arg(args, name);
  const [file, type] = args;
  if (!file || !type) {
    console.error('usage: bench/lib/pour-stages.ts FILE TYPE [--lines N] [--batch 4000] [--no-memo] [--profile-main OUT] [--alloc-main OUT]');
    process.exit(2);
  }
  const r = await measureStages(file, type, {
    lines: opt('lines') ? Number(opt('lines')) : undefined, batch: opt('batch') ? Number(opt('batch')) : undefined,
    memo: !args.includes('--no-memo'), profileMain: opt('profile-main'), allocMain: opt('alloc-main'),
  });
  const f = (x: number): string => x.toFixed(2);
  console.log(`${r.lines} lines of ${file}`);
  console.log(`worker per line: parse ${f(r.parseUs)} us, route ${f(r.routeUs)} us, write ${f(r.writeUs)} us = ${f(r.parseUs + r.routeUs + r.writeUs)} us`);
  console.log(`main per line:   read ${f(r.readUs)} us, pour ${f(r.pourUs)} us = ${f(r.readUs + r.pourUs)} us (${Math.round(1e6 / (r.readUs + r.pourUs)).toLocaleString('en-US')} lines/s, ${Math.round(r.eventsPerSec).toLocaleString('en-US')} events/s)`);
  console.log(`main / worker: ${f((r.readUs + r.pourUs) / (r.parseUs + r.routeUs + r.writeUs))}; alerts ${r.alerts}; records ${(r.recordBytes / 1e6).toFixed(1)} MB; bucket table ${r.table}${r.memo ? `; filter memo hits ${r.memo.hits}, misses ${r.memo.misses}` : ''}`);
}
