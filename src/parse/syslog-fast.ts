/**
 * The syslog header without the regex: for the RFC 3164 / ISO 8601 "with hostname" grok of
 * rules/parsers/s00-raw/syslog-logs.yaml (recognised at load time by its translated regex,
 * whatever file it comes from), the captures are read from the line using the structural
 * scanner's record (assembly/syslog.ts) for the header's boundaries.
 *
 * The reader either gives exactly the captures the regex would (same values, written in the
 * grok's semantic order) and returns true, or returns false and the caller runs the regex.
 * It accepts a strict subset of the grok's lines: ASCII header, hostname (not IPv6) host,
 * tag `prog:` or `prog[digits]:`. On such a line every part of the pattern is forced (each
 * quantifier is followed by a character it cannot consume), so backtracking has no other
 * way to match and the greedy reading below is the regex's. test/parse/syslog-fast.test.ts
 * and compiled-differential.test.ts compare it with the regex.
 */
import { compileGrok, type Grok } from '../grok/compile.js';
import { PatternLibrary } from '../grok/library.js';
import { SL_HOST, SL_KIND, SYSLOG_3164, SYSLOG_3164_ISO } from '../bindings/abi.generated.js';
import type { LineHint } from './line-hint.js';
import { isDigit } from './char-class.js';

/** The grok and pattern definitions this reader implements (rules/parsers/s00-raw, rules/patterns). */
export const SYSLOG_HOST_GROK =
  '^(?:%{PAL_SYSLOG_PRI})?(?:%{PAL_SYSLOG_TS3164:timestamp}|%{PAL_SYSLOG_TS8601:timestamp8601}) %{PAL_SYSLOG_HOST:logsource} %{PAL_SYSLOG_PROGNAME:program}(?:\\[%{PAL_SYSLOG_PID:pid}\\])?: ?%{GREEDYDATA:message}$';
const DEFS: [string, string][] = [
  ['PAL_IPV4_OCTET', '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'],
  ['PAL_IPV4', '%{PAL_IPV4_OCTET}(?:\\.%{PAL_IPV4_OCTET}){3}'],
  ['PAL_IPV6', '(?:[0-9A-Fa-f]{1,4}:|:)(?:[0-9A-Fa-f]{0,4}:){1,7}(?:%{PAL_IPV4}|[0-9A-Fa-f]{1,4})?(?:%[0-9A-Za-z_.-]+)?'],
  ['PAL_SYSLOG_MONTH', '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)'],
  ['PAL_SYSLOG_TS3164', '%{PAL_SYSLOG_MONTH} {1,2}[0-9]{1,2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]+)?'],
  ['PAL_SYSLOG_TS8601', '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?'],
  ['PAL_SYSLOG_PRI', '<[0-9]{1,3}>'],
  ['PAL_SYSLOG_HOST', '(?:%{PAL_IPV6}|[0-9A-Za-z_][0-9A-Za-z_.-]*)'],
  ['PAL_SYSLOG_PROGNAME', '[^ \\t\\[\\]:]+'],
  ['PAL_SYSLOG_PID', '[^\\]]+'],
];
const FIELDS = ['timestamp', 'timestamp8601', 'logsource', 'program', 'pid', 'message'] as const;

let reference: Grok | null = null;
function referenceGrok(): Grok {
  if (reference === null) {
    const lib = PatternLibrary.withBuiltins();
    for (const [name, def] of DEFS) lib.add(name, def);
    reference = compileGrok(SYSLOG_HOST_GROK, lib);
  }
  return reference;
}

/** Reads the captures into `out` and returns true, or returns false (run the regex). */
export type HeaderReader = (line: string, rec: Uint32Array, hint: LineHint, out: Map<string, string>) => boolean;

const readers = new WeakMap<Grok, HeaderReader | null>();

/** The reader for `grok` when it is the syslog-with-host grok (same regex and semantics), else null. */
export function syslogHeaderReader(grok: Grok): HeaderReader | null {
  let r = readers.get(grok);
  if (r === undefined) {
    const ref = referenceGrok();
    const same = grok.regex.source === ref.regex.source && grok.semantics.length === FIELDS.length &&
      grok.semantics.every((s, i) => s === ref.semantics[i]);
    r = same ? makeReader(grok.semantics) : null;
    readers.set(grok, r);
  }
  return r;
}

/** [0-9A-Za-z_] */
const isWord = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

// The header is read from the line's bytes in the scanned window (LineHint.bytes), not with
// charCodeAt: on a line that is a slice of the decoded batch text, each charCodeAt cost ~3 ns
// (measured), a typed-array load far less. Every character the reader accepts before the
// message is ASCII, so up to there byte i of the line is character i of the string. Past
// the line's end it reads '\r', '\n' or (window end) undefined, which no test below
// accepts, as charCodeAt's NaN past the string's end.

function digits(b: Uint8Array, i: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (!isDigit(b[i + k]!)) return false;
  return true;
}

/** `(?:\.[0-9]+)?` from byte i: the end (i when absent). */
function fraction(b: Uint8Array, i: number): number {
  if (b[i] !== 46 || !isDigit(b[i + 1]!)) return i;
  i += 2;
  while (isDigit(b[i]!)) i++;
  return i;
}

/** The month names as c0 << 16 | c1 << 8 | c2. */
const MONTHS = Int32Array.from(['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'],
  (m) => (m.charCodeAt(0) << 16) | (m.charCodeAt(1) << 8) | m.charCodeAt(2));

/** char-class.ts isMonth on bytes (ASCII letters only: a non-ASCII byte matches no month). */
function isMonthAt(b: Uint8Array, i: number): boolean {
  const v = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
  for (let k = 0; k < 12; k++) if (MONTHS[k] === v) return true;
  return false;
}

