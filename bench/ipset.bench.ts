/**
 * `npm run bench:ipset`: lookups/s of the active-decision IP set (src/decisions/ipset.ts)
 * against npm libraries and Node's built-in, over 100,000 mixed IPv4/IPv6 prefixes.
 *
 *   prefixes   70% IPv4 (--mix blocklist: 85% /32, 14% /24, 1% /16-/23; --mix wide: 60% /32,
 *              30% /24, 10% /8-/23 as in stack-notes §5), 30% IPv6 (60% /128, 30% /64,
 *              10% /32-/63), seeded
 *   queries    4,096 address strings, 70% IPv4; half fall inside a stored prefix, half are
 *              random (mostly misses); each call looks up a batch, items/s = lookups/s
 *   tasks      WASM set (assembly/ipset.ts via src/bindings/ipset-core.ts): batched longest-
 *              prefix lookups from pre-parsed words, from JS strings (encoded into the module,
 *              parsed there) and from newline-separated bytes; text -> covering ids, one
 *              call per address (the API path); the TS radix twin: the same batches, text ->
 *              covering ids (the API path without WASM), pre-parsed words -> covering ids; ip-set
 *              3.0.0 (IPv4 only: IPv4 prefixes and IPv4 queries), cidr-matcher 2.1.1,
 *              node:net BlockList
 *
 * Every implementation's answers (hit / miss) are checked against the radix set on the
 * query list before timing (a subset for the linear ones) and the agreement is printed;
 * the WASM set must give the same ids as the radix set on every query.
 * ip-set and cidr-matcher are installed into .cache/bench-deps (never the project's
 * node_modules): `npm install --ignore-scripts`, because ip-set's preinstall runs
 * `npx only-allow pnpm`.
 *
 *   node --import tsx bench/ipset.bench.ts [--time 1000] [--prefixes 100000] [--mix blocklist|wide]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BlockList } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { INVALID_ADDRESS, parseAddressWords, RadixPrefixSet } from '../src/decisions/ipset.js';
import { createWasmPrefixSet } from '../src/bindings/ipset-wasm.js';
import { fmtInt, machineInfo, machineLine, table } from './lib/machine.js';
import { mulberry32 as rng } from '../fixtures/seeded.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** `blocklist` (default): 85% /32, 14% /24, 1% /16-/23 for IPv4, like a ban list. `wide`: the
 *  stack-notes §5 mix (60% /32, 30% /24, 10% /8-/23), whose /8s cover nearly all of IPv4,
 *  so that interval-merging sets (ip-set) collapse to a handful of intervals. */
const MIX = process.argv.includes('--mix') ? process.argv[process.argv.indexOf('--mix') + 1]! : 'blocklist';
const DEPS = join(ROOT, '.cache/bench-deps');

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** Installs the comparison libraries beside the project, never into it. */
function ensureDeps(): NodeRequire {
  const want = ['ip-set', 'cidr-matcher'];
  if (!want.every((p) => existsSync(join(DEPS, 'node_modules', p, 'package.json')))) {
    mkdirSync(DEPS, { recursive: true });
    if (!existsSync(join(DEPS, 'package.json'))) writeFileSync(join(DEPS, 'package.json'), '{"name":"bench-deps","private":true}\n');
    console.error(`installing ${want.join(', ')} into ${DEPS} ...`);
    execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', ...want], { cwd: DEPS, stdio: 'inherit' });
  }
  return createRequire(join(DEPS, 'package.json'));
}


interface Prefix { text: string; addr: string; bits: number; v6: boolean }

const v4Text = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
const hex = (n: number) => (n & 0xffff).toString(16);

