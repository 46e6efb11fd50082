/**
 * Start-up of a pooled replay by thread and by part, from the profiles of one run
 * (`node --cpu-prof --cpu-prof-dir DIR --cpu-prof-interval 200 bin/palisade.js replay ...`
 * writes one .cpuprofile per thread: the main thread's and each parse worker's).
 *
 *   node bench/lib/startup-split.mjs DIR [--until first-batch|all]
 *
 * For each profile: when the thread's first batch started (the first sample under the parse
 * worker's parseBatch, or for the main thread under PourBatch apply), in ms since the main
 * thread's profile started (all threads share the monotonic clock), and the CPU it spent
 * before that, split by part: each sample goes to the innermost frame on its stack that names
 * a part (so YAML parsing inside a scenario load counts as YAML). Waiting (atomics wait, idle)
 * is shown apart and not counted as CPU.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const PARTS = [
  ['GC', (f) => f === '(garbage collector)'],
  ['wait/idle', (f) => f === '(idle)' || f === 'atomicsWaitLoop' || f === '(program)'],
  ['YAML parse', (f, u) => /^(parseYamlDocs|readYamlDocs)$/.test(f) || /node_modules\/yaml\//.test(u)],
  ['grok (patterns, compile, disk cache)', (f, u) => /\/grok\/[^/]+\.[jt]s$/.test(u)],
  ['expr compile', (f, u) => /\/expr\/[^/]+\.[jt]s$/.test(u)],
  ['data files', (f, u) => /config\/data-files\.[jt]s$/.test(u)],
  ['GeoIP/ASN', (f, u) => /enrichers\/(geoip|asn-[a-z-]+|geo-memo)\.[jt]s$/.test(u) || /maxmind|mmdb-lib/.test(u)],
  ['WASM (compile, instantiate, tables)', (f, u) => /bindings\/|assembly\//.test(u) || /^WebAssembly|instantiate|compile$/.test(f) && /wasm/i.test(u)],
  ['parser compile (rest)', (f, u) => /config\/parser\.[jt]s$/.test(u) || /parse\/(node|statics|compile)[^/]*\.[jt]s$/.test(u) && f !== 'parseBatch'],
  ['scenario compile (rest)', (f, u) => /config\/scenario\.[jt]s$/.test(u) || /scenarios\/[^/]+\.[jt]s$/.test(u)],
  ['statics deferral plan', (f, u) => /parse\/deferred\.[jt]s$/.test(u)],
  ['rules dir walk (rest)', (f, u) => /config\/rules-dir\.[jt]s$/.test(u)],
  ['module loading (resolve, compile, builtins)', (f, u) => /^node:internal\/(modules|bootstrap)|esm\/|cjs\/|bootstrap\/realm|modules\/helpers/.test(u) || /^(compileSourceTextModule|wrapSafe|compileFunction|compileForInternalLoader)$/.test(f)],
  ['module top-level code', (f) => f === 'evaluate' || f === 'evaluateSync'],
  ['piscina/worker runtime', (f, u) => /piscina|worker_pool|node:internal\/worker|internal\/main\/worker_thread/.test(u)],
];

const args = process.argv.slice(2);
const dir = args[0];
const untilAll = args.includes('--until') && args[args.indexOf('--until') + 1] === 'all';
const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
const profiles = files.map((f) => ({ f, p: JSON.parse(readFileSync(join(dir, f), 'utf8')) }));
const t0 = Math.min(...profiles.map((x) => x.p.startTime));

for (const { f, p } of profiles) {
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const partOf = new Map();
  const firstOf = new Map();
  const classify = (id) => {
    if (partOf.has(id)) return partOf.get(id);
    let part = 'other';
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur).callFrame;
      const hit = PARTS.find(([, t]) => t(cf.functionName, cf.url));
      if (hit) { part = hit[0]; break; }
    }
    partOf.set(id, part);
    return part;
  };
  const isFirstBatch = (id) => {
    if (firstOf.has(id)) return firstOf.get(id);
    let yes = false;
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur).callFrame;
      if (cf.functionName === 'parseBatch' && /workers\/parse-worker/.test(cf.url)) { yes = true; break; }
      if (cf.functionName === 'apply' && /pipeline\/pour-records/.test(cf.url)) { yes = true; break; }
    }
    firstOf.set(id, yes);
    return yes;
  };
  let t = p.startTime;
  let firstAt = null;
  const ms = new Map();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    const id = p.samples[i];
    if (firstAt === null && isFirstBatch(id)) {
      firstAt = t;
      if (!untilAll) break;
    }
    const part = classify(id);
    ms.set(part, (ms.get(part) ?? 0) + dt / 1000);
  }
  const cpu = [...ms].filter(([k]) => k !== 'wait/idle').reduce((n, [, v]) => n + v, 0);
  const kind = /\.0\.001\./.test(f) || p.nodes.some((x) => x.callFrame.functionName === 'replayFiles') ? 'main' : 'worker';
  console.log(`${f} (${kind}): started ${((p.startTime - t0) / 1000).toFixed(0)} ms, first batch at ${firstAt === null ? '-' : ((firstAt - t0) / 1000).toFixed(0) + ' ms'}; CPU before it ${cpu.toFixed(0)} ms${untilAll ? ' (whole run)' : ''}`);
  for (const [k, v] of [...ms].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(44)} ${v.toFixed(0).padStart(5)} ms${k === 'wait/idle' ? '' : `  ${(100 * v / cpu).toFixed(1)}%`}`);
}
