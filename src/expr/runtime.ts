/**
 * Runtime operations the compiled closures call when types are not known at load time.
 * Value model: Go strings/bools/numbers are JS primitives, nil is null (undefined is read as
 * nil too), slices are arrays, Go maps are `Map` instances, structs are objects/class
 * instances read by property. A missing key of a `Map` reads as the map's zero value: "" for
 * the map[string]string maps of the event, nil for an `AnyMap` (map[string]interface{}).
 */

export class ExprRuntimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExprRuntimeError';
  }
}

/** A Go map[string]interface{} (map literals, JsonExtractObject, ParseUri): missing key => nil. */
export class AnyMap<K = unknown, V = unknown> extends Map<K, V> {}

export function goTypeOf(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isSafeInteger(v) ? 'int' : 'float64';
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof AnyMap) return 'map[string]interface {}';
  if (v instanceof Map) return 'map[string]string';
  if (v instanceof Date) return 'time.Time';
  if (typeof v === 'function') return 'func';
  const name = (v as object).constructor?.name;
  return name && name !== 'Object' ? name : 'struct';
}

export function mapZero(m: Map<unknown, unknown>): unknown {
  return m instanceof AnyMap ? null : '';
}

/** `obj.name` / `obj["name"]` on a value whose type is not known statically. */
export function member(obj: unknown, name: string): unknown {
  if (obj instanceof Map) {
    const v = obj.get(name);
    return v === undefined ? mapZero(obj) : v;
  }
  if (obj === null || obj === undefined) {
    throw new ExprRuntimeError(`cannot fetch ${name} from nil (nil pointer dereference)`);
  }
  if (typeof obj !== 'object') throw new ExprRuntimeError(`cannot fetch ${name} from ${goTypeOf(obj)}`);
  if (Array.isArray(obj)) throw new ExprRuntimeError(`cannot fetch ${name} from ${goTypeOf(obj)}`);
  if (!(name in obj)) throw new ExprRuntimeError(`cannot fetch ${name} from ${goTypeOf(obj)}: no such field`);
  const v = (obj as Record<string, unknown>)[name];
  return v === undefined ? null : v;
}

/** `obj[i]`: array index (negative counts from the end), map key, struct field. */
export function index(obj: unknown, i: unknown): unknown {
  if (Array.isArray(obj) || typeof obj === 'string') {
    if (typeof i !== 'number' || !Number.isInteger(i)) {
      throw new ExprRuntimeError(`invalid index ${formatValue(i)} for ${goTypeOf(obj)}`);
    }
    const len = obj.length;
    const j = i < 0 ? len + i : i;
    if (j < 0 || j >= len) throw new ExprRuntimeError(`index out of range: ${i} (length ${len})`);
    // Go indexes strings by byte; only ASCII strings are indexed here without conversion.
    if (typeof obj === 'string') return byteAt(obj, j);
    const v = obj[j];
    return v === undefined ? null : v;
  }
  if (obj instanceof Map) {
    const v = obj.get(i);
    return v === undefined ? mapZero(obj) : v;
  }
  if (typeof i === 'string') return member(obj, i);
  if (obj === null || obj === undefined) throw new ExprRuntimeError('cannot index nil (nil pointer dereference)');
  throw new ExprRuntimeError(`cannot index ${goTypeOf(obj)} with ${goTypeOf(i)}`);
}

function byteAt(s: string, j: number): number {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return s.charCodeAt(j);
  return Buffer.from(s, 'utf8')[j];
}

/** `a[from:to]` with expr's clamping: negative bounds count from the end, out-of-range clamps. */
export function slice(obj: unknown, from: unknown, to: unknown): unknown {
  if (!Array.isArray(obj) && typeof obj !== 'string') {
    throw new ExprRuntimeError(`cannot slice ${goTypeOf(obj)}`);
  }
  const isAscii = typeof obj === 'string' ? /^[\x00-\x7f]*$/.test(obj) : true;
  const bytes = typeof obj === 'string' && !isAscii ? Buffer.from(obj, 'utf8') : null;
  const len = bytes ? bytes.length : obj.length;
  let a = from === null || from === undefined ? 0 : toInt(from, 'slice bound');
  let b = to === null || to === undefined ? len : toInt(to, 'slice bound');
  if (a < 0) a = len + a;
  if (b < 0) b = len + b;
  if (a < 0) a = 0;
  if (b > len) b = len;
  if (a > b) a = b;
  if (bytes) return bytes.subarray(a, b).toString('utf8');
  return obj.slice(a, b);
}

