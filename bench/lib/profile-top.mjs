/**
 * Top self-time frames of a CPU profile (`--cpu-prof`, main-side.ts --profile), optionally only
 * those under a frame whose name matches --under REGEX; with the caller chain of each.
 *
 *   node bench/lib/profile-top.mjs FILE.cpuprofile [--under REGEX] [--n 30] [--depth 3]
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const p = JSON.parse(readFileSync(args[0], 'utf8'));
const under = opt('--under', null) ? new RegExp(opt('--under')) : null;
const n = Number(opt('--n', 30));
const depth = Number(opt('--depth', 3));
const byId = new Map(p.nodes.map((x) => [x.id, x]));
const parent = new Map();
for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
const name = (id) => {
  const cf = byId.get(id).callFrame;
  return `${cf.functionName || '(anon)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
};
const isUnder = (id) => {
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) if (under.test(name(cur))) return true;
  return false;
};
const self = new Map();
let total = 0;
for (let i = 0; i < p.samples.length; i++) {
  const id = p.samples[i];
  const dt = (p.timeDeltas[i] ?? 0) / 1000;
  const nm = name(id);
  if (/^\((idle|program)\)/.test(nm)) continue;
  if (under && !isUnder(id)) continue;
  const chain = [nm];
  for (let cur = parent.get(id), k = 0; cur !== undefined && k < depth; cur = parent.get(cur), k++) chain.push(name(cur));
  const key = chain.join(' <- ');
  self.set(key, (self.get(key) ?? 0) + dt);
  total += dt;
}
console.log(`total ${total.toFixed(0)} ms${under ? ` under ${under}` : ''}`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${v.toFixed(0).padStart(6)} ms ${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`);
