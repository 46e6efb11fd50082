/**
 * An alert's events as stored: each event written as a delta to the one before it. The
 * events of one alert repeat the same metas in the same order (a replayed sshd alert: ~9
 * events x 15 metas, of which 2-3 change from one event to the next), so most entries shrink
 * to one small integer. Encoding that instead of ~130 {key, value} records is several times
 * cheaper for msgpack, and the record LMDB compresses is several times smaller (was ~6.5 KB).
 *
 *   e: per event: timestamp, n, then n entries, the m-th one being
 *        0             the previous event's m-th entry (same key, same value)
 *        1, value      the previous event's m-th key, this value
 *        2             the previous event's m-th key, the value is this event's timestamp
 *        key, value    (two strings) anything else
 *
 * Records written before this layout hold `events` as an array of {timestamp, meta}; both
 * read back through `unpackEvents` (store.ts tells them apart with Array.isArray).
 *
 * `packEvents` also validates its input (the LAPI's JSON) and applies the LAPI's meta caps,
 * with the same errors and the same result as copying the events first would.
 */
import { capEventMeta, metaJsonBound, StoreError, type KeyValue } from './records.js';

export interface PackedEvents {
  e: (number | string)[];
}

export interface StoredEvent {
  timestamp: string;
  meta: KeyValue[];
}

/** LAPI limit on one event's meta JSON (records.ts capEventMeta). */
const EVENT_META_MAX = 8191;
const SAME = 0, SAME_KEY = 1, SAME_KEY_TS = 2;
const NO_META: readonly KeyValue[] = [];

/**
 * Validates `events` (an array of {timestamp, meta}, or null/undefined for none) of alert
 * `alert` of a batch and packs them. Meta keys/values that are null or missing count as ''
 * (as the LAPI stores them); oversized metas are cut as capEventMeta does.
 */
export function packEvents(events: unknown, alert: number): PackedEvents {
  if (events === undefined || events === null) return { e: [] };
  if (!Array.isArray(events)) throw new StoreError('INVALID_INPUT', 'expected an array', { alert, field: 'events' });
  // Built in a reused scratch array, then copied at its exact length: the packed events wait
  // in a write batch (promoted), and an array grown by push carries up to 50% empty slots.
  const e = scratch;
  let n = 0;
  let prev = NO_META;
  for (let k = 0; k < events.length; k++) {
    const ev = events[k] as { timestamp?: unknown; meta?: unknown } | null | undefined;
    const ts = ev?.timestamp;
    if (typeof ts !== 'string') {
      throw new StoreError('INVALID_INPUT', `expected a string, got ${ts === null ? 'null' : typeof ts}`, { alert, field: `events[${k}].timestamp` });
    }
    const meta = checkedMeta(ev?.meta, alert, `events[${k}].meta`);
    e[n++] = ts;
    e[n++] = meta.length;
    for (let m = 0; m < meta.length; m++) {
      const { key, value } = meta[m]!;
      const p = m < prev.length ? prev[m]! : null;
      if (p === null || p.key !== key) {
        e[n++] = key;
        e[n++] = value;
      } else if (p.value === value) e[n++] = SAME;
      else if (value === ts) e[n++] = SAME_KEY_TS;
      else {
        e[n++] = SAME_KEY;
        e[n++] = value;
      }
    }
    prev = meta;
  }
  return { e: e.slice(0, n) };
}

/** packEvents' work array (never shrunk; it holds at most one alert's strings between calls). */
const scratch: (number | string)[] = [];

/**
 * An event's meta, checked, ready to pack: the input array itself when every entry has
 * string key and value and the whole fits the cap (the usual case: nothing is copied),
 * otherwise a normalised copy.
 */
function checkedMeta(v: unknown, alert: number, field: string): readonly KeyValue[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new StoreError('INVALID_INPUT', 'expected an array of {key, value}', { alert, field });
  let plain = true;
  for (let k = 0; k < v.length; k++) {
    const o = v[k] as Record<string, unknown> | null | undefined;
    const key = o?.key, value = o?.value;
    if (typeof key === 'string' && typeof value === 'string') continue;
    plain = false;
    if (key !== undefined && key !== null && typeof key !== 'string') {
      throw new StoreError('INVALID_INPUT', `expected a string, got ${typeof key}`, { alert, field: `${field}[${k}].key` });
    }
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw new StoreError('INVALID_INPUT', `expected a string, got ${typeof value}`, { alert, field: `${field}[${k}].value` });
    }
  }
  // Only .key and .value are read when packing, so extra properties drop out as a copy would drop them.
  if (plain && metaJsonBound(v as KeyValue[]) <= EVENT_META_MAX) return v as KeyValue[];
  const copy = (v as (Record<string, unknown> | null | undefined)[]).map((o) => ({
    key: typeof o?.key === 'string' ? o.key : '',
    value: typeof o?.value === 'string' ? o.value : '',
  }));
  return capEventMeta(copy);
}

/** The events of a stored alert, in either layout. */
export function unpackEvents(stored: PackedEvents | StoredEvent[] | null | undefined): StoredEvent[] {
  if (stored === null || stored === undefined) return [];
  if (Array.isArray(stored)) return stored;
  const e = stored.e;
  const out: StoredEvent[] = [];
  let prev: KeyValue[] = [];
  for (let p = 0; p < e.length; ) {
    const timestamp = e[p++] as string;
    const n = e[p++] as number;
    const meta: KeyValue[] = new Array(n);
    for (let m = 0; m < n; m++) {
      const x = e[p++]!;
      if (typeof x === 'string') meta[m] = { key: x, value: e[p++] as string };
      else if (x === SAME) meta[m] = { key: prev[m]!.key, value: prev[m]!.value };
      else if (x === SAME_KEY_TS) meta[m] = { key: prev[m]!.key, value: timestamp };
      else meta[m] = { key: prev[m]!.key, value: e[p++] as string };
    }
    out.push({ timestamp, meta });
    prev = meta;
  }
  return out;
}
