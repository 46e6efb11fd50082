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
import { arg } from './args.js';
import { loadWorkerBuild } from './worker-build.js';

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

/** One build's engine, writer and routes, as a pool worker holds them (worker-build.ts). */
async function load(dir: string): Promise<Variant> {
  const w = await loadWorkerBuild(dir, { defer: !noDefer.includes(dir) });
  const labels = new Map([['type', type!]]);
  return {
    run(batch) {
      w.run(batch, file!, labels);
    },
    lines: () => w.engine.counters.lines,
    batchBytes: w.batchBytes,
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
