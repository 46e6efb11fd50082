/**
 * In-process A/B of a parse worker's code path (the loop of worker-path.ts) between two
 * builds, e.g. a baseline worktree's dist/ and this one's. Both engines live in one process
 * and take the same batches in turn (which one goes first alternates per batch), so the
 * load of a shared machine falls on both alike: separate runs of worker-path.ts moved
 * ±15% between runs on a busy VM, this ratio about ±4% per round.
 *
 *   node --max-semi-space-size=4 --import tsx bench/lib/worker-ab.ts FILE TYPE A_DIST B_DIST [--rounds 6]
 *
 * `--no-defer DIR`: that build runs all parser statics in place (deferred.ts off).
 * A_DIST / B_DIST: compiled trees (`npx tsc -p tsconfig.build.json` writes dist/). Reports
 * CPU µs per line of each (user+sys of the process while that engine ran, GC included) per
 * round after a warm-up round, and B/A per round. Both heaps share one V8: a collection
 * triggered by one is charged to whichever runs at that moment.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { arg } from './args.js';

const args = process.argv.slice(2);
const [file, type, aDir, bDir] = args;
if (!file || !type || !aDir || !bDir) {
  console.error('usage: bench/lib/worker-ab.ts FILE TYPE A_DIST B_DIST [--rounds 6]');
  process.exit(2);
}
const rounds = Number(arg(args, 'rounds') ?? 6);
/** `--no-defer DIR`: that build runs every parser static in place (A/B of the deferral alone). */
const noDefer = args.flatMap((a, i) => (a === '--no-defer' ? [args[i + 1]!] : []));

interface Variant {
  run(batch: Uint8Array): void;
  lines(): number;
  batchBytes: number;
}

/** One build's engine, writer and routes, as a pool worker holds them. */
async function load(dir: string): Promise<Variant> {
  const at = (m: string): string => pathToFileURL(resolve(dir, m)).href;
  // Typed as this tree's modules: the other build has the same API (or the A/B is moot).
  const { DetectionEngine } = (await import(at('pipeline/engine.js'))) as typeof import('../../src/pipeline/engine.js');
  const { PourRecordWriter } = (await import(at('pipeline/pour-records.js'))) as typeof import('../../src/pipeline/pour-records.js');
  const { fieldNeeds } = (await import(at('pipeline/field-needs.js'))) as typeof import('../../src/pipeline/field-needs.js');
  const { PreparedRoutes } = (await import(at('scenarios/engine.js'))) as typeof import('../../src/scenarios/engine.js');
  const { POOL_BATCH_BYTES } = (await import(at('pipeline/replay.js'))) as typeof import('../../src/pipeline/replay.js');
  const engine = await DetectionEngine.create({ mode: 'replay', warn: () => {} });
  // As parse-worker.ts, for a build that has deferred statics (older builds have none).
  let runDeferred: (evt: Parameters<typeof import('../../src/parse/deferred.js').runDeferred>[0]) => void = () => {};
  const deferred = (await import(at('parse/deferred.js')).catch(() => null)) as typeof import('../../src/parse/deferred.js') | null;
  if (deferred && !noDefer.includes(dir)) {
    const { enableDeferral } = (await import(at('parse/stages.js'))) as typeof import('../../src/parse/stages.js');
    const set = engine.rules.parsers.set;
    const post = engine.rules.postoverflows.set;
    // Builds before the children tails (planTails) defer statics only.
    enableDeferral(set, deferred.planDeferral(set, engine.scenarios, post), deferred.planTails?.(set, engine.scenarios, post) ?? []);
    runDeferred = deferred.runDeferred;
  }
  const writer = new PourRecordWriter(fieldNeeds(engine.scenarios, engine.rules.postoverflows.set), engine.scenarios);
  const routes = new PreparedRoutes();
  const labels = new Map([['type', type!]]);
  return {
    run(batch) {
      engine.parseBatch(batch, file!, labels, (evt) => {
        const r = engine.buckets.routeInto(evt, routes);
        if (r.count > 0) runDeferred(evt);
        writer.add(evt, r);
      }, 'file', true);
      writer.finish({ lines: 0, parsed: 0, unparsed: 0, whitelisted: 0, dropped: 0 });
    },
    lines: () => engine.counters.lines,
    batchBytes: POOL_BATCH_BYTES,
  };
}

const A = await load(aDir);
const B = await load(bDir);
const buf = readFileSync(file);
const parts: Uint8Array[] = [];
for (let off = 0; off < buf.length;) {
  let end = Math.min(buf.length, off + A.batchBytes);
  if (end < buf.length) {
    const nl = buf.indexOf(10, end);
    end = nl < 0 ? buf.length : nl + 1;
  }
  parts.push(new Uint8Array(buf.buffer, buf.byteOffset + off, end - off));
  off = end;
}

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const perLine = { a: [] as number[], b: [] as number[] };
for (let r = 0; r <= rounds; r++) {
  let ta = 0;
  let tb = 0;
  const la = A.lines();
  const lb = B.lines();
  for (let i = 0; i < parts.length; i++) {
    const aFirst = (i + r) % 2 === 0;
    for (const v of aFirst ? [A, B] : [B, A]) {
      const t = cpuUs();
      v.run(parts[i]!);
      const d = cpuUs() - t;
      if (v === A) ta += d;
      else tb += d;
    }
  }
  if (r === 0) continue; // warm-up (JIT)
  perLine.a.push(ta / (A.lines() - la));
  perLine.b.push(tb / (B.lines() - lb));
}

const median = (x: readonly number[]): number => {
  const s = [...x].sort((p, q) => p - q);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: readonly number[]): string => x.map((v) => v.toFixed(2)).join(' ');
const ratio = perLine.b.map((x, i) => x / perLine.a[i]!);
console.log(`A ${aDir}: us/line min ${Math.min(...perLine.a).toFixed(2)} median ${median(perLine.a).toFixed(2)} [${fmt(perLine.a)}]`);
console.log(`B ${bDir}: us/line min ${Math.min(...perLine.b).toFixed(2)} median ${median(perLine.b).toFixed(2)} [${fmt(perLine.b)}]`);
console.log(`B/A per round: median ${median(ratio).toFixed(3)} [${ratio.map((v) => v.toFixed(3)).join(' ')}]`);
