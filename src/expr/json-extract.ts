/**
 * JsonExtract* helpers, with the semantics of the buger/jsonparser calls CrowdSec 1.4.6 makes:
 * the document is scanned, never fully decoded, to the value at a key path; keys like `[0]`
 * index arrays. `getRaw` returns the value's raw text: a string without its quotes but still
 * escaped, anything else verbatim. A missing key or malformed input gives "" / nil.
 */
import { AnyMap } from './runtime.js';

export type JsonType = 'string' | 'number' | 'object' | 'array' | 'boolean' | 'null';

class Malformed extends Error {}

function ws(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) i++;
    else return i;
  }
}

/** Index just past the closing quote of the string starting at `i` (s[i] === '"'). */
function stringEnd(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 92) j++; // backslash: skip the escaped char
    else if (c === 34) return j + 1;
  }
  throw new Malformed();
}

/** Index just past the value starting at `i`. */
function valueEnd(s: string, i: number): number {
  const c = s[i];
  if (c === '"') return stringEnd(s, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const d = s[j];
      if (d === '"') { j = stringEnd(s, j) - 1; continue; }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new Malformed();
  }
  let j = i;
  while (j < s.length && !',}] \t\r\n'.includes(s[j])) j++;
  if (j === i) throw new Malformed();
  return j;
}

function typeAt(s: string, i: number): JsonType {
  const c = s[i];
  if (c === '"') return 'string';
  if (c === '{') return 'object';
  if (c === '[') return 'array';
  if (c === 't' || c === 'f') return 'boolean';
  if (c === 'n') return 'null';
  if (c === '-' || (c >= '0' && c <= '9')) return 'number';
  throw new Malformed();
}

function unescapeKey(raw: string): string {
  if (raw.indexOf('\\') < 0) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

/** Raw text and type of the value at `keys`, or null when missing / malformed. */
export function getRaw(doc: string, keys: readonly string[]): { raw: string; type: JsonType } | null {
  try {
    let i = ws(doc, 0);
    for (const key of keys) {
      const c = doc[i];
      if (c === '[' && key.startsWith('[') && key.endsWith(']')) {
        const want = Number(key.slice(1, -1));
        if (!Number.isInteger(want) || want < 0) return null;
        i = ws(doc, i + 1);
        let found = false;
        for (let k = 0; doc[i] !== ']'; k++) {
          if (i >= doc.length) throw new Malformed();
          if (k === want) { found = true; break; }
          i = ws(doc, valueEnd(doc, i));
          if (doc[i] === ',') i = ws(doc, i + 1);
          else if (doc[i] !== ']') throw new Malformed();
        }
        if (!found) return null;
      } else if (c === '{') {
        i = ws(doc, i + 1);
        let found = false;
        while (doc[i] !== '}') {
          if (doc[i] !== '"') throw new Malformed();
          const kEnd = stringEnd(doc, i);
          const name = unescapeKey(doc.slice(i + 1, kEnd - 1));
          i = ws(doc, kEnd);
          if (doc[i] !== ':') throw new Malformed();
          i = ws(doc, i + 1);
          if (name === key) { found = true; break; }
          i = ws(doc, valueEnd(doc, i));
          if (doc[i] === ',') i = ws(doc, i + 1);
          else if (doc[i] !== '}') throw new Malformed();
        }
        if (!found) return null;
      } else {
        return null;
      }
    }
    const type = typeAt(doc, i);
    const end = valueEnd(doc, i);
    return { raw: type === 'string' ? doc.slice(i + 1, end - 1) : doc.slice(i, end), type };
  } catch (e) {
    if (e instanceof Malformed) return null;
    throw e;
  }
}

/** CrowdSec's path form: `a.b[0].c` -> keys a, b, [0], c (a leading `[` is kept as is). */
export function splitPath(path: string): string[] {
  const p = path.startsWith('[') ? path : path.split('[').join('.[');
  return p.split('.');
}

/** JsonExtract(json, path) / JsonExtractLib(json, keys...): raw value text, "" if missing. */
export function jsonExtractRaw(doc: string, keys: readonly string[]): string {
  return getRaw(doc, keys)?.raw ?? '';
}

/** JsonExtractUnescape(json, keys...): a string value, unescaped; "" for missing or non-strings. */
export function jsonExtractUnescape(doc: string, keys: readonly string[]): string {
  const r = getRaw(doc, keys);
  if (!r || r.type !== 'string') return '';
  if (r.raw.indexOf('\\') < 0) return r.raw;
  try {
    return JSON.parse(`"${r.raw}"`) as string;
  } catch {
    return '';
  }
}

/** Decoded JSON the way Go's encoding/json fills interface{}: objects become maps (AnyMap). */
export function toGoValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toGoValue);
  if (v !== null && typeof v === 'object') {
    const m = new AnyMap<string, unknown>();
    for (const [k, x] of Object.entries(v)) m.set(k, toGoValue(x));
    return m;
  }
  return v;
}

function decodeAt(doc: string, path: string, want: JsonType): unknown {
  const r = getRaw(doc, splitPath(path));
  if (!r || r.type !== want) return null;
  try {
    return toGoValue(JSON.parse(r.raw));
  } catch {
    return null;
  }
}

/** JsonExtractSlice(json, path): the array at path as a list of decoded values, nil otherwise. */
export function jsonExtractSlice(doc: string, path: string): unknown[] | null {
  return decodeAt(doc, path, 'array') as unknown[] | null;
}

/** JsonExtractObject(json, path): the object at path as a map, nil otherwise. */
export function jsonExtractObject(doc: string, path: string): AnyMap | null {
  return decodeAt(doc, path, 'object') as AnyMap | null;
}
