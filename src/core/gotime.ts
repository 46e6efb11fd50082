/**
 * Time values with Go's precision and zone behaviour (spec §2.7, §4.8, §7.6).
 *
 * CrowdSec's output depends on details of Go's `time` package that JavaScript's Date cannot
 * express: nanoseconds, year 0 (yearless syslog dates), zones that carry an offset but no
 * name (`+0100 +0100` in Time.String()), and time.Parse's permissive layout matching. This
 * module re-implements the parts CrowdSec uses, from the documented behaviour of Go 1.19
 * (the toolchain of Debian 12's crowdsec 1.4.6):
 *
 *  - `goParse` = time.Parse: layout elements Jan January Mon Monday 1 01 2 02 _2 06 2006 15
 *    3 03 4 04 5 05 PM pm MST -0700 -07:00 -07 -070000 -07:00:00 Z0700 Z07:00 Z07 Z070000
 *    Z07:00:00 and .000 / .999 / ,000 fractions; everything else is literal text. A run of
 *    spaces in the layout matches one or more spaces in the value (or none at its end); a
 *    fraction right after the seconds is accepted even if the layout has none; month and day
 *    names match case-insensitively; no year => year 0; no zone => UTC.
 *  - Zones: `Z` and `UTC` give UTC. A numeric offset equal to the local zone's offset at that
 *    instant gives the local zone (so `+0000` is "UTC" on a UTC host); any other offset gives
 *    an unnamed fixed zone. An abbreviation (`CET`) used by the local zone takes the local
 *    offset; any other one gives offset 0 under that name (`GMT+3` gives +3h).
 *  - The local zone is `opts.local` (an IANA name), UTC by default: Palisade, like the
 *    Debian service, reads logs as if the host ran in UTC unless told otherwise.
 *
 * Calendar maths uses day numbers of the proleptic Gregorian calendar, so year 0 and dates
 * before 1970 work like Go's.
 */

export interface GoTime {
  /** Seconds since 1970-01-01T00:00:00Z (may be negative: year 0 is about -62e9). */
  unixSec: number;
  /** 0..999_999_999 */
  nsec: number;
  /** Offset of the zone east of UTC, in seconds. */
  offsetSec: number;
  /** 'UTC' for Z/UTC; the abbreviation for named zones; null for numeric offsets without a name. */
  zoneName: string | null;
}

/** Wall-clock fields of a time in its own zone. */
export interface GoCivil {
  year: number;
  month: number; // 1..12
  day: number; // 1..31
  hour: number;
  min: number;
  sec: number;
  nsec: number;
}

// ---------------------------------------------------------------------------------------
// Calendar: day numbers (days since 1970-01-01) <-> civil dates, any year.
// Era-based conversion (400-year cycles of 146097 days), after H. Hinnant's
// "chrono-Compatible Low-Level Date Algorithms".

