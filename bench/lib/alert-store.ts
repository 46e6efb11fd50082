/**
 * The replay's alert → store half alone, on one thread (tsx): profiles (AlertSink.add) and
 * the batched store writes (AlertSink.flush → Store.addAlerts), fed with the alerts of a
 * `palisade replay --json --no-decisions` output (one alert per line; its `decisions` are
 * dropped and recomputed). Reports CPU µs per alert for each part and the wall time spent
 * waiting for commits (fsync), the part of a flush that is not CPU. Runs --rounds times on
 * fresh stores (the first round warms the JIT; the best round is reported).
 *
 *   node --expose-gc --import tsx bench/lib/alert-store.ts ALERTS.json [--rounds 3] [--no-sync] [--profile OUT.cpuprofile]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from '../../src/decisions/store.js';
import { AlertSink } from '../../src/pipeline/sink.js';
import { SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';
import { DetectionEngine } from '../../src/pipeline/engine.js';
import type { LapiAlert } from '../../src/scenarios/overflow.js';
import { arg } from './args.js';
import { cpuMs, startCpuProfile } from './measure.js';


export interface AlertStoreCosts {
  alerts: number;
  flushes: number;
  /** CPU µs per alert. */
  profilesUs: number;
  flushCpuUs: number;
  /** Wall µs per alert spent in flush beyond its CPU (waiting for the commit and fsync). */
  flushWaitUs: number;
}

export function readAlerts(file: string): LapiAlert[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => {
    const a = JSON.parse(l) as LapiAlert & { decisions: unknown };
    a.decisions = null;
    return a as LapiAlert;
  });
}

export async function measureAlertStore(alerts: readonly LapiAlert[], o: { noSync?: boolean; profile?: string } = {}): Promise<AlertStoreCosts> {
  const engine = await DetectionEngine.create({ mode: 'replay', warn: () => {}, role: 'pour' });
  const dir = mkdtempSync(join(tmpdir(), 'palisade-alert-store-'));
  const store = Store.open(dir, { noSync: o.noSync });
  const sink = new AlertSink(AlertSink.profilesFor(SHIPPED_RULES_DIR, engine.rules.helpers, store), store);
  // Alert objects are fresh per run, as the engine builds them.
  const input = alerts.map((a) => structuredClone(a));
  (globalThis as { gc?: () => void }).gc?.();
  const stopProfile = await startCpuProfile(o.profile);
  let profiles = 0, flushCpu = 0, flushWall = 0, flushes = 0;
  try {
    const flush = async (): Promise<void> => {
      const c = cpuMs(), w = performance.now();
      await sink.flush();
      flushCpu += cpuMs() - c;
      flushWall += performance.now() - w;
      flushes++;
    };
    for (const a of input) {
      const t = cpuMs();
      sink.add(a);
      profiles += cpuMs() - t;
      if (sink.shouldFlush()) await flush();
    }
    await flush();
  } finally {
    await stopProfile();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const n = alerts.length;
  const us = (ms: number): number => (ms * 1000) / n;
  return { alerts: n, flushes, profilesUs: us(profiles), flushCpuUs: us(flushCpu), flushWaitUs: us(Math.max(0, flushWall - flushCpu)) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const file = args[0];
  if (!file) {
    console.error('usage: bench/lib/alert-store.ts ALERTS.json [--rounds 3] [--no-sync] [--profile OUT.cpuprofile]');
    process.exit(2);
  }
  const alerts = readAlerts(file);
  const rounds = Number(arg(args, 'rounds') ?? 3);
  let best: AlertStoreCosts | null = null;
  for (let r = 0; r < rounds; r++) {
    const c = await measureAlertStore(alerts, { noSync: args.includes('--no-sync'), profile: r === rounds - 1 ? arg(args, 'profile') : undefined });
    const f = (x: number): string => x.toFixed(1);
    console.log(`round ${r + 1}: ${c.alerts} alerts, ${c.flushes} flushes; CPU per alert: profiles ${f(c.profilesUs)} us, flush ${f(c.flushCpuUs)} us = ${f(c.profilesUs + c.flushCpuUs)} us; commit wait ${f(c.flushWaitUs)} us/alert`);
    if (!best || c.profilesUs + c.flushCpuUs < best.profilesUs + best.flushCpuUs) best = c;
  }
}
