/**
 * Splits a main-thread CPU profile (`node --cpu-prof`, or bench/lib/main-side.ts --profile)
 * into the main thread's stages: each sample goes to the innermost frame on its stack that
 * names a stage (GC and idle as V8 reports them). Prints ms and shares of the busy time.
 *
 *   node bench/lib/profile-split.mjs FILE.cpuprofile [--per-line N --thread-us X]
 *     --per-line N with --thread-us X: also µs/line, scaling the shares to X µs/line of thread CPU.
 */
import { readFileSync } from 'node:fs';

const STAGES = [
  // [stage, test on "function file"] — innermost match wins, so nested stages come first here only for ties.
  ['GC', (f) => f === '(garbage collector)'],
  ['idle', (f) => f === '(idle)' || f === '(program)'],
  ['bucket table calls', (f, u) => /scenarios\/engine\.[jt]s$/.test(u) && /^(pourChunk|sweepInto|removeFromTable)$/.test(f) || /bindings\/buckets-(core|wasm)/.test(u)],
  ['overflow/alert building', (f, u) => /scenarios\/engine\.[jt]s$/.test(u) && f === 'finishOverflow' || /pipeline\/engine\.[jt]s$/.test(u) && f === 'handleOverflows'],
  ['profiles', (f, u) => /pipeline\/sink\.[jt]s$/.test(u) && f === 'add'],
  ['store writes (SinkQueue flush, LMDB)', (f, u) => /pipeline\/sink\.[jt]s$/.test(u) && f === 'flush' || /lmdb\//.test(u) && /executeTxnCallbacks|writeInstructions|commit|finishTxn/.test(f) || /decisions\/store\.[jt]s$/.test(u) && /addAlerts|releaseMappedPages|write/.test(f)],
  ['batch receipt/decoding (PourBatch.read)', (f, u) => /pipeline\/pour-records\.[jt]s$/.test(u) && f === 'read'],
  ['pour application (records -> events, outcomes)', (f, u) => /pipeline\/pour-records\.[jt]s$/.test(u) && /^(apply|forEach)$/.test(f)],
  ['input (file read, batching)', (f, u) => /pipeline\/batcher\.[jt]s$/.test(u) || /pipeline\/replay\.[jt]s$/.test(u) && f === 'countBytes' || /internal\/(fs\/streams|streams\/readable)/.test(u)],
  ['pool (submit, transfer)', (f, u) => /pipeline\/pool\.[jt]s$/.test(u) && f === 'submit' || /piscina|worker_pool|dist\/index\.js/.test(u) && !/palisade/.test(u)],
  ['start-up (rules, workers, geo)', (f, u) => /^(create|loadRulesDir|loadScenarioFiles|openGeoSources|compileSourceTextModule)$/.test(f)],
];

const args = process.argv.slice(2);
const p = JSON.parse(readFileSync(args[0], 'utf8'));
const perLine = args.includes('--per-line') ? Number(args[args.indexOf('--per-line') + 1]) : 0;
const threadUs = args.includes('--thread-us') ? Number(args[args.indexOf('--thread-us') + 1]) : 0;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const memo = new Map();
const stageOf = (id) => {
  if (memo.has(id)) return memo.get(id);
  let s = 'other';
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const cf = byId.get(cur).callFrame;
    const hit = STAGES.find(([, test]) => test(cf.functionName, cf.url));
    if (hit) { s = hit[0]; break; }
  }
  memo.set(id, s);
  return s;
};
const ms = new Map();
for (let i = 0; i < p.samples.length; i++) {
  const s = stageOf(p.samples[i]);
  ms.set(s, (ms.get(s) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
}
const busy = [...ms].filter(([s]) => s !== 'idle').reduce((a, [, v]) => a + v, 0);
console.log(`busy ${busy.toFixed(0)} ms`);
for (const [s, v] of [...ms].filter(([s]) => s !== 'idle').sort((a, b) => b[1] - a[1])) {
  const share = v / busy;
  console.log(`${v.toFixed(0).padStart(7)} ms ${(100 * share).toFixed(1).padStart(5)}%  ${s}${perLine && threadUs ? `  ~${(share * threadUs).toFixed(2)} us/line` : ''}`);
}