/** Days since 1970-01-01 of y-m-d; m may be 1..12, d any integer (overflow rolls over). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5);
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468 + (d - 1);
}

/** Civil date of a day number. */
export function civilFromDays(z: number): { year: number; month: number; day: number } {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

const DAYS_BEFORE = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
export function daysIn(month: number, year: number): number {
  return month === 2 && isLeap(year) ? 29 : DAYS_BEFORE[month - 1]!;
}

/**
 * Go's time.Date: builds a time from wall fields in a fixed zone, normalising overflowing
 * fields (month 13 => January of the next year, Feb 30 => Mar 2, ...).
 */
export function goDate(
  year: number, month: number, day: number, hour: number, min: number, sec: number, nsec: number,
  offsetSec = 0, zoneName: string | null = 'UTC',
): GoTime {
  // Normalise month first (its length depends on the year), then let day numbers roll.
  const m0 = month - 1;
  year += Math.floor(m0 / 12);
  month = (((m0 % 12) + 12) % 12) + 1;
  const extraSec = Math.floor(nsec / 1e9);
  nsec -= extraSec * 1e9;
  const days = daysFromCivil(year, month, day);
  const unixSec = days * 86400 + hour * 3600 + min * 60 + sec + extraSec - offsetSec;
  return { unixSec, nsec, offsetSec, zoneName };
}

/** Wall-clock fields of `t` in its zone. */
export function civil(t: GoTime): GoCivil {
  const wall = t.unixSec + t.offsetSec;
  const days = Math.floor(wall / 86400);
  let rem = wall - days * 86400;
  const { year, month, day } = civilFromDays(days);
  const hour = Math.floor(rem / 3600);
  rem -= hour * 3600;
  const min = Math.floor(rem / 60);
  return { year, month, day, hour, min, sec: rem - min * 60, nsec: t.nsec };
}

/** Go's Time.AddDate(years, months, days): works on the wall clock, then normalises. */
export function addDate(t: GoTime, years: number, months = 0, days = 0): GoTime {
  const c = civil(t);
  return goDate(c.year + years, c.month + months, c.day + days, c.hour, c.min, c.sec, c.nsec, t.offsetSec, t.zoneName);
}

/** AddDate(n, 0, 0): Feb 29 of year 0 becomes Mar 1 when the target year is not leap. */
export function addYears(t: GoTime, n: number): GoTime {
  return addDate(t, n, 0, 0);
}

/** t + ns (float64 nanoseconds, like a Go Duration). */
export function addNs(t: GoTime, ns: number): GoTime {
  const whole = Math.trunc(ns);
  const s = Math.floor(whole / 1e9);
  let unixSec = t.unixSec + s;
  let nsec = t.nsec + (whole - s * 1e9);
  if (nsec >= 1e9) { nsec -= 1e9; unixSec++; }
  return { unixSec, nsec, offsetSec: t.offsetSec, zoneName: t.zoneName };
}

/** a - b in nanoseconds. */
export function diffNs(a: GoTime, b: GoTime): number {
  return (a.unixSec - b.unixSec) * 1e9 + (a.nsec - b.nsec);
}

/** Go's zero Time (January 1, year 1, 00:00:00 UTC) is "no time" to CrowdSec. */
const ZERO_UNIX = -62135596800;
export function isZero(t: GoTime): boolean {
  return t.unixSec === ZERO_UNIX && t.nsec === 0;
}

/**
 * isZero(fieldsToTime(f)) without building the time. Offsets stay within ±100 h, so only
 * wall dates in the last days of year 0 or the first days of year 1 can be that instant.
 */
export function isZeroFields(f: ParsedFields): boolean {
  if (f.nsec !== 0) return false;
  if (f.year === 1 ? !(f.month === 1 && f.day <= 6) : !(f.year === 0 && f.month === 12 && f.day >= 26)) return false;
  return daysFromCivil(f.year, f.month, f.day) * 86400 + f.hour * 3600 + f.min * 60 + f.sec - f.offsetSec === ZERO_UNIX;
}

export function fromDate(d: Date): GoTime {
  const ms = d.getTime();
  const unixSec = Math.floor(ms / 1000);
  return { unixSec, nsec: (ms - unixSec * 1000) * 1e6, offsetSec: 0, zoneName: 'UTC' };
}

export function toMillis(t: GoTime): number {
  return t.unixSec * 1000 + Math.floor(t.nsec / 1e6);
}

export function toDate(t: GoTime): Date {
  return new Date(toMillis(t));
}

/** The wall clock now, in UTC (millisecond resolution: it follows system clock changes). */
export function nowGo(): GoTime {
  return fromDate(new Date());
}

/** Same instant shown in UTC. */
export function inUTC(t: GoTime): GoTime {
  return { unixSec: t.unixSec, nsec: t.nsec, offsetSec: 0, zoneName: 'UTC' };
}

// ---------------------------------------------------------------------------------------
// Formatting

const PAD2: readonly string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + i);
function pad2(n: number): string {
  const s = PAD2[n];
  return s !== undefined ? s : n < 10 ? '0' + n : String(n);
}
function pad4(n: number): string {
  if (n < 0) return '-' + pad4(-n);
  return n < 10 ? '000' + n : n < 100 ? '00' + n : n < 1000 ? '0' + n : String(n);
}

/** ".123" for 123000000 ns, "" for 0: Go's .999999999 element (trailing zeros trimmed). */
export function fracTrimmed(nsec: number): string {
  if (nsec === 0) return '';
  let s = String(nsec).padStart(9, '0');
  let end = 9;
  while (s.charCodeAt(end - 1) === 48) end--;
  s = s.slice(0, end);
  return '.' + s;
}

function offsetText(offsetSec: number, colon: boolean): string {
  let m = Math.trunc(offsetSec / 60);
  const sign = m < 0 ? '-' : '+';
  if (m < 0) m = -m;
  return sign + pad2(Math.floor(m / 60)) + (colon ? ':' : '') + pad2(m % 60);
}

/** RFC3339Nano from wall fields (shared with the date enricher's fast path). */
export function formatCivilRFC3339Nano(c: GoCivil, offsetSec: number): string {
  return formatWallRFC3339Nano(c.year, c, offsetSec);
}

/** formatCivilRFC3339Nano with the year given apart (the date enricher's yearless dates). */
export function formatWallRFC3339Nano(year: number, c: GoCivil, offsetSec: number): string {
  return pad4(year) + '-' + pad2(c.month) + '-' + pad2(c.day) + 'T' + pad2(c.hour) + ':' + pad2(c.min) + ':' +
    pad2(c.sec) + fracTrimmed(c.nsec) + (offsetSec === 0 ? 'Z' : offsetText(offsetSec, true));
}

/** `2023-02-12T14:10:21Z`, `2023-02-12T14:10:21.5+01:00` (Time.MarshalText / RFC3339Nano). */
export function formatRFC3339Nano(t: GoTime): string {
  return formatCivilRFC3339Nano(civil(t), t.offsetSec);
}

/** RFC3339 without fraction. */
export function formatRFC3339(t: GoTime): string {
  const c = civil(t);
  c.nsec = 0;
  return formatCivilRFC3339Nano(c, t.offsetSec);
}

