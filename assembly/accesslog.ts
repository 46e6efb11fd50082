/**
 * Structural scanner of common / combined access logs (Apache, nginx defaults), one record
 * per line in ACCESS_RECS. Accepted shape (spans exclude brackets and quotes; '-' verbatim):
 *
 *   CLIENT SP IDENT SP USER SP '[' TIME ']' SP '"' REQUEST '"' SP STATUS SP BYTES
 *     [SP '"' REFERER '"' SP '"' AGENT '"' ...]            combined when present, else common
 *
 * CLIENT, IDENT, USER: runs of bytes other than ' '. TIME: bytes other than ']'. Quoted
 * fields honour backslash escapes (Apache writes \" , nginx \x22). STATUS: 3 digits. BYTES:
 * digits or '-'. REQUEST is split into VERB SP PATH [SP PROTO] when it is exactly two or three
 * space-free parts; otherwise those three spans are NONE. After BYTES a common line must end
 * or go on with ' '; anything after the agent's closing quote is ignored.
 */
import {
  INPUT_OFFSET, LINES_OFFSET, ACCESS_RECS_OFFSET, ACCESS_REC_WORDS, NONE,
  ACCESS_NONE, ACCESS_COMMON, ACCESS_COMBINED,
  AL_KIND, AL_CLIENT, AL_IDENT, AL_USER, AL_TIME, AL_REQUEST, AL_VERB, AL_PATH, AL_PROTO,
  AL_STATUS, AL_BYTES, AL_REFERER, AL_AGENT,
} from './abi';

// @ts-ignore: decorator
@inline function at(p: u32): u32 { return <u32>load<u8>(INPUT_OFFSET + p); }
// @ts-ignore: decorator
@inline function isDigit(c: u32): bool { return c - 0x30 < 10; }

let rec: usize = 0;

// @ts-ignore: decorator
@inline function put(field: u32, s: u32, e: u32): void {
  store<u32>(rec + (field << 2), s);
  store<u32>(rec + ((field + 1) << 2), e);
}

/** End of a run of bytes other than ' ' at p (at least one) that is followed by ' ', or NONE. */
function spaced(p: u32, e: u32): u32 {
  let q = p;
  while (q < e && at(q) != 0x20) q++;
  return q > p && q < e ? q : NONE;
}

/** Position of the closing quote of a quoted field whose opening quote is at p - 1, or NONE. */
function closeQuote(p: u32, e: u32): u32 {
  let q = p;
  while (q < e) {
    const c = at(q);
    if (c == 0x22) return q;
    q += c == 0x5c ? 2 : 1;
  }
  return NONE;
}

function splitRequest(s: u32, e: u32): void {
  let sp1: u32 = NONE;
  let sp2: u32 = NONE;
  for (let q = s; q < e; q++) {
    if (at(q) != 0x20) continue;
    if (sp1 == NONE) sp1 = q;
    else if (sp2 == NONE) sp2 = q;
    else return; // more than three parts
  }
  if (sp1 == NONE || sp1 == s) return;
  if (sp2 == NONE) {
    if (sp1 + 1 == e) return;
    put(AL_VERB, s, sp1);
    put(AL_PATH, sp1 + 1, e);
    return;
  }
  if (sp2 == sp1 + 1 || sp2 + 1 == e) return;
  put(AL_VERB, s, sp1);
  put(AL_PATH, sp1 + 1, sp2);
  put(AL_PROTO, sp2 + 1, e);
}

function clear(): void {
  store<u32>(rec + (AL_KIND << 2), ACCESS_NONE);
  for (let f: u32 = 1; f < ACCESS_REC_WORDS; f++) store<u32>(rec + (f << 2), NONE);
}

function scanLine(s: u32, e: u32): u32 {
  let q = s;
  let t = spaced(q, e); if (t == NONE) return ACCESS_NONE; put(AL_CLIENT, q, t); q = t + 1;
  t = spaced(q, e); if (t == NONE) return ACCESS_NONE; put(AL_IDENT, q, t); q = t + 1;
  t = spaced(q, e); if (t == NONE) return ACCESS_NONE; put(AL_USER, q, t); q = t + 1;
  if (q >= e || at(q) != 0x5b) return ACCESS_NONE;
  t = q + 1;
  while (t < e && at(t) != 0x5d) t++;
  if (t >= e) return ACCESS_NONE;
  put(AL_TIME, q + 1, t);
  q = t + 1;
  if (q + 1 >= e || at(q) != 0x20 || at(q + 1) != 0x22) return ACCESS_NONE;
  q += 2;
  t = closeQuote(q, e); if (t == NONE) return ACCESS_NONE;
  put(AL_REQUEST, q, t);
  splitRequest(q, t);
  q = t + 1;
  if (q >= e || at(q) != 0x20) return ACCESS_NONE;
  q++;
  if (q + 3 > e || !isDigit(at(q)) || !isDigit(at(q + 1)) || !isDigit(at(q + 2))) return ACCESS_NONE;
  put(AL_STATUS, q, q + 3);
  q += 3;
  if (q >= e || at(q) != 0x20) return ACCESS_NONE;
  q++;
  t = q;
  if (t < e && at(t) == 0x2d) t++;
  else while (t < e && isDigit(at(t))) t++;
  if (t == q || (t < e && at(t) != 0x20)) return ACCESS_NONE;
  put(AL_BYTES, q, t);
  // Combined: SP "referer" SP "agent"
  if (t + 1 < e && at(t + 1) == 0x22) {
    const rs = t + 2;
    const re = closeQuote(rs, e);
    if (re != NONE && re + 2 < e && at(re + 1) == 0x20 && at(re + 2) == 0x22) {
      const as = re + 3;
      const ae = closeQuote(as, e);
      if (ae != NONE) {
        put(AL_REFERER, rs, re);
        put(AL_AGENT, as, ae);
        return ACCESS_COMBINED;
      }
    }
  }
  return ACCESS_COMMON;
}

/** Fills ACCESS_RECS for lines 0..nLines-1 of LINES; returns how many were recognised. */
export function scanAccessLog(nLines: u32): u32 {
  let ok: u32 = 0;
  for (let j: u32 = 0; j < nLines; j++) {
    const lr = LINES_OFFSET + (j << 3);
    rec = ACCESS_RECS_OFFSET + j * (ACCESS_REC_WORDS << 2);
    clear();
    const kind = scanLine(load<u32>(lr), load<u32>(lr, 4));
    if (kind == ACCESS_NONE) clear();
    else ok++;
    store<u32>(rec + (AL_KIND << 2), kind);
  }
  return ok;
}
