/**
 * Top allocation sites of a sampled heap profile (HeapProfiler.stopSampling output, e.g.
 * bench/lib/main-side.ts --promoted): bytes by the allocating frame with its callers.
 *
 *   node bench/lib/heap-top.mjs FILE.heapprofile [--n 30] [--depth 2] [--per N (divide: bytes per line)]
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const p = JSON.parse(readFileSync(args[0], 'utf8'));
const n = Number(opt('--n', 30));
const depth = Number(opt('--depth', 2));
const per = Number(opt('--per', 0));
const by = new Map();
let total = 0;
const name = (cf) => `${cf.functionName || '(anon)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
const walk = (node, chain) => {
  const c = [name(node.callFrame), ...chain].slice(0, depth + 1);
  if (node.selfSize > 0) {
    const k = c.join(' <- ');
    by.set(k, (by.get(k) ?? 0) + node.selfSize);
    total += node.selfSize;
  }
  for (const ch of node.children ?? []) walk(ch, c);
};
walk(p.head, []);
const f = (b) => (per ? `${(b / per).toFixed(1)} B/line` : `${(b / 1e6).toFixed(2)} MB`);
console.log(`total ${f(total)}`);
for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${f(v).padStart(14)} ${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`);