/**
 * Go's Time.String() (`2006-01-02 15:04:05.999999999 -0700 MST`): the zone name, or the
 * numeric offset again when the zone has none (`+0100 +0100`).
 */
export function formatGoString(t: GoTime): string {
  const c = civil(t);
  const off = offsetText(t.offsetSec, false);
  return pad4(c.year) + '-' + pad2(c.month) + '-' + pad2(c.day) + ' ' + pad2(c.hour) + ':' + pad2(c.min) + ':' +
    pad2(c.sec) + fracTrimmed(c.nsec) + ' ' + off + ' ' + (t.zoneName ?? off);
}

// ---------------------------------------------------------------------------------------
// Layout compilation (once per distinct layout string)

const enum Std {
  None = 0,
  Month, LongMonth, NumMonth, ZeroMonth,
  WeekDay, LongWeekDay,
  Day, UnderDay, ZeroDay,
  Hour, Hour12, ZeroHour12,
  Minute, ZeroMinute,
  Second, ZeroSecond,
  LongYear, Year,
  PM, pm,
  TZ,
  ISO8601TZ, ISO8601SecondsTZ, ISO8601ShortTZ, ISO8601ColonTZ, ISO8601ColonSecondsTZ,
  NumTZ, NumSecondsTz, NumShortTZ, NumColonTZ, NumColonSecondsTZ,
  FracSecond0, FracSecond9,
}

interface Chunk {
  /** Literal text that precedes the element. */
  prefix: string;
  std: Std;
  /** Digits of a fraction element. */
  digits: number;
}

/** First-character shape of a layout, checked before running it (cheap rejection). */
const enum First { Any, Digit, Letter, DigitOrSpace, Exact, DigitOrSign }

