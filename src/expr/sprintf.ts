/**
 * Sprintf: Go fmt.Sprintf over expression values. Supported verbs: %v %+v %s %q %d %t %f %F
 * %e %E %g %G %x %X %o %b %c %% with flags `-+# 0`, width and precision (also `*`). Errors are
 * rendered inline as Go does (`%!d(string=x)`, `%!s(MISSING)`, `%!(EXTRA int=1)`).
 * Limitation: ints and floats are both JS numbers, so an integral float within the safe
 * integer range prints like an int (`%v` of 3.0 gives "3", as Go does; `%d` of it gives 3).
 */
import { goTypeOf } from './runtime.js';

interface Spec {
  minus: boolean; plus: boolean; sharp: boolean; space: boolean; zero: boolean;
  width?: number; prec?: number;
}

/** Go's default %v rendering. */
export function formatV(v: unknown, plus = false): string {
  if (v === null || v === undefined) return '<nil>';
  switch (typeof v) {
    case 'string': return v;
    case 'boolean': return v ? 'true' : 'false';
    case 'number': return Number.isSafeInteger(v) ? intText(v) : formatG(v, -1, false);
    case 'bigint': return v.toString();
    default: break;
  }
  if (Array.isArray(v)) return '[' + v.map((x) => formatV(x, plus)).join(' ') + ']';
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Map) {
    const keys = [...v.keys()].sort((a, b) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
    return 'map[' + keys.map((k) => `${formatV(k, plus)}:${formatV(v.get(k), plus)}`).join(' ') + ']';
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const parts = Object.keys(o).filter((k) => typeof o[k] !== 'function')
      .map((k) => (plus ? `${k}:` : '') + formatV(o[k], plus));
    return '{' + parts.join(' ') + '}';
  }
  return String(v);
}

function intText(n: number): string {
  return n.toString();
}

