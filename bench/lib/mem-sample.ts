/**
 * Where a process's resident memory is, over time: runs one command under GNU time and
 * samples its /proc/PID/status (RssAnon, RssFile, RssShmem) and /proc/PID/smaps, summed per
 * kind of mapping, every `--interval` ms. With `--trace-gc` V8 prints each GC of every
 * isolate (main thread and workers, told apart by the isolate address; the flag goes after
 * `node`, which must start the command) and the heap
 * committed after it is tracked per isolate.
 *
 *   npx tsx bench/lib/mem-sample.ts [--interval 500] [--trace-gc] [--every 4] [--top 15] -- \
 *     node bin/palisade.js replay FILE --type syslog --data-dir FRESHDIR
 *
 * Mapping kinds: data.mdb / lock.mdb (the decision store), node (the binary's text and
 * data), lib (shared libraries), wasm (anonymous reservations of >= 4 GiB: V8 reserves
 * WebAssembly memories with guard regions), anon (V8 heaps, malloc arenas, array buffers,
 * shared GeoIP buffers), stack, other files. MB are 1e6 bytes (as bench/lib/measure.ts);
 * /proc and GNU time's %M count KiB.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

const KINDS = ['data.mdb', 'lock.mdb', 'node', 'lib', 'wasm', 'anon', 'stack', 'file'] as const;
type Kind = (typeof KINDS)[number];

interface Sample {
  t: number;
  rss: number;
  anon: number;
  file: number;
  shmem: number;
  hwm: number;
  threads: number;
  kinds: Record<Kind, number>;
  /** The largest mappings by Rss (KiB): `--top N`. */
  top: { path: string; sizeKb: number; rss: number }[];
  /** With --trace-gc: heap committed after the last GC of each isolate, summed (MB). */
  v8: number;
}

function parseArgs(argv: string[]): { interval: number; traceGc: boolean; every: number; top: number; cmd: string[] } {
  const dash = argv.indexOf('--');
  if (dash < 0 || dash === argv.length - 1) throw new Error('usage: mem-sample.ts [--interval MS] [--trace-gc] [--every N] -- COMMAND...');
  const opts = argv.slice(0, dash);
  const get = (name: string, dflt: number): number => {
    const i = opts.indexOf(name);
    if (i < 0) return dflt;
    const v = Number(opts[i + 1]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
    return v;
  };
  return { interval: get('--interval', 500), traceGc: opts.includes('--trace-gc'), every: get('--every', 4), top: get('--top', 1), cmd: argv.slice(dash + 1) };
}

function kindOf(path: string, sizeKb: number): Kind {
  if (path === '') return sizeKb >= 4 * 1024 * 1024 ? 'wasm' : 'anon';
  if (path === '[stack]') return 'stack';
  if (path.startsWith('[')) return 'anon'; // [heap] (malloc's brk), [vvar], [vdso]
  const b = basename(path);
  if (b === 'data.mdb') return 'data.mdb';
  if (b === 'lock.mdb') return 'lock.mdb';
  if (b === 'node' || b.startsWith('node ')) return 'node';
  if (/\.so(\.|$)/.test(b)) return 'lib';
  return 'file';
}

function kb(line: string): number {
  return Number(line.replace(/^[^:]+:\s*/, '').replace(/\s*kB$/, ''));
}

function sample(pid: number, t: number, topN: number): Sample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (n: string): number => {
      const m = new RegExp(`^${n}:\\s+(\\d+)`, 'm').exec(status);
      return m ? Number(m[1]) : 0;
    };
    const kinds = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
    let path = '';
    let size = 0;
    const maps: Sample['top'] = [];
    for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
      // Mapping header: "start-end perms offset dev inode [path]".
      const h = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
      if (h) {
        size = (parseInt(h[2]!, 16) - parseInt(h[1]!, 16)) / 1024;
        path = h[3]!;
        continue;
      }
      if (line.startsWith('Rss:')) {
        kinds[kindOf(path, size)] += kb(line);
        maps.push({ path: path || '(anon)', sizeKb: size, rss: kb(line) });
      }
    }
    const top = maps.sort((a, b) => b.rss - a.rss).slice(0, topN);
    return { t, rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile'), shmem: field('RssShmem'), hwm: field('VmHWM'), threads: field('Threads'), kinds, top, v8: 0 };
  } catch {
    return null; // the process exited between two reads
  }
}

const mb = (k: number): string => ((k * 1024) / 1e6).toFixed(0).padStart(5);

function row(s: Sample): string {
  return `${(s.t / 1000).toFixed(1).padStart(6)} ${mb(s.rss)} ${mb(s.anon)} ${mb(s.file)} ${mb(s.shmem)} |` + KINDS.map((k) => mb(s.kinds[k])).join('') + ` | ${s.v8.toFixed(0).padStart(4)}`;
}

