/**
 * A rules directory loaded once and two parse runtimes over the same enrichers: one for the
 * compiled parser (parseEvent), one for the reference interpreter (reference-parse.ts), each
 * collecting its own warnings, so a test can compare outcomes, counters and warnings.
 */
import { loadRulesDir } from '../../src/config/rules-dir.js';
import { buildEnrichers } from '../../src/parse/enrichers/index.js';
import { newCounters, type ParseRuntime } from '../../src/parse/runtime.js';
import type { ParserSet } from '../../src/parse/types.js';
import { makeRulesDir } from '../support/rules-fixture.js';

export interface PairedRuntimes {
  set: ParserSet;
  /** For parseEvent. */
  rtA: ParseRuntime;
  /** For referenceParse. */
  rtB: ParseRuntime;
  warnA: string[];
  warnB: string[];
}

export async function pairedRuntimes(rules: Parameters<typeof makeRulesDir>[0], now: Date): Promise<PairedRuntimes> {
  const set = loadRulesDir(makeRulesDir(rules), { strict: true, warn: () => {} }).parsers.set;
  const enrichers = await buildEnrichers({ now: () => now, warn: () => {} });
  const warnA: string[] = [];
  const warnB: string[] = [];
  const rtA: ParseRuntime = { enrichers, counters: newCounters(), warn: (m) => warnA.push(m), now: () => now };
  const rtB: ParseRuntime = { enrichers, counters: newCounters(), warn: (m) => warnB.push(m), now: () => now };
  return { set, rtA, rtB, warnA, warnB };
}
