/**
 * Record types of the decision store and the byte layout of every LMDB key.
 *
 * Tables (named LMDB databases inside one env; see store.ts):
 *
 *   table        key                                              value
 *   -----------  -----------------------------------------------  -------------------------
 *   meta         string ('nextAlertId', 'nextDecisionId', 'seq',  msgpack number
 *                'expiredThrough')
 *   alerts       alert id (ordered-binary number)                 msgpack DiskAlert, events
 *                                                                 packed (packed-events.ts)
 *   decisions    decision id (ordered-binary number)              msgpack DiskDecision
 *   changes      seq (ordered-binary number)                      msgpack DiskChange
 *   dec_value    [u16 n][n bytes of UTF-8 value, n <= 400][u48 id] empty
 *   dec_until    [i64 until ms, sign bit flipped][u48 id]         empty
 *   dec_addr     [u8 family 4|6][u8 prefix128][16 B start][u48 id] empty
 *   dec_alert    [u48 alert id][u48 decision id]                  empty
 *   alert_time   [i64 createdAt ms, sign bit flipped][u48 id]     empty
 *
 * All integers are big-endian so that byte order is numeric order: a range scan over a key
 * prefix walks the index in order. Index values are empty; the key carries everything the
 * scan needs and the record is fetched only for candidates. Values longer than 400 bytes
 * share a truncated key and are told apart by re-checking the record (filters.ts always
 * re-checks). Records keep a fixed shape (absent = null) so that msgpackr's shared
 * structures stay few and stable across processes.
 */

// ---------------------------------------------------------------------------------------
// Errors

export type StoreErrorCode =
  | 'INVALID_FILTER' // unknown or malformed filter parameter (LAPI answers 500)
  | 'INVALID_ADDRESS' // ip/range value that does not parse (LAPI: "invalid ip address / range")
  | 'INVALID_DURATION' // decision duration that is not a Go duration
  | 'INVALID_INPUT' // missing or mistyped alert/decision field
  | 'NOT_FOUND'
  | 'READ_ONLY'
  | 'CLOSED'
  | 'OPEN_FAILED';

export interface StoreWhere {
  /** Index of the alert in an addAlerts batch, of the decision in that alert, or a filter parameter. */
  alert?: number;
  decision?: number;
  field?: string;
  param?: string;
}

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  readonly where: StoreWhere;
  /** The message without the location prefix (what the LAPI puts in its error body). */
  readonly reason: string;
  constructor(code: StoreErrorCode, message: string, where: StoreWhere = {}) {
    const at: string[] = [];
    if (where.alert !== undefined) at.push(`alerts[${where.alert}]`);
    if (where.decision !== undefined) at.push(`decisions[${where.decision}]`);
    if (where.field !== undefined) at.push(where.field);
    if (where.param !== undefined) at.push(`parameter '${where.param}'`);
    super(at.length ? `${at.join('.')}: ${message}` : message);
    this.name = 'StoreError';
    this.code = code;
    this.where = where;
    this.reason = message;
  }
}

// ---------------------------------------------------------------------------------------
// Inputs (the LAPI shapes of spec §7.6)

export interface KeyValue {
  key: string;
  value: string;
}

export interface AlertSource {
  scope: string;
  value: string;
  ip?: string;
  range?: string;
  as_number?: string;
  as_name?: string;
  cn?: string;
  latitude?: number;
  longitude?: number;
}

export interface AlertEvent {
  timestamp: string;
  meta: KeyValue[] | null;
}

export interface AlertInput {
  scenario: string;
  scenario_hash: string;
  scenario_version: string;
  message: string;
  events_count: number;
  start_at: string;
  stop_at: string;
  capacity: number;
  leakspeed: string;
  simulated: boolean;
  remediation?: boolean;
  source: AlertSource;
  events: AlertEvent[] | null;
  meta?: KeyValue[] | null;
  labels?: string[] | null;
  /** Owner machine; empty when unknown (the API prints `N/A`). */
  machine_id?: string;
  uuid?: string;
}

export interface DecisionInput {
  origin: string;
  type: string;
  scope: string;
  value: string;
  scenario: string;
  /** Exactly one of `until` (ms epoch), `durationMs`, or `duration` (Go duration text). The
   *  last two count from the alert's stop_at, as the LAPI does (spec §7.3). */
  until?: number;
  durationMs?: number;
  duration?: string;
  simulated?: boolean;
  uuid?: string;
}

