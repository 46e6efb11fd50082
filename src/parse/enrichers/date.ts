/**
 * The `ParseDate` enricher of crowdsecurity/dateparse-enrich (spec §2.7). It runs on every
 * line, so layouts are compiled once (core/gotime caches them), each layout starts with a
 * one-character shape check, and the output is formatted straight from the parsed wall
 * fields without building an instant.
 */
import {
  addYears, formatCivilRFC3339Nano, formatRFC3339Nano, formatWallRFC3339Nano, fromDate, getLayout, isZeroFields, fieldsToTime, civil,
  fracTrimmed, newFields, parseFieldsInto, type CompiledLayout, type ParsedFields, type ParseOptions,
} from '../../core/gotime.js';

/** CrowdSec 1.4.6's list, in its order (the RFC3339 layout appears twice there too). */
export const DATE_LAYOUTS: readonly string[] = [
  '2006-01-02T15:04:05Z07:00',
  '02/Jan/2006:15:04:05 -0700',
  'Mon Jan 2 15:04:05 2006',
  '02-Jan-2006 15:04:05 europe/paris',
  '01/02/2006 15:04:05',
  '2006-01-02 15:04:05.999999999 -0700 MST',
  'Jan  2 15:04:05',
  'Mon Jan 02 15:04:05.000000 2006',
  '2006-01-02T15:04:05Z07:00',
  '2006/01/02',
  '2006/01/02 15:04',
  '2006-01-02',
  '2006-01-02 15:04',
  '2006/01/02 15:04:05',
  '2006-01-02 15:04:05',
];

// The duplicate RFC3339 entry can never succeed where the first failed: skip it.
const COMPILED: readonly CompiledLayout[] = [...new Set(DATE_LAYOUTS)].map(getLayout);

/**
 * Marshals a parse result the way Go's Time.MarshalText would after CrowdSec's year fix:
 * year 0 (no year in the layout) gets the current UTC year added with AddDate; a year
 * outside 0..9999 cannot be marshalled (null, the layout then counts as failed).
 */
function marshal(f: ParsedFields, nowYear: number): string | null {
  if (f.year === 0) {
    if (f.month === 2 && f.day === 29 && !isLeapYear(nowYear)) {
      // AddDate normalises Feb 29 to Mar 1: take the general path.
      const t = addYears(fieldsToTime(f), nowYear);
      const c = civil(t);
      return c.year >= 0 && c.year <= 9999 ? formatCivilRFC3339Nano(c, t.offsetSec) : null;
    }
    return formatMemo(nowYear, f);
  }
  if (f.year < 0 || f.year > 9999) return null;
  return formatMemo(f.year, f);
}

// The minute formatted last: its text up to the seconds ("2026-01-05T00:00:"), its zone
// suffix ("Z", "+01:00"), and the strings already made for its whole seconds. Lines of a
// log mostly share their minute with the previous line, so a new second costs one short
// concatenation and a repeated one none (and hands out the same string object again).
let mYear = -1, mMonth = 0, mDay = 0, mHour = 0, mMin = 0, mOff = 0;
let mHead = '', mTail = '';
const mSecs: (string | undefined)[] = new Array<string | undefined>(60).fill(undefined);

/** formatWallRFC3339Nano(year, f, f.offsetSec) for a year in 0..9999 (fixed-width text). */
function formatMemo(year: number, f: ParsedFields): string {
  if (year === mYear && f.month === mMonth && f.day === mDay && f.hour === mHour && f.min === mMin && f.offsetSec === mOff) {
    if (f.nsec === 0) return mSecs[f.sec] ?? (mSecs[f.sec] = mHead + (mOff === 0 ? PAD2Z[f.sec]! : PAD2[f.sec]! + mTail));
    return mHead + PAD2[f.sec]! + fracTrimmed(f.nsec) + mTail;
  }
  const s = formatWallRFC3339Nano(year, f, f.offsetSec);
  // "YYYY-MM-DDTHH:MM:" is 17 characters, the seconds 2, then the fraction and the zone.
  mYear = year; mMonth = f.month; mDay = f.day; mHour = f.hour; mMin = f.min; mOff = f.offsetSec;
  mHead = s.slice(0, 17);
  mTail = s.slice(19 + fracTrimmed(f.nsec).length);
  mSecs.fill(undefined);
  if (f.nsec === 0) mSecs[f.sec] = s;
  return s;
}

const PAD2: readonly string[] = Array.from({ length: 60 }, (_, i) => (i < 10 ? '0' : '') + i);
/** PAD2 with the UTC suffix: a new UTC second is then one concatenation. */
const PAD2Z: readonly string[] = PAD2.map((p) => p + 'Z');

function isLeapYear(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

/**
 * ParseDate(value): the event's StrTimeFormat first (when set), then the fixed layout list;
 * first success wins. Nothing parses => now in UTC, ok=false.
 *
 * Choice: the yearless-date fix is applied to the StrTimeFormat result too, so a custom
 * layout without a year (none in the hub has one) does not produce year 0000.
 */
export function parseDateEnricher(value: string, strTimeFormat: string, now: Date, opts?: ParseOptions): { marshaled: string; ok: boolean } {
  const s = parseDateText(value, strTimeFormat, now.getUTCFullYear(), opts);
  return s !== null ? { marshaled: s, ok: true } : { marshaled: formatRFC3339Nano(fromDate(now)), ok: false };
}

// The fields of the parse in progress: read by marshal at once, never handed out.
const scratch = newFields();

/**
 * The successful half of parseDateEnricher: the marshaled time, or null when nothing parses
 * (the caller then uses now). Go's zero time (year 1, Jan 1, 00:00:00 UTC) counts as not
 * parsed.
 */
export function parseDateText(value: string, strTimeFormat: string, nowYear: number, opts?: ParseOptions): string | null {
  const f = scratch;
  if (strTimeFormat !== '') {
    if (parseFieldsInto(getLayout(strTimeFormat), value, f, opts) && !isZeroFields(f)) {
      const s = marshal(f, nowYear);
      if (s !== null) return s;
    }
  }
  for (let i = 0; i < COMPILED.length; i++) {
    if (!parseFieldsInto(COMPILED[i]!, value, f, opts) || isZeroFields(f)) continue;
    const s = marshal(f, nowYear);
    if (s !== null) return s;
  }
  return null;
}
