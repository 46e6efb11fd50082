/**
 * In-process A/B of a pooled replay's start-up between builds (compiled dist/ trees): per run,
 * what runReplay does before the first batches come back — the pouring side's rules load
 * (DetectionEngine.create, role 'pour'), ParsePool.create, then one small batch per worker —
 * timed by thread. Builds alternate run by run, so a shared machine's load falls on both alike.
 *
 *   node bench/lib/pool-startup.mjs ROOT_A ROOT_B [--runs 6] [--workers 2] [--log FILE] [--type syslog]
 *        [--config DIR] [--batch-bytes 65536]
 *
 * ROOT: a worktree whose dist/ is built (e.g. /work/wt/base and .). Per run it prints, in ms:
 *   main load  CPU of this thread in DetectionEngine.create (its modules stay loaded and warm
 *              after the first run of a build, unlike a real start: compare builds, not with a CLI run)
 *   pool       CPU of this thread in ParsePool.create (GeoIP export, rule documents)
 *   workers    CPU of the workers' threads from their start to their first result (module
 *              loading, rules load, one batch), summed over the workers
 *   helpers    the rest of the process CPU in that time (V8 compiler and GC helper threads, libuv)
 *   first      wall from ParsePool.create to the last worker's first result
 * Thread CPU: /proc/<tid>/schedstat (ns); worker threads are the threads that appeared after
 * ParsePool.create. Medians per build at the end.
 */
import { readdirSync, readFileSync, openSync, readSync, closeSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(`--${k}`) ? args[args.indexOf(`--${k}`) + 1] : d);
const roots = args.filter((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1].startsWith('--')));
if (roots.length < 1) {
  console.error('usage: bench/lib/pool-startup.mjs ROOT_A [ROOT_B] [--runs 6] [--workers 2] [--log FILE] [--type syslog] [--config DIR]');
  process.exit(2);
}
const runs = Number(opt('runs', 6));
const workers = Number(opt('workers', 2));
const log = opt('log', '.cache/bench/sshd-1000000-s20260105.log');
const type = opt('type', 'syslog');
const configDir = opt('config', undefined);
const batchBytes = Number(opt('batch-bytes', 65536));

/** The first whole lines of the log, about batchBytes of them. */
function firstLines() {
  const fd = openSync(log, 'r');
  const buf = Buffer.alloc(batchBytes);
  const n = readSync(fd, buf, 0, batchBytes, 0);
  closeSync(fd);
  const end = buf.subarray(0, n).lastIndexOf(10) + 1;
  return buf.subarray(0, end);
}
const lines = firstLines();

const ns = (tid) => {
  try { return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1').split(' ')[0]); } catch { return 0; }
};
const tids = () => new Set(readdirSync('/proc/self/task'));
const selfCpu = () => Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
const procCpu = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1000; };

async function build(root) {
  const at = (m) => import(pathToFileURL(resolve(root, 'dist', m)).href);
  const [pool, engine, enrichers] = await Promise.all([at('pipeline/pool.js'), at('pipeline/engine.js'), at('parse/enrichers/index.js')]);
  return { root, pool, engine, enrichers };
}

async function once(b) {
  const warm = b.pool.loadTimeTierUp();
  const c0 = selfCpu();
  const engine = await b.engine.DetectionEngine.create({ configDir, mode: 'replay', role: 'pour', warn: () => {} });
  const c1 = selfCpu();
  const geo = [...engine.rules.parserMethods].some((m) => b.enrichers.GEOIP_METHODS.has(m));
  const before = tids();
  const p0 = procCpu();
  const t0 = performance.now();
  const pool = await b.pool.ParsePool.create({ workers, configDir, geo, warn: () => {} });
  const c2 = selfCpu();
  const src = '/startup.log';
  // One batch per worker, submitted together: each worker's first task waits for its rules.
  async function* batches() { for (let i = 0; i < workers; i++) { const copy = new Uint8Array(lines); yield { seq: i, bytes: copy.buffer }; } }
  for await (const _ of pool.parse(batches(), src, new Map([['type', type]]))) { /* first results */ }
  const t1 = performance.now();
  const c3 = selfCpu();
  const p1 = procCpu();
  let w = 0;
  let nw = 0;
  for (const tid of tids()) if (!before.has(tid)) { w += ns(tid); nw++; }
  warm.end();
  await pool.close();
  const mainPool = (c2 - c1) / 1e6;
  const mainAfter = (c3 - c2) / 1e6;
  return { load: (c1 - c0) / 1e6, pool: mainPool, workers: w / 1e6, helpers: (p1 - p0) / 1e6 - mainPool - mainAfter - w / 1e6, first: t1 - t0, threads: nw };
}

const builds = [];
for (const r of roots) builds.push(await build(r));
const results = new Map(builds.map((b) => [b.root, []]));
const f = (x) => x.toFixed(0).padStart(5);
for (let i = 0; i < runs; i++) {
  const order = i % 2 === 0 ? builds : [...builds].reverse();
  for (const b of order) {
    const r = await once(b);
    results.get(b.root).push(r);
    console.log(`run ${i} ${b.root.padEnd(16)} main load ${f(r.load)}  pool ${f(r.pool)}  workers ${f(r.workers)} (x${r.threads})  helpers ${f(r.helpers)}  first ${f(r.first)} ms`);
  }
}
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
for (const [root, rs] of results) {
  const m = (k) => f(med(rs.map((r) => r[k])));
  console.log(`median ${root.padEnd(16)} main load ${m('load')}  pool ${m('pool')}  workers ${m('workers')}  helpers ${m('helpers')}  first ${m('first')} ms (${rs.length} runs, first run included)`);
}
