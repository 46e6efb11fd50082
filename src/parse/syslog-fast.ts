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
import { isDigit, isMonth } from './char-class.js';

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

function digits(s: string, p: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (!isDigit(s.charCodeAt(p + i))) return false;
  return true;
}

/** `(?:\.[0-9]+)?` from p: the end (p when absent). */
function fraction(s: string, p: number): number {
  if (s.charCodeAt(p) !== 46 || !isDigit(s.charCodeAt(p + 1))) return p;
  p += 2;
  while (isDigit(s.charCodeAt(p))) p++;
  return p;
}

/** PAL_SYSLOG_TS3164 from p followed by ' ': its end, or -1. */
function ts3164(s: string, p: number): number {
  if (!isMonth(s, p)) return -1;
  p += 3;
  let sp = 0;
  while (s.charCodeAt(p) === 32) { p++; sp++; }
  if (sp < 1 || sp > 2) return -1;
  let d = 0;
  while (isDigit(s.charCodeAt(p))) { p++; d++; }
  if (d < 1 || d > 2 || s.charCodeAt(p) !== 32) return -1;
  p++;
  if (!digits(s, p, 2) || s.charCodeAt(p + 2) !== 58 || !digits(s, p + 3, 2) || s.charCodeAt(p + 5) !== 58 || !digits(s, p + 6, 2)) return -1;
  p = fraction(s, p + 8);
  return s.charCodeAt(p) === 32 ? p : -1;
}

/** PAL_SYSLOG_TS8601 from p followed by ' ': its end, or -1. */
function ts8601(s: string, p: number): number {
  if (!digits(s, p, 4) || s.charCodeAt(p + 4) !== 45 || !digits(s, p + 5, 2) || s.charCodeAt(p + 7) !== 45 || !digits(s, p + 8, 2) ||
    s.charCodeAt(p + 10) !== 84 || !digits(s, p + 11, 2) || s.charCodeAt(p + 13) !== 58 || !digits(s, p + 14, 2) ||
    s.charCodeAt(p + 16) !== 58 || !digits(s, p + 17, 2)) return -1;
  p = fraction(s, p + 19);
  const z = s.charCodeAt(p);
  if (z === 90) p++;
  else if ((z === 43 || z === 45) && digits(s, p + 1, 2)) {
    const q = s.charCodeAt(p + 3) === 58 ? p + 4 : p + 3;
    if (digits(s, q, 2)) p = q + 2;
  }
  return s.charCodeAt(p) === 32 ? p : -1;
}

/** PAL_SYSLOG_PROGNAME restricted to printable ASCII: [!-~] but not '[', ']', ':'. */
const isProg = (c: number): boolean => c > 32 && c < 127 && c !== 91 && c !== 93 && c !== 58;

function makeReader(semantics: readonly string[]): HeaderReader {
  // Position of each semantic in FIELDS order, so captures are written in the grok's order.
  const at = Int32Array.from(semantics, (s) => FIELDS.indexOf(s as (typeof FIELDS)[number]));
  const vals: string[] = ['', '', '', '', '', ''];
  return (line, rec, hint, out) => {
    const r = hint.sbase;
    const kind = rec[r + SL_KIND]!;
    if (kind !== SYSLOG_3164 && kind !== SYSLOG_3164_ISO) return false;
    // Optional <PRI>: '<' 1-3 digits '>' (a '<' that is not one fails the whole grok).
    let p = 0;
    if (line.charCodeAt(0) === 60) {
      let d = 1;
      while (d <= 4 && isDigit(line.charCodeAt(d))) d++;
      if (d === 1 || d > 4 || line.charCodeAt(d) !== 62) return false;
      p = d + 1;
    }
    const c0 = line.charCodeAt(p);
    const tsEnd = isDigit(c0) ? ts8601(line, p) : ts3164(line, p);
    if (tsEnd < 0) return false;
    // The host: the scanner's span (window byte offsets; equal to string offsets here since
    // every character before it was checked to be ASCII), checked against the name form.
    const h0 = rec[r + SL_HOST]! - hint.lineStart;
    const h1 = rec[r + SL_HOST + 1]! - hint.lineStart;
    if (h0 !== tsEnd + 1 || h1 <= h0 || line.charCodeAt(h1) !== 32 || !isWord(line.charCodeAt(h0))) return false;
    for (let i = h0 + 1; i < h1; i++) {
      const c = line.charCodeAt(i);
      if (!isWord(c) && c !== 46 && c !== 45) return false;
    }
    // The tag: prog then ':' or '[digits]:'.
    const g0 = h1 + 1;
    let q = g0;
    while (isProg(line.charCodeAt(q))) q++;
    if (q === g0) return false;
    const g1 = q;
    let pid = '';
    if (line.charCodeAt(q) === 91) {
      const d0 = q + 1;
      q = d0;
      while (isDigit(line.charCodeAt(q))) q++;
      if (q === d0 || line.charCodeAt(q) !== 93) return false;
      pid = line.slice(d0, q);
      q++;
    }
    if (line.charCodeAt(q) !== 58) return false;
    q++;
    if (line.charCodeAt(q) === 32) q++;
    const ts = line.slice(p, tsEnd);
    vals[0] = isDigit(c0) ? '' : ts;
    vals[1] = isDigit(c0) ? ts : '';
    vals[2] = line.slice(h0, h1);
    vals[3] = line.slice(g0, g1);
    vals[4] = pid;
    vals[5] = line.slice(q);
    for (let i = 0; i < at.length; i++) out.set(semantics[i]!, vals[at[i]!]!);
    return true;
  };
}
