/**
 * `npm run bench:micro`: tinybench micro benchmarks of the pieces of the pipeline that are not
 * another engineer's (the scanner, prefilter and IP set benchmarks live beside their code):
 *
 *   grok       one hub pattern matched against real lines (syslog header, sshd failure, nginx
 *              combined): lines/s, hits and misses mixed as in the logs
 *   expr       compiled scenario filters of the hub (ssh-bf, http-probing, the File() + any()
 *              filter of http-sensitive-files) evaluated on parsed events: evaluations/s
 *   buckets    BucketEngine pours of parsed sshd and nginx events into a fresh engine with the
 *              hub scenarios: events/s (filters, groupby, leaky maths, overflows included);
 *              the same routes as pour records into the WASM bucket table and its TS twin
 *              (src/bindings/buckets-*.ts): pours/s (key hashing included, routing not)
 *   lmdb       Store.addAlerts with one ban decision each (batches of 1,000, noSync), and
 *              Store reads: decisions of one IP (address index) and countDecisions(value)
 *
 * Each task is a named scenario; setup (rules, parsing the sample events, filling the store)
 * runs before the timed part, and results are items/s (a task that handles a batch of N items
 * per call reports calls/s × N). The inputs are the first lines of the seeded logs of
 * fixtures/generate-large.ts (setup generates a 100k-line pair if missing).
 *
 *   node --import tsx bench/micro.bench.ts [--time 1000] [--filter SUBSTRING] [--out bench/results]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { DEFAULT_BENCH_DIR, DEFAULT_SEED, ensureLargeLog } from '../fixtures/generate-large.js';
import { debianReference } from '../test/support/debian.js';
import { PatternLibrary, compileGrok } from '../src/grok/index.js';
import { compileFilter } from '../src/expr/index.js';
import { DetectionEngine } from '../src/pipeline/engine.js';
import { BucketEngine, cancelOf, distinctOf, replayClock } from '../src/scenarios/engine.js';
import { BK, bucketConfigOf, type BucketBatchTable, type BucketScenarioConfig } from '../src/bindings/buckets-core.js';
import { createWasmBucketTable } from '../src/bindings/buckets-wasm.js';
import { BucketTableTwin } from '../src/bindings/bucket-table-twin.js';
import { nowGo } from '../src/core/gotime.js';
import { Store } from '../src/decisions/store.js';
import type { AlertInput, DecisionInput } from '../src/decisions/records.js';
import type { PEvent } from '../src/core/event.js';
import { hubDataDir, palisadeHubConfig } from './lib/hub-rules.js';
import { fmtInt, machineInfo, machineLine, table } from './lib/machine.js';
import { arg } from './lib/args.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLE = 100_000;

interface Scenario {
  name: string;
  /** Items handled by one call of fn. */
  items: number;
  unit: string;
  fn: () => void | Promise<void>;
  beforeEach?: () => void | Promise<void>;
}


