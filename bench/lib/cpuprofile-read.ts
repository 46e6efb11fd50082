/**
 * Reads a V8 .cpuprofile (from `--cpu-prof`, e.g. `npm run bench:lapi -- --server-prof DIR`)
 * and prints where the time went: self time by function and by file, and the inclusive
 * time of the subtrees under a named function (top-down), so a request listener's cost
 * can be split without a GUI.
 *
 *   node --import tsx bench/lib/cpuprofile-read.ts FILE.cpuprofile [--top 40]
 *        [--under NAME] [--callers NAME] [--depth 4] [--min-pct 0.5] [--per N] [--from S] [--to S] [--timeline]
 *
 * `--from S` / `--to S` keep only the samples taken in that window (seconds from the
 * profile's start: a server profile also holds its start-up and warm-up); `--timeline`
 * prints busy/idle ms per second first, to choose the window.
 * NAME is a function name, or the start of a label as printed (`(anon) src/api/fast-lookup.ts`).
 * `--callers NAME` prints bottom-up who calls NAME (self time of NAME, by call path).
 * `--per N` also prints every figure as µs per unit (N = requests served in the profile).
 */
import { readFileSync } from 'node:fs';

// A reader piped into `head` must not die on EPIPE.
process.stdout.on('error', () => process.exit(0));

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const file = argv[0];
if (!file || file.startsWith('--')) {
  console.error('usage: cpuprofile-read.ts FILE.cpuprofile [--top N] [--under NAME] [--depth D] [--min-pct P] [--per N]');
  process.exit(2);
}
const top = Number(opt('top') ?? 40);
const under = opt('under');
const depth = Number(opt('depth') ?? 4);
const minPct = Number(opt('min-pct') ?? 0.5);
const per = opt('per') === undefined ? 0 : Number(opt('per'));
const fromUs = Number(opt('from') ?? 0) * 1e6;
const toUs = opt('to') === undefined ? Infinity : Number(opt('to')) * 1e6;

const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map<number, ProfNode>();
for (const n of prof.nodes) byId.set(n.id, n);

// Self time per node: each sample's delta goes to the node it landed in (inside the window).
const self = new Map<number, number>();
const busy: number[] = [];
const idle: number[] = [];
let at = 0;
let kept = 0;
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i]!;
  const d = prof.timeDeltas[i] ?? 0;
  at += d;
  const sec = Math.floor(at / 1e6);
  const isIdle = byId.get(id)!.callFrame.functionName === '(idle)';
  (isIdle ? idle : busy)[sec] = ((isIdle ? idle : busy)[sec] ?? 0) + d;
  if (at < fromUs || at >= toUs) continue;
  kept++;
  self.set(id, (self.get(id) ?? 0) + d);
}
if (argv.includes('--timeline')) {
  console.log('second  busy ms  idle ms');
  for (let s = 0; s < Math.max(busy.length, idle.length); s++) console.log(`${String(s).padStart(6)}  ${((busy[s] ?? 0) / 1000).toFixed(0).padStart(7)}  ${((idle[s] ?? 0) / 1000).toFixed(0).padStart(7)}`);
}
const total = [...self.values()].reduce((a, b) => a + b, 0);

const shortUrl = (u: string) => u.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'nm/').replace(/^.*\/(src|bench)\//, '$1/');
const label = (c: CallFrame) => `${c.functionName || '(anon)'} ${shortUrl(c.url)}${c.url ? ':' + (c.lineNumber + 1) : ''}`;
const fmt = (us: number) => `${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%${per > 0 ? ` ${(us / per).toFixed(2).padStart(7)} µs/u` : ''}`;

function printTop(title: string, m: Map<string, number>): void {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${fmt(v)}  ${k}`);
}

const byFn = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, us] of self) {
  const c = byId.get(id)!.callFrame;
  const k = label(c);
  byFn.set(k, (byFn.get(k) ?? 0) + us);
  const f = c.url ? shortUrl(c.url) : `(${c.functionName || 'native'})`;
  byFile.set(f, (byFile.get(f) ?? 0) + us);
}
console.log(`${file}: ${(total / 1000).toFixed(1)} ms sampled, ${kept} of ${prof.samples.length} samples in the window`);
printTop('self time by function', byFn);
printTop('self time by file', byFile);

// Inclusive time of every node (self + descendants).
const incl = new Map<number, number>();
function inclusive(id: number): number {
  const n = byId.get(id)!;
  let t = self.get(id) ?? 0;
  for (const c of n.children ?? []) t += inclusive(c);
  incl.set(id, t);
  return t;
}
inclusive(prof.nodes[0]!.id);

if (under) {
  // Merge every occurrence of the named function, then print its callees top-down (merged by label).
  interface Agg { t: number; kids: Map<string, Agg> }
  const root: Agg = { t: 0, kids: new Map() };
  const add = (agg: Agg, id: number, d: number) => {
    const n = byId.get(id)!;
    for (const c of n.children ?? []) {
      const k = label(byId.get(c)!.callFrame);
      let a = agg.kids.get(k);
      if (!a) agg.kids.set(k, (a = { t: 0, kids: new Map() }));
      a.t += incl.get(c)!;
      if (d < depth) add(a, c, d + 1);
    }
  };
  // Only outermost occurrences (a recursive name is not counted twice).
  const walk = (id: number, inside: boolean) => {
    const n = byId.get(id)!;
    const hit = !inside && (n.callFrame.functionName === under || label(n.callFrame).startsWith(under));
    if (hit) {
      root.t += incl.get(id)!;
      add(root, id, 1);
    }
    for (const c of n.children ?? []) walk(c, inside || hit);
  };
  walk(prof.nodes[0]!.id, false);
  console.log(`\ntop-down under '${under}': ${fmt(root.t)}`);
  const print = (a: Agg, indent: string) => {
    for (const [k, v] of [...a.kids].sort((x, y) => y[1].t - x[1].t)) {
      if ((100 * v.t) / total < minPct) continue;
      console.log(`${fmt(v.t)}  ${indent}${k}`);
      print(v, indent + '  ');
    }
  };
  print(root, '');
}

const callers = opt('callers');
if (callers) {
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const paths = new Map<string, number>();
  let sum = 0;
  for (const [id, us] of self) {
    if (byId.get(id)!.callFrame.functionName !== callers) continue;
    sum += us;
    const chain: string[] = [];
    for (let p = parent.get(id), d = 0; p !== undefined && d < depth; p = parent.get(p), d++) chain.push(label(byId.get(p)!.callFrame));
    const k = chain.join(' <- ');
    paths.set(k, (paths.get(k) ?? 0) + us);
  }
  console.log(`\ncallers of '${callers}' (self time ${fmt(sum)})`);
  for (const [k, v] of [...paths].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${fmt(v)}  <- ${k}`);
}
