/**
 * Counts and times this process's garbage collections (PerformanceObserver 'gc'), so a
 * benchmark can report the pauses of the load generator and of the server during a phase.
 * One observer entry per GC; nothing is allocated between GCs.
 */
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

export interface GcTotals {
  /** Young-generation collections (scavenges) and their pause time. */
  minor: number;
  minorMs: number;
  /** Mark-sweep-compact (full) collections, incremental marking steps, weak callbacks. */
  major: number;
  majorMs: number;
  /** The longest single pause (ms). */
  maxMs: number;
}

const totals: GcTotals = { minor: 0, minorMs: 0, major: 0, majorMs: 0, maxMs: 0 };
let observer: PerformanceObserver | null = null;

/** Starts counting (idempotent). */
export function watchGc(): void {
  if (observer) return;
  observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        totals.minor++;
        totals.minorMs += e.duration;
      } else {
        totals.major++;
        totals.majorMs += e.duration;
      }
      if (e.duration > totals.maxMs) totals.maxMs = e.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
}

/** A copy of the totals so far; `gcSince(a, b)` is what happened between two of them. */
export function gcSnapshot(): GcTotals {
  return { ...totals };
}

/** Collections between two snapshots; maxMs is the longest pause up to b (reset with resetGcMax). */
export function gcSince(a: GcTotals, b: GcTotals): GcTotals {
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return { minor: b.minor - a.minor, minorMs: r3(b.minorMs - a.minorMs), major: b.major - a.major, majorMs: r3(b.majorMs - a.majorMs), maxMs: r3(b.maxMs) };
}

/** Forgets the longest pause so far (call at the start of a phase). */
export function resetGcMax(): void {
  totals.maxMs = 0;
}

/**
 * Makes the young generation's pages resident before a measured phase: allocates `bytes` of
 * short-lived garbage, enough for several scavenges, so both semi-spaces have been written
 * once. Without it, the first scavenges of a run touch fresh pages of a large young
 * generation (page faults for up to 64 MB): a pause of tens of ms inside the measurement.
 */
export function touchYoungGeneration(bytes: number): void {
  let keep: number[] = [];
  // ~16 bytes of payload per element plus the arrays' headers: an approximate byte count is enough.
  for (let done = 0; done < bytes; done += 8 * 1024) {
    keep = new Array<number>(1024).fill(done);
  }
  if (keep.length !== 1024) throw new Error('unreachable');
}
