/**
 * counter (capacity -1, spec §4.6): never overflows on pour. A timer of `duration` starts at
 * the first event and is not reset by later ones; when it fires the bucket emits every queued
 * event ("timed overflow"). CrowdSec runs that timer on the wall clock only, so counters
 * emit in live mode and never in replay. Here the timer is a deadline checked lazily (on the
 * next pour into the same key) and by `sweep(now)`.
 */
import type { BucketRow } from './table.js';
import { addNs, diffNs, type GoTime } from './time.js';

/** When the counter fires: first pour + duration. */
export function counterDeadline(row: BucketRow): GoTime | null {
  return row.firstTs === null ? null : addNs(row.firstTs, row.spec.durationNs);
}

export function counterDue(row: BucketRow, now: GoTime): boolean {
  return row.firstTs !== null && diffNs(now, row.firstTs) >= row.spec.durationNs;
}

/** Stamps the timed overflow. Ovflw_ts is the deadline (when Go's timer would have fired). */
export function fireCounter(row: BucketRow): void {
  row.ovflwTs = counterDeadline(row);
}
