/**
 * Store records to the LAPI's JSON models (spec §7.6). Pure; the compiled serializers of
 * schemas.ts then write them in Go's field order.
 */
import { formatGoDuration } from '../core/duration.js';
import { formatGoString, parseRFC3339 } from '../core/gotime.js';
import type { DecisionRecord, StoredAlert } from '../decisions/records.js';

/**
 * `until − now` as Go prints a Duration (formatGoDuration), with a BigInt-free path for
 * whole milliseconds, the only case the store produces: a 100k-decision stream formats
 * 100k of them.
 */
export function remaining(untilMs: number, nowMs: number): string {
  const ms = untilMs - nowMs;
  if (!Number.isSafeInteger(ms)) return formatGoDuration(Math.round(ms * 1e6));
  if (ms === 0) return '0s';
  const neg = ms < 0;
  const a = neg ? -ms : ms;
  let out: string;
  if (a < 1000) out = a + 'ms';
  else {
    const frac = a % 1000;
    const secs = (a - frac) / 1000;
    let f = '';
    if (frac !== 0) {
      f = '.' + String(frac).padStart(3, '0');
      while (f.endsWith('0')) f = f.slice(0, -1);
    }
    out = (secs % 60) + f + 's';
    if (secs >= 60) {
      const mins = Math.floor(secs / 60);
      out = (mins % 60) + 'm' + out;
      if (mins >= 60) out = Math.floor(mins / 60) + 'h' + out;
    }
  }
  return neg ? '-' + out : out;
}

export interface DecisionView {
  duration: string;
  id?: number;
  origin: string;
  scenario: string;
  scope: string;
  simulated?: boolean;
  type: string;
  uuid?: string;
  value: string;
}

/** A decision as the bouncer routes return it (1.4.6: no `simulated` key). */
export function bouncerDecision(d: DecisionRecord, now: number): DecisionView {
  // Keys in Go's order, so JSON.stringify (used for large lists) writes the same bytes as the schema serializer.
  const duration = remaining(d.until, now);
  return d.id !== 0
    ? { duration, id: d.id, origin: d.origin, scenario: d.scenario, scope: d.scope, type: d.type, value: d.value }
    : { duration, origin: d.origin, scenario: d.scenario, scope: d.scope, type: d.type, value: d.value };
}

/** A decision inside an alert read back by GET /v1/alerts (with `simulated`). */
export function alertDecision(d: DecisionRecord, now: number): DecisionView {
  const duration = remaining(d.until, now);
  return d.id !== 0
    ? { duration, id: d.id, origin: d.origin, scenario: d.scenario, scope: d.scope, simulated: d.simulated, type: d.type, value: d.value }
    : { duration, origin: d.origin, scenario: d.scenario, scope: d.scope, simulated: d.simulated, type: d.type, value: d.value };
}

/** RFC3339 with seconds in UTC, as the LAPI prints `created_at`. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Stored RFC3339 text in Go's Time.String() form; falls back to the parsed ms value. */
export function goTimeString(text: string, fallbackMs: number): string {
  const t = parseRFC3339(text);
  if (t) return formatGoString(t);
  const u = parseRFC3339(rfc3339(fallbackMs));
  return u ? formatGoString(u) : text;
}

export interface AlertView {
  capacity: number;
  created_at: string;
  decisions: DecisionView[] | null;
  events: { meta: { key: string; value: string }[]; timestamp: string }[];
  events_count: number;
  id: number;
  labels: string[] | null;
  leakspeed: string;
  machine_id: string;
  message: string;
  meta?: { key: string; value: string }[];
  remediation?: boolean;
  scenario: string;
  scenario_hash: string;
  scenario_version: string;
  simulated: boolean;
  source: Record<string, string | number>;
  start_at: string;
  stop_at: string;
  uuid?: string;
}

/** Source fields are omitempty in Go: empty strings and zero coordinates are left out. */
function sourceView(s: StoredAlert['source']): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const k of ['as_name', 'as_number', 'cn', 'ip'] as const) if (s[k]) out[k] = s[k];
  if (s.latitude) out.latitude = s.latitude;
  if (s.longitude) out.longitude = s.longitude;
  if (s.range) out.range = s.range;
  out.scope = s.scope;
  out.value = s.value;
  return out;
}

export function alertView(a: StoredAlert, now: number): AlertView {
  const v: AlertView = {
    capacity: a.capacity,
    created_at: rfc3339(a.createdAt),
    decisions: a.decisions.length ? a.decisions.map((d) => alertDecision(d, now)) : null,
    events: a.events.map((e) => ({ meta: e.meta, timestamp: goTimeString(e.timestamp, a.startedAt) })),
    events_count: a.events_count,
    id: a.id,
    labels: a.labels,
    leakspeed: a.leakspeed,
    machine_id: a.machineId || 'N/A',
    message: a.message,
    scenario: a.scenario,
    scenario_hash: a.scenario_hash,
    scenario_version: a.scenario_version,
    simulated: a.simulated,
    source: sourceView(a.source),
    start_at: goTimeString(a.start_at, a.startedAt),
    stop_at: goTimeString(a.stop_at, a.stoppedAt),
  };
  if (a.meta.length) v.meta = a.meta;
  if (a.uuid !== undefined) v.uuid = a.uuid;
  return v;
}
