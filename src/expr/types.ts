/**
 * Static types used by the checker, mirroring the Go types expr sees in CrowdSec: what is
 * known at load time is checked at load time (unknown struct field, `string == int`, wrong
 * helper argument), the rest (`any`, Go's interface{}) is checked when the expression runs.
 */

export type Type =
  | { k: 'any' }
  | { k: 'nil' }
  | { k: 'bool' }
  | { k: 'int' }
  | { k: 'float' }
  | { k: 'string' }
  | { k: 'array'; elem: Type }
  /** A Go map. `value` is also the zero value's type: missing keys read as its zero value. */
  | { k: 'map'; value: Type }
  /** A Go struct (through a pointer when `nullable`: reading through nil is a runtime error). */
  | { k: 'struct'; name: string; fields: Record<string, Type>; methods: Record<string, FuncType>; nullable?: boolean };

export interface FuncType {
  params: Type[];
  /** Type of extra arguments for variadic functions. */
  variadic?: Type;
  ret: Type;
}

export const ANY: Type = { k: 'any' };
export const NIL: Type = { k: 'nil' };
export const BOOL: Type = { k: 'bool' };
export const INT: Type = { k: 'int' };
export const FLOAT: Type = { k: 'float' };
export const STRING: Type = { k: 'string' };
export const STRING_MAP: Type = { k: 'map', value: STRING };
export const STRING_LIST: Type = { k: 'array', elem: STRING };
export const ANY_LIST: Type = { k: 'array', elem: ANY };
export const ANY_MAP: Type = { k: 'map', value: ANY };

export function isNumber(t: Type): boolean {
  return t.k === 'int' || t.k === 'float';
}

export function typeName(t: Type): string {
  switch (t.k) {
    case 'array': return `[]${typeName(t.elem)}`;
    case 'map': return `map[string]${typeName(t.value)}`;
    case 'struct': return t.name;
    case 'any': return 'interface {}';
    case 'float': return 'float64';
    default: return t.k;
  }
}

/** Two types are the same for the checker (used for ternary / array element unification). */
export function sameType(a: Type, b: Type): boolean {
  if (a.k !== b.k) return false;
  if (a.k === 'array' && b.k === 'array') return sameType(a.elem, b.elem);
  if (a.k === 'map' && b.k === 'map') return sameType(a.value, b.value);
  if (a.k === 'struct' && b.k === 'struct') return a.name === b.name;
  return true;
}

/** A Go time.Time: opaque to expressions (no field used by the hub). */
const TIME: Type = { k: 'struct', name: 'time.Time', fields: {}, methods: {}, nullable: true };

const LINE: Type = {
  k: 'struct',
  name: 'types.Line',
  fields: { Raw: STRING, Src: STRING, Time: TIME, Labels: STRING_MAP, Module: STRING, Process: BOOL },
  methods: {},
};

/** RuntimeAlert of an overflow event. `Alert` is the API alert model, typed loosely on purpose. */
const RUNTIME_ALERT: Type = {
  k: 'struct',
  name: 'types.RuntimeAlert',
  nullable: true,
  fields: {
    Mapkey: STRING, BucketId: STRING, Whitelisted: BOOL, Reprocess: BOOL,
    Sources: ANY_MAP, Alert: ANY, APIAlerts: ANY_LIST,
  },
  methods: { GetSources: { params: [], ret: STRING_LIST } },
};

/** `evt`: CrowdSec's types.Event in 1.4.6 (spec §1.2); field names are the Go names. */
export const EVENT: Type = {
  k: 'struct',
  name: 'types.Event',
  nullable: true,
  fields: {
    Type: INT, ExpectMode: INT, Whitelisted: BOOL, WhitelistReason: STRING, Stage: STRING,
    Line: LINE, Parsed: STRING_MAP, Enriched: STRING_MAP, Meta: STRING_MAP,
    Overflow: RUNTIME_ALERT, Time: TIME, StrTime: STRING, StrTimeFormat: STRING,
    MarshaledTime: STRING, Process: BOOL,
  },
  methods: {
    GetType: { params: [], ret: STRING },
    GetMeta: { params: [STRING], ret: STRING },
  },
};

/**
 * Static type of each environment variable the callers use. Names not listed here are
 * accepted (when the caller declares them) and typed `any`.
 */
export const ENV_TYPES: Record<string, Type> = { evt: EVENT };
