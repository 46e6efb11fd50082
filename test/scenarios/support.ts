/** Helpers shared by the bucket tests: events with a given time and meta, a settable clock. */
import { ExpectMode, newLogEvent, type PEvent } from '../../src/core/event.js';
import { parseRFC3339, type GoTime } from '../../src/core/gotime.js';

export interface EventSpec {
  time: string;
  meta?: Record<string, string>;
  parsed?: Record<string, string>;
  enriched?: Record<string, string>;
}

export function makeEvent(e: EventSpec, mode: 'live' | 'replay' = 'replay'): PEvent {
  const evt = newLogEvent('', { mode: mode === 'replay' ? ExpectMode.TIMEMACHINE : ExpectMode.LIVE });
  evt.MarshaledTime = e.time;
  evt.Process = true;
  for (const [k, v] of Object.entries(e.meta ?? {})) evt.Meta.set(k, String(v));
  for (const [k, v] of Object.entries(e.parsed ?? {})) evt.Parsed.set(k, String(v));
  for (const [k, v] of Object.entries(e.enriched ?? {})) evt.Enriched.set(k, String(v));
  return evt;
}

export function t(s: string): GoTime {
  const v = parseRFC3339(s);
  if (!v) throw new Error(`bad test time ${s}`);
  return v;
}

/** A clock the test moves by hand. */
export class FakeClock {
  constructor(public current: GoTime) {}
  now = (): GoTime => this.current;
  set(s: string): void {
    this.current = t(s);
  }
}
