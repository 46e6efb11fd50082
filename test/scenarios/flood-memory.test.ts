/**
 * Bucket memory under a flood: 1,000,000 distinct source IPs, each sending one failed ssh login,
 * poured through DetectionEngine with the hub's ssh-bf / ssh-slow-bf scenarios (4 leaky
 * buckets per source) and a bucket cap. The cap must bound resident memory: without it the
 * engine would hold ~4M buckets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DetectionEngine } from '../../src/pipeline/engine.js';
import { ExpectMode, newLogEvent } from '../../src/core/event.js';
import { debianReference } from '../support/debian.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const SOURCES = 1_000_000;
const MAX_BUCKETS = 100_000;
/**
 * RSS growth allowed after a full GC: 100k bucket rows plus V8 heap slack. Measured on this
 * machine: 150-370 MB after GC, up to ~590 MB peak between GCs.
 */
const RSS_BOUND_MB = 600;
/** Boundedness proper: from 500k to 1M sources (the cap long reached) RSS may not keep growing. */
const PLATEAU_MB = 100;

// test/run.mjs does not pass --expose-gc; turning the flag on at run time gives a gc() to
// fresh contexts, so RSS is measured after a full collection.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (() => void) | undefined;
const rssMb = (): number => {
  gc?.();
  return process.memoryUsage().rss / 1024 / 1024;
};

const ref = debianReference();

test(`flood: ${SOURCES} distinct IPs, maxBuckets ${MAX_BUCKETS}, RSS growth < ${RSS_BOUND_MB} MB and flat (< ${PLATEAU_MB} MB from 500k to 1M), < 60 s`, { skip: ref ? false : 'Debian hub unavailable', timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-flood-'));
  try {
    mkdirSync(join(dir, 'scenarios'));
    for (const f of ['ssh-bf.yaml', 'ssh-slow-bf.yaml']) symlinkSync(join(ref!.hub, 'scenarios/crowdsecurity', f), join(dir, 'scenarios', f));
    // Count, don't keep: every eviction warns, millions of strings would swamp the measurement.
    let evictionWarnings = 0;
    const other: string[] = [];
    const warn = (m: string): void => {
      if (/bucket cap reached|bucket table full/.test(m)) evictionWarnings++;
      else if (other.length < 20) other.push(m);
    };
    const engine = await DetectionEngine.create({ mode: 'replay', configDir: dir, maxBuckets: MAX_BUCKETS, warn });
    const before = rssMb();
    const t0 = performance.now();
    const base = Date.UTC(2026, 0, 5);
    let alerts = 0;
    let peak = before;
    const checkpoints: [number, number][] = [];
    for (let i = 0; i < SOURCES; i++) {
      // 1.x.y.z .. public space, one address per event; 100 events per second of log time.
      const ip = `${23 + (i >>> 24)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
      const evt = newLogEvent('', { mode: ExpectMode.TIMEMACHINE });
      evt.Process = true;
      evt.MarshaledTime = new Date(base + i * 10).toISOString();
      evt.Meta.set('log_type', 'ssh_failed-auth');
      evt.Meta.set('service', 'ssh');
      evt.Meta.set('source_ip', ip);
      evt.Meta.set('target_user', 'root');
      alerts += engine.pour(evt).length;
      if ((i & 0x1ffff) === 0) peak = Math.max(peak, process.memoryUsage().rss / 1024 / 1024);
      if ((i + 1) % 250_000 === 0) checkpoints.push([i + 1, Math.round(rssMb())]);
    }
    const elapsed = (performance.now() - t0) / 1000;
    const after = rssMb();
    peak = Math.max(peak, after);
    console.log(`flood: ${SOURCES} events in ${elapsed.toFixed(1)} s, RSS ${before.toFixed(0)} -> ${after.toFixed(0)} MB (peak ${peak.toFixed(0)}), gc ${gc ? 'exposed' : 'not exposed'}, after GC at ${JSON.stringify(checkpoints)}, ${evictionWarnings} eviction warnings, other: ${JSON.stringify(other)}`);
    // One failed login per source never overflows anything.
    assert.equal(alerts, 0);
    assert.ok(elapsed < 60, `took ${elapsed.toFixed(1)} s`);
    assert.ok(peak - before < RSS_BOUND_MB, `RSS grew by ${(peak - before).toFixed(0)} MB (bound ${RSS_BOUND_MB} MB)`);
    const at = (n: number): number => checkpoints.find(([k]) => k === n)![1];
    assert.ok(at(1_000_000) - at(500_000) < PLATEAU_MB, `RSS still growing with sources: ${JSON.stringify(checkpoints)}`);
    // The cap was actually hit (otherwise the bound proves nothing).
    assert.ok(evictionWarnings > 0, 'bucket cap reached');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
