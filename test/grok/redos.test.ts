/**
 * Catastrophic backtracking: a hostile line must never stall a worker. test/run.mjs starts
 * node with V8's linear-engine fallback flag, as the CLI does through
 * enableRegexpBacktrackGuard(). Timings have generous bounds: two shared cores.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { compileGrok } from '../../src/grok/compile.js';
import { PatternLibrary } from '../../src/grok/library.js';
import { parseRe2, emitJs } from '../../src/grok/re2.js';
import { enableRegexpBacktrackGuard, linearEligible, linearRegExp } from '../../src/grok/regexp-guard.js';

enableRegexpBacktrackGuard();
enableRegexpBacktrackGuard(); // idempotent

function timed<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const r = fn();
  return [r, performance.now() - t];
}

test('classic catastrophic pattern ^(a+)+$ on 32 a + b returns in < 10 ms', () => {
  const re = new RegExp('^(a+)+$');
  re.test('aaa'); // warm up: compile outside the timed part
  const [r, ms] = timed(() => re.test('a'.repeat(32) + 'b'));
  assert.equal(r, false);
  assert.ok(ms < 10, `took ${ms.toFixed(1)} ms`);
});

test('realistic grok with several %{DATA}: 100 KB hostile line missing a literal < 10 ms', () => {
  const g = compileGrok('Failed %{DATA:method} for %{DATA:user} from %{DATA:ip} port %{INT:port} ssh2', PatternLibrary.withBuiltins());
  g.match('Failed password for root from 1.2.3.4 port 22 ssh2');
  const hostile = 'Failed password for invalid user admin from 1.2.3.4 '.repeat(2000).slice(0, 100_000);
  const [r, ms] = timed(() => g.match(hostile));
  assert.equal(r, null);
  assert.ok(ms < 10, `took ${ms.toFixed(1)} ms`);
});

test('worst case: 100 KB line with every literal but no match stays linear (bounded)', () => {
  const g = compileGrok('^%{DATA:a} from %{DATA:b} port %{DATA:c} ssh2$', PatternLibrary.withBuiltins());
  assert.deepEqual(Object.fromEntries(g.match('x from y port z ssh2')!), { a: 'x', b: 'y', c: 'z' });
  const hostile = 'x from y port z ssh2 '.repeat(5000).slice(0, 100_000) + ' tail';
  const [r, ms] = timed(() => g.match(hostile));
  assert.equal(r, null);
  // Backtracking would be O(n^3) here (hours); the linear engine takes ~100 ms.
  assert.ok(ms < 1500, `took ${ms.toFixed(1)} ms`);
});

test('quadratic unanchored search on a long line uses the linear engine', () => {
  // (.*)\+ scans to the end from every start position: 7.5 s on irregexp for 100 KB.
  const g = compileGrok('%{GREEDYDATA:ts}\\+%{INT:tz}%{INT:tz2}', PatternLibrary.withBuiltins());
  const hostile = 'a + '.repeat(25_000);
  const [r, ms] = timed(() => g.match(hostile));
  assert.equal(r, null);
  assert.ok(ms < 500, `took ${ms.toFixed(1)} ms`);
});

test('linearEligible mirrors V8: bounded repeats may replicate their body at most 16 times', () => {
  const cases: [string, boolean][] = [
    ['^(a+)+$', true],
    ['x{0,16}', true],
    ['x{0,17}', false],
    ['x{17}', false],
    ['(x{4}){4}', true],
    ['(x{4}){5}', false],
    ['([a-z]{0,6}a)+', true], // + counts as 2: 12
    ['([a-z]{0,10}a)+', false], // 20
    ['[0-9A-Za-z-]{0,62}', false], // grok HOSTNAME
    ['(?m)^a', false], // lookbehind in the translation
    ['\\bfoo\\b', true],
  ];
  for (const [src, want] of cases) assert.equal(linearEligible(parseRe2(src).root), want, src);
  // And V8 agrees, where the linear engine can be asked directly.
  if (linearRegExp('a') !== null) {
    for (const [src] of cases) {
      assert.equal(linearRegExp(emitJs(parseRe2(src).root)) !== null, linearEligible(parseRe2(src).root), `V8 on ${src}`);
    }
  }
});

test('ineligible groks get an eligible gate that never rejects a real match', () => {
  const lib = PatternLibrary.withBuiltins();
  const g = compileGrok('%{IPORHOST:host} %{DATA:x}$', lib) as ReturnType<typeof compileGrok> & { engines: { gate: RegExp | null } };
  assert.ok(g.engines.gate, 'HOSTNAME {0,62} makes it ineligible');
  for (const line of ['10.0.0.1 hello', 'example.org there', '::1 x', 'a'.repeat(63) + ' y']) {
    assert.ok(g.engines.gate.test(line), line);
    assert.notEqual(g.match(line), null, line);
  }
});

// Spawns a fresh node without the command-line flag to see what the runtime switch covers.
function childMs(runsBeforeFlag: number): number {
  const code = `
    const { setFlagsFromString } = require('node:v8');
    const re = new RegExp('^(b+)+$');
    for (let i = 0; i < ${runsBeforeFlag}; i++) re.test('bbbbc');
    setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
    const t = performance.now(); re.test('b'.repeat(27) + 'c');
    console.log(performance.now() - t);`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

test('runtime guard: covers RegExps not yet tiered up, not those that already ran twice', () => {
  // Created before setFlagsFromString but first run after it: protected.
  assert.ok(childMs(0) < 50, 'created before the flag, run after it');
  // Executed twice before the flag: V8 already generated native code without the limit.
  assert.ok(childMs(5) > 100, 'tiered-up RegExp is not protected');
});
