/**
 * What parser nodes need at run time besides the event: enricher methods, named drop counters
 * (hot paths count and go on), and a warning sink.
 */
import type { Enricher } from './enrichers/index.js';
import type { LineHint } from './line-hint.js';

export interface ParseCounters {
  lines: number;
  parsed: number;
  unparsed: number;
  whitelisted: number;
  filterErrors: number;
  staticErrors: number;
  whitelistErrors: number;
  dropped: number;
}

export interface ParseRuntime {
  enrichers: ReadonlyMap<string, Enricher>;
  counters: ParseCounters;
  warn(msg: string): void;
  now(): Date;
  /** Set by the batch parser (batch.ts) for the line being parsed; absent = no hints. */
  hint?: LineHint;
}

export function newCounters(): ParseCounters {
  return { lines: 0, parsed: 0, unparsed: 0, whitelisted: 0, filterErrors: 0, staticErrors: 0, whitelistErrors: 0, dropped: 0 };
}

/** Warnings are rate-limited per message text so a bad rule cannot flood the log per line. */
export function limitedWarn(sink: (m: string) => void, perMessage = 5): (m: string) => void {
  const seen = new Map<string, number>();
  return (m) => {
    const n = (seen.get(m) ?? 0) + 1;
    if (seen.size < 10_000) seen.set(m, n);
    if (n <= perMessage) sink(n === perMessage ? `${m} (further identical warnings suppressed)` : m);
  };
}
