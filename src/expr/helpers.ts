/**
 * The helper function registry of CrowdSec 1.4.6 (spec §6.3). Each entry has the Go
 * signature (checked at load time) and a factory that binds the implementation to the
 * caller's context once, when the expression is compiled. Helpers never throw for bad data:
 * like CrowdSec they log (ctx.warn) and return the zero value; a wrong argument type that the
 * checker could not see (interface{} value) is a runtime error, as Go's reflect call would be.
 */
import { parseIp, parseCidr, rangeContains, ipToRange } from '../core/ip.js';
import { ANY, ANY_LIST, ANY_MAP, BOOL, FLOAT, INT, STRING, STRING_LIST, type FuncType, type Type } from './types.js';
import { ExprRuntimeError, AnyMap, goTypeOf } from './runtime.js';
import { jsonExtractRaw, jsonExtractUnescape, jsonExtractSlice, jsonExtractObject, splitPath } from './json-extract.js';
import { goJson } from './go-json.js';
import { parseXml, compileXmlPath, findElements, elementText, attrValue, type XmlElement, type XmlPath } from './xml.js';
import { pathEscape, pathUnescape, queryEscape, queryUnescape, parseQuery, rawQuery } from './url-escape.js';
import { sprintf } from './sprintf.js';

/** Data files loaded by parsers/scenarios `data:` (spec §2.10). */
export interface DataFileStore {
  /** File(name) */
  strings(name: string): readonly string[] | undefined;
  /** RegexpInFile(s, name) */
  regexps(name: string): readonly RegExp[] | undefined;
}

export interface HelperContext {
  data?: DataFileStore;
  /** profiles: GetDecisionsCount(value) / GetDecisionsSinceCount(value, since) */
  decisionsCount?: (value: string) => number;
  decisionsSinceCount?: (value: string, since: string) => number;
  now?: () => Date;
  /** called when a helper logs a problem (unknown data file, ...) */
  warn?: (msg: string) => void;
}

export type HelperImpl = (...args: unknown[]) => unknown;

export interface HelperDef {
  sig: FuncType;
  make(ctx: HelperContext): HelperImpl;
}

function str(v: unknown, fn: string, n: number): string {
  if (typeof v === 'string') return v;
  throw new ExprRuntimeError(`${fn}: argument ${n} must be a string, got ${goTypeOf(v)}`);
}

const warnOf = (ctx: HelperContext) => ctx.warn ?? (() => {});

/** Go strings.ToUpper/ToLower map rune by rune; JS special-cases like ß -> SS are not applied. */
function caseMap(s: string, upper: boolean): string {
  // ASCII (the usual case: file extensions, paths): the string itself when no letter changes
  // (no copy), else the built-in mapping, which is exact for ASCII.
  let ascii = true;
  let same = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) { ascii = false; break; }
    if (upper ? c >= 97 && c <= 122 : c >= 65 && c <= 90) same = false;
  }
  if (ascii) return same ? s : upper ? s.toUpperCase() : s.toLowerCase();
  let out = '';
  for (const ch of s) {
    const m = upper ? ch.toUpperCase() : ch.toLowerCase();
    out += [...m].length === 1 ? m : ch;
  }
  return out;
}

/**
 * XML documents of the last few distinct inputs: the Windows-event parsers call XMLGetNodeValue
 * dozens of times on the same line. (CrowdSec caches every document forever; a small bounded
 * cache gives the same hits without growing with the log.)
 */
const XML_CACHE_SIZE = 8;
const xmlCache = new Map<string, XmlElement | null>();
function xmlDoc(s: string, warn: (m: string) => void): XmlElement | null {
  const hit = xmlCache.get(s);
  if (hit !== undefined) return hit;
  let doc: XmlElement | null;
  try {
    doc = parseXml(s);
  } catch (e) {
    warn(`XMLGetNodeValue: could not parse XML: ${(e as Error).message}`);
    doc = null;
  }
  if (xmlCache.size >= XML_CACHE_SIZE) xmlCache.delete(xmlCache.keys().next().value as string);
  xmlCache.set(s, doc);
  return doc;
}
const xmlPathCache = new Map<string, XmlPath | null>();
function xmlPath(p: string, warn: (m: string) => void): XmlPath | null {
  let c = xmlPathCache.get(p);
  if (c === undefined) {
    try {
      c = compileXmlPath(p);
    } catch (e) {
      warn(`XML path: ${(e as Error).message}`);
      c = null;
    }
    if (xmlPathCache.size > 1000) xmlPathCache.clear();
    xmlPathCache.set(p, c);
  }
  return c;
}
function xmlFirst(xml: string, path: string, warn: (m: string) => void): XmlElement | null {
  const doc = xmlDoc(xml, warn);
  if (!doc) return null;
  const p = xmlPath(path, warn);
  if (!p) return null;
  return findElements(doc, p)[0] ?? null;
}