function makePrefixes(n: number, r: () => number): Prefix[] {
  const out: Prefix[] = [];
  const u32 = () => Math.floor(r() * 2 ** 32) >>> 0;
  for (let i = 0; i < n; i++) {
    if (r() < 0.7) {
      const k = r();
      const bits = MIX === 'wide'
        ? (k < 0.6 ? 32 : k < 0.9 ? 24 : 8 + Math.floor(r() * 16))
        : (k < 0.85 ? 32 : k < 0.99 ? 24 : 16 + Math.floor(r() * 8));
      const a = bits === 32 ? u32() : (u32() & ~(2 ** (32 - bits) - 1)) >>> 0;
      out.push({ text: `${v4Text(a)}/${bits}`, addr: v4Text(a), bits, v6: false });
    } else {
      const k = r();
      const bits = k < 0.6 ? 128 : k < 0.9 ? 64 : 32 + Math.floor(r() * 32);
      // 2001:db8-ish space so that v6 queries hit sometimes; host bits zero past `bits`.
      const g = [0x2001, Math.floor(r() * 0x100), Math.floor(r() * 0x10000), Math.floor(r() * 0x10000), Math.floor(r() * 0x10000), Math.floor(r() * 0x10000), Math.floor(r() * 0x10000), Math.floor(r() * 0x10000)];
      for (let b = 0; b < 8; b++) {
        const lo = b * 16;
        if (lo >= bits) g[b] = 0;
        else if (lo + 16 > bits) g[b] = g[b]! & ~((1 << (lo + 16 - bits)) - 1) & 0xffff;
      }
      const addr = g.map(hex).join(':');
      out.push({ text: `${addr}/${bits}`, addr, bits, v6: true });
    }
  }
  return out;
}

/** A random address inside prefix p. */
function inside(p: Prefix, r: () => number): string {
  if (!p.v6) {
    const w = new Int32Array(4);
    parseAddressWords(p.addr, w);
    const host = p.bits === 32 ? 0 : Math.floor(r() * 2 ** (32 - p.bits));
    return v4Text(((w[3]! >>> 0) + host) >>> 0);
  }
  const g = p.addr.split(':').map((x) => parseInt(x, 16));
  for (let b = 0; b < 8; b++) if (b * 16 >= p.bits) g[b] = Math.floor(r() * 0x10000);
  return g.map(hex).join(':');
}

function randomAddress(r: () => number): string {
  if (r() < 0.7) return v4Text(Math.floor(r() * 2 ** 32) >>> 0);
  return [0x2001, Math.floor(r() * 0x100), ...Array.from({ length: 6 }, () => Math.floor(r() * 0x10000))].map(hex).join(':');
}

