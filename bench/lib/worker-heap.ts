/**
 * A pool worker's live heap over a whole file: the worker's per-batch code path
 * (src/workers/parse-worker.ts, as bench/lib/worker-path.ts runs it) in-process, with a full
 * GC every `--every` batches and the heap used after it, so what stays live (rules, memos,
 * caches) is told apart from garbage that V8 has not collected yet (which is what
 * `--trace-gc`'s "used after" of scavenges mostly shows).
 *
 *   node --expose-gc --max-semi-space-size=4 --import tsx bench/lib/worker-heap.ts FILE TYPE
 *        [--every 100] [--no-filter-memo] [--snapshot OUT.heapsnapshot]
 *
 * --no-filter-memo runs the scenario filters without their memo (scenarios/filter-memo.ts):
 * the difference of the two runs' live heaps is what the memo holds. --snapshot writes a heap
 * snapshot when the live heap is at its largest (for DevTools' Memory tab).
 */
import { createReadStream } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import { DetectionEngine } from '../../src/pipeline/engine.js';
import { PourRecordWriter } from '../../src/pipeline/pour-records.js';
import { fieldNeeds } from '../../src/pipeline/field-needs.js';
import { PreparedRoutes } from '../../src/scenarios/engine.js';
import { POOL_BATCH_BYTES } from '../../src/pipeline/replay.js';
import { batchLines } from '../../src/pipeline/batcher.js';
import { arg } from './args.js';
import { cpuMs } from './measure.js';

const args = process.argv.slice(2);
const [file, type] = args;
if (!file || !type) {
  console.error('usage: bench/lib/worker-heap.ts FILE TYPE [--every 100] [--no-filter-memo] [--snapshot OUT]');
  process.exit(2);
}
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('worker-heap: run node with --expose-gc');
  process.exit(2);
}
const every = Number(arg(args, 'every') ?? 100);
const snapshot = arg(args, 'snapshot');
const filterMemo = !args.includes('--no-filter-memo');

const mb = (n: number): string => (n / 1e6).toFixed(1);
const live = (): number => {
  gc();
  return process.memoryUsage().heapUsed;
};

const before = live();
const engine = await DetectionEngine.create({ mode: 'replay', warn: () => {}, filterMemo });
const writer = new PourRecordWriter(fieldNeeds(engine.scenarios, engine.rules.postoverflows.set), engine.scenarios);
const routes = new PreparedRoutes();
const labels = new Map([['type', type]]);
const loaded = live();
console.log(`heap live: ${mb(before)} MB before the rules, ${mb(loaded)} MB with them (filter memo ${filterMemo ? 'on' : 'off'})`);

let batches = 0;
let max = loaded;
let maxAt = 0;
let cpu = 0;
for await (const b of batchLines(createReadStream(file), { batchBytes: POOL_BATCH_BYTES })) {
  const t = cpuMs();
  engine.parseBatch(new Uint8Array(b.bytes), file, labels, (evt) => {
    writer.add(evt, engine.buckets.routeInto(evt, routes));
  }, 'file', true);
  writer.finish({ lines: 0, parsed: 0, unparsed: 0, whitelisted: 0, dropped: 0 });
  cpu += cpuMs() - t;
  if (++batches % every !== 0) continue;
  const h = live();
  const memo = engine.buckets.filterMemoStats;
  console.log(`batch ${batches} lines ${engine.counters.lines}: live ${mb(h)} MB (rules ${mb(loaded)} + ${mb(h - loaded)})` +
    (memo ? `, filter memo clears ${memo.clears} pauses ${memo.pauses}` : ''));
  if (h > max) {
    max = h;
    maxAt = engine.counters.lines;
    if (snapshot) writeHeapSnapshot(snapshot);
  }
}
const end = live();
console.log(`end: ${engine.counters.lines} lines, live ${mb(end)} MB; max ${mb(max)} MB at line ${maxAt}; ` +
  `${((cpu * 1000) / engine.counters.lines).toFixed(2)} us/line CPU (with the GCs)`);