/** PAL_SYSLOG_TS3164 from byte i followed by ' ': its end, or -1. */
function ts3164(b: Uint8Array, i: number): number {
  if (!isMonthAt(b, i)) return -1;
  i += 3;
  let sp = 0;
  while (b[i] === 32) { i++; sp++; }
  if (sp < 1 || sp > 2) return -1;
  let d = 0;
  while (isDigit(b[i]!)) { i++; d++; }
  if (d < 1 || d > 2 || b[i] !== 32) return -1;
  i++;
  if (!digits(b, i, 2) || b[i + 2] !== 58 || !digits(b, i + 3, 2) || b[i + 5] !== 58 || !digits(b, i + 6, 2)) return -1;
  i = fraction(b, i + 8);
  return b[i] === 32 ? i : -1;
}

/** PAL_SYSLOG_TS8601 from byte i followed by ' ': its end, or -1. */
function ts8601(b: Uint8Array, i: number): number {
  if (!digits(b, i, 4) || b[i + 4] !== 45 || !digits(b, i + 5, 2) || b[i + 7] !== 45 || !digits(b, i + 8, 2) ||
    b[i + 10] !== 84 || !digits(b, i + 11, 2) || b[i + 13] !== 58 || !digits(b, i + 14, 2) ||
    b[i + 16] !== 58 || !digits(b, i + 17, 2)) return -1;
  i = fraction(b, i + 19);
  const z = b[i];
  if (z === 90) i++;
  else if ((z === 43 || z === 45) && digits(b, i + 1, 2)) {
    const q = b[i + 3] === 58 ? i + 4 : i + 3;
    if (digits(b, q, 2)) i = q + 2;
  }
  return b[i] === 32 ? i : -1;
}

/** PAL_SYSLOG_PROGNAME restricted to printable ASCII: [!-~] but not '[', ']', ':'. */
const isProg = (c: number): boolean => c > 32 && c < 127 && c !== 91 && c !== 93 && c !== 58;

/**
 * `line.slice(a, b)`, or `last` when it has those characters: a log's host and program name
 * repeat line after line, and one string object for them saves the copy, and lets the maps
 * keyed by the value (stage filter rows, route index) reuse its hash and compare by pointer.
 * (The kept string may be a slice of one decoded chunk of text, ≤ 32 KB: that much stays alive.)
 */
function sliceOrLast(line: string, a: number, b: number, last: string): string {
  return b - a === last.length && line.startsWith(last, a) ? last : line.slice(a, b);
}

function makeReader(semantics: readonly string[]): HeaderReader {
  // Position of each semantic in FIELDS order, so captures are written in the grok's order.
  const at = Int32Array.from(semantics, (s) => FIELDS.indexOf(s as (typeof FIELDS)[number]));
  const vals: string[] = ['', '', '', '', '', ''];
  let lastHost = '';
  let lastProg = '';
  // Also per line, often the previous line's: the timestamp (same second) and the pid (a
  // session's lines follow each other). A pid is a copy (short), the timestamp a slice.
  let lastTs = '';
  let lastPid = '';
  return (line, rec, hint, out) => {
    const r = hint.sbase;
    const kind = rec[r + SL_KIND]!;
    if (kind !== SYSLOG_3164 && kind !== SYSLOG_3164_ISO) return false;
    // Byte o + i of the window is character i of the line (see above).
    const b = hint.bytes;
    const o = hint.lineStart;
    // Optional <PRI>: '<' 1-3 digits '>' (a '<' that is not one fails the whole grok).
    let p = o;
    if (b[o] === 60) {
      let d = 1;
      while (d <= 4 && isDigit(b[o + d]!)) d++;
      if (d === 1 || d > 4 || b[o + d] !== 62) return false;
      p = o + d + 1;
    }
    const iso = isDigit(b[p]!);
    const tsEnd = iso ? ts8601(b, p) : ts3164(b, p);
    if (tsEnd < 0) return false;
    // The host: the scanner's span (window byte offsets), checked against the name form.
    const h0 = rec[r + SL_HOST]!;
    const h1 = rec[r + SL_HOST + 1]!;
    if (h0 !== tsEnd + 1 || h1 <= h0 || b[h1] !== 32 || !isWord(b[h0]!)) return false;
    for (let i = h0 + 1; i < h1; i++) {
      const c = b[i]!;
      if (!isWord(c) && c !== 46 && c !== 45) return false;
    }
    // The tag: prog then ':' or '[digits]:'.
    const g0 = h1 + 1;
    let q = g0;
    while (isProg(b[q]!)) q++;
    if (q === g0) return false;
    const g1 = q;
    let pid = '';
    if (b[q] === 91) {
      const d0 = q + 1;
      q = d0;
      while (isDigit(b[q]!)) q++;
      if (q === d0 || b[q] !== 93) return false;
      pid = lastPid = sliceOrLast(line, d0 - o, q - o, lastPid);
      q++;
    }
    if (b[q] !== 58) return false;
    q++;
    if (b[q] === 32) q++;
    const ts = (lastTs = sliceOrLast(line, p - o, tsEnd - o, lastTs));
    vals[0] = iso ? '' : ts;
    vals[1] = iso ? ts : '';
    vals[2] = lastHost = sliceOrLast(line, h0 - o, h1 - o, lastHost);
    vals[3] = lastProg = sliceOrLast(line, g0 - o, g1 - o, lastProg);
    vals[4] = pid;
    vals[5] = line.slice(q - o);
    for (let i = 0; i < at.length; i++) out.set(semantics[i]!, vals[at[i]!]!);
    return true;
  };
}
