/**
 * The store side of a replay alone (SinkQueue: profiles + LMDB writes), on alerts captured
 * from a replay's `--json` output: CPU time per alert on this thread, GC counts, and an
 * optional CPU profile. The alerts are replayed through the same AlertSink / SinkQueue /
 * releaseMappedPages sequence as runReplay uses, into a fresh data directory.
 *
 *   node --import tsx bench/lib/sink-cost.ts ALERTS.json DATA_DIR [--profile OUT.cpuprofile] [--batch 500]
 *
 * ALERTS.json: `palisade replay FILE --json --no-decisions > ALERTS.json`.
 */
import { readFileSync } from 'node:fs';
import { Store } from '../../src/decisions/store.js';
import { AlertSink, SinkQueue } from '../../src/pipeline/sink.js';
import { SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';
import { loadRulesDir } from '../../src/config/rules-dir.js';
import type { LapiAlert } from '../../src/scenarios/overflow.js';
import { arg } from './args.js';
import { cpuMs, startCpuProfile } from './measure.js';
import { gcSince, gcSnapshot, watchGc } from './gc-watch.js';

const args = process.argv.slice(2);
const [file, dir] = args;
if (!file || !dir) {
  console.error('usage: bench/lib/sink-cost.ts ALERTS.json DATA_DIR [--profile OUT] [--batch 500]');
  process.exit(2);
}
const alerts: LapiAlert[] = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => {
  const a = JSON.parse(l) as LapiAlert & { decisions: unknown };
  a.decisions = null;
  return a;
});
const rules = loadRulesDir(SHIPPED_RULES_DIR, { strict: true, warn: () => {}, compileParsers: false });
const store = Store.open(dir);
const sink = new AlertSink(AlertSink.profilesFor(SHIPPED_RULES_DIR, rules.helpers, store), store, Number(arg(args, 'batch') ?? 500));
const queue = new SinkQueue(sink, undefined, () => store.releaseMappedPages());
const profile = arg(args, 'profile');
const stopProfile = await startCpuProfile(profile);
watchGc();
const g0 = gcSnapshot();
const t0 = cpuMs();
const w0 = performance.now();
// As the pour loop hands them over: a few at a time, waiting when the backlog is over 2,000.
for (let i = 0; i < alerts.length; i += 4) {
  queue.push(alerts.slice(i, i + 4));
  if (queue.backlog > 2000) await queue.settle(2000);
}
await queue.drain();
await sink.flush();
const cpu = cpuMs() - t0;
const wall = performance.now() - w0;
await new Promise((r) => setTimeout(r, 10));
const gc = gcSince(g0, gcSnapshot());
await stopProfile();
await store.close();
console.log(`${alerts.length} alerts, ${sink.decisions} decisions: process CPU ${cpu.toFixed(0)} ms (${((cpu * 1000) / alerts.length).toFixed(1)} us/alert), wall ${wall.toFixed(0)} ms; GC ${gc.minor} scavenges ${gc.minorMs.toFixed(0)} ms, ${gc.major} major ${gc.majorMs.toFixed(0)} ms`);