/** strconv.FormatFloat(f, 'g', prec, 64); prec -1 = shortest. */
function formatG(f: number, prec: number, upper: boolean): string {
  if (!Number.isFinite(f)) return Number.isNaN(f) ? 'NaN' : f > 0 ? '+Inf' : '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  let digits: string;
  let exp: number;
  if (prec < 0) {
    const e = f.toExponential(); // shortest round-trip digits
    const m = /^-?(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(e)!;
    digits = m[1] + (m[2] ?? '');
    exp = Number(m[3]);
  } else {
    const p = prec === 0 ? 1 : prec;
    const e = f.toExponential(p - 1);
    const m = /^-?(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(e)!;
    digits = (m[1] + (m[2] ?? '')).replace(/0+$/, '') || '0';
    exp = Number(m[3]);
  }
  const eprec = prec < 0 ? 6 : prec === 0 ? 1 : prec;
  const sign = f < 0 ? '-' : '';
  // Go: exponent form when exp < -4 or exp >= precision (6 for the shortest form, so 1e+06).
  if (exp < -4 || exp >= eprec) {
    const mant = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
    const es = Math.abs(exp) < 10 ? '0' + Math.abs(exp) : String(Math.abs(exp));
    return sign + mant + (upper ? 'E' : 'e') + (exp < 0 ? '-' : '+') + es;
  }
  if (exp < 0) return sign + '0.' + '0'.repeat(-exp - 1) + digits;
  if (digits.length <= exp + 1) return sign + digits + '0'.repeat(exp + 1 - digits.length);
  return sign + digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
}

/** strconv.Quote: Go escapes, printable Unicode kept. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; continue;
      case '\\': out += '\\\\'; continue;
      case '\x07': out += '\\a'; continue;
      case '\b': out += '\\b'; continue;
      case '\f': out += '\\f'; continue;
      case '\n': out += '\\n'; continue;
      case '\r': out += '\\r'; continue;
      case '\t': out += '\\t'; continue;
      case '\v': out += '\\v'; continue;
      default: break;
    }
    if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if ((c >= 0x80 && c < 0xa0) || c === 0xfffd && ch !== '\ufffd') out += '\\u' + c.toString(16).padStart(4, '0');
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return out + '"';
}

function pad(s: string, sp: Spec, numeric: boolean): string {
  if (sp.width === undefined || s.length >= sp.width) return s;
  const fill = sp.width - s.length;
  if (sp.minus) return s + ' '.repeat(fill);
  if (sp.zero && numeric) {
    const signLen = /^[+\- ]/.test(s) ? 1 : 0;
    return s.slice(0, signLen) + '0'.repeat(fill) + s.slice(signLen);
  }
  return ' '.repeat(fill) + s;
}

function bad(verb: string, v: unknown): string {
  if (v === null || v === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeOf(v)}=${formatV(v)})`;
}

function signed(s: string, neg: boolean, sp: Spec): string {
  if (neg) return '-' + s;
  if (sp.plus) return '+' + s;
  if (sp.space) return ' ' + s;
  return s;
}

function formatOne(verb: string, v: unknown, sp: Spec): string {
  switch (verb) {
    case 'v':
      if (typeof v === 'number' && !Number.isSafeInteger(v)) return pad(signed(formatG(Math.abs(v), -1, false), v < 0, sp), sp, true);
      if (typeof v === 'number') return pad(signed(intText(Math.abs(v)), v < 0, sp), sp, true);
      return pad(formatV(v, sp.plus), sp, false);
    case 's':
      if (typeof v === 'string') return pad(sp.prec !== undefined ? [...v].slice(0, sp.prec).join('') : v, sp, false);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return pad(formatV(v), sp, false);
      if (v instanceof Error) return pad(v.message, sp, false);
      return bad(verb, v);
    case 'q':
      if (typeof v === 'string') return pad(goQuote(v), sp, false);
      if (typeof v === 'number' && Number.isInteger(v)) return pad(`'${String.fromCodePoint(v)}'`, sp, false);
      return bad(verb, v);
    case 't':
      return typeof v === 'boolean' ? pad(String(v), sp, false) : bad(verb, v);
    case 'd': case 'o': case 'b': case 'c':
      if (typeof v !== 'number' || !Number.isInteger(v)) return bad(verb, v);
      if (verb === 'c') return pad(String.fromCodePoint(v), sp, false);
      {
        const radix = verb === 'd' ? 10 : verb === 'o' ? 8 : 2;
        let s = BigInt(Math.abs(v)).toString(radix);
        if (sp.prec !== undefined && s.length < sp.prec) s = '0'.repeat(sp.prec - s.length) + s;
        if (sp.sharp && verb === 'o') s = '0' + s;
        return pad(signed(s, v < 0, sp), sp, sp.prec === undefined);
      }
    case 'x': case 'X': {
      const upper = verb === 'X';
      if (typeof v === 'string') {
        const h = Buffer.from(v, 'utf8').toString('hex');
        return pad(upper ? h.toUpperCase() : h, sp, false);
      }
      if (typeof v === 'number' && Number.isInteger(v)) {
        let s = BigInt(Math.abs(v)).toString(16);
        if (upper) s = s.toUpperCase();
        if (sp.prec !== undefined && s.length < sp.prec) s = '0'.repeat(sp.prec - s.length) + s;
        if (sp.sharp) s = (upper ? '0X' : '0x') + s;
        return pad(signed(s, v < 0, sp), sp, true);
      }
      return bad(verb, v);
    }
    case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': {
      if (typeof v !== 'number') return bad(verb, v);
      const a = Math.abs(v);
      let s: string;
      if (!Number.isFinite(v)) s = Number.isNaN(v) ? 'NaN' : 'Inf';
      else if (verb === 'f' || verb === 'F') s = a.toFixed(sp.prec ?? 6);
      else if (verb === 'e' || verb === 'E') {
        s = a.toExponential(sp.prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
        if (verb === 'E') s = s.toUpperCase();
      } else s = formatG(a, sp.prec ?? -1, verb === 'G');
      const neg = v < 0 || Object.is(v, -0);
      if (Number.isNaN(v)) return pad(sp.plus ? '+NaN' : 'NaN', sp, false);
      return pad(signed(s, neg, sp), sp, Number.isFinite(v));
    }
    default:
      return bad(verb, v);
  }
}

export function sprintf(format: string, args: readonly unknown[]): string {
  let out = '';
  let argi = 0;
  let i = 0;
  const n = format.length;
  while (i < n) {
    const pct = format.indexOf('%', i);
    if (pct < 0) { out += format.slice(i); break; }
    out += format.slice(i, pct);
    i = pct + 1;
    const sp: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false };
    for (; i < n; i++) {
      const c = format[i];
      if (c === '-') sp.minus = true;
      else if (c === '+') sp.plus = true;
      else if (c === '#') sp.sharp = true;
      else if (c === ' ') sp.space = true;
      else if (c === '0') sp.zero = !sp.minus;
      else break;
    }
    const num = (): number | undefined => {
      if (format[i] === '*') {
        i++;
        const a = args[argi++];
        return typeof a === 'number' && Number.isInteger(a) ? a : undefined;
      }
      const m = /^\d+/.exec(format.slice(i));
      if (!m) return undefined;
      i += m[0].length;
      return Number(m[0]);
    };
    sp.width = num();
    if (sp.width !== undefined && sp.width < 0) { sp.minus = true; sp.width = -sp.width; }
    if (format[i] === '.') {
      i++;
      sp.prec = num() ?? 0;
    }
    if (i >= n) { out += '%!(NOVERB)'; break; }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') { out += '%'; continue; }
    if (argi >= args.length) { out += `%!${verb}(MISSING)`; continue; }
    out += formatOne(verb, args[argi++], sp);
  }
  if (argi < args.length) {
    out += '%!(EXTRA ' + args.slice(argi).map((a) => (a === null || a === undefined ? '<nil>' : `${goTypeOf(a)}=${formatV(a)}`)).join(', ') + ')';
  }
  return out;
}
