/**
 * `npm run bench:replay`: whole-pipeline throughput of the built CLI,
 * `node bin/palisade.js replay FILE --type T --data-dir TMP`, over the seeded 1M and 10M-line
 * sshd and nginx logs of fixtures/generate-large.ts, with Palisade's shipped rules: parsing,
 * buckets, alerts, profiles and decisions written to the LMDB store, as `palisade replay`
 * does by default. Each run gets a fresh temporary data directory, removed after the run
 * (outside the timed part). `--no-decisions` measures without the store, for comparison.
 *
 * Each scenario is one (log kind, size, worker count). Setup (generating the logs, ~1 min for
 * 10M) happens before and outside the timed runs. A run is timed from outside: wall clock of
 * the process (Node start-up and rule loading included) and peak RSS from GNU time (see
 * lib/measure.ts); the CLI's own summary line gives the line count, alerts and its internal
 * lines/s (from engine creation to the end of input). Median of --runs runs (--runs-large for
 * files of 5M lines and more, which take minutes each). `--workers 0` is inline parsing.
 *
 *   node --import tsx bench/replay.ts [--sizes 1000000,10000000] [--kinds sshd,nginx]
 *        [--runs 3] [--runs-large 1] [--workers 1,2] [--no-decisions] [--seed N] [--out bench/results]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_BENCH_DIR, DEFAULT_SEED, ensureLargeLog, type LargeKind } from '../fixtures/generate-large.js';
import { measure, median, type Measured } from './lib/measure.js';
import { fmtInt, machineInfo, machineLine, table } from './lib/machine.js';
import { arg } from './lib/args.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin', 'palisade.js');
const TYPE: Record<LargeKind, string> = { sshd: 'syslog', nginx: 'nginx' };

export interface CliSummary {
  lines: number;
  parsed: number;
  alerts: number;
  internalLinesPerSec: number;
}

/** The summary line `palisade replay` prints on stderr (src/cli/replay.ts). */
export function parseSummary(stderr: string): CliSummary | null {
  const m = /lines (\d+), parsed (\d+),.*alerts (\d+), decisions \d+, (\d+) lines\/s/.exec(stderr);
  return m ? { lines: Number(m[1]), parsed: Number(m[2]), alerts: Number(m[3]), internalLinesPerSec: Number(m[4]) } : null;
}

/** Worker-pool option of `palisade replay`, if this build has one (another engineer adds it). */
export function workersOption(): string | null {
  const help = execFileSync(process.execPath, [CLI, 'replay', '--help'], { encoding: 'utf8' });
  return /--workers\b/.test(help) ? '--workers' : null;
}

export interface ReplayRun {
  /** Decisions were written to a (temporary) store; false = `--no-decisions`. */
  decisions: boolean;
  /** 1-minute load average when the run started (the machine is shared). */
  loadBefore: number;
  wallS: number;
  peakRssMb: number | null;
  lines: number;
  alerts: number;
  linesPerSec: number;
  internalLinesPerSec: number;
  /** user + sys CPU seconds (GNU time); lines per CPU second is less sensitive to other load
   *  on the machine than lines per wall second. */
  cpuS: number | null;
}

export interface ReplayScenario {
  name: string;
  kind: LargeKind;
  lines: number;
  workers: number | null;
  file: string;
  fileMb: number;
  command: string;
  runs: ReplayRun[];
  medianLinesPerSec: number;
  medianWallS: number;
  /** Highest peak over the runs (memory bounds are about the worst case). */
  peakRssMb: number | null;
  alerts: number;
}

/**
 * One timed CLI replay; throws with the CLI's stderr if it fails or prints no summary.
 * `decisions`: write alerts and decisions to a fresh temporary data directory (removed
 * after the run, untimed); default false (`--no-decisions`), what bench/compare.ts measures.
 */
