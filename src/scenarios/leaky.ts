/**
 * The leaky bucket (spec §4.4): CrowdSec drives each bucket with a token-bucket limiter
 * (golang.org/x/time/rate semantics) of burst = capacity and rate = 1/leakspeed. The leak is
 * continuous (fractional tokens), the first pour sees a full bucket, and the
 * (capacity+1)-th event that arrives faster than the leak overflows.
 *
 * The arithmetic reproduces Go's: durations are integer nanoseconds, seconds and
 * sub-second parts are converted to tokens separately, and a token count is turned back into
 * a duration by truncation. That is what makes the worked example's 2.1 / 1.1 / 0.2 tokens
 * come out the same.
 */
import type { PEvent } from '../core/event.js';
import type { BucketRow } from './table.js';
import { diffNs, type GoTime } from './time.js';

/** rate.Every(leakspeed): tokens per second as Go computes it (1 / Duration.Seconds()). */
export function rateFor(leakspeedNs: number): number {
  const sec = Math.trunc(leakspeedNs / 1e9);
  const nsec = leakspeedNs - sec * 1e9;
  return 1 / (sec + nsec / 1e9);
}

function tokensFromDuration(limit: number, ns: number): number {
  const sec = Math.trunc(ns / 1e9);
  const nsec = ns - sec * 1e9;
  return sec * limit + (nsec * limit) / 1e9;
}

function durationFromTokens(limit: number, tokens: number): number {
  return Math.trunc(1e9 * (tokens / limit));
}

/**
 * Takes one token at `now` if available (rate.Limiter.AllowN(now, 1)). On success the
 * limiter state moves to `now`; on refusal it is left as it was.
 */
export function takeToken(row: BucketRow, burst: number, limit: number, now: GoTime): boolean {
  let last = row.limiterLast;
  if (last !== null && diffNs(now, last) < 0) last = now;
  const maxElapsed = durationFromTokens(limit, burst - row.tokens);
  // Go's zero `last` makes now-last saturate, so the first pour always refills to burst.
  const elapsed = last === null ? maxElapsed : Math.min(diffNs(now, last), maxElapsed);
  let tokens = row.tokens + tokensFromDuration(limit, elapsed);
  if (tokens > burst) tokens = burst;
  tokens -= 1;
  // A deficit shorter than 1 ns of refill still counts as "no wait", as in Go.
  const wait = tokens < 0 ? durationFromTokens(limit, -tokens) : 0;
  if (1 <= burst && wait <= 0) {
    row.tokens = tokens;
    row.limiterLast = now;
    return true;
  }
  if (last !== row.limiterLast) row.limiterLast = last;
  return false;
}

/** Queue size limit L (spec §4.4); -1 = unbounded. */
export function queueLimit(capacity: number, cacheSize: number): number {
  if (capacity > 0) return cacheSize > 0 && cacheSize <= capacity ? cacheSize : capacity;
  if (capacity === 0) return 0;
  return cacheSize > 0 ? cacheSize : -1;
}

/** Appends, keeping at most L+1 events (oldest dropped first). */
export function enqueue(row: BucketRow, evt: PEvent): void {
  const q = row.queue;
  q.Queue.push(evt);
  if (q.L >= 0) while (q.Queue.length > q.L + 1) q.Queue.shift();
}

/**
 * Pours one event (Go's Pour / TimeMachinePour): counts it, stamps first/last, and asks the
 * limiter. Returns true on overflow; the overflowing event is queued too. Buckets with
 * capacity <= 0 (counter, conditional, bayesian) never overflow here.
 */
export function pourLeaky(row: BucketRow, evt: PEvent, now: GoTime, limit: number): boolean {
  row.totalCount++;
  if (row.firstTs === null) row.firstTs = now;
  row.lastTs = now;
  const cap = row.spec.capacity;
  const ok = cap > 0 ? takeToken(row, cap, limit, now) : true;
  enqueue(row, evt);
  if (!ok) row.ovflwTs = now;
  return !ok;
}
