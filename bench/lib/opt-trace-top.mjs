/**
 * Where V8's optimizing compiler (TurboFan) spends its time in a run, from V8's own trace:
 *
 *   node --trace-opt --trace-deopt --print-opt-source bin/palisade.js replay FILE ... > OUT.txt 2>&1
 *   node bench/lib/opt-trace-top.mjs OUT.txt [--top 40]
 *
 * Prints the TurboFan jobs and their background ("took" middle figure: elapsed, so inflated on a
 * loaded machine; read it as shares) per source file (from --print-opt-source; "?" when the
 * interleaved output of several isolates hid it) and per function, and the deopts by function
 * and reason. Function names repeat once per isolate (main thread + each worker): a count above
 * the number of isolates means re-optimizations.
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
if (!file) { process.stderr.write('usage: opt-trace-top.mjs TRACE.txt [--top N]\n'); process.exit(2); }
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 40;

const group = (f) => {
  if (f.includes('node_modules/')) return 'nm:' + f.split('node_modules/')[1].split('/')[0];
  if (f.startsWith('node:')) return 'node-internal';
  return f.replace(/^file:\/\/\/.*?\/(dist|src|bench)\//, '$1/');
};
const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);

const pending = new Map(); // function name -> sfis waiting for their FUNCTION SOURCE line
const fileOfSfi = new Map();
const msByFile = new Map(), jobsByFile = new Map(), msByFn = new Map(), jobsByFn = new Map(), osrByFn = new Map();
const deopts = new Map();
let jobs = 0, ms = 0;
for (const l of readFileSync(file, 'latin1').split('\n')) {
  let m = /^\[compiling method \S+ <JSFunction (.*?) \(sfi = (\w+)\)>/.exec(l);
  if (m) { const q = pending.get(m[1]) ?? []; q.push(m[2]); pending.set(m[1], q); continue; }
  m = /^--- FUNCTION SOURCE \((.*)\) id\{\d+,-1\}/.exec(l);
  if (m) {
    const spec = m[1], at = spec.lastIndexOf(':');
    const q = pending.get(spec.slice(at + 1));
    if (q?.length) fileOfSfi.set(q.shift(), group(spec.slice(0, at)));
    continue;
  }
  m = /completed compiling \S+ <JSFunction (.*?) \(sfi = (\w+)\)>.*took ([\d.]+), ([\d.]+), ([\d.]+) ms/.exec(l);
  if (m) {
    const t = Number(m[4]), f = fileOfSfi.get(m[2]) ?? '?', fn = `${m[1] || '(anonymous)'} [${f}]`;
    jobs++; ms += t;
    add(msByFile, f, t); add(jobsByFile, f, 1); add(msByFn, fn, t); add(jobsByFn, fn, 1);
    if (/OSR/i.test(l)) add(osrByFn, fn, 1);
    continue;
  }
  m = /bailout \(kind: ([^,]+), reason: ([^)]*)\): begin\. deoptimizing \S+ <JSFunction (.*?) \(sfi/.exec(l);
  if (m) add(deopts, `${m[3] || '(anonymous)'}: ${m[1]}, ${m[2]}`, 1);
}
const rows = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`TurboFan jobs ${jobs}, background ${ms.toFixed(0)} ms (elapsed), deopts ${[...deopts.values()].reduce((a, b) => a + b, 0)}`);
console.log('\nby file:');
for (const [f, t] of rows(msByFile)) console.log(`${t.toFixed(0).padStart(8)} ms ${(100 * t / ms).toFixed(1).padStart(5)}% ${String(jobsByFile.get(f)).padStart(4)} jobs  ${f}`);
console.log('\nby function:');
for (const [f, t] of rows(msByFn)) console.log(`${t.toFixed(0).padStart(8)} ms ${String(jobsByFn.get(f)).padStart(4)} jobs ${String(osrByFn.get(f) ?? 0).padStart(2)} osr  ${f}`);
console.log('\ndeopts:');
for (const [k, n] of rows(deopts)) console.log(`${String(n).padStart(4)}  ${k}`);