// ---------------------------------------------------------------------------------------
// Records as callers see them

export interface DecisionRecord {
  id: number;
  alertId: number;
  origin: string;
  type: string;
  scope: string;
  value: string;
  scenario: string;
  simulated: boolean;
  /** ms epoch */
  createdAt: number;
  /** ms epoch; a soft delete sets it to the deletion time. */
  until: number;
  /** 0 for scopes other than Ip/Range. */
  family: 0 | 4 | 6;
  /** Address interval in the 128-bit space (IPv4 mapped), for Ip/Range decisions. */
  start?: bigint;
  end?: bigint;
  /** Prefix in the 128-bit space, for Ip/Range decisions. */
  prefix128?: number;
  uuid?: string;
  /** Set by a soft delete (ms epoch). */
  deletedAt?: number;
}

/** An alert as callers see it: the on-disk record (`uuid` optional) plus its decisions. */
export interface StoredAlert extends Omit<DiskAlert, 'uuid'> {
  uuid?: string;
  /** The alert's decisions still in the store (sweeping removes long-expired ones), by id. */
  decisions: DecisionRecord[];
}

export interface Change {
  seq: number;
  kind: 'new' | 'deleted';
  decisionId: number;
  /** ms epoch of the write that produced the change. */
  at: number;
  /** For 'deleted': the decision as it was (it may be gone from the table since);
   *  for 'new': the current record, absent if it has been hard-deleted since. */
  decision?: DecisionRecord;
}

// ---------------------------------------------------------------------------------------
// On-disk shapes (fixed keys; null = absent)

export interface DiskDecision {
  id: number;
  alertId: number;
  origin: string;
  type: string;
  scope: string;
  value: string;
  scenario: string;
  simulated: boolean;
  createdAt: number;
  until: number;
  family: 0 | 4 | 6;
  prefix: number;
  start: Uint8Array | null;
  uuid: string | null;
  deletedAt: number | null;
}

export interface DiskAlert {
  id: number;
  /** ms epoch, set by the store when the alert is written. */
  createdAt: number;
  machineId: string;
  scenario: string;
  scenario_hash: string;
  scenario_version: string;
  message: string;
  events_count: number;
  /** As posted (RFC3339); `startedAt` / `stoppedAt` are the parsed ms values. */
  start_at: string;
  stop_at: string;
  startedAt: number;
  stoppedAt: number;
  capacity: number;
  leakspeed: string;
  simulated: boolean;
  remediation: boolean;
  source: Required<AlertSource>;
  events: { timestamp: string; meta: KeyValue[] }[];
  meta: KeyValue[];
  labels: string[] | null;
  uuid: string | null;
}

export interface DiskChange {
  seq: number;
  /** 0 = new, 1 = deleted */
  kind: 0 | 1;
  id: number;
  at: number;
  d: DiskDecision | null;
}

// ---------------------------------------------------------------------------------------
// Key encodings

export const U48_MAX = 2 ** 48 - 1;
const VALUE_KEY_MAX = 400;
const enc = new TextEncoder();

function putU48(b: Uint8Array, off: number, v: number): void {
  // Split into 16 high + 32 low bits: JS bit operators only see 32 bits.
  const hi = Math.floor(v / 2 ** 32);
  const lo = v >>> 0;
  b[off] = (hi >>> 8) & 0xff;
  b[off + 1] = hi & 0xff;
  b[off + 2] = lo >>> 24;
  b[off + 3] = (lo >>> 16) & 0xff;
  b[off + 4] = (lo >>> 8) & 0xff;
  b[off + 5] = lo & 0xff;
}

export function getU48(b: Uint8Array, off: number): number {
  return (b[off]! * 256 + b[off + 1]!) * 2 ** 32 + ((b[off + 2]! << 24) >>> 0) + (b[off + 3]! << 16) + (b[off + 4]! << 8) + b[off + 5]!;
}

/** Signed ms timestamps sort as unsigned bytes once the sign bit is flipped. */
function putTime(b: Uint8Array, off: number, ms: number): void {
  const dv = new DataView(b.buffer, b.byteOffset + off, 8);
  dv.setBigInt64(0, BigInt(Math.trunc(ms)));
  b[off] = b[off]! ^ 0x80;
}