export async function timedReplay(file: string, type: string, extra: string[], timeoutMs: number, o: { decisions?: boolean } = {}): Promise<{ run: ReplayRun; m: Measured }> {
  const dataDir = o.decisions ? mkdtempSync(join(tmpdir(), 'palisade-bench-data-')) : null;
  const loadBefore = loadavg()[0]!;
  try {
    const store = dataDir ? ['--data-dir', dataDir] : ['--no-decisions'];
    const m = await measure(process.execPath, [CLI, 'replay', file, '--type', type, ...store, ...extra], { cwd: ROOT, timeoutMs });
    const s = parseSummary(m.stderr);
    if (m.timedOut || m.code !== 0 || !s) {
      throw new Error(`${m.command}: ${m.timedOut ? 'timed out' : `exit ${m.code ?? m.signal}`}\n${m.stderr.split('\n').slice(-10).join('\n')}`);
    }
    const cpuS = m.userS !== null && m.sysS !== null ? m.userS + m.sysS : null;
    return { run: { decisions: dataDir !== null, loadBefore, wallS: m.wallS, peakRssMb: m.peakRssMb, lines: s.lines, alerts: s.alerts, linesPerSec: s.lines / m.wallS, internalLinesPerSec: s.internalLinesPerSec, cpuS }, m };
  } finally {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Warns when dist/ is older than src/: the benchmark runs the build, not the sources. */
function checkBuild(): void {
  const main = join(ROOT, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error('dist/ is missing: run `npm run build` first');
  const newest = (d: string): number => Number(execFileSync('find', [d, '-name', '*.ts', '-newer', main], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length);
  const stale = newest(join(ROOT, 'src'));
  if (stale > 0) console.warn(`warning: ${stale} file(s) in src/ are newer than dist/: run \`npm run build\` for current numbers`);
}

const list = (s: string, min = 1): number[] => s.split(',').map((x) => {
  const n = Number(x.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < min) throw new Error(`not an integer >= ${min}: ${x}`);
  return n;
});

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const sizes = list(arg(args, 'sizes') ?? '1000000,10000000');
  const kinds = (arg(args, 'kinds') ?? 'sshd,nginx').split(',') as LargeKind[];
  for (const k of kinds) if (!(k in TYPE)) throw new Error(`unknown kind ${k} (sshd, nginx)`);
  const runs = list(arg(args, 'runs') ?? '3')[0]!;
  const runsLarge = list(arg(args, 'runs-large') ?? '1')[0]!;
  const seed = list(arg(args, 'seed') ?? String(DEFAULT_SEED))[0]!;
  const outDir = resolve(arg(args, 'out') ?? join(ROOT, 'bench', 'results'));
  const decisions = !args.includes('--no-decisions');
  checkBuild();
  const wopt = workersOption();
  const workerCounts: (number | null)[] = wopt ? list(arg(args, 'workers') ?? '1,2', 0) : [null];
  if (!wopt) console.log('note: this build of `palisade replay` has no --workers option; single-threaded runs only');
  const machine = machineInfo(ROOT);

  // Setup, outside every timed part: the logs.
  const files = new Map<string, string>();
  for (const lines of sizes) for (const kind of kinds) files.set(`${kind}-${lines}`, await ensureLargeLog(kind, lines, seed, DEFAULT_BENCH_DIR, (m) => console.log(m)));

  const results: ReplayScenario[] = [];
  for (const lines of sizes) {
    for (const kind of kinds) {
      for (const w of workerCounts) {
        const file = files.get(`${kind}-${lines}`)!;
        const extra = w === null ? [] : [wopt!, String(w)];
        const n = lines >= 5_000_000 ? runsLarge : runs;
        const name = `replay ${kind} ${lines / 1e6}M${w === null ? '' : ` workers=${w}`}${decisions ? '' : ' no-decisions'}`;
        const got: ReplayRun[] = [];
        let command = '';
        for (let i = 0; i < n; i++) {
          // Generous: the measured baseline is ~14k lines/s for nginx.
          const { run, m } = await timedReplay(file, TYPE[kind], extra, Math.max(120_000, (lines / 2_000) * 1000), { decisions });
          command = m.command.replace(ROOT, '').replace(/palisade-bench-data-\w+/, 'palisade-bench-data-XXXXXX');
          if (run.lines !== lines) throw new Error(`${name}: replay read ${run.lines} lines, expected ${lines}`);
          got.push(run);
          console.log(`${name} run ${i + 1}/${n}: ${fmtInt(run.linesPerSec)} lines/s, ${run.wallS.toFixed(1)} s, cpu ${run.cpuS?.toFixed(1) ?? '-'} s, peak ${fmtInt(run.peakRssMb)} MB, ${run.alerts} alerts, load before ${run.loadBefore.toFixed(2)}`);
        }
        const peaks = got.map((r) => r.peakRssMb).filter((x): x is number => x !== null);
        results.push({
          name, kind, lines, workers: w, file, fileMb: statSync(file).size / 1e6, command, runs: got,
          medianLinesPerSec: median(got.map((r) => r.linesPerSec)),
          medianWallS: median(got.map((r) => r.wallS)),
          peakRssMb: peaks.length ? Math.max(...peaks) : null,
          alerts: got[0]!.alerts,
        });
      }
    }
  }

  const rows: (string | number)[][] = [['scenario', 'runs', 'lines/s (median)', 'wall s', 'internal lines/s', 'lines/CPU-s', 'peak RSS MB', 'alerts']];
  for (const r of results) {
    const cpu = r.runs.map((x) => x.cpuS).filter((x): x is number => x !== null);
    rows.push([r.name, r.runs.length, fmtInt(r.medianLinesPerSec), r.medianWallS.toFixed(1), fmtInt(median(r.runs.map((x) => x.internalLinesPerSec))),
      cpu.length ? fmtInt(r.lines / median(cpu)) : '-', fmtInt(r.peakRssMb), r.alerts]);
  }
  // How cost grows with size: time per line and memory, largest size against the smallest.
  const growth: { kind: string; workers: number | null; fromLines: number; toLines: number; timePerLineRatio: number; peakRssRatio: number | null }[] = [];
  if (sizes.length > 1) {
    const lo = Math.min(...sizes);
    const hi = Math.max(...sizes);
    for (const kind of kinds) for (const w of workerCounts) {
      const a = results.find((r) => r.kind === kind && r.lines === lo && r.workers === w)!;
      const b = results.find((r) => r.kind === kind && r.lines === hi && r.workers === w)!;
      growth.push({ kind, workers: w, fromLines: lo, toLines: hi, timePerLineRatio: a.medianLinesPerSec / b.medianLinesPerSec,
        peakRssRatio: a.peakRssMb && b.peakRssMb ? b.peakRssMb / a.peakRssMb : null });
    }
  }
  console.log(`\n${machineLine(machine)}\nload at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  console.log(table(rows));
  for (const g of growth) {
    console.log(`${g.kind}${g.workers === null ? '' : ` workers=${g.workers}`}: ${g.fromLines / 1e6}M -> ${g.toLines / 1e6}M lines: time per line x${g.timePerLineRatio.toFixed(2)}, peak RSS x${g.peakRssRatio?.toFixed(2) ?? '-'}`);
  }
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, `replay-${machine.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(out, JSON.stringify({ benchmark: 'replay', machine, loadAvgAtEnd: loadavg(), seed, decisions, results, growth }, null, 2) + '\n');
  console.log(`\nwrote ${out}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
