/**
 * The nginx access line without its regex: for the NGX_ACCESS grok of rules/patterns/http
 * (recognised at load time by its translated regex and semantics, whatever file it comes
 * from), the 16 captures are read from the text with a forward scan.
 *
 * The reader either gives exactly the captures the regex would (same values, written in the
 * grok's semantic order) and returns true, or returns false and the caller runs the regex.
 * It follows the regex's own order of choices (optional parts tried present first,
 * alternatives left to right, greedy runs longest first) and moves on from a choice only
 * where it has shown that the choice cannot lead to any match; wherever showing that would
 * need more (a `%` zone in an address, whose `.+` may run over spaces; a rest that does not
 * parse after a request; an odd time field), it returns false. Accepted:
 *
 *   [VHOST SP] ADDR " - " USER " [" DD/Mon/YYYY:hh:mm:ss ±hhmm "]" SP+ '"' REQUEST '"'
 *     SP STATUS SP BYTES [SP '"' REFERER '"' SP '"' AGENT '"'
 *       [SP NUM SP NUM SP '[' UPSTREAM ']' SP '[' ALT_UPSTREAM ']']] ...anything
 *
 * ADDR: the grok's IPV4 (octets may have leading zeros) or a token its IPV6 matches whole;
 * VHOST: its HOSTNAME, or such an address. test/parse/access-fast.test.ts compares it with
 * the regex on the nginx sample logs, edge lines and seeded byte mutations.
 */
import { compileGrok, type Grok } from '../grok/compile.js';
import { PatternLibrary } from '../grok/library.js';
import { isDigit, isMonth } from './char-class.js';

/** The grok and pattern definitions this reader implements (rules/patterns/http; the rest are built-ins). */
export const NGX_ACCESS_GROK = '%{NGX_ACCESS}';
const DEFS: [string, string][] = [
  ['WEB_QVAL', '(?:[^"\\\\]|\\\\.)*'],
  ['WEB_METHOD', '[A-Za-z][A-Za-z0-9_-]*'],
  ['WEB_STATUS', '[0-9]{3}'],
  ['WEB_BYTES', '[0-9]+|-'],
  ['NGX_BRACKETED', '[^\\]]*'],
  ['NGX_ACCESS', '^(?:%{IPORHOST:target_fqdn} )?%{IP:remote_addr} - %{NOTSPACE:remote_user} \\[%{HTTPDATE:time_local}\\] +"(?:%{WEB_METHOD:verb} %{NOTSPACE:request}(?: HTTP/%{NUMBER:http_version})?|%{WEB_QVAL:rawrequest})" %{WEB_STATUS:status} %{WEB_BYTES:body_bytes_sent}(?: "%{WEB_QVAL:http_referer}" "%{WEB_QVAL:http_user_agent}"(?: %{NUMBER:request_length} %{NUMBER:request_time} \\[%{NGX_BRACKETED:proxy_upstream_name}\\] \\[%{NGX_BRACKETED:proxy_alternative_upstream_name}\\])?)?'],
];
const FIELDS = [
  'target_fqdn', 'remote_addr', 'remote_user', 'time_local', 'verb', 'request', 'http_version', 'rawrequest',
  'status', 'body_bytes_sent', 'http_referer', 'http_user_agent', 'request_length', 'request_time',
  'proxy_upstream_name', 'proxy_alternative_upstream_name',
] as const;

interface Reference {
  /** Regex sources of the grok: by name (`grok.name`, the definition itself) and as `%{NGX_ACCESS}`. */
  sources: readonly string[];
  semantics: readonly string[];
  /** A whole token matched by the built-in IPV6 (its regex, anchored at both ends). */
  ipv6: RegExp;
}