/** `[pid:0xISOLATE]  123 ms: Scavenge 10.2 (12.0) -> 9.8 (13.0) MB, ...` -> per isolate. */
const GC_LINE = /^\[\d+:(0x[0-9a-f]+)\]\s+\d+ ms: (\S+(?: \(\S+\))?)\s+[\d.]+ \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB/;

interface IsolateGc {
  gcs: number;
  fullGcs: number;
  maxCommitted: number;
  maxUsedAfter: number;
  lastUsedAfter: number;
  lastCommitted: number;
}

async function main(): Promise<void> {
  const { interval, traceGc, every, top, cmd } = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'palisade-mem-'));
  const timeFile = join(dir, 'time');
  // V8 refuses --trace-gc in NODE_OPTIONS: it goes after the node binary.
  const argv = traceGc && basename(cmd[0]!) === 'node' ? [cmd[0]!, '--trace-gc', ...cmd.slice(1)] : cmd;
  if (traceGc && argv === cmd) throw new Error('--trace-gc needs the command to start with node');
  const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  const isolates = new Map<string, IsolateGc>();
  let rest = '';
  let outBytes = 0;
  child.stdout.on('data', (d: Buffer) => {
    outBytes += d.length;
    if (!traceGc) return;
    const lines = (rest + d.toString('latin1')).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) {
      const m = GC_LINE.exec(l);
      if (!m) continue;
      let g = isolates.get(m[1]!);
      if (!g) isolates.set(m[1]!, (g = { gcs: 0, fullGcs: 0, maxCommitted: 0, maxUsedAfter: 0, lastUsedAfter: 0, lastCommitted: 0 }));
      g.gcs++;
      if (m[2]!.startsWith('Mark')) g.fullGcs++;
      const used = Number(m[4]);
      const committed = Math.max(Number(m[3]), Number(m[5]));
      g.maxCommitted = Math.max(g.maxCommitted, committed);
      g.maxUsedAfter = Math.max(g.maxUsedAfter, used);
      g.lastUsedAfter = used;
      g.lastCommitted = Number(m[5]);
    }
  });
  const t0 = performance.now();
  let pid = 0;
  const samples: Sample[] = [];
  const timer = setInterval(() => {
    if (!pid) {
      try {
        pid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]) || 0;
      } catch {
        return;
      }
      if (!pid) return;
    }
    const s = sample(pid, performance.now() - t0, top);
    if (s) {
      for (const g of isolates.values()) s.v8 += g.lastCommitted;
      samples.push(s);
    }
  }, interval);
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  clearInterval(timer);
  const [wall, user, sys, maxKb] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(/\s+/).map(Number);
  rmSync(dir, { recursive: true, force: true });

  const head = `     s   rss  anon  file shmem |` + KINDS.map((k) => k.slice(0, 5).padStart(5)).join('') + ' | v8 heaps committed (MB)';
  console.log(head);
  samples.forEach((s, i) => {
    if (i % every === 0 || i === samples.length - 1) console.log(row(s));
  });
  if (samples.length > 0) {
    const peak = samples.reduce((a, b) => (b.rss > a.rss ? b : a));
    const maxOf = (f: (s: Sample) => number): number => Math.max(...samples.map(f));
    console.log(`at max sampled rss: ${row(peak).trim()}`);
    if (top > 1) for (const m of peak.top) console.log(`  ${mb(m.rss)} MB resident of ${mb(m.sizeKb)} MB mapped: ${m.path}`);
    console.log(`max per kind (MB): anon ${mb(maxOf((s) => s.anon))}, file ${mb(maxOf((s) => s.file))}, ` + KINDS.map((k) => `${k} ${mb(maxOf((s) => s.kinds[k])).trim()}`).join(', '));
  }
  for (const [iso, g] of isolates) {
    console.log(`isolate ${iso}: ${g.gcs} GCs (${g.fullGcs} mark-compact), heap committed max ${g.maxCommitted.toFixed(1)} MB, used after GC max ${g.maxUsedAfter.toFixed(1)} / last ${g.lastUsedAfter.toFixed(1)} MB`);
  }
  console.log(`exit ${code}; ${wall} s wall, ${user} user + ${sys} sys = ${((user ?? 0) + (sys ?? 0)).toFixed(1)} s CPU; peak RSS ${((maxKb! * 1024) / 1e6).toFixed(1)} MB (${maxKb} KB, GNU time %M); stdout ${outBytes} bytes`);
}

main().catch((e: unknown) => {
  process.stderr.write(`mem-sample: ${(e as Error).message}\n`);
  process.exit(2);
});
