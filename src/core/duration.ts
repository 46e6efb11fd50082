/**
 * Go durations (spec §7.6, §13 items 5 and 7). Bouncers parse our `duration` fields with Go's
 * time.ParseDuration and rules are written with Go syntax, so both directions follow Go
 * exactly: grammar `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, units ns us µs μs ms s m h (no `d`),
 * int64 nanoseconds with overflow errors, and Duration.String()'s layout.
 *
 * Values are float64 nanoseconds (`number`), as elsewhere in Palisade; parsing is exact in
 * integers (BigInt) and only the result is rounded to a double. formatGoDuration also takes
 * a bigint when a caller has exact nanoseconds beyond 2^53 (~104 days).
 */

const UNITS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n], // U+00B5 MICRO SIGN
  ['\u03bcs', 1_000n], // U+03BC GREEK SMALL LETTER MU
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

const MAX_I64 = (1n << 63n) - 1n;
const LIMIT = 1n << 63n;

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Exact parse into int64 nanoseconds; null where Go returns an error. */
export function parseGoDurationExact(input: string): bigint | null {
  let s = input;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return null;
  let total = 0n;
  let i = 0;
  while (i < s.length) {
    if (!(s[i] === '.' || isDigit(s[i]))) return null;
    // Integer part.
    const intStart = i;
    let v = 0n;
    while (isDigit(s[i])) {
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > LIMIT) return null; // overflow
      i++;
    }
    const pre = i > intStart;
    // Fraction: digits past int64 range are dropped, as Go does.
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s[i] === '.') {
      i++;
      const fracStart = i;
      let overflow = false;
      while (isDigit(s[i])) {
        if (!overflow) {
          const y = f * 10n + BigInt(s.charCodeAt(i) - 48);
          if (f > MAX_I64 / 10n || y > LIMIT) overflow = true;
          else { f = y; scale *= 10; }
        }
        i++;
      }
      post = i > fracStart;
    }
    if (!pre && !post) return null; // "." or ".s"
    // Unit: everything up to the next digit or dot.
    const unitStart = i;
    while (i < s.length && s[i] !== '.' && !isDigit(s[i])) i++;
    if (i === unitStart) return null; // missing unit
    const unit = UNITS.get(s.slice(unitStart, i));
    if (unit === undefined) return null;
    if (v > LIMIT / unit) return null;
    v *= unit;
    if (f > 0n) {
      // Go scales the fraction in float64 and truncates.
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > LIMIT) return null;
    }
    total += v;
    if (total > LIMIT) return null;
  }
  if (neg) return -total;
  if (total > MAX_I64) return null;
  return total;
}

/** Go time.ParseDuration; nanoseconds as a number, null on error. */
export function parseGoDuration(s: string): number | null {
  const v = parseGoDurationExact(s);
  return v === null ? null : Number(v);
}

/**
 * Go syntax plus a leading day count (`7d`, `2d12h`, `-1d`), as the LAPI's alert filters
 * accept for since/until (spec §7.3). A day is 24 h.
 */
export function parseDurationWithDays(s: string): number | null {
  const m = /^([-+]?)(\d+)d/.exec(s);
  if (!m) return parseGoDuration(s);
  const days = BigInt(m[2]!) * 86_400_000_000_000n;
  const rest = s.slice(m[0].length);
  let restNs = 0n;
  if (rest !== '') {
    const r = parseGoDurationExact(rest);
    if (r === null || rest[0] === '-' || rest[0] === '+') return null;
    restNs = r;
  }
  const total = days + restNs;
  if (total > MAX_I64) return null;
  return Number(m[1] === '-' ? -total : total);
}

/** Fraction of `v` with `prec` digits, trailing zeros (and a bare dot) removed. */
function frac(v: bigint, prec: number): [string, bigint] {
  const p = 10n ** BigInt(prec);
  const f = v % p;
  const rest = v / p;
  if (f === 0n) return ['', rest];
  let digits = f.toString().padStart(prec, '0');
  let end = digits.length;
  while (digits.charCodeAt(end - 1) === 48) end--;
  digits = digits.slice(0, end);
  return ['.' + digits, rest];
}

/** Go's Duration.String(): 0s, 1.5s, 4h0m0s, 1m30s, 500ms, 1.2µs, 3ns, -1m4.2s. */
export function formatGoDuration(ns: number | bigint): string {
  let u = typeof ns === 'bigint' ? ns : BigInt(Math.trunc(ns));
  const neg = u < 0n;
  if (neg) u = -u;
  let out: string;
  if (u < 1_000_000_000n) {
    if (u === 0n) return '0s';
    if (u < 1_000n) out = u.toString() + 'ns';
    else if (u < 1_000_000n) {
      const [f, r] = frac(u, 3);
      out = r.toString() + f + '\u00b5s';
    } else {
      const [f, r] = frac(u, 6);
      out = r.toString() + f + 'ms';
    }
  } else {
    const [f, secs] = frac(u, 9);
    out = (secs % 60n).toString() + f + 's';
    const mins = secs / 60n;
    if (mins > 0n) {
      out = (mins % 60n).toString() + 'm' + out;
      const hours = mins / 60n;
      if (hours > 0n) out = hours.toString() + 'h' + out;
    }
  }
  return neg ? '-' + out : out;
}
