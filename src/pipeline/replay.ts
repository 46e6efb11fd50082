/**
 * `palisade replay`: time-machine replay of archived logs (plain, .gz, stdin) through the
 * whole detection path, writing alerts and decisions to the store. Buckets use the logs'
 * timestamps; decisions get their true expiry (stop_at + duration), so replays of old logs
 * mostly yield already-expired decisions, as in CrowdSec (spec §4.7).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { openSource, readLines } from '../acquisition/lines.js';
import { Store } from '../decisions/store.js';
import { DetectionEngine } from './engine.js';
import { AlertSink, type SinkedAlert } from './sink.js';
import { SHIPPED_RULES_DIR } from '../config/rules-dir.js';

export interface ReplayOptions {
  files: string[];
  type: string;
  configDir?: string;
  /** null: write nothing (--no-decisions). */
  dataDir: string | null;
  geoipDir?: string | null;
  maxBuckets?: number;
  onAlert?: (a: SinkedAlert) => void;
  onProgress?: (p: { bytesDone: number; bytesTotal: number; lines: number; elapsedMs: number }) => void;
  warn?: (m: string) => void;
}

export interface ReplaySummary {
  lines: number;
  parsed: number;
  unparsed: number;
  whitelisted: number;
  dropped: number;
  alerts: number;
  decisions: number;
  elapsedMs: number;
  linesPerSec: number;
  truncatedLines: number;
}

export async function runReplay(o: ReplayOptions): Promise<ReplaySummary> {
  const t0 = performance.now();
  const engine = await DetectionEngine.create({ configDir: o.configDir, mode: 'replay', geoipDir: o.geoipDir, maxBuckets: o.maxBuckets, warn: o.warn });
  const store = o.dataDir ? Store.open(o.dataDir) : null;
  const sink = new AlertSink(AlertSink.profilesFor(o.configDir ?? SHIPPED_RULES_DIR, engine.rules.helpers, store), store);
  const labels = new Map([['type', o.type]]);
  let truncated = 0;
  const bytesTotal = o.files.reduce((n, f) => n + (f === '-' ? 0 : safeSize(f)), 0);
  let bytesDone = 0;
  try {
    for (const file of o.files) {
      const src = file === '-' ? 'stdin' : resolve(file);
      const stream = openSource(file);
      let lastReport = performance.now();
      for await (const line of readLines(stream, { onTruncated: () => truncated++ })) {
        bytesDone += line.length + 1;
        for (const alert of engine.processLine(line, src, labels)) {
          const item = sink.add(alert);
          o.onAlert?.(item);
          if (sink.shouldFlush()) await sink.flush();
        }
        if (o.onProgress && (engine.counters.lines & 0x3fff) === 0) {
          const now = performance.now();
          if (now - lastReport > 250) {
            lastReport = now;
            o.onProgress({ bytesDone, bytesTotal, lines: engine.counters.lines, elapsedMs: now - t0 });
          }
        }
      }
    }
    // Input is over: pending buckets are discarded, as CrowdSec does at the end of a replay.
    await sink.flush();
  } finally {
    await store?.close();
  }
  const c = engine.counters;
  const elapsedMs = performance.now() - t0;
  return {
    lines: c.lines,
    parsed: c.parsed,
    unparsed: c.unparsed,
    whitelisted: c.whitelisted,
    dropped: c.dropped,
    alerts: c.alerts,
    decisions: sink.decisions,
    elapsedMs,
    linesPerSec: c.lines / (elapsedMs / 1000),
    truncatedLines: truncated,
  };
}

function safeSize(f: string): number {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
}