/** Go time.ParseDuration syntax (used to validate GetDecisionsSinceCount's `since`). */
export const GO_DURATION = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$|^0$/;

/** strconv.ParseFloat(s, 64) accepted syntax (decimal, inf, nan; no surrounding spaces). */
function atof(s: string): number | null {
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number(s);
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (/^[+-]?0[xX]([0-9a-fA-F]+(\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)[pP][+-]?\d+$/.test(s)) {
    const m = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)$/.exec(s)!;
    const mant = parseInt((m[2] || '0') + (m[3] || ''), 16) / 16 ** (m[3] ?? '').length;
    const v = mant * 2 ** Number(m[4]);
    return m[1] === '-' ? -v : v;
  }
  return null;
}

const fn = (params: Type[], ret: Type, variadic?: Type): FuncType => ({ params, ret, variadic });

export const HELPERS: Record<string, HelperDef> = {
  Upper: { sig: fn([STRING], STRING), make: () => (s) => caseMap(str(s, 'Upper', 1), true) },
  Lower: { sig: fn([STRING], STRING), make: () => (s) => caseMap(str(s, 'Lower', 1), false) },

  XMLGetNodeValue: {
    sig: fn([STRING, STRING], STRING),
    make: (ctx) => {
      const warn = warnOf(ctx);
      return (x, p) => {
        const el = xmlFirst(str(x, 'XMLGetNodeValue', 1), str(p, 'XMLGetNodeValue', 2), warn);
        return el ? elementText(el) : '';
      };
    },
  },
  XMLGetAttributeValue: {
    sig: fn([STRING, STRING, STRING], STRING),
    make: (ctx) => {
      const warn = warnOf(ctx);
      return (x, p, a) => {
        const el = xmlFirst(str(x, 'XMLGetAttributeValue', 1), str(p, 'XMLGetAttributeValue', 2), warn);
        return el ? attrValue(el, str(a, 'XMLGetAttributeValue', 3)) ?? '' : '';
      };
    },
  },

  JsonExtract: {
    sig: fn([STRING, STRING], STRING),
    make: () => (j, p) => jsonExtractRaw(str(j, 'JsonExtract', 1), splitPath(str(p, 'JsonExtract', 2))),
  },
  JsonExtractLib: {
    sig: fn([STRING], STRING, STRING),
    make: () => (j, ...keys) => jsonExtractRaw(str(j, 'JsonExtractLib', 1), keys.map((k, i) => str(k, 'JsonExtractLib', i + 2))),
  },
  JsonExtractUnescape: {
    sig: fn([STRING], STRING, STRING),
    make: () => (j, ...keys) => jsonExtractUnescape(str(j, 'JsonExtractUnescape', 1), keys.map((k, i) => str(k, 'JsonExtractUnescape', i + 2))),
  },
  JsonExtractSlice: {
    sig: fn([STRING, STRING], ANY_LIST),
    make: () => (j, p) => jsonExtractSlice(str(j, 'JsonExtractSlice', 1), str(p, 'JsonExtractSlice', 2)),
  },
  JsonExtractObject: {
    sig: fn([STRING, STRING], ANY_MAP),
    make: () => (j, p) => jsonExtractObject(str(j, 'JsonExtractObject', 1), str(p, 'JsonExtractObject', 2)),
  },
  ToJsonString: {
    sig: fn([ANY], STRING),
    make: (ctx) => (v) => {
      try {
        return goJson(v);
      } catch (e) {
        warnOf(ctx)(`ToJsonString: ${(e as Error).message}`);
        return '';
      }
    },
  },

  File: {
    sig: fn([STRING], STRING_LIST),
    make: (ctx) => (name) => {
      const n = str(name, 'File', 1);
      const list = ctx.data?.strings(n);
      if (list) return list;
      warnOf(ctx)(`file '${n}' (type:string) not found in expr library`);
      return [];
    },
  },
  RegexpInFile: {
    sig: fn([STRING, STRING], BOOL),
    make: (ctx) => (s, name) => {
      const v = str(s, 'RegexpInFile', 1);
      const n = str(name, 'RegexpInFile', 2);
      const list = ctx.data?.regexps(n);
      if (!list) {
        warnOf(ctx)(`file '${n}' (type:regexp) not found in expr library`);
        return false;
      }
      for (const re of list) {
        re.lastIndex = 0;
        if (re.test(v)) return true;
      }
      return false;
    },
  },

  IpInRange: {
    sig: fn([STRING, STRING], BOOL),
    make: () => (ip, cidr) => {
      const a = parseIp(str(ip, 'IpInRange', 1));
      const r = parseCidr(str(cidr, 'IpInRange', 2));
      if (!a || !r) return false;
      // Go's IPNet.Contains never matches across families (an IPv4 address in ::/0 is false).
      if (a.family !== r.family) return false;
      return rangeContains(r, a.value);
    },
  },
  IpToRange: {
    sig: fn([STRING, STRING], STRING),
    make: (ctx) => (ip, cidr) => {
      const c = str(cidr, 'IpToRange', 2).replace(/^\//, '');
      if (!/^[+-]?\d+$/.test(c)) {
        warnOf(ctx)(`IpToRange: bad cidr '${c}'`);
        return '';
      }
      const a = parseIp(str(ip, 'IpToRange', 1));
      if (!a) {
        warnOf(ctx)(`IpToRange: can't parse IP address '${String(ip)}'`);
        return '';
      }
      const r = ipToRange(a, Number(c));
      if (r === null) {
        warnOf(ctx)(`IpToRange: can't get cidr '${c}' of '${String(ip)}'`);
        return '';
      }
      return r;
    },
  },
  IsIPV6: {
    sig: fn([STRING], BOOL),
    make: () => (ip) => {
      const a = parseIp(str(ip, 'IsIPV6', 1));
      return a !== null && a.family === 6;
    },
  },

  PathUnescape: {
    sig: fn([STRING], STRING),
    make: (ctx) => (s) => {
      const v = str(s, 'PathUnescape', 1);
      const r = pathUnescape(v);
      if (r === null) warnOf(ctx)(`PathUnescape: invalid URL escape in '${v}'`);
      return r ?? v;
    },
  },
  QueryUnescape: {
    sig: fn([STRING], STRING),
    make: (ctx) => (s) => {
      const v = str(s, 'QueryUnescape', 1);
      const r = queryUnescape(v);
      if (r === null) warnOf(ctx)(`QueryUnescape: invalid URL escape in '${v}'`);
      return r ?? v;
    },
  },
  PathEscape: { sig: fn([STRING], STRING), make: () => (s) => pathEscape(str(s, 'PathEscape', 1)) },
  QueryEscape: { sig: fn([STRING], STRING), make: () => (s) => queryEscape(str(s, 'QueryEscape', 1)) },
  ParseUri: {
    sig: fn([STRING], { k: 'map', value: STRING_LIST }),
    make: (ctx) => (u) => {
      const uri = str(u, 'ParseUri', 1);
      const out = new AnyMap<string, string[]>();
      // url.Parse rejects control characters and bad escapes in the path.
      // eslint-disable-next-line no-control-regex
      if (/[\x00-\x1f\x7f]/.test(uri) || /%(?![0-9a-fA-F]{2})/.test(uri.split(/[?#]/)[0])) {
        warnOf(ctx)(`ParseUri: could not parse URI '${uri}'`);
        return out;
      }
      const q = parseQuery(rawQuery(uri));
      if (!q) {
        warnOf(ctx)(`ParseUri: could not parse query of '${uri}'`);
        return out;
      }
      for (const [k, v] of q) out.set(k, v);
      return out;
    },
  },

  Atof: {
    sig: fn([STRING], FLOAT),
    make: (ctx) => (s) => {
      const v = str(s, 'Atof', 1);
      const r = atof(v);
      if (r === null) {
        warnOf(ctx)(`Atof: can't convert float '${v}'`);
        return 0;
      }
      return r;
    },
  },
  TimeNow: {
    sig: fn([], STRING),
    make: (ctx) => () => (ctx.now ? ctx.now() : new Date()).toISOString().replace(/\.\d+Z$/, 'Z'),
  },
  LookupHost: {
    sig: fn([STRING], STRING_LIST),
    // Expressions are synchronous and Node has no blocking resolver: an IP literal resolves to
    // itself (as Go's LookupHost does), anything else yields an empty list with a warning.
    make: (ctx) => (h) => {
      const name = str(h, 'LookupHost', 1);
      if (parseIp(name)) return [name];
      warnOf(ctx)(`LookupHost: DNS lookups are not available in expressions ('${name}')`);
      return [];
    },
  },

  GetDecisionsCount: {
    sig: fn([STRING], INT),
    make: (ctx) => (v) => {
      const value = str(v, 'GetDecisionsCount', 1);
      if (!ctx.decisionsCount) {
        warnOf(ctx)('GetDecisionsCount: no decision store in this context');
        return 0;
      }
      return ctx.decisionsCount(value);
    },
  },
  GetDecisionsSinceCount: {
    sig: fn([STRING, STRING], INT),
    make: (ctx) => (v, s) => {
      const value = str(v, 'GetDecisionsSinceCount', 1);
      const since = str(s, 'GetDecisionsSinceCount', 2);
      if (!GO_DURATION.test(since)) {
        warnOf(ctx)(`GetDecisionsSinceCount: failed to parse since '${since}'`);
        return 0;
      }
      if (!ctx.decisionsSinceCount) {
        warnOf(ctx)('GetDecisionsSinceCount: no decision store in this context');
        return 0;
      }
      return ctx.decisionsSinceCount(value, since);
    },
  },

  Sprintf: {
    sig: fn([STRING], STRING, ANY),
    make: () => (f, ...args) => sprintf(str(f, 'Sprintf', 1), args),
  },
};
