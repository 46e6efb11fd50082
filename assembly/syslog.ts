/**
 * Structural scanner of the syslog header, one record per line in SYSLOG_RECS. It accepts a
 * strict, documented shape (assembly/README.md, "Syslog record") and gives field spans; lines
 * outside it get kind SYSLOG_NONE, and the caller falls back to the grok parser. Spans are
 * byte offsets into INPUT; '-' (RFC 5424 NILVALUE) is reported verbatim as a one-byte span.
 *
 *   [<PRI>] Mmm dD hh:mm:ss HOST TAG MSG           RFC 3164 (BSD timestamp)
 *   [<PRI>] YYYY-MM-DDThh:mm:ss[.f][Z|±hh:mm] HOST TAG MSG   (rsyslog high-precision)
 *   <PRI>VER TIMESTAMP HOST APP PROCID MSGID SD [MSG]        RFC 5424
 *   TAG = PROG[PID]: | PROG:   (optional; PROG bytes 0x21-0x5a, 0x5c, 0x5e-0x7e, as grok's PROG)
 */
import {
  INPUT_OFFSET, LINES_OFFSET, SYSLOG_RECS_OFFSET, SYSLOG_REC_WORDS, NONE,
  SYSLOG_NONE, SYSLOG_3164, SYSLOG_3164_ISO, SYSLOG_5424,
  SL_KIND, SL_PRI, SL_TIMESTAMP, SL_HOST, SL_PROGRAM, SL_PID, SL_MSGID, SL_SD, SL_MESSAGE,
} from './abi';

// @ts-ignore: decorator
@inline function at(p: u32): u32 { return <u32>load<u8>(INPUT_OFFSET + p); }
// @ts-ignore: decorator
@inline function isDigit(c: u32): bool { return c - 0x30 < 10; }
// @ts-ignore: decorator
@inline function isProg(c: u32): bool {
  return (c >= 0x21 && c <= 0x5a) || c == 0x5c || (c >= 0x5e && c <= 0x7e);
}

let rec: usize = 0;

// @ts-ignore: decorator
@inline function put(field: u32, s: u32, e: u32): void {
  store<u32>(rec + (field << 2), s);
  store<u32>(rec + ((field + 1) << 2), e);
}

/** End of a run of n digits at p (exactly n), or NONE. */
function digits(p: u32, e: u32, n: u32): u32 {
  if (p + n > e) return NONE;
  for (let i: u32 = 0; i < n; i++) if (!isDigit(at(p + i))) return NONE;
  return p + n;
}

/** End of a run of bytes other than ' ' starting at p (at least one), or NONE. */
function token(p: u32, e: u32): u32 {
  let q = p;
  while (q < e && at(q) != 0x20) q++;
  return q > p ? q : NONE;
}

const MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec";

function bsdTimestamp(p: u32, e: u32): u32 {
  if (p + 3 > e) return NONE;
  let found = false;
  for (let i = 0; i < 12; i++) {
    if (at(p) == <u32>MONTHS.charCodeAt(i * 3) && at(p + 1) == <u32>MONTHS.charCodeAt(i * 3 + 1)
      && at(p + 2) == <u32>MONTHS.charCodeAt(i * 3 + 2)) { found = true; break; }
  }
  if (!found) return NONE;
  let q = p + 3;
  if (q >= e || at(q) != 0x20) return NONE;
  while (q < e && at(q) == 0x20) q++;
  const d = q;
  while (q < e && isDigit(at(q)) && q - d < 2) q++;
  if (q == d || q >= e || at(q) != 0x20) return NONE;
  q++;
  q = digits(q, e, 2); if (q == NONE || q >= e || at(q) != 0x3a) return NONE;
  q = digits(q + 1, e, 2); if (q == NONE || q >= e || at(q) != 0x3a) return NONE;
  return digits(q + 1, e, 2);
}

function isoTimestamp(p: u32, e: u32): u32 {
  let q = digits(p, e, 4); if (q == NONE || q >= e || at(q) != 0x2d) return NONE;
  q = digits(q + 1, e, 2); if (q == NONE || q >= e || at(q) != 0x2d) return NONE;
  q = digits(q + 1, e, 2); if (q == NONE || q >= e || at(q) != 0x54) return NONE;
  q = digits(q + 1, e, 2); if (q == NONE || q >= e || at(q) != 0x3a) return NONE;
  q = digits(q + 1, e, 2); if (q == NONE || q >= e || at(q) != 0x3a) return NONE;
  q = digits(q + 1, e, 2); if (q == NONE) return NONE;
  if (q < e && at(q) == 0x2e) {
    const f = q + 1;
    q = f;
    while (q < e && isDigit(at(q))) q++;
    if (q == f) return NONE;
  }
  if (q < e && at(q) == 0x5a) return q + 1;
  if (q < e && (at(q) == 0x2b || at(q) == 0x2d)) {
    let r = digits(q + 1, e, 2); if (r == NONE || r >= e || at(r) != 0x3a) return NONE;
    return digits(r + 1, e, 2);
  }
  return q;
}

/** RFC 5424 structured data at p: '-' or one or more [..] elements; returns its end or NONE. */
function structuredData(p: u32, e: u32): u32 {
  if (p < e && at(p) == 0x2d) return p + 1;
  let q = p;
  while (q < e && at(q) == 0x5b) {
    q++;
    while (q < e && at(q) != 0x5d) {
      if (at(q) == 0x5c) q++; // backslash escapes the next byte
      q++;
    }
    if (q >= e) return NONE;
    q++; // ']'
  }
  return q > p ? q : NONE;
}