export interface CompiledLayout {
  layout: string;
  chunks: Chunk[];
  first: First;
  firstCode: number;
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Finds the next layout element at or after `i`; returns [start, end, std, digits]. */
function nextElement(l: string, i: number): [number, number, Std, number] | null {
  for (; i < l.length; i++) {
    const c = l[i]!;
    const rest = l.length - i;
    switch (c) {
      case 'J':
        if (l.startsWith('Jan', i)) return l.startsWith('January', i) ? [i, i + 7, Std.LongMonth, 0] : [i, i + 3, Std.Month, 0];
        break;
      case 'M':
        if (l.startsWith('Mon', i)) return l.startsWith('Monday', i) ? [i, i + 6, Std.LongWeekDay, 0] : [i, i + 3, Std.WeekDay, 0];
        if (l.startsWith('MST', i)) return [i, i + 3, Std.TZ, 0];
        break;
      case '0':
        if (rest >= 2 && l[i + 1]! >= '1' && l[i + 1]! <= '6') {
          const zs = [Std.ZeroMonth, Std.ZeroDay, Std.ZeroHour12, Std.ZeroMinute, Std.ZeroSecond, Std.Year];
          return [i, i + 2, zs[l.charCodeAt(i + 1) - 49]!, 0];
        }
        break;
      case '1':
        if (l.startsWith('15', i)) return [i, i + 2, Std.Hour, 0];
        return [i, i + 1, Std.NumMonth, 0];
      case '2':
        if (l.startsWith('2006', i)) return [i, i + 4, Std.LongYear, 0];
        return [i, i + 1, Std.Day, 0];
      case '_':
        if (rest >= 2 && l[i + 1] === '2') {
          // "_2006" is a literal underscore followed by the year.
          if (l.startsWith('2006', i + 1)) return [i + 1, i + 5, Std.LongYear, 0];
          return [i, i + 2, Std.UnderDay, 0];
        }
        break;
      case '3': return [i, i + 1, Std.Hour12, 0];
      case '4': return [i, i + 1, Std.Minute, 0];
      case '5': return [i, i + 1, Std.Second, 0];
      case 'P':
        if (l.startsWith('PM', i)) return [i, i + 2, Std.PM, 0];
        break;
      case 'p':
        if (l.startsWith('pm', i)) return [i, i + 2, Std.pm, 0];
        break;
      case '-':
        if (l.startsWith('-070000', i)) return [i, i + 7, Std.NumSecondsTz, 0];
        if (l.startsWith('-07:00:00', i)) return [i, i + 9, Std.NumColonSecondsTZ, 0];
        if (l.startsWith('-0700', i)) return [i, i + 5, Std.NumTZ, 0];
        if (l.startsWith('-07:00', i)) return [i, i + 6, Std.NumColonTZ, 0];
        if (l.startsWith('-07', i)) return [i, i + 3, Std.NumShortTZ, 0];
        break;
      case 'Z':
        if (l.startsWith('Z070000', i)) return [i, i + 7, Std.ISO8601SecondsTZ, 0];
        if (l.startsWith('Z07:00:00', i)) return [i, i + 9, Std.ISO8601ColonSecondsTZ, 0];
        if (l.startsWith('Z0700', i)) return [i, i + 5, Std.ISO8601TZ, 0];
        if (l.startsWith('Z07:00', i)) return [i, i + 6, Std.ISO8601ColonTZ, 0];
        if (l.startsWith('Z07', i)) return [i, i + 3, Std.ISO8601ShortTZ, 0];
        break;
      case '.':
      case ',':
        // ".000" / ".999" (any run of one digit) is a fraction only if no digit follows.
        if (rest >= 2 && (l[i + 1] === '0' || l[i + 1] === '9')) {
          const ch = l[i + 1];
          let j = i + 1;
          while (j < l.length && l[j] === ch) j++;
          if (!(j < l.length && isDigitCode(l.charCodeAt(j)))) {
            return [i, j, ch === '0' ? Std.FracSecond0 : Std.FracSecond9, j - (i + 1)];
          }
        }
        break;
    }
  }
  return null;
}

export function compileLayout(layout: string): CompiledLayout {
  const chunks: Chunk[] = [];
  let pos = 0;
  for (;;) {
    const e = nextElement(layout, pos);
    if (!e) {
      chunks.push({ prefix: layout.slice(pos), std: Std.None, digits: 0 });
      break;
    }
    chunks.push({ prefix: layout.slice(pos, e[0]), std: e[2], digits: e[3] });
    pos = e[1];
  }
  let first = First.Any;
  let firstCode = 0;
  const c0 = chunks[0]!;
  if (c0.prefix.length > 0) {
    first = First.Exact;
    firstCode = c0.prefix.charCodeAt(0);
  } else {
    switch (c0.std) {
      case Std.Month: case Std.LongMonth: case Std.WeekDay: case Std.LongWeekDay: case Std.TZ:
        first = First.Letter; break;
      case Std.UnderDay: first = First.DigitOrSpace; break;
      case Std.NumMonth: case Std.ZeroMonth: case Std.Day: case Std.ZeroDay: case Std.Hour: case Std.Hour12:
      case Std.ZeroHour12: case Std.Minute: case Std.ZeroMinute: case Std.Second: case Std.ZeroSecond:
      case Std.LongYear: case Std.Year:
        first = First.Digit; break;
      case Std.NumTZ: case Std.NumSecondsTz: case Std.NumShortTZ: case Std.NumColonTZ: case Std.NumColonSecondsTZ:
        first = First.DigitOrSign; break;
      default: first = First.Any;
    }
  }
  return { layout, chunks, first, firstCode };
}

const layoutCache = new Map<string, CompiledLayout>();
/** Compiled layout, cached (layouts come from rules, so the set is small; bounded anyway). */
export function getLayout(layout: string): CompiledLayout {
  let c = layoutCache.get(layout);
  if (c === undefined) {
    if (layoutCache.size >= 1024) layoutCache.clear();
    c = compileLayout(layout);
    layoutCache.set(layout, c);
  }
  return c;
}

// ---------------------------------------------------------------------------------------
// Parsing

const SHORT_MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const LONG_MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const SHORT_DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const LONG_DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

/** Lower-case code units of three-letter names, one array per position (lookupShort). */
function codesAt(names: readonly string[], i: number): Uint16Array {
  return Uint16Array.from(names, (n) => n.charCodeAt(i));
}
const SHORT_MONTH_CODES = [codesAt(SHORT_MONTHS, 0), codesAt(SHORT_MONTHS, 1), codesAt(SHORT_MONTHS, 2)] as const;
const SHORT_DAY_CODES = [codesAt(SHORT_DAYS, 0), codesAt(SHORT_DAYS, 1), codesAt(SHORT_DAYS, 2)] as const;

/**
 * lookupName for three-letter names (Jan, Mon): the value's three units are folded once and
 * compared with the names' codes, instead of folding them again for every name tried.
 */
function lookupShort(v: string, p: number, codes: readonly [Uint16Array, Uint16Array, Uint16Array]): number {
  if (v.length - p < 3) return -1;
  let a = v.charCodeAt(p), b = v.charCodeAt(p + 1), c = v.charCodeAt(p + 2);
  if (a >= 65 && a <= 90) a |= 0x20;
  if (b >= 65 && b <= 90) b |= 0x20;
  if (c >= 65 && c <= 90) c |= 0x20;
  const [n0, n1, n2] = codes;
  for (let k = 0; k < n0.length; k++) if (n0[k] === a && n1[k] === b && n2[k] === c) return k;
  return -1;
}

/** Index of the first (lower-case) name that `v` starts with at `p`, ASCII case-insensitively; -1 if none. */
function lookupName(v: string, p: number, names: readonly string[]): number {
  outer: for (let k = 0; k < names.length; k++) {
    const n = names[k]!;
    if (v.length - p < n.length) continue;
    for (let i = 0; i < n.length; i++) {
      let c = v.charCodeAt(p + i);
      if (c >= 65 && c <= 90) c |= 0x20;
      if (c !== n.charCodeAt(i)) continue outer;
    }
    return k;
  }
  return -1;
}

/** Result of a parse before it is turned into an instant: wall fields plus zone. */
export interface ParsedFields extends GoCivil {
  offsetSec: number;
  zoneName: string | null;
}

export interface ParseOptions {
  /** IANA name of the local zone used for zone look-ups (default UTC). */
  local?: string;
}

// Scratch state of one parse; module-level to keep the hot path allocation-free.
let P = 0;

/** Go's getnum: one or two digits (exactly two when `fixed`); -1 when absent. */
function getnum(v: string, fixed: boolean): number {
  const c0 = v.charCodeAt(P);
  if (!(c0 >= 48 && c0 <= 57)) return -1;
  const c1 = v.charCodeAt(P + 1);
  if (!(c1 >= 48 && c1 <= 57)) {
    if (fixed) return -1;
    P += 1;
    return c0 - 48;
  }
  P += 2;
  return (c0 - 48) * 10 + (c1 - 48);
}

/** Matches the literal `prefix` at P with Go's space rule; false on mismatch. */
function skipLiteral(v: string, prefix: string): boolean {
  let i = 0;
  const n = prefix.length;
  while (i < n) {
    const c = prefix.charCodeAt(i);
    if (c === 32) {
      if (P < v.length && v.charCodeAt(P) !== 32) return false;
      while (i < n && prefix.charCodeAt(i) === 32) i++;
      while (P < v.length && v.charCodeAt(P) === 32) P++;
      continue;
    }
    if (P >= v.length || v.charCodeAt(P) !== c) return false;
    i++;
    P++;
  }
  return true;
}

/** Reads `nbytes` chars at P (separator + digits) as nanoseconds; -1 when malformed. */
function parseNanos(v: string, nbytes: number): number {
  const sep = v.charCodeAt(P);
  if (sep !== 46 && sep !== 44) return -1;
  const take = nbytes > 10 ? 10 : nbytes; // Go keeps nine digits at most
  let ns = 0;
  for (let i = 1; i < take; i++) {
    const c = v.charCodeAt(P + i);
    if (!(c >= 48 && c <= 57)) return -1;
    ns = ns * 10 + (c - 48);
  }
  for (let i = take; i < 10; i++) ns *= 10;
  P += nbytes;
  return ns;
}

/** Two digits at `at` of an offset (0 when the part is absent, at < 0); -1 when not digits. */
function twoDigits(v: string, at: number): number {
  if (at < 0) return 0;
  const a = v.charCodeAt(at), b = v.charCodeAt(at + 1);
  return isDigitCode(a) && isDigitCode(b) ? (a - 48) * 10 + (b - 48) : -1;
}

/** Length of a zone abbreviation at P (Go's parseTimeZone); 0 when there is none. */
function zoneAbbrevLen(v: string, p: number): number {
  const rest = v.length - p;
  if (rest < 3) return 0;
  if (rest >= 4 && (v.startsWith('ChST', p) || v.startsWith('MeST', p))) return 4;
  if (v.startsWith('GMT', p)) return 3 + signedOffsetLen(v, p + 3);
  const c0 = v.charCodeAt(p);
  if (c0 === 43 || c0 === 45) return signedOffsetLen(v, p);
  let n = 0;
  while (n < 6 && p + n < v.length) {
    const c = v.charCodeAt(p + n);
    if (c < 65 || c > 90) break;
    n++;
  }
  switch (n) {
    case 5: return v[p + 4] === 'T' ? 5 : 0;
    case 4: return v[p + 3] === 'T' || v.startsWith('WITA', p) ? 4 : 0;
    case 3: return 3;
    default: return 0;
  }
}

/** "+3" / "-11" after GMT or alone: hour offset of at most 23; 0 when absent or invalid. */
function signedOffsetLen(v: string, p: number): number {
  if (p >= v.length) return 0;
  const s = v.charCodeAt(p);
  if (s !== 43 && s !== 45) return 0;
  let i = p + 1;
  let x = 0;
  while (i < v.length && isDigitCode(v.charCodeAt(i))) {
    x = x * 10 + (v.charCodeAt(i) - 48);
    i++;
  }
  if (i === p + 1 || x > 23) return 0;
  return i - p;
}

/**
 * Parses `value` with a compiled layout into wall fields and zone; null when it does not
 * match (Go would return an error). The wall fields are those written in the value: Go keeps
 * them in whatever zone it settles on.
 */
export function parseFields(cl: CompiledLayout, value: string, opts?: ParseOptions): ParsedFields | null {
  const out = newFields();
  return parseFieldsInto(cl, value, out, opts) ? out : null;
}

/** A ParsedFields to fill with parseFieldsInto. */
export function newFields(): ParsedFields {
  return { year: 0, month: 0, day: 0, hour: 0, min: 0, sec: 0, nsec: 0, offsetSec: 0, zoneName: null };
}

/**
 * parseFields writing into `out` (the hot path reuses one object): true when the layout
 * matched; on false `out` is left untouched (it is written only on success).
 */
export function parseFieldsInto(cl: CompiledLayout, value: string, out: ParsedFields, opts?: ParseOptions): boolean {
  // Cheap shape check before running the layout.
  if (cl.first !== First.Any) {
    const c = value.charCodeAt(0);
    switch (cl.first) {
      case First.Exact: if (c !== cl.firstCode) return false; break;
      case First.Digit: if (!(c >= 48 && c <= 57)) return false; break;
      case First.Letter: if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return false; break;
      case First.DigitOrSpace: if (!((c >= 48 && c <= 57) || c === 32)) return false; break;
      case First.DigitOrSign: if (!((c >= 48 && c <= 57) || c === 43 || c === 45)) return false; break;
    }
  }
  let year = 0, month = -1, day = -1, hour = 0, min = 0, sec = 0, nsec = 0;
  let pmSet = false, amSet = false;
  let utc = false;
  let zoneOffset = -1;
  let haveOffset = false;
  let zoneName = '';
  P = 0;
  const chunks = cl.chunks;
  const v = value;
  for (let k = 0; k < chunks.length; k++) {
    const ch = chunks[k]!;
    if (ch.prefix.length > 0 && !skipLiteral(v, ch.prefix)) return false;
    const std = ch.std;
    if (std === Std.None) {
      if (P !== v.length) return false; // extra text
      break;
    }
    switch (std) {
      case Std.Year: {
        if (v.length - P < 2) return false;
        const n = getnum(v, true);
        if (n < 0) return false;
        year = n >= 69 ? n + 1900 : n + 2000;
        break;
      }
      case Std.LongYear: {
        if (v.length - P < 4) return false;
        let n = 0;
        for (let i = 0; i < 4; i++) {
          const c = v.charCodeAt(P + i);
          if (!isDigitCode(c)) return false;
          n = n * 10 + (c - 48);
        }
        P += 4;
        year = n;
        break;
      }
      case Std.Month: {
        const i = lookupShort(v, P, SHORT_MONTH_CODES);
        if (i < 0) return false;
        P += 3;
        month = i + 1;
        break;
      }
      case Std.LongMonth: {
        const i = lookupName(v, P, LONG_MONTHS);
        if (i < 0) return false;
        P += LONG_MONTHS[i]!.length;
        month = i + 1;
        break;
      }
      case Std.NumMonth:
      case Std.ZeroMonth:
        month = getnum(v, std === Std.ZeroMonth);
        if (month <= 0 || month > 12) return false;
        break;
      case Std.WeekDay: {
        // Parsed and ignored, as in Go.
        if (lookupShort(v, P, SHORT_DAY_CODES) < 0) return false;
        P += 3;
        break;
      }
      case Std.LongWeekDay: {
        const i = lookupName(v, P, LONG_DAYS);
        if (i < 0) return false;
        P += LONG_DAYS[i]!.length;
        break;
      }
      case Std.Day:
      case Std.UnderDay:
      case Std.ZeroDay:
        if (std === Std.UnderDay && v.charCodeAt(P) === 32) P++;
        day = getnum(v, std === Std.ZeroDay);
        if (day < 0) return false; // the month/day combination is checked at the end
        break;
      case Std.Hour:
        hour = getnum(v, false);
        if (hour < 0 || hour >= 24) return false;
        break;
      case Std.Hour12:
      case Std.ZeroHour12:
        hour = getnum(v, std === Std.ZeroHour12);
        if (hour < 0 || hour > 12) return false;
        break;
      case Std.Minute:
      case Std.ZeroMinute:
        min = getnum(v, std === Std.ZeroMinute);
        if (min < 0 || min >= 60) return false;
        break;
      case Std.Second:
      case Std.ZeroSecond: {
        sec = getnum(v, std === Std.ZeroSecond);
        if (sec < 0 || sec >= 60) return false;
        // A fraction after the seconds is taken even if the layout has none, unless the
        // next element is itself a fraction.
        const sep = v.charCodeAt(P);
        if ((sep === 46 || sep === 44) && isDigitCode(v.charCodeAt(P + 1))) {
          const nx = chunks[k + 1]?.std;
          if (nx === Std.FracSecond0 || nx === Std.FracSecond9) break;
          let n = 2;
          while (isDigitCode(v.charCodeAt(P + n))) n++;
          nsec = parseNanos(v, n);
          if (nsec < 0) return false;
        }
        break;
      }
      case Std.PM: {
        if (v.length - P < 2) return false;
        const s = v.slice(P, P + 2);
        if (s === 'PM') pmSet = true;
        else if (s === 'AM') amSet = true;
        else return false;
        P += 2;
        break;
      }
      case Std.pm: {
        if (v.length - P < 2) return false;
        const s = v.slice(P, P + 2);
        if (s === 'pm') pmSet = true;
        else if (s === 'am') amSet = true;
        else return false;
        P += 2;
        break;
      }
      case Std.ISO8601TZ: case Std.ISO8601ColonTZ: case Std.ISO8601SecondsTZ: case Std.ISO8601ShortTZ:
      case Std.ISO8601ColonSecondsTZ: case Std.NumTZ: case Std.NumShortTZ: case Std.NumColonTZ:
      case Std.NumSecondsTz: case Std.NumColonSecondsTZ: {
        const iso = std === Std.ISO8601TZ || std === Std.ISO8601ColonTZ || std === Std.ISO8601SecondsTZ ||
          std === Std.ISO8601ShortTZ || std === Std.ISO8601ColonSecondsTZ;
        if (iso && v.charCodeAt(P) === 90 /* Z */) {
          P++;
          utc = true;
          break;
        }
        const rest = v.length - P;
        let hi: number, mi: number, si: number, len: number;
        if (std === Std.ISO8601ColonTZ || std === Std.NumColonTZ) {
          if (rest < 6 || v[P + 3] !== ':') return false;
          hi = P + 1; mi = P + 4; si = -1; len = 6;
        } else if (std === Std.NumShortTZ || std === Std.ISO8601ShortTZ) {
          if (rest < 3) return false;
          hi = P + 1; mi = -1; si = -1; len = 3;
        } else if (std === Std.ISO8601ColonSecondsTZ || std === Std.NumColonSecondsTZ) {
          if (rest < 9 || v[P + 3] !== ':' || v[P + 6] !== ':') return false;
          hi = P + 1; mi = P + 4; si = P + 7; len = 9;
        } else if (std === Std.ISO8601SecondsTZ || std === Std.NumSecondsTz) {
          if (rest < 7) return false;
          hi = P + 1; mi = P + 3; si = P + 5; len = 7;
        } else {
          if (rest < 5) return false;
          hi = P + 1; mi = P + 3; si = -1; len = 5;
        }
        const hh = twoDigits(v, hi), mm = twoDigits(v, mi), ss = twoDigits(v, si);
        if (hh < 0 || mm < 0 || ss < 0) return false;
        const sign = v.charCodeAt(P);
        let off = (hh * 60 + mm) * 60 + ss;
        if (sign === 45) off = -off;
        else if (sign !== 43) return false;
        zoneOffset = off;
        haveOffset = true;
        P += len;
        break;
      }
      case Std.TZ: {
        if (v.length - P >= 3 && v.startsWith('UTC', P)) {
          utc = true;
          P += 3;
          break;
        }
        const n = zoneAbbrevLen(v, P);
        if (n === 0) return false;
        zoneName = v.slice(P, P + n);
        P += n;
        break;
      }
      case Std.FracSecond0: {
        const nd = 1 + ch.digits;
        if (v.length - P < nd) return false;
        nsec = parseNanos(v, nd);
        if (nsec < 0) return false;
        break;
      }
      case Std.FracSecond9: {
        const sep = v.charCodeAt(P);
        if (v.length - P < 2 || (sep !== 46 && sep !== 44) || !isDigitCode(v.charCodeAt(P + 1))) break; // omitted
        let i = 0;
        while (P + i + 1 < v.length && isDigitCode(v.charCodeAt(P + i + 1))) i++;
        nsec = parseNanos(v, 1 + i);
        if (nsec < 0) return false;
        break;
      }
    }
  }
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;
  if (month < 0) month = 1;
  if (day < 0) day = 1;
  if (day < 1 || day > daysIn(month, year)) return false;

  let offsetSec = 0;
  let name: string | null = 'UTC';
  if (utc) {
    // Z or UTC.
  } else if (haveOffset) {
    const local = localZone(opts?.local, year, month, day, hour, min, sec, zoneOffset);
    if (local && local.offset === zoneOffset && (zoneName === '' || local.name === zoneName)) {
      offsetSec = local.offset;
      name = local.name;
    } else {
      offsetSec = zoneOffset;
      name = zoneName === '' ? null : zoneName;
    }
  } else if (zoneName !== '') {
    const local = localZoneByName(opts?.local, zoneName, year, month, day, hour, min, sec);
    if (local !== null) {
      offsetSec = local;
      name = zoneName;
    } else {
      offsetSec = zoneName.length > 3 && zoneName.startsWith('GMT') ? parseInt(zoneName.slice(3), 10) * 3600 : 0;
      name = zoneName;
    }
  }
  out.year = year; out.month = month; out.day = day; out.hour = hour; out.min = min; out.sec = sec;
  out.nsec = nsec; out.offsetSec = offsetSec; out.zoneName = name;
  return true;
}

export function fieldsToTime(f: ParsedFields): GoTime {
  return goDate(f.year, f.month, f.day, f.hour, f.min, f.sec, f.nsec, f.offsetSec, f.zoneName);
}

/** Go's time.Parse(layout, value); null where Go returns an error. */
export function goParse(layout: string, value: string, opts?: ParseOptions): GoTime | null {
  const f = parseFields(getLayout(layout), value, opts);
  return f === null ? null : fieldsToTime(f);
}

export const RFC3339 = '2006-01-02T15:04:05Z07:00';
export const RFC3339Nano = '2006-01-02T15:04:05.999999999Z07:00';

const RFC3339_LAYOUT = getLayout(RFC3339);
// The last text parsed and its result: consecutive events mostly carry the same timestamp
// (one per pour in replay, and the date enricher hands out the same string for a repeat).
let lastRfcText: string | null = null;
let lastRfcTime: GoTime | null = null;
// Fields of the parse in progress (read at once into the new time, never handed out).
const rfcScratch = newFields();

/**
 * The parse of `s` when it is `last` (parsed as `t`) with other whole seconds, else null.
 * Log times move a second at a time: the date, hour, minute, fraction and zone are the same
 * text, so the result is `t` moved by the difference of seconds. In a successful parse of
 * this layout the seconds are characters 17-18 whenever character 13 and 16 are ':' with
 * two digits before each (year, month, day, minute and second take fixed widths; only the
 * hour may have one digit, and then 13 is a minute digit); 00-59 are the seconds accepted.
 */
function nextSecond(s: string, last: string, t: GoTime): GoTime | null {
  const n = s.length;
  if (n !== last.length || n < 20) return null;
  if (last.charCodeAt(13) !== 58 || last.charCodeAt(16) !== 58) return null;
  const d1 = s.charCodeAt(17) - 48;
  const d2 = s.charCodeAt(18) - 48;
  if (d1 < 0 || d1 > 5 || d2 < 0 || d2 > 9) return null;
  for (let i = 0; i < 17; i++) if (s.charCodeAt(i) !== last.charCodeAt(i)) return null;
  for (let i = 19; i < n; i++) if (s.charCodeAt(i) !== last.charCodeAt(i)) return null;
  const was = (last.charCodeAt(17) - 48) * 10 + (last.charCodeAt(18) - 48);
  return { unixSec: t.unixSec + (d1 * 10 + d2 - was), nsec: t.nsec, offsetSec: t.offsetSec, zoneName: t.zoneName };
}

/**
 * Parses RFC3339 / RFC3339Nano text (a fraction is accepted after the seconds). The result
 * may be the object returned for the previous call (same text): callers must not mutate it
 * (nothing in this module does; addNs, addDate, ... build new times).
 */
export function parseRFC3339(s: string): GoTime | null {
  if (s === lastRfcText) return lastRfcTime;
  const next = lastRfcTime !== null ? nextSecond(s, lastRfcText!, lastRfcTime) : null;
  if (next !== null) {
    lastRfcText = s;
    lastRfcTime = next;
    return next;
  }
  const t = parseFieldsInto(RFC3339_LAYOUT, s, rfcScratch) ? fieldsToTime(rfcScratch) : null;
  lastRfcText = s;
  lastRfcTime = t;
  return t;
}

// ---------------------------------------------------------------------------------------
// The local zone. UTC unless an IANA name is given; then Intl supplies its offset and
// abbreviation (en-US short names, e.g. "EST"; zones Intl only knows as "GMT+1" never match
// an abbreviation, which then falls back to offset 0 like any unknown name).

interface LocalInfo { offset: number; name: string }

const fmtCache = new Map<string, Intl.DateTimeFormat>();
function zoneFormatter(tz: string): Intl.DateTimeFormat | null {
  let f = fmtCache.get(tz);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: tz, timeZoneName: 'short', hourCycle: 'h23',
        year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
      });
    } catch {
      return null;
    }
    fmtCache.set(tz, f);
  }
  return f;
}