let reference: Reference | null = null;
function referenceGrok(): Reference {
  if (reference === null) {
    const lib = PatternLibrary.withBuiltins();
    for (const [name, def] of DEFS) lib.add(name, def);
    const byName = compileGrok(lib.get('NGX_ACCESS')!, lib);
    const wrapped = compileGrok(NGX_ACCESS_GROK, lib);
    reference = { sources: [byName.regex.source, wrapped.regex.source], semantics: byName.semantics, ipv6: compileGrok('^%{IPV6}$', lib).regex };
  }
  return reference;
}

/** Reads the captures into `out` and returns true, or returns false (run the regex); `out` untouched then. */
export type AccessReader = (input: string, out: Map<string, string>) => boolean;

const readers = new WeakMap<Grok, AccessReader | null>();

/** The reader for `grok` when it is the NGX_ACCESS grok (same regex and semantics), else null. */
export function accessLogReader(grok: Grok): AccessReader | null {
  let r = readers.get(grok);
  if (r === undefined) {
    const ref = referenceGrok();
    const same = ref.sources.includes(grok.regex.source) && grok.semantics.length === FIELDS.length &&
      grok.semantics.every((s, i) => s === ref.semantics[i]);
    r = same ? makeReader(grok.semantics, ref.ipv6) : null;
    readers.set(grok, r);
  }
  return r;
}

const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isAlnum = (c: number): boolean => isDigit(c) || isAlpha(c);
/** WEB_METHOD after its first letter: [-0-9A-Z_a-z]. */
const isMethod = (c: number): boolean => isAlnum(c) || c === 95 || c === 45;

/** Whether code unit `c` occurs in [a, b). */
function has(s: string, a: number, b: number, c: number): boolean {
  for (let i = a; i < b; i++) if (s.charCodeAt(i) === c) return true;
  return false;
}

/**
 * [a, b) is a whole match of the built-in IPV4, (?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3} and
 * the same octet: 1-2 digits, 3 digits starting 0 or 1, or 200-255 (leading zeros allowed).
 */
function isIpv4(s: string, a: number, b: number): boolean {
  let i = a;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (s.charCodeAt(i) !== 46) return false;
      i++;
    }
    const d0 = i;
    while (i < b && i - d0 < 4 && isDigit(s.charCodeAt(i))) i++;
    const len = i - d0;
    if (len === 0 || len > 3) return false;
    if (len === 3) {
      const c0 = s.charCodeAt(d0);
      if (c0 === 50) {
        const v = (s.charCodeAt(d0 + 1) - 48) * 10 + (s.charCodeAt(d0 + 2) - 48);
        if (v > 55) return false;
      } else if (c0 !== 48 && c0 !== 49) return false;
    }
  }
  return i === b;
}

/**
 * [a, b) is a whole match of the built-in HOSTNAME (followed by a space):
 * labels [0-9A-Za-z][-0-9A-Za-z]{0,62} joined by '.', then an optional '.'.
 */
function isHostname(s: string, a: number, b: number): boolean {
  let i = a;
  for (;;) {
    if (!isAlnum(s.charCodeAt(i))) return false;
    const l0 = i;
    i++;
    while (i < b && (isAlnum(s.charCodeAt(i)) || s.charCodeAt(i) === 45)) i++;
    if (i - l0 > 63) return false;
    if (i === b) return true;
    if (s.charCodeAt(i) !== 46) return false;
    i++;
    if (i === b) return true; // the trailing `\.?`
  }
}

/**
 * BASE10NUM from p: [+-]?(?:\d+(?:\.\d+)?|\.\d+), greedy; its end, or -1 when none matches.
 * Callers require a character outside the pattern right after it, so the greedy reading is
 * the only one that can be followed by it.
 */
function numberEnd(s: string, p: number): number {
  const c = s.charCodeAt(p);
  if (c === 43 || c === 45) p++;
  if (isDigit(s.charCodeAt(p))) {
    p++;
    while (isDigit(s.charCodeAt(p))) p++;
    if (s.charCodeAt(p) === 46 && isDigit(s.charCodeAt(p + 1))) {
      p += 2;
      while (isDigit(s.charCodeAt(p))) p++;
    }
    return p;
  }
  if (s.charCodeAt(p) === 46 && isDigit(s.charCodeAt(p + 1))) {
    p += 2;
    while (isDigit(s.charCodeAt(p))) p++;
    return p;
  }
  return -1;
}