export function getTime(b: Uint8Array, off: number): number {
  const c = new Uint8Array(8);
  c.set(b.subarray(off, off + 8));
  c[0] = c[0]! ^ 0x80;
  return Number(new DataView(c.buffer).getBigInt64(0));
}

export function u48Key(id: number): Buffer {
  const b = Buffer.allocUnsafe(6);
  putU48(b, 0, id);
  return b;
}

/** Whether a dec_value prefix holds its whole value (shorter than the cut), so every key under it is that value's. */
export function valueKeyIsExact(prefix: Uint8Array): boolean {
  return ((prefix[0]! << 8) | prefix[1]!) < VALUE_KEY_MAX;
}

/** dec_value prefix for a value (all its ids follow it), or the full key when `id` is given. */
export function valueKey(value: string, id?: number): Buffer {
  let bytes = enc.encode(value);
  if (bytes.length > VALUE_KEY_MAX) bytes = bytes.subarray(0, VALUE_KEY_MAX);
  const b = Buffer.allocUnsafe(2 + bytes.length + (id === undefined ? 0 : 6));
  b[0] = bytes.length >>> 8;
  b[1] = bytes.length & 0xff;
  b.set(bytes, 2);
  if (id !== undefined) putU48(b, 2 + bytes.length, id);
  return b;
}

/** dec_until / alert_time key; without `id` it is the lowest key at that time. */
export function timeKey(ms: number, id?: number): Buffer {
  const b = Buffer.alloc(id === undefined ? 8 : 14);
  putTime(b, 0, ms);
  if (id !== undefined) putU48(b, 8, id);
  return b;
}

/** dec_addr key or prefix: family, then prefix128, then start, then id (each part optional from the right). */
export function addrKey(family: 4 | 6, prefix128?: number, start?: Uint8Array, id?: number): Buffer {
  const len = 1 + (prefix128 === undefined ? 0 : 1) + (start === undefined ? 0 : 16) + (id === undefined ? 0 : 6);
  const b = Buffer.alloc(len);
  b[0] = family;
  if (prefix128 !== undefined) b[1] = prefix128;
  if (start !== undefined) b.set(start, 2);
  if (id !== undefined) putU48(b, 18, id);
  return b;
}

export function alertDecisionKey(alertId: number, decisionId?: number): Buffer {
  const b = Buffer.allocUnsafe(decisionId === undefined ? 6 : 12);
  putU48(b, 0, alertId);
  if (decisionId !== undefined) putU48(b, 6, decisionId);
  return b;
}

/** Smallest key greater than every key starting with `prefix` (undefined: no bound). */
export function prefixEnd(prefix: Uint8Array): Buffer | undefined {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i] = b[i]! + 1;
      return b.subarray(0, i + 1);
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Storage limits the LAPI applies (spec §7.3)

const EVENT_META_MAX = 8191;
const ALERT_META_VALUE_MAX = 4095;
const STRIPPED = '<stripped>';

/**
 * An event's metas are kept only if their JSON fits in 8191 chars; otherwise long values
 * (> 2N chars) are cut to N chars + `<stripped>` for N = 2048, 1024, ... until it fits, and
 * dropped altogether if nothing fits.
 */
export function capEventMeta(meta: KeyValue[]): KeyValue[] {
  if (metaJsonBound(meta) <= EVENT_META_MAX || JSON.stringify(meta).length <= EVENT_META_MAX) return meta;
  for (let n = 2048; n >= 1; n = Math.floor(n / 2)) {
    const cut = meta.map((m) => (m.value.length > 2 * n ? { key: m.key, value: m.value.slice(0, n) + STRIPPED } : m));
    if (JSON.stringify(cut).length <= EVENT_META_MAX) return cut;
  }
  return [];
}

/**
 * An upper bound of JSON.stringify(meta).length, without building the text (this runs for
 * every event of every alert): each entry is `{"key":K,"value":V}` plus a comma, and JSON
 * writes a UTF-16 unit as at most 6 characters (\uXXXX).
 */