function isUtcName(tz: string | undefined): boolean {
  return tz === undefined || tz === '' || tz === 'UTC' || tz === 'Etc/UTC' || tz === 'UCT' || tz === 'Zulu';
}

/** Offset and abbreviation of zone `tz` at unix time `unix` (seconds). */
function zoneAt(tz: string, unix: number): LocalInfo | null {
  const f = zoneFormatter(tz);
  if (!f) return null;
  const d = new Date(unix * 1000);
  if (Number.isNaN(d.getTime())) return null;
  const parts = f.formatToParts(d);
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value ?? NaN);
  const wall = daysFromCivil(get('year'), get('month'), get('day')) * 86400 + get('hour') * 3600 + get('minute') * 60 + get('second');
  const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? '';
  if (Number.isNaN(wall)) return null;
  return { offset: wall - unix, name };
}

// The answer of localZone on a UTC host (the default), shared: read-only, as all its answers are.
const UTC_LOCAL: LocalInfo = Object.freeze({ offset: 0, name: 'UTC' });

function localZone(
  tz: string | undefined, y: number, mo: number, d: number, h: number, mi: number, s: number, offset: number,
): LocalInfo | null {
  if (isUtcName(tz)) return UTC_LOCAL;
  const unix = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
  return zoneAt(tz!, unix);
}

function localZoneByName(
  tz: string | undefined, name: string, y: number, mo: number, d: number, h: number, mi: number, s: number,
): number | null {
  if (isUtcName(tz)) return null; // Go's UTC location has no named zones to match
  const guess = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
  // Go looks the abbreviation up around the given time; try the offsets in force near it.
  for (const probe of [guess, guess - 86400 * 182, guess + 86400 * 182]) {
    const z = zoneAt(tz!, probe);
    if (z && z.name === name) return z.offset;
  }
  return null;
}
