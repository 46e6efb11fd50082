/**
 * A pool worker's exact per-batch code path (src/workers/parse-worker.ts) run in-process:
 * per 256 KiB batch of whole lines, engine.parseBatch, routeInto one reused PreparedRoutes,
 * PourRecordWriter.add, finish. Reports CPU time (user+sys) per line and the garbage
 * collections V8 ran (count and time by kind), steadier than wall time on a shared machine.
 *
 *   node --max-semi-space-size=4 --import tsx bench/lib/worker-path.ts FILE TYPE [--runs 3]
 *        [--profile OUT.cpuprofile] [--heap-profile OUT.heapprofile] [--config RULES_DIR] [--no-defer]
 *        [--dist DIST_DIR] [--interval US]
 *
 * (--max-semi-space-size=4: a worker's young generation, pool.ts WORKER_YOUNG_GENERATION_MB.)
 * The first run warms the JIT; each following run is reported (with the young-generation bytes
 * allocated per line, alloc-watch.ts). With --profile, a CPU
 * profile of the last run is written; with --heap-profile, a sampling allocation profile of
 * it that counts objects the GC already collected (where the garbage comes from).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { arg } from './args.js';
import { allocStart, allocStop } from './alloc-watch.js';
import { cpuMs } from './measure.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => arg(args, name);
const [file, type] = args;
if (!file || !type) {
  console.error('usage: bench/lib/worker-path.ts FILE TYPE [--runs 3] [--profile OUT]');
  process.exit(2);
}
const runs = Number(opt('runs') ?? 3);

// --dist DIR: load a compiled tree (dist/) instead of src/ through tsx, so a profile names
// real source lines (tsx's transform puts each module on one line).
const dist = opt('dist');
const at = (m: string): string => (dist ? pathToFileURL(resolve(dist, `${m}.js`)).href : `../../src/${m}.js`);
const { DetectionEngine } = (await import(at('pipeline/engine'))) as typeof import('../../src/pipeline/engine.js');
const { PourRecordWriter } = (await import(at('pipeline/pour-records'))) as typeof import('../../src/pipeline/pour-records.js');
const { fieldNeeds } = (await import(at('pipeline/field-needs'))) as typeof import('../../src/pipeline/field-needs.js');
const { PreparedRoutes } = (await import(at('scenarios/engine'))) as typeof import('../../src/scenarios/engine.js');
const { POOL_BATCH_BYTES } = (await import(at('pipeline/replay'))) as typeof import('../../src/pipeline/replay.js');
const { planDeferral, planTails, runDeferred } = (await import(at('parse/deferred'))) as typeof import('../../src/parse/deferred.js');
const { enableDeferral } = (await import(at('parse/stages'))) as typeof import('../../src/parse/stages.js');

/** Batches of whole lines of about POOL_BATCH_BYTES, as the batcher cuts them. */
function batches(buf: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < buf.length) {
    let end = Math.min(buf.length, off + POOL_BATCH_BYTES);
    if (end < buf.length) {
      const nl = buf.indexOf(10, end);
      end = nl < 0 ? buf.length : nl + 1;
    }
    out.push(new Uint8Array(buf.buffer, buf.byteOffset + off, end - off));
    off = end;
  }
  return out;
}

// --config DIR: another rules directory (e.g. a variant without a parser, for an upper bound).
const engine = await DetectionEngine.create({ mode: 'replay', configDir: opt('config'), warn: () => {} });
// As parse-worker.ts: statics only routed events need run after routing (--no-defer: in place).
if (!args.includes('--no-defer')) {
  const set = engine.rules.parsers.set;
  enableDeferral(set, planDeferral(set, engine.scenarios, engine.rules.postoverflows.set), planTails(set, engine.scenarios, engine.rules.postoverflows.set));
}
const writer = new PourRecordWriter(fieldNeeds(engine.scenarios, engine.rules.postoverflows.set), engine.scenarios);
const routes = new PreparedRoutes();
const labels = new Map([['type', type]]);
const parts = batches(readFileSync(file));

const gc = { count: 0, ms: 0, scavenges: 0, markSweeps: 0 };
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    gc.ms += e.duration;
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.scavenges++;
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.markSweeps++;
  }
});
obs.observe({ entryTypes: ['gc'] });


function once(): { lines: number; ms: number; bytes: number } {
  const l0 = engine.counters.lines;
  let bytes = 0;
  const t = cpuMs();
  for (const b of parts) {
    engine.parseBatch(b, file!, labels, (evt) => {
      const r = engine.buckets.routeInto(evt, routes);
      if (r.count > 0) runDeferred(evt);
      writer.add(evt, r);
    }, 'file', true);
    bytes += writer.finish({ lines: 0, parsed: 0, unparsed: 0, whitelisted: 0, dropped: 0 }).byteLength;
  }
  return { lines: engine.counters.lines - l0, ms: cpuMs() - t, bytes };
}

const profile = opt('profile');
const heapProfile = opt('heap-profile');
once(); // warm-up
for (let r = 0; r < runs; r++) {
  const last = r === runs - 1;
  const session = (profile || heapProfile) && last ? new Session() : null;
  if (session) session.connect();
  if (session && profile) {
    await session.post('Profiler.enable');
    // --interval US: sampling period (V8 default 1000 µs; 100 gives ten times the samples).
    if (opt('interval')) await session.post('Profiler.setSamplingInterval', { interval: Number(opt('interval')) });
    await session.post('Profiler.start');
  }
  if (session && heapProfile) {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true,
    } as never);
  }
  await new Promise((res) => setTimeout(res, 10)); // flush GC entries of the previous run
  Object.assign(gc, { count: 0, ms: 0, scavenges: 0, markSweeps: 0 });
  allocStart();
  const x = once();
  const young = allocStop();
  await new Promise((res) => setTimeout(res, 10));
  if (session && profile) {
    const { profile: p } = await session.post('Profiler.stop');
    writeFileSync(profile, JSON.stringify(p));
  }
  if (session && heapProfile) {
    const { profile: p } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(heapProfile, JSON.stringify(p));
  }
  session?.disconnect();
  console.log(`run ${r + 1}: ${x.lines} lines, ${((x.ms * 1000) / x.lines).toFixed(2)} us/line CPU, GC ${gc.count} (${gc.scavenges} scavenges, ${gc.markSweeps} mark-sweeps) ${gc.ms.toFixed(0)} ms = ${((100 * gc.ms) / x.ms).toFixed(1)}% of CPU; records ${(x.bytes / 1e6).toFixed(1)} MB; young-generation allocation ${(young / x.lines).toFixed(0)} B/line`);
}
obs.disconnect();