function toInt(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw new ExprRuntimeError(`invalid ${what} ${formatValue(v)} (${goTypeOf(v)})`);
}

/** Go-style len: bytes of a UTF-8 string, elements of a slice, entries of a map. */
export function len(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (Array.isArray(v)) return v.length;
  if (v instanceof Map) return v.size;
  if (v === null || v === undefined) return 0;
  throw new ExprRuntimeError(`invalid argument for len (type ${goTypeOf(v)})`);
}

/** expr's `==`: numbers by value (int == float), everything else by deep equality. */
export function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || a === undefined) return b === null || b === undefined;
  if (b === null || b === undefined) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !equal(v, b.get(k))) return false;
    return true;
  }
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime();
  return false;
}

/** `x in coll`: slice membership by equality, map key, struct field name. */
export function inOp(x: unknown, coll: unknown): boolean {
  if (Array.isArray(coll)) {
    for (const el of coll) if (equal(x, el)) return true;
    return false;
  }
  if (coll instanceof Map) return coll.has(x);
  if (coll === null || coll === undefined) return false;
  if (typeof coll === 'object' && typeof x === 'string') return x in coll;
  throw new ExprRuntimeError(`operator "in" not defined on ${goTypeOf(coll)}`);
}

export function asBool(v: unknown, op: string): boolean {
  if (typeof v === 'boolean') return v;
  throw new ExprRuntimeError(`invalid operation: ${op} on ${goTypeOf(v)} (${formatValue(v)}), bool expected`);
}

export function asString(v: unknown, op: string): string {
  if (typeof v === 'string') return v;
  throw new ExprRuntimeError(`invalid operation: ${op} on ${goTypeOf(v)} (${formatValue(v)}), string expected`);
}

export function asNumber(v: unknown, op: string): number {
  if (typeof v === 'number') return v;
  throw new ExprRuntimeError(`invalid operation: ${op} on ${goTypeOf(v)} (${formatValue(v)}), number expected`);
}

/** Arithmetic and ordering on dynamically typed values. */
export function arith(op: string, a: unknown, b: unknown): unknown {
  if (op === '+' && typeof a === 'string' && typeof b === 'string') return a + b;
  if (typeof a !== 'number' || typeof b !== 'number') {
    if ((op === '<' || op === '>' || op === '<=' || op === '>=') && typeof a === 'string' && typeof b === 'string') {
      return compare(op, a, b);
    }
    throw new ExprRuntimeError(`invalid operation: ${goTypeOf(a)} ${op} ${goTypeOf(b)}`);
  }
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return a / b; // expr's `/` always yields float64
    case '%': return intMod(a, b);
    case '**': return Math.pow(a, b);
    default: return compare(op, a, b);
  }
}

export function intMod(a: number, b: number): number {
  if (!Number.isInteger(a) || !Number.isInteger(b)) throw new ExprRuntimeError(`invalid operation: % on float`);
  if (b === 0) throw new ExprRuntimeError('integer divide by zero');
  return a % b; // JS % truncates toward zero like Go
}

export function compare(op: string, a: number | string, b: number | string): boolean {
  switch (op) {
    case '<': return a < b;
    case '>': return a > b;
    case '<=': return a <= b;
    default: return a >= b;
  }
}

export function range(a: unknown, b: unknown): number[] {
  const from = toInt(a, 'range bound');
  const to = toInt(b, 'range bound');
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

/** Short rendering of a value for error messages. */
export function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 60) + '...' : v);
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'object') return goTypeOf(v);
  return String(v);
}