/** Cycles through `xs`: each call gets the next element (keeps inputs varied, no allocation). */
function cycler<T>(xs: readonly T[]): () => T {
  let i = 0;
  return () => {
    const x = xs[i]!;
    i = i + 1 === xs.length ? 0 : i + 1;
    return x;
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const time = Number(arg(args, 'time') ?? 1000);
  const only = arg(args, 'filter');
  const outDir = resolve(arg(args, 'out') ?? join(ROOT, 'bench', 'results'));
  const ref = debianReference();
  if (!ref) throw new Error('the Debian crowdsec tree is missing (scripts/setup-reference.sh): the micro benchmarks use its hub rules');
  const machine = machineInfo(ROOT);
  const work = mkdtempSync(join(tmpdir(), 'palisade-micro-'));
  const scenarios: Scenario[] = [];
  let store: Store | null = null;
  try {
    // ---- setup: sample lines, hub rules, parsed events -------------------------------------
    const read = (f: string): string[] => readFileSync(f, 'utf8').split('\n').filter(Boolean);
    const sshdLines = read(await ensureLargeLog('sshd', SAMPLE, DEFAULT_SEED, DEFAULT_BENCH_DIR, (m) => console.log(m)));
    const nginxLines = read(await ensureLargeLog('nginx', SAMPLE, DEFAULT_SEED, DEFAULT_BENCH_DIR, (m) => console.log(m)));
    const cfg = palisadeHubConfig(ref, work, hubDataDir(ref, work));
    const engine = await DetectionEngine.create({ configDir: cfg, mode: 'replay', warn: () => {} });
    const parse = (lines: string[], type: string): PEvent[] => {
      const labels = new Map([['type', type]]);
      return lines.map((l) => engine.parseLine(l, 'bench', labels)).filter((e): e is PEvent => e !== null);
    };
    const sshdEvents = parse(sshdLines.slice(0, 20_000), 'syslog');
    const nginxEvents = parse(nginxLines.slice(0, 20_000), 'nginx');

    // ---- grok ------------------------------------------------------------------------------
    const lib = PatternLibrary.withBuiltins();
    lib.loadDir(ref.patterns);
    const messages = sshdLines.slice(0, 10_000).map((l) => l.replace(/^\S+ +\S+ \S+ \S+ [^:]+: /, ''));
    const groks: [string, string, string[]][] = [
      ['grok SYSLOGLINE (syslog-logs) on sshd lines', '^%{SYSLOGLINE}', sshdLines.slice(0, 10_000)],
      ['grok SSHD_FAIL (sshd-logs) on sshd messages', '%{SSHD_FAIL}', messages],
      ['grok nginx-logs access pattern on nginx lines', readFileSync(join(ref.hub, 'parsers/s01-parse/crowdsecurity/nginx-logs.yaml'), 'utf8').match(/pattern: '(\(%\{IPORHOST:target_fqdn\} \)\?%\{IPORHOST:remote_addr\} - [^\n]*)'\n/)![1]!, nginxLines.slice(0, 10_000)],
    ];
    for (const [name, pattern, input] of groks) {
      const g = compileGrok(pattern, lib);
      const next = cycler(input);
      const hits = input.filter((l) => g.match(l) !== null).length;
      console.log(`${name}: ${hits}/${input.length} sample lines match`);
      scenarios.push({ name, items: 1000, unit: 'lines', fn: () => { for (let i = 0; i < 1000; i++) g.match(next()); } });
    }

    // ---- expr filters ------------------------------------------------------------------------
    const filter = (file: string): string => {
      const m = readFileSync(join(ref.hub, 'scenarios', file), 'utf8').match(/^filter: (["'])(.*)\1$/m);
      if (!m) throw new Error(`no filter line in ${file}`);
      return m[1] === "'" ? m[2]!.replace(/''/g, "'") : m[2]!.replace(/\\"/g, '"');
    };
    const exprs: [string, string, PEvent[]][] = [
      ['expr ssh-bf filter on sshd events', filter('crowdsecurity/ssh-bf.yaml'), sshdEvents],
      ['expr http-probing filter on nginx events', filter('crowdsecurity/http-probing.yaml'), nginxEvents],
      ['expr http-sensitive-files filter (File + any) on nginx events', filter('crowdsecurity/http-sensitive-files.yaml'), nginxEvents],
    ];
    for (const [name, src, events] of exprs) {
      const f = compileFilter(src, { env: ['evt'], helpers: engine.rules.helpers });
      const envs = events.map((evt) => ({ evt }));
      const next = cycler(envs);
      console.log(`${name}: ${envs.filter((e) => f(e)).length}/${envs.length} sample events pass`);
      scenarios.push({ name, items: 1000, unit: 'evals', fn: () => { for (let i = 0; i < 1000; i++) f(next()); } });
    }

    // ---- bucket pours --------------------------------------------------------------------------
    // A fresh engine per call (made outside the timed part): pours always see the same,
    // time-ordered history, as in a replay.
    for (const [name, events] of [['buckets pour sshd events (hub scenarios)', sshdEvents], ['buckets pour nginx events (hub scenarios)', nginxEvents]] as const) {
      let be: BucketEngine | null = null;
      const probe = new BucketEngine(engine.scenarios, { mode: 'replay', now: nowGo });
      let overflows = 0;
      for (const e of events) overflows += probe.pour(e).length;
      console.log(`${name}: ${events.length} events, ${overflows} overflows, ${probe.stats.created} buckets created`);
      scenarios.push({
        name, items: events.length, unit: 'events',
        beforeEach: () => { be = new BucketEngine(engine.scenarios, { mode: 'replay', now: nowGo }); },
        fn: () => { for (const e of events) be!.pour(e); },
      });
    }

    // The same pours as (scenario, key, time) records into the bucket table (assembly/buckets.ts)
    // and its TS twin: routed, clocked and distinct/cancel_on evaluated outside the timed part
    // (as the parse side would), keys hashed inside it, one pour() per 8,192 records.
    // conditional / bayesian scenarios stay in JS and are left out (none in these rules' routes).
    for (const [log, events] of [['sshd', sshdEvents], ['nginx', nginxEvents]] as const) {
      const specs = engine.scenarios;
      const tableIndex = new Map<number, number>();
      const configs: BucketScenarioConfig[] = [];
      specs.forEach((spec, i) => {
        const c = bucketConfigOf(spec, 'replay');
        if (c) { tableIndex.set(i, configs.length); configs.push(c); }
      });
      const probe = new BucketEngine(specs, { mode: 'replay', now: nowGo });
      const recs: { s: number; key: string; sec: number; nsec: number; distinct: string | null; cancel: boolean }[] = [];
      let skipped = 0;
      for (const evt of events) {
        const now = replayClock(evt);
        if (!now) continue;
        for (const [i, key] of probe.route(evt)) {
          const s = tableIndex.get(i);
          if (s === undefined) { skipped++; continue; }
          const spec = specs[i]!;
          recs.push({ s, key, sec: now.unixSec, nsec: now.nsec, distinct: distinctOf(spec, { evt }), cancel: cancelOf(spec, { evt }) === true });
        }
      }
      for (const [impl, make] of [['WASM', () => createWasmBucketTable(configs, 1_000_000)], ['TS twin', () => new BucketTableTwin(configs, 1_000_000)]] as const) {
        const t: BucketBatchTable = make();
        const pourAll = (): number => {
          let overflows = 0;
          for (let off = 0; off < recs.length; off += BK.MAX_BATCH) {
            const n = Math.min(BK.MAX_BATCH, recs.length - off);
            for (let j = 0; j < n; j++) {
              const r = recs[off + j]!;
              t.setPourKey(j, r.s, r.key, r.sec, r.nsec, r.distinct, r.cancel);
            }
            const out = t.pour(n);
            for (let j = 0; j < n; j++) if (out[4 * j]! & BK.OVERFLOW) overflows++;
          }
          return overflows;
        };
        const name = `bucket pours ${log}: ${impl} table, batches of ${BK.MAX_BATCH}`;
        console.log(`${name}: ${recs.length} pours from ${events.length} events (${skipped} routes to JS-only scenarios left out), ${pourAll()} overflows`);
        scenarios.push({ name, items: recs.length, unit: 'pours', beforeEach: () => t.reset(), fn: () => { pourAll(); } });
      }
    }

    // ---- LMDB store ------------------------------------------------------------------------------
    store = Store.open(join(work, 'store'), { noSync: true });
    const t0 = Date.now();
    let n = 0;
    const batch = (k: number): { alert: AlertInput; decisions: DecisionInput[] }[] => Array.from({ length: k }, () => {
      const i = n++;
      const ip = `${(i >>> 16) & 255 | 16}.${(i >>> 8) & 255}.${i & 255}.${(i * 7) & 255}`;
      const at = new Date(t0 + i).toISOString();
      return {
        alert: { scenario: 'crowdsecurity/ssh-bf', scenario_hash: '', scenario_version: '', message: `Ip ${ip} performed 'crowdsecurity/ssh-bf' (6 events)`,
          events_count: 6, start_at: at, stop_at: at, capacity: 5, leakspeed: '10s', simulated: false, remediation: true,
          source: { scope: 'Ip', value: ip, ip }, events: null },
        decisions: [{ origin: 'crowdsec', type: 'ban', scope: 'Ip', value: ip, scenario: 'crowdsecurity/ssh-bf', duration: '4h' }],
      };
    });
    const st = store;
    scenarios.push({ name: 'lmdb addAlerts, 1 ban decision each (batches of 1000, noSync)', items: 1000, unit: 'alerts', fn: async () => { await st.addAlerts(batch(1000)); } });
    // Reads: a fixed store of 100k decisions, queried by random IPs (half of them present).
    await st.addAlerts(batch(100_000));
    const present = Array.from({ length: 4096 }, (_, i) => `${((i * 24) >>> 16) & 255 | 16}.${((i * 24) >>> 8) & 255}.${(i * 24) & 255}.${((i * 24) * 7) & 255}`);
    const queries = present.map((ip, i) => (i % 2 ? ip : `203.0.113.${i & 255}`));
    const nextIp = cycler(queries);
    console.log(`lmdb reads: ${queries.filter((ip) => st.listDecisions({ ip }).length > 0).length}/${queries.length} query IPs hold a decision`);
    scenarios.push({ name: 'lmdb listDecisions({ip}) over 100k+ decisions', items: 100, unit: 'queries', fn: () => { for (let i = 0; i < 100; i++) st.listDecisions({ ip: nextIp() }); } });
    scenarios.push({ name: 'lmdb countDecisions(value) over 100k+ decisions', items: 100, unit: 'queries', fn: () => { for (let i = 0; i < 100; i++) st.countDecisions(nextIp()); } });

    // ---- run -------------------------------------------------------------------------------------
    const bench = new Bench({ time, iterations: 16, warmupTime: Math.min(250, time / 4), warmupIterations: 4 });
    const picked = scenarios.filter((s) => !only || s.name.includes(only));
    for (const s of picked) bench.add(s.name, s.fn, s.beforeEach ? { beforeEach: s.beforeEach } : {});
    await bench.run();
    const rows: (string | number)[][] = [['scenario', 'items/s', 'unit', '±%', 'samples']];
    const out: { name: string; itemsPerSec: number; unit: string; rme: number; samples: number }[] = [];
    for (const s of picked) {
      const t = bench.getTask(s.name);
      const r = t?.result;
      if (!r || r.state !== 'completed') {
        rows.push([s.name, 'failed', s.unit, '', '']);
        console.error(`${s.name}: ${r && 'error' in r ? String(r.error) : 'no result'}`);
        continue;
      }
      const perSec = r.throughput.mean * s.items;
      out.push({ name: s.name, itemsPerSec: perSec, unit: s.unit, rme: r.throughput.rme, samples: r.throughput.samplesCount });
      rows.push([s.name, fmtInt(perSec), s.unit, r.throughput.rme.toFixed(1), r.throughput.samplesCount]);
    }
    console.log(`\n${machineLine(machine)}\n`);
    console.log(table(rows));
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `micro-${machine.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ benchmark: 'micro', machine, timeMsPerTask: time, results: out }, null, 2) + '\n');
    console.log(`\nwrote ${file}`);
  } finally {
    await store?.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