/**
 * WEB_QVAL from p, (?:[^"\\]|\\[^\n])*, then '"': the index of that '"', or -1. The run has
 * a single reading (a backslash always starts a pair), and any shorter one is followed by a
 * plain character or a backslash, never by '"'; so this is the only place it can end.
 * `bs`: the line's first backslash (-1: none, then the next '"' ends it).
 */
function qvalEnd(s: string, p: number, bs: number): number {
  const q = s.indexOf('"', p);
  if (bs < 0) return q;
  const b = s.indexOf('\\', p);
  if (b < 0 || (q >= 0 && b > q)) return q;
  // Escapes before the quote: walk them (an escape may hide a '"').
  const n = s.length;
  for (let i = b; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 34) return i;
    if (c === 92) {
      if (i + 1 >= n || s.charCodeAt(i + 1) === 10) return -1;
      i++;
    }
  }
  return -1;
}

/**
 * The end of the NOTSPACE run ([^\t\n\f\r ]+) from p: the first of those five characters at
 * or after p, or the end of the text.
 */
function runEnd(s: string, p: number): number {
  let e = s.indexOf(' ', p);
  if (e < 0) e = s.length;
  for (let i = p; i < e; i++) {
    const c = s.charCodeAt(i);
    if (c <= 13 && (c === 9 || c === 10 || c === 12 || c === 13)) return i;
  }
  return e;
}

/** DD/Mon/YYYY:hh:mm:ss ±hhmm (26 characters) from p, each part one the HTTPDATE regex accepts. */
function isHttpDate(s: string, p: number): boolean {
  const d = twoDigits(s, p);
  if (d < 1 || d > 31 || s.charCodeAt(p + 2) !== 47 || !isMonth(s, p + 3) || s.charCodeAt(p + 6) !== 47) return false;
  if (twoDigits(s, p + 7) < 0 || twoDigits(s, p + 9) < 0 || s.charCodeAt(p + 11) !== 58) return false;
  const h = twoDigits(s, p + 12);
  const m = twoDigits(s, p + 15);
  const sec = twoDigits(s, p + 18);
  if (h < 0 || h > 23 || s.charCodeAt(p + 14) !== 58 || m < 0 || m > 59 || s.charCodeAt(p + 17) !== 58 || sec < 0 || sec > 59) return false;
  const z = s.charCodeAt(p + 21);
  return s.charCodeAt(p + 20) === 32 && (z === 43 || z === 45) && twoDigits(s, p + 22) >= 0 && twoDigits(s, p + 24) >= 0;
}

