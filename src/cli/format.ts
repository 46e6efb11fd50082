/** JSON shapes the CLI prints, following the LAPI models (spec §7.6). */
import { formatGoDuration, parseGoDuration } from '../core/duration.js';
import { parseRFC3339, toMillis } from '../core/gotime.js';
import type { DecisionInput, DecisionRecord } from '../decisions/records.js';

/** A decision as the LAPI shows it: duration = until − now as a Go duration string. */
export function decisionJson(d: DecisionInput, stopAt: string, now: number): Record<string, unknown> {
  const stop = parseRFC3339(stopAt);
  const base = stop ? toMillis(stop) : now;
  const durNs = d.duration !== undefined ? parseGoDuration(d.duration) ?? 0 : (d.durationMs ?? 0) * 1e6;
  const until = d.until ?? base + durNs / 1e6;
  return {
    duration: formatGoDuration(Math.round((until - now) * 1e6)),
    origin: d.origin,
    scenario: d.scenario,
    scope: d.scope,
    simulated: d.simulated ?? false,
    type: d.type,
    value: d.value,
  };
}

export function decisionRecordJson(d: DecisionRecord, now: number): Record<string, unknown> {
  return {
    duration: formatGoDuration(Math.round((d.until - now) * 1e6)),
    id: d.id,
    origin: d.origin,
    scenario: d.scenario,
    scope: d.scope,
    simulated: d.simulated,
    type: d.type,
    value: d.value,
  };
}