function scan5424(p: u32, e: u32): bool {
  // VERSION: 1-3 digits, then SP
  let q = p;
  while (q < e && isDigit(at(q)) && q - p < 3) q++;
  if (q == p || q >= e || at(q) != 0x20) return false;
  q++;
  let t = token(q, e); if (t == NONE || t >= e) return false; put(SL_TIMESTAMP, q, t); q = t + 1;
  t = token(q, e); if (t == NONE || t >= e) return false; put(SL_HOST, q, t); q = t + 1;
  t = token(q, e); if (t == NONE || t >= e) return false; put(SL_PROGRAM, q, t); q = t + 1;
  t = token(q, e); if (t == NONE || t >= e) return false; put(SL_PID, q, t); q = t + 1;
  t = token(q, e); if (t == NONE || t >= e) return false; put(SL_MSGID, q, t); q = t + 1;
  t = structuredData(q, e); if (t == NONE) return false; put(SL_SD, q, t); q = t;
  if (q == e) return true;
  if (at(q) != 0x20) return false;
  put(SL_MESSAGE, q + 1, e);
  return true;
}

/** HOST SP [TAG SP] MSG after a 3164 timestamp ending at p (which must be followed by SP). */
function scan3164Rest(p: u32, e: u32): bool {
  if (p >= e || at(p) != 0x20) return false;
  let q = p + 1;
  const h = token(q, e);
  if (h == NONE || h >= e) return false; // HOST must be followed by SP
  put(SL_HOST, q, h);
  q = h + 1;
  // TAG: the next token must be PROG ':' or PROG '[' digits ']' ':' ; otherwise no tag.
  const t = token(q, e);
  if (t != NONE) {
    let r = q;
    while (r < t && isProg(at(r))) r++;
    let progEnd: u32 = NONE;
    if (r < t && at(r) == 0x5b) {
      // PROG[PID]:
      const ps = r + 1;
      let pe = ps;
      while (pe < t && isDigit(at(pe))) pe++;
      if (pe > ps && r > q && pe + 2 == t && at(pe) == 0x5d && at(pe + 1) == 0x3a) {
        put(SL_PROGRAM, q, r);
        put(SL_PID, ps, pe);
        progEnd = t;
      }
    } else if (r == t && t - q >= 2 && at(t - 1) == 0x3a) {
      // PROG: (PROG may itself contain ':'; the tag's colon is the token's last byte)
      put(SL_PROGRAM, q, t - 1);
      progEnd = t;
    }
    if (progEnd != NONE) {
      if (progEnd == e) { put(SL_MESSAGE, e, e); return true; }
      put(SL_MESSAGE, progEnd + 1, e);
      return true;
    }
  }
  put(SL_MESSAGE, q, e);
  return true;
}

function clear(): void {
  store<u32>(rec + (SL_KIND << 2), SYSLOG_NONE);
  for (let f: u32 = 1; f < SYSLOG_REC_WORDS; f++) store<u32>(rec + (f << 2), NONE);
}

/** Fills SYSLOG_RECS for lines 0..nLines-1 of LINES; returns how many were recognised. */
export function scanSyslog(nLines: u32): u32 {
  let ok: u32 = 0;
  for (let j: u32 = 0; j < nLines; j++) {
    const lr = LINES_OFFSET + (j << 3);
    const s = load<u32>(lr);
    const e = load<u32>(lr, 4);
    rec = SYSLOG_RECS_OFFSET + j * (SYSLOG_REC_WORDS << 2);
    clear();
    let p = s;
    let hasPri = false;
    if (p < e && at(p) == 0x3c) {
      let q = p + 1;
      while (q < e && isDigit(at(q)) && q - p - 1 < 3) q++;
      if (q > p + 1 && q < e && at(q) == 0x3e) {
        put(SL_PRI, p + 1, q);
        p = q + 1;
        hasPri = true;
      } else continue;
    }
    let kind = SYSLOG_NONE;
    if (hasPri && p < e && isDigit(at(p)) && at(p) != 0x30) {
      // "<PRI>1 ..." is RFC 5424; "<PRI>2024-..." is an ISO timestamp (digit, then digits, '-').
      let q = p;
      while (q < e && isDigit(at(q))) q++;
      if (q < e && at(q) == 0x20 && q - p <= 3) {
        if (scan5424(p, e)) kind = SYSLOG_5424;
        if (kind == SYSLOG_NONE) clear();
        else ok++;
        store<u32>(rec + (SL_KIND << 2), kind);
        continue;
      }
    }
    let t = bsdTimestamp(p, e);
    if (t != NONE) kind = SYSLOG_3164;
    else {
      t = isoTimestamp(p, e);
      if (t != NONE) kind = SYSLOG_3164_ISO;
    }
    if (kind != SYSLOG_NONE) {
      put(SL_TIMESTAMP, p, t);
      if (!scan3164Rest(t, e)) kind = SYSLOG_NONE;
    }
    if (kind == SYSLOG_NONE) clear();
    else ok++;
    store<u32>(rec + (SL_KIND << 2), kind);
  }
  return ok;
}