async function main(): Promise<void> {
  const time = arg('time', 1000);
  const n = arg('prefixes', 100_000);
  const require = ensureDeps();
  const IPSet = require('ip-set') as new () => { add(s: string): void; contains(s: string): boolean };
  const CIDRMatcher = require('cidr-matcher') as new (list: string[]) => { contains(s: string): boolean };
  const machine = machineInfo(ROOT);
  const r = rng(20261127);
  const prefixes = makePrefixes(n, r);
  const queries: string[] = [];
  for (let i = 0; i < 4096; i++) {
    // Keep the 70/30 family mix for both halves.
    if (i % 2 === 0) {
      const want6 = r() >= 0.7;
      let p: Prefix;
      do p = prefixes[Math.floor(r() * prefixes.length)]!; while (p.v6 !== want6);
      queries.push(inside(p, r));
    } else queries.push(randomAddress(r));
  }
  const v4Queries = queries.filter((q) => !q.includes(':'));

  // ---- build (outside the timed part) -----------------------------------------------------
  const t0 = performance.now();
  const radix = new RadixPrefixSet();
  const w = new Int32Array(4);
  prefixes.forEach((p, id) => {
    parseAddressWords(p.addr, w);
    radix.insert(id, w, p.v6 ? p.bits : p.bits + 96);
  });
  const tRadix = performance.now() - t0;
  const tw = performance.now();
  const wasm = createWasmPrefixSet();
  prefixes.forEach((p, id) => {
    parseAddressWords(p.addr, w);
    wasm.insert(id, w, p.v6 ? p.bits : p.bits + 96);
  });
  const tWasm = performance.now() - tw;
  const t1 = performance.now();
  const ipset = new IPSet();
  for (const p of prefixes) if (!p.v6) ipset.add(p.bits === 32 ? p.addr : p.text);
  const tIpset = performance.now() - t1;
  const t2 = performance.now();
  const cm = new CIDRMatcher(prefixes.map((p) => p.text));
  const tCm = performance.now() - t2;
  const t3 = performance.now();
  const bl = new BlockList();
  for (const p of prefixes) bl.addSubnet(p.addr, p.bits, p.v6 ? 'ipv6' : 'ipv4');
  const tBl = performance.now() - t3;

  const radixHit = (q: string) => {
    parseAddressWords(q, w);
    return radix.covering(w).length > 0;
  };
  const hits = queries.filter(radixHit).length;
  const agree = (name: string, list: string[], f: (q: string) => boolean): string => {
    const bad = list.filter((q) => f(q) !== radixHit(q));
    if (bad.length) console.error(`${name}: ${bad.length} answers differ from the radix set, e.g. ${bad.slice(0, 3).join(', ')}`);
    return `${list.length - bad.length}/${list.length}`;
  };
  // The WASM set answers with ids, compared in full (not only hit / miss).
  const sameIds = (a: readonly number[], b: readonly number[]) => a.length === b.length && [...a].sort().join() === [...b].sort().join();
  const wasmAgrees = (): string => {
    const all = new Uint32Array(queries.length), allText = new Uint32Array(queries.length), ref = new Uint32Array(queries.length);
    const qw = new Int32Array(queries.length * 4);
    queries.forEach((q, i) => parseAddressWords(q, qw.subarray(i * 4, i * 4 + 4)));
    wasm.lookupBatch(qw, queries.length, all);
    wasm.lookupTextBatch(queries, allText);
    radix.lookupBatch(qw, queries.length, ref);
    let ok = 0;
    for (let i = 0; i < queries.length; i++) {
      const want = radix.idsAt(ref[i]!);
      const a = wasm.idsAt(all[i]!), b = wasm.idsAt(allText[i]!);
      const covering = (() => { parseAddressWords(queries[i]!, w); return wasm.covering(w); })();
      const wantCovering = radix.covering(w);
      if (sameIds(a, want) && sameIds(b, want) && allText[i] !== INVALID_ADDRESS && covering.join() === wantCovering.join()) ok++;
      else if (ok + 3 > i) console.error(`wasm: ${queries[i]} -> [${a}] / text [${b}] / covering [${covering}], radix [${want}] / [${wantCovering}]`);
    }
    return `${ok}/${queries.length}`;
  };
  const agreement: Record<string, string> = {
    wasm: wasmAgrees(),
    'ip-set': agree('ip-set', v4Queries, (q) => ipset.contains(q)),
    'cidr-matcher': agree('cidr-matcher', queries.slice(0, 200), (q) => cm.contains(q)),
    'net.BlockList': agree('net.BlockList', queries.slice(0, 100), (q) => bl.check(q, q.includes(':') ? 'ipv6' : 'ipv4')),
  };
  console.log(`mix ${MIX}: ${n} prefixes (${prefixes.filter((p) => !p.v6).length} IPv4, ${prefixes.filter((p) => p.v6).length} IPv6); ${queries.length} queries, ${hits} hits`);
  console.log(`build ms: radix ${tRadix.toFixed(0)}, wasm ${tWasm.toFixed(0)} (${(wasm.heapBytes / 2 ** 20).toFixed(1)} MiB of nodes), ip-set ${tIpset.toFixed(0)} (IPv4 only), cidr-matcher ${tCm.toFixed(0)}, BlockList ${tBl.toFixed(0)}`);

  // ---- timed ------------------------------------------------------------------------------
  const cyc = (xs: string[]) => { let i = 0; return () => { const x = xs[i]!; i = i + 1 === xs.length ? 0 : i + 1; return x; }; };
  const words = queries.map((q) => { const x = new Int32Array(4); parseAddressWords(q, x); return x; });
  let wi = 0;
  const out: number[] = [];
  const tasks: { name: string; items: number; fn: () => void; note: string }[] = [];
  const B = queries.length;
  const flat = new Int32Array(B * 4);
  words.forEach((x, i) => flat.set(x, i * 4));
  const answers = new Uint32Array(B);
  const queryBytes = new TextEncoder().encode(queries.join('\n'));
  let sink = 0;
  tasks.push({ name: 'wasm: pre-parsed words -> longest (batch)', items: B, note: `IPv4+IPv6, ${B} per call`, fn: () => { sink += wasm.lookupBatch(flat, B, answers); } });
  tasks.push({ name: 'wasm: JS strings -> longest (batch)', items: B, note: 'encoded + parsed in WASM', fn: () => { sink += wasm.lookupTextBatch(queries, answers); } });
  tasks.push({ name: 'wasm: text bytes -> longest (batch)', items: B, note: '\\n-separated, parsed in WASM', fn: () => { sink += wasm.lookupTextBytes(queryBytes, answers); } });
  const nqw = cyc(queries);
  tasks.push({ name: 'wasm: text -> covering ids, one call each', items: 1000, note: 'the API path (TS parse)', fn: () => { for (let i = 0; i < 1000; i++) { parseAddressWords(nqw(), w); out.length = 0; wasm.covering(w, 128, out); } } });
  tasks.push({ name: 'radix: pre-parsed words -> longest (batch)', items: B, note: 'the TS twin', fn: () => { sink += radix.lookupBatch(flat, B, answers); } });
  tasks.push({ name: 'radix: JS strings -> longest (batch)', items: B, note: 'the TS twin', fn: () => { sink += radix.lookupTextBatch(queries, answers); } });
  const nq = cyc(queries), nq4 = cyc(v4Queries), nqc = cyc(queries), nqb = cyc(queries);
  tasks.push({ name: 'radix: text -> covering ids', items: 1000, note: 'IPv4+IPv6', fn: () => { for (let i = 0; i < 1000; i++) { parseAddressWords(nq(), w); out.length = 0; radix.covering(w, 128, out); } } });
  tasks.push({ name: 'radix: pre-parsed words -> covering ids', items: 1000, note: 'IPv4+IPv6', fn: () => { for (let i = 0; i < 1000; i++) { out.length = 0; radix.covering(words[wi]!, 128, out); wi = wi + 1 === words.length ? 0 : wi + 1; } } });
  tasks.push({ name: 'ip-set 3.0.0 contains', items: 1000, note: `IPv4 only (${prefixes.filter((p) => !p.v6).length} prefixes)`, fn: () => { for (let i = 0; i < 1000; i++) ipset.contains(nq4()); } });
  tasks.push({ name: 'cidr-matcher 2.1.1 contains', items: 10, note: 'IPv4+IPv6', fn: () => { for (let i = 0; i < 10; i++) cm.contains(nqc()); } });
  tasks.push({ name: 'node:net BlockList check', items: 1, note: 'IPv4+IPv6', fn: () => { const q = nqb(); bl.check(q, q.includes(':') ? 'ipv6' : 'ipv4'); } });

  const bench = new Bench({ time, warmupTime: Math.min(250, time / 4) });
  for (const t of tasks) bench.add(t.name, t.fn);
  await bench.run();
  const rows: (string | number)[][] = [['task', 'lookups/s', '±%', 'samples', 'agrees', 'note']];
  const results: { name: string; lookupsPerSec: number; rme: number }[] = [];
  const agreeOf = (name: string) => (name.startsWith('wasm') ? agreement['wasm']! : name.startsWith('ip-set') ? agreement['ip-set']! : name.startsWith('cidr') ? agreement['cidr-matcher']! : name.startsWith('node') ? agreement['net.BlockList']! : 'reference');
  for (const t of tasks) {
    const res = bench.getTask(t.name)?.result;
    if (!res || res.state !== 'completed') {
      rows.push([t.name, 'failed', '', '', '', t.note]);
      continue;
    }
    const perSec = res.throughput.mean * t.items;
    results.push({ name: t.name, lookupsPerSec: perSec, rme: res.throughput.rme });
    rows.push([t.name, fmtInt(perSec), res.throughput.rme.toFixed(1), res.throughput.samplesCount, agreeOf(t.name), t.note]);
  }
  console.log(`\n${machineLine(machine)}\n`);
  console.log(table(rows));
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `ipset-${machine.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ benchmark: 'ipset', machine, mix: MIX, prefixes: n, queries: queries.length, hits, agreement, results }, null, 2) + '\n');
  console.log(`\nwrote ${file}`);
  if (sink < 0) console.log(sink); // keeps the batch results observable
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exit(1);
});
