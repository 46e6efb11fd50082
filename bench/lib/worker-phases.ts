/**
 * Where a parse worker's CPU goes, by phase: the loop of worker-path.ts run cumulatively,
 * each variant on the same batches in turn (round-robin, so a shared machine's load falls
 * on all alike), CPU µs per line (user+sys, GC included):
 *
 *   parse   engine.parseBatch only (the callback returns at once)
 *   route   + buckets.routeInto
 *   defer   + runDeferred for routed events (deferred statics and request-split tails)
 *   write   + PourRecordWriter.add / finish: the whole worker path
 *
 * Differences between consecutive columns are the phases' costs. One engine serves all
 * variants (its memos are warm for all), so a phase's cost includes none of the others'.
 *
 *   node --max-semi-space-size=4 --import tsx bench/lib/worker-phases.ts FILE TYPE [--rounds 3]
 *        [--dist DIST_DIR] [--config RULES_DIR]
 */
import { readFileSync } from 'node:fs';
import { arg } from './args.js';
import { cpuMs } from './measure.js';
import { loadWorkerBuild } from './worker-build.js';

const args = process.argv.slice(2);
const [file, type] = args;
if (!file || !type) {
  console.error('usage: bench/lib/worker-phases.ts FILE TYPE [--rounds 3] [--dist DIR] [--config RULES_DIR]');
  process.exit(2);
}
const rounds = Number(arg(args, 'rounds') ?? 3);
const dist = arg(args, 'dist');
const { engine, writer, routes, runDeferred, batchBytes: POOL_BATCH_BYTES } = await loadWorkerBuild(dist ?? null, { configDir: arg(args, 'config') });
const labels = new Map([['type', type]]);

const buf = readFileSync(file);
const parts: Uint8Array[] = [];
for (let off = 0; off < buf.length;) {
  let end = Math.min(buf.length, off + POOL_BATCH_BYTES);
  if (end < buf.length) {
    const nl = buf.indexOf(10, end);
    end = nl < 0 ? buf.length : nl + 1;
  }
  parts.push(new Uint8Array(buf.buffer, buf.byteOffset + off, end - off));
  off = end;
}

const PHASES = ['parse', 'route', 'defer', 'write'] as const;
const NO_COUNTS = { lines: 0, parsed: 0, unparsed: 0, whitelisted: 0, dropped: 0 };

/** CPU ms of one batch through the phases up to `upTo`. */
function batch(b: Uint8Array, upTo: number): number {
  const t = cpuMs();
  engine.parseBatch(b, file!, labels, (evt) => {
    if (upTo < 1) return;
    const r = engine.buckets.routeInto(evt, routes);
    if (upTo < 2) return;
    if (r.count > 0) runDeferred(evt);
    if (upTo < 3) return;
    writer.add(evt, r);
  }, 'file', true);
  if (upTo >= 3) writer.finish(NO_COUNTS);
  return cpuMs() - t;
}

const lines = (() => {
  const l0 = engine.counters.lines;
  for (const b of parts) batch(b, 3); // warm-up: every phase
  return engine.counters.lines - l0;
})();
const ms = PHASES.map(() => [] as number[]);
for (let r = 0; r < rounds; r++) {
  const sum = PHASES.map(() => 0);
  parts.forEach((b, i) => {
    // Round-robin with a rotating start: no phase always runs first.
    for (let k = 0; k < PHASES.length; k++) {
      const p = (i + r + k) % PHASES.length;
      sum[p] += batch(b, p);
    }
  });
  sum.forEach((v, p) => ms[p]!.push((v * 1000) / lines));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const med = ms.map(median);
console.log(`${lines} lines, ${rounds} rounds, CPU us/line (median; cumulative, then the phase alone):`);
PHASES.forEach((p, i) => {
  const own = i === 0 ? med[0]! : med[i]! - med[i - 1]!;
  console.log(`  ${p.padEnd(6)} ${med[i]!.toFixed(2).padStart(6)}  ${own.toFixed(2).padStart(6)}   [${ms[i]!.map((x) => x.toFixed(2)).join(' ')}]`);
});