function twoDigits(s: string, p: number): number {
  const a = s.charCodeAt(p) - 48;
  const b = s.charCodeAt(p + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}


/** V8's shortest sliced string (SlicedString::kMinLength): shorter substrings are copies. */
const SLICE_MIN = 13;

function makeReader(semantics: readonly string[], ipv6: RegExp): AccessReader {
  const at = Int32Array.from(semantics, (s) => FIELDS.indexOf(s as (typeof FIELDS)[number]));
  const vals: string[] = FIELDS.map(() => '');
  /** Per field, its last short value (see `short`). */
  const last: string[] = FIELDS.map(() => '');

  /**
   * s[a, b) for field `f`, as the string the field had before when the text is the same.
   * A value shorter than V8's shortest slice (13) is a fresh copy each time (24-32 bytes),
   * and a verb, version or status mostly repeats from one line to the next. Longer values
   * are plain slices, not kept: a kept slice would hold its batch's whole text.
   */
  const short = (f: number, s: string, a: number, b: number): string => {
    const n = b - a;
    if (n >= SLICE_MIN) return s.slice(a, b);
    const v = last[f]!;
    if (v.length === n) {
      let i = 0;
      while (i < n && v.charCodeAt(i) === s.charCodeAt(a + i)) i++;
      if (i === n) return v;
    }
    return (last[f] = s.slice(a, b));
  };

  /** IP over [a, b): the grok's IPV4, or a whole IPV6 match without a zone; false = unsure or not. */
  const isIp = (s: string, a: number, b: number): boolean =>
    isIpv4(s, a, b) || (has(s, a, b, 58) && !has(s, a, b, 37) && ipv6.test(s.slice(a, b)));
  /** IPORHOST over [a, b) (followed by a space). */
  const isIpOrHost = (s: string, a: number, b: number): boolean =>
    isHostname(s, a, b) || (has(s, a, b, 58) && !has(s, a, b, 37) && ipv6.test(s.slice(a, b)));

  /**
   * `" STATUS SP BYTES` from the request's closing quote at q: the end of BYTES, or -1.
   * STATUS is \d{3}; BYTES \d+ (greedy: the optional tail after it never forces it shorter) or '-'.
   */
  const afterRequest = (s: string, q: number): number => {
    if (s.charCodeAt(q + 1) !== 32 || twoDigits(s, q + 2) < 0 || !isDigit(s.charCodeAt(q + 4)) || s.charCodeAt(q + 5) !== 32) return -1;
    let p = q + 6;
    if (isDigit(s.charCodeAt(p))) {
      p++;
      while (isDigit(s.charCodeAt(p))) p++;
      return p;
    }
    return s.charCodeAt(p) === 45 ? p + 1 : -1;
  };

  return (s, out) => {
    // The address, after an optional vhost. A first token followed by " - " is the address:
    // the vhost reading would then need an IP starting at '-'. Otherwise the first token is
    // the vhost and the second the address. IPORHOST / IP cannot span a space unless an
    // IPV6 zone ('%') is involved, which is left to the regex.
    const s1 = s.indexOf(' ');
    if (s1 <= 0) return false;
    let vhostEnd = -1;
    let a0 = 0;
    let a1 = s1;
    if (s.charCodeAt(s1 + 1) !== 45 || s.charCodeAt(s1 + 2) !== 32) {
      const s2 = s.indexOf(' ', s1 + 1);
      if (s2 < 0 || s.charCodeAt(s2 + 1) !== 45 || s.charCodeAt(s2 + 2) !== 32) return false;
      if (has(s, 0, s1, 37) || !isIpOrHost(s, 0, s1)) return false;
      vhostEnd = s1;
      a0 = s1 + 1;
      a1 = s2;
    }
    if (!isIp(s, a0, a1)) return false;
    // " - " USER " [": USER is the whole run of non-space characters.
    const u0 = a1 + 3;
    const u1 = runEnd(s, u0);
    if (u1 === u0 || s.charCodeAt(u1) !== 32 || s.charCodeAt(u1 + 1) !== 91) return false;
    const d0 = u1 + 2;
    if (!isHttpDate(s, d0) || s.charCodeAt(d0 + 26) !== 93 || s.charCodeAt(d0 + 27) !== 32) return false;
    let p = d0 + 28;
    while (s.charCodeAt(p) === 32) p++;
    if (s.charCodeAt(p) !== 34) return false;
    const q0 = p + 1;
    const bs = s.indexOf('\\', q0);

    // The request: METHOD SP TARGET [SP HTTP/NUMBER], else the quoted text as rawrequest.
    let verb = '';
    let request = '';
    let version = '';
    let raw = '';
    let end = -1; // end of BYTES
    let cq = -1; // the request's closing quote
    if (isAlpha(s.charCodeAt(q0))) {
      let m = q0 + 1;
      while (isMethod(s.charCodeAt(m))) m++;
      // METHOD is forced (a shorter one is followed by a method character, not a space).
      if (s.charCodeAt(m) === 32) {
        const r0 = m + 1;
        const r1 = runEnd(s, r0);
        if (r1 > r0) {
          // TARGET as long as possible, with " HTTP/NUMBER" then '"'.
          if (s.charCodeAt(r1) === 32 && s.startsWith('HTTP/', r1 + 1)) {
            const v1 = numberEnd(s, r1 + 6);
            if (v1 > 0 && s.charCodeAt(v1) === 34) {
              end = afterRequest(s, (cq = v1));
              if (end < 0) return false; // the regex would go on backtracking: let it
              verb = short(4, s, q0, m);
              request = s.slice(r0, r1);
              version = short(6, s, r1 + 6, v1);
            }
          }
          // Else a shorter TARGET followed by '"' and " STATUS": only possible when the
          // quote is the run's last character (anywhere else a non-space follows it).
          if (end < 0 && r1 - r0 >= 2 && s.charCodeAt(r1 - 1) === 34) {
            end = afterRequest(s, (cq = r1 - 1));
            if (end < 0) return false;
            verb = short(4, s, q0, m);
            request = s.slice(r0, r1 - 1);
          }
        }
      }
    }
    if (end < 0) {
      // The first alternative cannot match at all: rawrequest up to the closing quote.
      cq = qvalEnd(s, q0, bs);
      if (cq < 0) return false;
      end = afterRequest(s, cq);
      if (end < 0) return false;
      raw = s.slice(q0, cq);
    }

    // The optional tail: ` "REFERER" "AGENT"`, then ` NUM NUM [UP] [ALT]`; each part is
    // forced, so a part that does not parse means its group is absent (nothing follows it).
    let referer = '';
    let agent = '';
    let reqLen = '';
    let reqTime = '';
    let up = '';
    let alt = '';
    if (s.charCodeAt(end) === 32 && s.charCodeAt(end + 1) === 34) {
      const e1 = qvalEnd(s, end + 2, bs);
      if (e1 >= 0 && s.charCodeAt(e1 + 1) === 32 && s.charCodeAt(e1 + 2) === 34) {
        const e2 = qvalEnd(s, e1 + 3, bs);
        if (e2 >= 0) {
          referer = s.slice(end + 2, e1);
          agent = s.slice(e1 + 3, e2);
          if (s.charCodeAt(e2 + 1) === 32) {
            const n1 = numberEnd(s, e2 + 2);
            const n2 = n1 > 0 && s.charCodeAt(n1) === 32 ? numberEnd(s, n1 + 1) : -1;
            if (n2 > 0 && s.charCodeAt(n2) === 32 && s.charCodeAt(n2 + 1) === 91) {
              const k1 = s.indexOf(']', n2 + 2);
              if (k1 >= 0 && s.charCodeAt(k1 + 1) === 32 && s.charCodeAt(k1 + 2) === 91) {
                const k2 = s.indexOf(']', k1 + 3);
                if (k2 >= 0) {
                  reqLen = s.slice(e2 + 2, n1);
                  reqTime = s.slice(n1 + 1, n2);
                  up = s.slice(n2 + 2, k1);
                  alt = s.slice(k1 + 3, k2);
                }
              }
            }
          }
        }
      }
    }

    vals[0] = vhostEnd < 0 ? '' : s.slice(0, vhostEnd);
    vals[1] = short(1, s, a0, a1);
    vals[2] = short(2, s, u0, u1);
    vals[3] = s.slice(d0, d0 + 26);
    vals[4] = verb;
    vals[5] = request;
    vals[6] = version;
    vals[7] = raw;
    vals[8] = short(8, s, cq + 2, cq + 5);
    vals[9] = s.slice(cq + 6, end);
    vals[10] = referer;
    vals[11] = agent;
    vals[12] = reqLen;
    vals[13] = reqTime;
    vals[14] = up;
    vals[15] = alt;
    for (let i = 0; i < at.length; i++) out.set(semantics[i]!, vals[at[i]!]!);
    return true;
  };
}
