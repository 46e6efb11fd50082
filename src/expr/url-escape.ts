/**
 * Go net/url escaping: PathEscape / QueryEscape / PathUnescape / QueryUnescape. Escapes are
 * upper-case hex of UTF-8 bytes. Unescaping fails on a `%` not followed by two hex digits
 * (the helpers then return the input unchanged, as CrowdSec does). Decoded bytes that are not
 * valid UTF-8 become U+FFFD: JS strings cannot hold raw bytes the way Go strings do.
 */

const HEX = '0123456789ABCDEF';

function isUnreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

// Go's shouldEscape for a path segment keeps $ & + : = @ (and escapes / ; , ?).
const PATH_KEEP = new Set([0x24, 0x26, 0x2b, 0x3a, 0x3d, 0x40]);

function escape(s: string, query: boolean): string {
  const bytes = Buffer.from(s, 'utf8');
  let out = '';
  for (const b of bytes) {
    if (isUnreserved(b) || (!query && PATH_KEEP.has(b))) out += String.fromCharCode(b);
    else if (query && b === 0x20) out += '+';
    else out += '%' + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

export function pathEscape(s: string): string {
  return escape(s, false);
}

export function queryEscape(s: string): string {
  return escape(s, true);
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** Returns the unescaped string, or null on an invalid escape. */
function unescape(s: string, query: boolean): string | null {
  if (s.indexOf('%') < 0 && (!query || s.indexOf('+') < 0)) return s;
  const src = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let o = 0;
  for (let i = 0; i < src.length; i++) {
    const b = src[i];
    if (b === 0x25) {
      const hi = i + 2 < src.length ? hexVal(src[i + 1]) : -1;
      const lo = hi >= 0 ? hexVal(src[i + 2]) : -1;
      if (hi < 0 || lo < 0) return null;
      out[o++] = hi * 16 + lo;
      i += 2;
    } else if (query && b === 0x2b) {
      out[o++] = 0x20;
    } else {
      out[o++] = b;
    }
  }
  return out.subarray(0, o).toString('utf8');
}

export function pathUnescape(s: string): string | null {
  return unescape(s, false);
}

export function queryUnescape(s: string): string | null {
  return unescape(s, true);
}

/** url.ParseQuery: `a=1&b=2&a=3` -> {a:[1,3], b:[2]}; null on the first bad pair (CrowdSec then returns an empty map). */
export function parseQuery(q: string): Map<string, string[]> | null {
  const m = new Map<string, string[]>();
  for (const part of q.split('&')) {
    if (part === '') continue;
    if (part.includes(';')) return null; // Go 1.17+: semicolons are rejected
    const eq = part.indexOf('=');
    const k = queryUnescape(eq < 0 ? part : part.slice(0, eq));
    const v = queryUnescape(eq < 0 ? '' : part.slice(eq + 1));
    if (k === null || v === null) return null;
    const list = m.get(k);
    if (list) list.push(v);
    else m.set(k, [v]);
  }
  return m;
}

/** The raw query of a URI (what url.Parse puts in RawQuery): after the first '?', before '#'. */
export function rawQuery(uri: string): string {
  const hash = uri.indexOf('#');
  const u = hash < 0 ? uri : uri.slice(0, hash);
  const q = u.indexOf('?');
  return q < 0 ? '' : u.slice(q + 1);
}
