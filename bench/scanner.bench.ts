/**
 * tinybench micro benchmarks of the WebAssembly scanners against their TS twins (the twins
 * are the plain-JS way: Buffer.indexOf for lines and literals, regexes for the structure).
 *
 *   scan-lines   split 4 MiB batches into lines (wasm: copy into linear memory + SIMD '\n')
 *   prefilter    split + per-line masks of the literals of the hub's sshd groks
 *   prefilter-hub  the same with every hub grok (up to 256 nodes; wasm only: the twin takes
 *                minutes), which exercises the hashed many-literal path
 *   syslog       split + syslog header spans
 *   access-log   split + combined access-log spans (nginx log of --mb/5 MiB, at least one
 *                100k-line block, ~21 MiB)
 *
 * Input: a generated sshd log of --mb MiB (default 100; a 100k-line seeded block from
 * fixtures/generate-bf-logs.ts repeated), cut into batches on line ends before timing.
 * Each iteration processes the whole input; results are MB/s and lines/s (mean wall-clock
 * latency of the samples), plus MB per CPU-second (median of 3 extra runs) for a shared box.
 *
 *   node --import tsx bench/scanner.bench.ts [--mb 100] [--time 2000] [--filter SUBSTRING]
 */
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { MAX_INPUT, MAX_NODES } from '../src/bindings/abi.generated.js';
import { createWasmScanner } from '../src/bindings/wasm.js';
import { createTwinScanner } from '../src/bindings/scanner-twin.js';
import { compilePrefilter } from '../src/bindings/prefilter-plan.js';
import type { BatchScanner } from '../src/bindings/types.js';
import { PatternLibrary, compileGrok } from '../src/grok/index.js';
import { debianReference } from '../test/support/debian.js';
import { collectHubGroks } from '../test/grok/hub-groks.js';
import { generateNginx, generateSshd } from '../fixtures/generate-bf-logs.js';
import { fmtInt, machineInfo, machineLine, table } from './lib/machine.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const MB = Number(arg('mb', '100'));
const TIME = Number(arg('time', '2000'));
const FILTER = arg('filter', '');

/** `block` repeated up to `bytes`, cut into batches of at most MAX_INPUT on line ends. */
function batches(block: string, bytes: number): { list: Uint8Array[]; total: number; lines: number } {
  const unit = Buffer.from(block);
  const whole = Buffer.alloc(Math.ceil(bytes / unit.length) * unit.length);
  for (let o = 0; o < whole.length; o += unit.length) unit.copy(whole, o);
  const list: Uint8Array[] = [];
  let at = 0;
  while (at < whole.length) {
    let end = Math.min(at + MAX_INPUT, whole.length);
    if (end < whole.length) end = whole.lastIndexOf(0x0a, end - 1) + 1;
    list.push(new Uint8Array(whole.subarray(at, end)));
    at = end;
  }
  let lines = 0;
  for (let i = 0; i < whole.length; i++) if (whole[i] === 0x0a) lines++;
  return { list, total: whole.length, lines };
}

/** Literal sets of the hub's parser nodes (one set per grok); a fixed sshd list without the hub. */
function hubLiteralSets(only: string): string[][] {
  const ref = debianReference();
  if (!ref) return [['Failed password for ', ' from ', ' port '], ['Invalid user ', ' from '], ['Disconnecting'], ['maximum authentication attempts']];
  const lib = PatternLibrary.withBuiltins();
  lib.loadDir(ref.patterns);
  return collectHubGroks(ref.hub, lib)
    .filter((h) => h.file.includes(only))
    .slice(0, MAX_NODES)
    .map((h) => [...compileGrok(h.text, lib).requiredLiterals]);
}

const sshd = batches(generateSshd(100_000, 1), MB * 2 ** 20);
const nginx = batches(generateNginx(100_000, 1), (MB / 5) * 2 ** 20);
const nodes = hubLiteralSets('sshd');
const plan = compilePrefilter(nodes);
const hubPlan = compilePrefilter(hubLiteralSets(''));
const impls: BatchScanner[] = [createWasmScanner(), createTwinScanner()];
const label = (s: BatchScanner): string => (s.impl === 'wasm' ? 'wasm' : 'twin');

type Work = { name: string; data: typeof sshd; run: (s: BatchScanner, b: Uint8Array) => void; wasmOnly?: boolean };
const work: Work[] = [
  { name: 'scan-lines', data: sshd, run: (s, b) => void s.scanLines(b, true) },
  { name: 'prefilter', data: sshd, run: (s, b) => { s.scanLines(b, true); s.prefilter(plan); } },
  { name: 'prefilter-hub', data: sshd, run: (s, b) => { s.scanLines(b, true); s.prefilter(hubPlan); }, wasmOnly: true },
  { name: 'syslog', data: sshd, run: (s, b) => { s.scanLines(b, true); s.scanSyslog(); } },
  { name: 'access-log', data: nginx, run: (s, b) => { s.scanLines(b, true); s.scanAccessLog(); } },
];

const bench = new Bench({ time: TIME, iterations: 3, warmupIterations: 1 });
const meta = new Map<string, { w: Work; fn: () => void }>();
for (const w of work) {
  for (const s of impls) {
    const name = `${w.name} ${label(s)}`;
    if ((FILTER && !name.includes(FILTER)) || (w.wasmOnly && s.impl !== 'wasm')) continue;
    const fn = (): void => {
      for (const b of w.data.list) w.run(s, b);
    };
    meta.set(name, { w, fn });
    bench.add(name, fn);
  }
}

/**
 * Process CPU time per iteration (median of 3). The machine's 2 cores are shared with other
 * sessions; wall-clock latency then mostly measures waiting, CPU time much less so.
 */
function cpuMs(fn: () => void): number {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    runs.push((c.user + c.system) / 1000);
  }
  return runs.sort((a, b) => a - b)[1]!;
}

console.log(`scanner bench: sshd ${(sshd.total / 2 ** 20).toFixed(0)} MiB (${fmtInt(sshd.lines)} lines), nginx ${(nginx.total / 2 ** 20).toFixed(0)} MiB, ` +
  `prefilter: ${nodes.length} sshd nodes / ${plan.literals.length} literals, hub: ${hubPlan.nodeCount} nodes / ${hubPlan.literals.length} literals`);
await bench.run();
const rows: (string | number)[][] = [['task', 'MB/s', 'lines/s', 'ms/iter', 'samples', 'cpu ms/iter', 'MB/s per cpu-s']];
const json: Record<string, unknown>[] = [];
for (const t of bench.tasks) {
  const r = t.result;
  const { w, fn } = meta.get(t.name)!;
  if (r.state !== 'completed') {
    rows.push([t.name, r.state, '-', '-', '-', '-', '-']);
    continue;
  }
  const ms = r.latency.mean;
  const mbs = w.data.total / 1e6 / (ms / 1000);
  const lps = w.data.lines / (ms / 1000);
  const cpu = cpuMs(fn);
  const cpuMbs = w.data.total / 1e6 / (cpu / 1000);
  rows.push([t.name, fmtInt(mbs), fmtInt(lps), ms.toFixed(1), r.latency.samplesCount, cpu.toFixed(1), fmtInt(cpuMbs)]);
  json.push({ task: t.name, mbPerSec: Math.round(mbs), linesPerSec: Math.round(lps), msPerIteration: ms, cpuMsPerIteration: cpu, mbPerCpuSecond: Math.round(cpuMbs) });
}
const m = machineInfo(ROOT);
console.log(machineLine(m));
console.log(table(rows));
console.log(JSON.stringify({ bench: 'scanner', machine: m, results: json }));