export function metaJsonBound(meta: readonly KeyValue[]): number {
  let n = 2;
  for (let i = 0; i < meta.length; i++) {
    const m = meta[i]!;
    n += 22 + 6 * (m.key.length + m.value.length);
  }
  return n;
}

export function capAlertMeta(meta: KeyValue[]): KeyValue[] {
  return meta.map((m) => (m.value.length > ALERT_META_VALUE_MAX ? { key: m.key, value: m.value.slice(0, ALERT_META_VALUE_MAX) } : m));
}

// ---------------------------------------------------------------------------------------
// Time parsing

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** RFC3339(Nano) text to ms epoch (sub-ms digits dropped); null when malformed. */
export function parseRfc3339(s: string): number | null {
  // Every alert stored has two of these: read by character codes (no match array, no Date)
  // unless the text is not in the usual shape, which the regex below handles as before.
  const fast = parseRfc3339Fast(s);
  return fast !== undefined ? fast : parseRfc3339Regex(s);
}

/** parseRfc3339 for any text, by the regex (the fast path's reference in tests). */
export function parseRfc3339Regex(s: string): number | null {
  const m = RFC3339.exec(s);
  if (!m) return null;
  const [, y, mo, d, h, mi, se, frac, zone] = m as unknown as string[];
  const month = Number(mo), day = Number(d), hour = Number(h), min = Number(mi), sec = Number(se);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59) return null;
  // setUTCFullYear, unlike Date.UTC, keeps years 0-99 as written (Go's zero time is year 1).
  const dt = new Date(0);
  dt.setUTCFullYear(Number(y), month - 1, day);
  dt.setUTCHours(hour, min, sec, 0);
  let ms = dt.getTime();
  if (frac) ms += Math.floor(Number('0' + frac) * 1000);
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  }
  return ms;
}

/** The two-digit number at `i`, or -1 when either character is not a digit. */
function digits2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48, b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** ms epoch of the last date (YYYY-MM-DD) parseRfc3339Fast saw: an alert's times share their day. */
let lastDay = '';
let lastDayMs = 0;

/**
 * parseRfc3339 for `YYYY-MM-DD[Tt ]HH:MM:SS[.d+](Z|z|±HH:MM)` with a year >= 1000: the same
 * number (or null for an out-of-range field); undefined for any other text (the caller's
 * regex decides).
 */
function parseRfc3339Fast(s: string): number | null | undefined {
  const n = s.length;
  if (n < 20 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return undefined;
  const t = s.charCodeAt(10);
  if (t !== 84 && t !== 116 && t !== 32) return undefined; // T t space
  const y1 = digits2(s, 0), y2 = digits2(s, 2), month = digits2(s, 5), day = digits2(s, 8);
  const hour = digits2(s, 11), min = digits2(s, 14), sec = digits2(s, 17);
  if (y1 < 10 || y2 < 0 || month < 0 || day < 0 || hour < 0 || min < 0 || sec < 0) return undefined;
  // Fraction: '.' and at least one digit.
  let i = 19;
  if (s.charCodeAt(i) === 46) {
    i++;
    const from = i;
    while (i < n && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    if (i === from) return undefined;
  }
  const fracEnd = i;
  let offMin = 0;
  const z = s.charCodeAt(i);
  if (z === 90 || z === 122) { // Z z
    if (i + 1 !== n) return undefined;
  } else if (z === 43 || z === 45) { // + -
    const oh = digits2(s, i + 1), om = digits2(s, i + 4);
    if (i + 6 !== n || s.charCodeAt(i + 3) !== 58 || oh < 0 || om < 0) return undefined;
    offMin = (z === 45 ? -1 : 1) * (oh * 60 + om);
  } else {
    return undefined;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59) return null;
  const date = s.slice(0, 10);
  if (date !== lastDay) {
    // As parseRfc3339: setUTCFullYear (a day past the month's end rolls over, as there).
    const dt = new Date(0);
    dt.setUTCFullYear(y1 * 100 + y2, month - 1, day);
    lastDayMs = dt.getTime();
    lastDay = date;
  }
  let ms = lastDayMs + ((hour * 60 + min) * 60 + sec) * 1000;
  if (fracEnd > 19) ms += Math.floor(Number('0' + s.slice(19, fracEnd)) * 1000);
  return ms - offMin * 60_000;
}
