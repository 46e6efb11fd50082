/**
 * Type-checks an AST and turns it into nested JS closures, once, at load time. Nothing here
 * interprets the tree per event: each node becomes a `(env, it) => value` function
 * specialised on what the checker knows (e.g. `evt.Parsed.program` on the Event struct
 * becomes a direct Map read with a "" default, `x in ['a','b']` a Set lookup, a literal
 * `matches` pattern a RegExp compiled here). `it` is the element `#` of the innermost closure.
 */
import type { Node, NodeOf } from './ast.js';
import { LoadError, type LoadErrorCode } from '../core/errors.js';
import { compileRe2 } from '../grok/re2.js';
import { HELPERS, type HelperContext, type HelperImpl } from './helpers.js';
import {
  ANY, BOOL, FLOAT, INT, NIL, STRING, ENV_TYPES, isNumber, sameType, typeName, type FuncType, type Type,
} from './types.js';
import * as runtime from './runtime.js';
import { internKey } from '../core/event.js';

// Module-local copies of the runtime functions: the closures below reference these directly,
// so a transpiler's namespace-object getters (tsx/esbuild) never sit on the per-event path.
const rt = {
  AnyMap: runtime.AnyMap, arith: runtime.arith, asBool: runtime.asBool, asNumber: runtime.asNumber,
  asString: runtime.asString, equal: runtime.equal, goTypeOf: runtime.goTypeOf, inOp: runtime.inOp,
  index: runtime.index, intMod: runtime.intMod, len: runtime.len, member: runtime.member,
  range: runtime.range, slice: runtime.slice,
} as const;
const ExprRuntimeError = runtime.ExprRuntimeError;

export type Env = Record<string, unknown>;
export type Fn = (env: Env, it: unknown) => unknown;

interface Compiled {
  fn: Fn;
  t: Type;
  /** Present when the value is a literal known at load time. */
  k?: { v: unknown };
  /** Present when the whole node is `root.field.key` on a map[string]string field (see MapRead). */
  read?: MapRead;
}

/**
 * The shape of the commonest expression, `evt.Parsed.x` / `evt.Meta.x`: a string map field
 * of an environment variable, read at a constant key ("" when absent). Callers that know
 * the environment may read the map directly; `fn` gives the same value in every case.
 */
export interface MapRead {
  readonly root: string;
  readonly field: string;
  readonly key: string;
}

/**
 * `evt.Parsed.k` / `evt.Meta.k` / `evt.Enriched.k`, the commonest reads of all: one closure
 * per map with fixed property names, so that each site loads `env.evt` and the map as named
 * properties (the generic fused read indexes env and the event by a variable name, a keyed
 * load that goes megamorphic once several maps are read). Same values as the generic
 * closure, which handles every other case.
 */
function evtMapRead(field: string, k: string, slow: Fn): Fn | null {
  type Holder = { Parsed?: unknown; Meta?: unknown; Enriched?: unknown } | null | undefined;
  switch (field) {
    case 'Parsed':
      return (env, it) => {
        const o = env.evt as Holder;
        if (o !== null && o !== undefined) {
          const m = o.Parsed;
          if (m instanceof Map) {
            const v = (m as Map<string, unknown>).get(k);
            return v === undefined ? '' : v;
          }
        }
        return slow(env, it);
      };
    case 'Meta':
      return (env, it) => {
        const o = env.evt as Holder;
        if (o !== null && o !== undefined) {
          const m = o.Meta;
          if (m instanceof Map) {
            const v = (m as Map<string, unknown>).get(k);
            return v === undefined ? '' : v;
          }
        }
        return slow(env, it);
      };
    case 'Enriched':
      return (env, it) => {
        const o = env.evt as Holder;
        if (o !== null && o !== undefined) {
          const m = o.Enriched;
          if (m instanceof Map) {
            const v = (m as Map<string, unknown>).get(k);
            return v === undefined ? '' : v;
          }
        }
        return slow(env, it);
      };
    default:
      return null;
  }
}

const EQ = 0, NE = 1, IN = 2, NOT_IN = 3;

/**
 * `evt.Meta.k == 'lit'` / `!=` / `in [literals]` / `not in`, the usual filter and static
 * tests: the map read of evtMapRead and the test in one closure (no call per operand).
 * `read` is the operand's own closure, used for every case the direct read does not cover,
 * so results are those of the two-closure form.
 */
function evtMapTest(r: MapRead, op: number, kv: unknown, set: Set<unknown> | null, read: Fn): Fn | null {
  if (r.root !== 'evt') return null;
  const k = r.key;
  const test = (v: unknown): boolean => (op === EQ ? v === kv : op === NE ? v !== kv : op === IN ? set!.has(v) : !set!.has(v));
  type Holder = { Parsed?: unknown; Meta?: unknown; Enriched?: unknown } | null | undefined;
  switch (r.field) {
    case 'Parsed':
      return (env, it) => {
        const o = env.evt as Holder;
        const m = o !== null && o !== undefined ? o.Parsed : undefined;
        if (!(m instanceof Map)) return test(read(env, it));
        const got = (m as Map<string, unknown>).get(k);
        const v = got === undefined ? '' : got;
        return op === EQ ? v === kv : op === NE ? v !== kv : op === IN ? set!.has(v) : !set!.has(v);
      };
    case 'Meta':
      return (env, it) => {
        const o = env.evt as Holder;
        const m = o !== null && o !== undefined ? o.Meta : undefined;
        if (!(m instanceof Map)) return test(read(env, it));
        const got = (m as Map<string, unknown>).get(k);
        const v = got === undefined ? '' : got;
        return op === EQ ? v === kv : op === NE ? v !== kv : op === IN ? set!.has(v) : !set!.has(v);
      };
    case 'Enriched':
      return (env, it) => {
        const o = env.evt as Holder;
        const m = o !== null && o !== undefined ? o.Enriched : undefined;
        if (!(m instanceof Map)) return test(read(env, it));
        const got = (m as Map<string, unknown>).get(k);
        const v = got === undefined ? '' : got;
        return op === EQ ? v === kv : op === NE ? v !== kv : op === IN ? set!.has(v) : !set!.has(v);
      };
    default:
      return null;
  }
}

/** Error raised by the checker; index.ts turns it into a LoadError with positions. */
export class CheckError extends Error {
  constructor(readonly code: LoadErrorCode, message: string, readonly pos: number) {
    super(message);
  }
}

const BUILTINS = new Set(['len', 'all', 'none', 'any', 'one', 'filter', 'map', 'count']);

function typeError(msg: string, pos: number): CheckError {
  return new CheckError('EXPR_TYPE', msg, pos);
}

const nilDeref = (what: string): never => {
  throw new ExprRuntimeError(`cannot fetch ${what} from nil (nil pointer dereference)`);
};

/** Turns a regexp from compileRe2 into a non-global one so `.test` is a plain search. */
function searchRegex(source: string): RegExp {
  const re = compileRe2(source);
  return re.global || re.sticky ? new RegExp(re.source, re.flags.replace(/[gy]/g, '')) : re;
}

export class Compiler {
  private readonly envNames: Set<string>;
  private readonly elemTypes: Type[] = [];
  private readonly helperImpls = new Map<string, HelperImpl>();

  /**
   * @param optimize false builds the plain twin (no fused member chains, no literal-set `in`):
   * same results, used by the differential test that guards the fast paths.
   */
  constructor(envNames: readonly string[], private readonly ctx: HelperContext, private readonly optimize = true) {
    this.envNames = new Set(envNames);
  }

  compile(node: Node): Compiled {
    switch (node.kind) {
      case 'nil': return this.konst(null, NIL);
      case 'bool': return this.konst(node.value, BOOL);
      case 'int': return this.konst(node.value, INT);
      case 'float': return this.konst(node.value, FLOAT);
      case 'string': return this.konst(node.value, STRING);
      case 'array': return this.array(node);
      case 'map': return this.mapLit(node);
      case 'ident': return this.ident(node);
      case 'pointer': {
        const t = this.elemTypes[this.elemTypes.length - 1] ?? ANY;
        return { fn: (_env, it) => it, t };
      }
      case 'member': return this.member(node);
      case 'index': return this.index(node);
      case 'slice': return this.slice(node);
      case 'call': return this.call(node);
      case 'method': return this.method(node);
      case 'closure': throw typeError('a closure {...} is only allowed as the second argument of all/any/none/one/filter/map/count', node.pos);
      case 'unary': return this.unary(node);
      case 'binary': return this.binary(node);
      case 'cond': return this.cond(node);
    }
  }

  private konst(v: unknown, t: Type): Compiled {
    return { fn: () => v, t, k: { v } };
  }

  private array(node: NodeOf<'array'>): Compiled {
    const items = node.items.map((n) => this.compile(n));
    const elem = items.length > 0 && items.every((c) => sameType(c.t, items[0].t)) ? items[0].t : ANY;
    const t: Type = { k: 'array', elem };
    if (items.every((c) => c.k)) {
      const v = Object.freeze(items.map((c) => c.k!.v));
      return { fn: () => v, t, k: { v } };
    }
    const fns = items.map((c) => c.fn);
    return { fn: (env, it) => fns.map((f) => f(env, it)), t };
  }

  private mapLit(node: NodeOf<'map'>): Compiled {
    const entries = node.entries.map((e) => ({ key: this.compile(e.key), value: this.compile(e.value) }));
    const vt = entries.length > 0 && entries.every((e) => sameType(e.value.t, entries[0].value.t)) ? entries[0].value.t : ANY;
    return {
      fn: (env, it) => {
        const m = new rt.AnyMap<unknown, unknown>();
        for (const e of entries) m.set(e.key.fn(env, it), e.value.fn(env, it));
        return m;
      },
      t: { k: 'map', value: vt },
    };
  }

  private ident(node: NodeOf<'ident'>): Compiled {
    const name = node.name;
    if (this.envNames.has(name)) {
      return {
        fn: (env) => {
          const v = env[name];
          return v === undefined ? null : v;
        },
        t: ENV_TYPES[name] ?? ANY,
      };
    }
    if (name in HELPERS || BUILTINS.has(name)) throw typeError(`${name} is a function and must be called`, node.pos);
    throw typeError(`unknown name ${name}`, node.pos);
  }

  /** Field read specialised on the object's static type. */
  private fieldAccess(obj: Compiled, field: string, pos: number): Compiled {
    const name = internKey(field);
    const of = obj.fn;
    const t = obj.t;
    if (t.k === 'struct') {
      const ft = t.fields[name];
      if (!ft) {
        if (t.methods[name]) throw typeError(`${name} is a method of ${t.name} and must be called`, pos);
        throw typeError(`type ${t.name} has no field ${name}`, pos);
      }
      return {
        fn: (env, it) => {
          const o = of(env, it);
          if (o === null || o === undefined) return nilDeref(name);
          if (o instanceof Map) return rt.member(o, name);
          const v = (o as Record<string, unknown>)[name];
          return v === undefined ? null : v;
        },
        t: ft,
      };
    }
    if (t.k === 'map') {
      const zero = t.value.k === 'string' ? '' : null;
      return {
        fn: (env, it) => {
          const o = of(env, it);
          if (o instanceof Map) {
            const v = o.get(name);
            return v === undefined ? (o instanceof rt.AnyMap ? null : zero) : v;
          }
          return rt.member(o, name);
        },
        t: t.value,
      };
    }
    if (t.k === 'any' || t.k === 'nil') return { fn: (env, it) => rt.member(of(env, it), name), t: ANY };
    throw typeError(`type ${typeName(t)} has no field ${name}`, pos);
  }

  private member(node: NodeOf<'member'>): Compiled {
    return this.fusedChain(node) ?? this.fieldAccess(this.compile(node.object), node.name, node.pos);
  }

  /**
   * Hot-path form of the most common shape, `env.Field[.Field...][.mapKey]` (evt.Parsed.x,
   * evt.Meta.x, evt.Line.Labels.type, evt.Line.Raw): one closure instead of one per step.
   * Returns null for anything else (or anything ill-typed: the general path reports it).
   */
  private fusedChain(node: Node): Compiled | null {
    if (!this.optimize) return null;
    const names: string[] = [];
    let cur: Node = node;
    for (;;) {
      if (cur.kind === 'member') { names.push(cur.name); cur = cur.object; continue; }
      if (cur.kind === 'index' && cur.index.kind === 'string') { names.push(cur.index.value); cur = cur.object; continue; }
      break;
    }
    if (cur.kind !== 'ident' || !this.envNames.has(cur.name)) return null;
    names.reverse();
    let t: Type = ENV_TYPES[cur.name] ?? ANY;
    const fields: string[] = [];
    let key: string | undefined;
    let zero: unknown = null;
    for (let i = 0; i < names.length; i++) {
      if (t.k === 'struct' && t.fields[names[i]]) {
        fields.push(names[i]);
        t = t.fields[names[i]];
      } else if (t.k === 'map' && i === names.length - 1) {
        key = internKey(names[i]);
        zero = t.value.k === 'string' ? '' : null;
        t = t.value;
      } else {
        return null;
      }
    }
    if (fields.length === 0) return null;
    // The general (step by step) closure keeps the exact semantics for every unusual case:
    // nil pointers, Maps where a struct was expected, interface-typed maps. The fused closure
    // handles the usual case and defers to it otherwise.
    // Only a map[string]string reached through typed struct fields has a known zero value.
    if (key !== undefined && zero !== '') return null;
    const slow = this.unfused(node);
    const root = cur.name;
    const k = key;
    if (fields.length === 1 && k !== undefined) {
      const f0 = fields[0];
      const direct = root === 'evt' ? evtMapRead(f0, k, slow) : null;
      if (direct !== null) return { read: { root, field: f0, key: k }, fn: direct, t };
      return {
        read: { root, field: f0, key: k },
        fn: (env, it) => {
          const o = env[root];
          if (o !== null && o !== undefined) {
            const m = (o as Record<string, unknown>)[f0];
            if (m instanceof Map) {
              const v = m.get(k);
              return v === undefined ? '' : v;
            }
          }
          return slow(env, it);
        },
        t,
      };
    }
    if (fields.length === 2 && k !== undefined) {
      const [f0, f1] = fields;
      return {
        fn: (env, it) => {
          const o = env[root];
          if (o !== null && o !== undefined) {
            const a = (o as Record<string, unknown>)[f0];
            if (a !== null && a !== undefined) {
              const m = (a as Record<string, unknown>)[f1];
              if (m instanceof Map) {
                const v = m.get(k);
                return v === undefined ? '' : v;
              }
            }
          }
          return slow(env, it);
        },
        t,
      };
    }
    if (fields.length === 1) {
      const f0 = fields[0];
      return {
        fn: (env, it) => {
          const o = env[root];
          if (o !== null && o !== undefined && !(o instanceof Map)) {
            const v = (o as Record<string, unknown>)[f0];
            if (v !== undefined) return v;
          }
          return slow(env, it);
        },
        t,
      };
    }
    if (fields.length === 2 && k === undefined) {
      const [f0, f1] = fields;
      return {
        fn: (env, it) => {
          const o = env[root];
          if (o !== null && o !== undefined && !(o instanceof Map)) {
            const a = (o as Record<string, unknown>)[f0];
            if (a !== null && a !== undefined && !(a instanceof Map)) {
              const v = (a as Record<string, unknown>)[f1];
              if (v !== undefined) return v;
            }
          }
          return slow(env, it);
        },
        t,
      };
    }
    return null;
  }

  /** The step-by-step closure for a member/index node (no fusion). */
  private unfused(node: Node): Fn {
    if (node.kind === 'member') return this.fieldAccess(this.compile(node.object), node.name, node.pos).fn;
    if (node.kind === 'index' && node.index.kind === 'string') {
      return this.fieldAccess(this.compile(node.object), node.index.value, node.pos).fn;
    }
    return this.compile(node).fn;
  }

  private index(node: NodeOf<'index'>): Compiled {
    const fused = node.index.kind === 'string' ? this.fusedChain(node) : null;
    if (fused) return fused;
    const obj = this.compile(node.object);
    const idx = this.compile(node.index);
    const t = obj.t;
    // m["k"] with a literal key is the same as m.k (spec §1.2).
    if (idx.k && typeof idx.k.v === 'string' && (t.k === 'struct' || t.k === 'map')) {
      return this.fieldAccess(obj, idx.k.v, node.pos);
    }
    let rtype: Type = ANY;
    if (t.k === 'array' || t.k === 'string') {
      if (!(idx.t.k === 'int' || idx.t.k === 'any')) throw typeError(`invalid index type ${typeName(idx.t)} for ${typeName(t)} (int expected)`, node.index.pos);
      rtype = t.k === 'array' ? t.elem : INT; // Go indexes a string by byte
    } else if (t.k === 'map') {
      if (!(idx.t.k === 'string' || idx.t.k === 'any')) throw typeError(`invalid map key type ${typeName(idx.t)}`, node.index.pos);
      rtype = t.value;
    } else if (t.k === 'struct') {
      if (!(idx.t.k === 'string' || idx.t.k === 'any')) throw typeError(`cannot index ${t.name} with ${typeName(idx.t)}`, node.index.pos);
    } else if (t.k !== 'any' && t.k !== 'nil') {
      throw typeError(`cannot index ${typeName(t)}`, node.pos);
    }
    const of = obj.fn;
    const xf = idx.fn;
    return { fn: (env, it) => rt.index(of(env, it), xf(env, it)), t: rtype };
  }

  private slice(node: NodeOf<'slice'>): Compiled {
    const obj = this.compile(node.object);
    if (!(obj.t.k === 'array' || obj.t.k === 'string' || obj.t.k === 'any')) throw typeError(`cannot slice ${typeName(obj.t)}`, node.pos);
    const from = node.from ? this.compile(node.from) : null;
    const to = node.to ? this.compile(node.to) : null;
    for (const b of [from, to]) {
      if (b && !(b.t.k === 'int' || b.t.k === 'any')) throw typeError(`invalid slice index type ${typeName(b.t)}`, node.pos);
    }
    const of = obj.fn;
    const ff = from?.fn;
    const tf = to?.fn;
    return {
      fn: (env, it) => rt.slice(of(env, it), ff ? ff(env, it) : null, tf ? tf(env, it) : null),
      t: obj.t,
    };
  }

  private checkArgs(name: string, sig: FuncType, args: Compiled[], nodes: Node[], pos: number): void {
    const min = sig.params.length;
    if (args.length < min || (!sig.variadic && args.length > min)) {
      throw typeError(`${name} expects ${sig.variadic ? 'at least ' : ''}${min} argument(s), got ${args.length}`, pos);
    }
    args.forEach((a, i) => {
      const want = i < min ? sig.params[i] : sig.variadic!;
      if (!assignable(a.t, want)) {
        throw typeError(`cannot use ${typeName(a.t)} as argument ${i + 1} of ${name} (${typeName(want)} expected)`, nodes[i].pos);
      }
    });
  }

  private call(node: NodeOf<'call'>): Compiled {
    const name = node.callee;
    if (this.envNames.has(name)) throw typeError(`${name} is not a function`, node.pos);
    if (BUILTINS.has(name)) return this.builtin(node);
    const def = HELPERS[name];
    if (!def) throw typeError(`unknown function ${name}`, node.pos);
    const args = node.args.map((a) => this.compile(a));
    this.checkArgs(name, def.sig, args, node.args, node.pos);
    let impl = this.helperImpls.get(name);
    if (!impl) {
      impl = def.make(this.ctx);
      this.helperImpls.set(name, impl);
    }
    const f = impl;
    const t = def.sig.ret;
    const norm = (v: unknown) => (v === undefined ? null : v);
    const [a, b, c] = args.map((x) => x.fn);
    switch (args.length) {
      case 0: return { fn: () => norm(f()), t };
      case 1: return { fn: (env, it) => norm(f(a(env, it))), t };
      case 2: return { fn: (env, it) => norm(f(a(env, it), b(env, it))), t };
      case 3: return { fn: (env, it) => norm(f(a(env, it), b(env, it), c(env, it))), t };
      default: {
        const fns = args.map((x) => x.fn);
        return { fn: (env, it) => norm(f(...fns.map((g) => g(env, it)))), t };
      }
    }
  }

  private builtin(node: NodeOf<'call'>): Compiled {
    const name = node.callee;
    if (name === 'len') {
      if (node.args.length !== 1) throw typeError(`len expects 1 argument, got ${node.args.length}`, node.pos);
      const a = this.compile(node.args[0]);
      if (!['string', 'array', 'map', 'any', 'nil'].includes(a.t.k)) throw typeError(`invalid argument for len (type ${typeName(a.t)})`, node.args[0].pos);
      const af = a.fn;
      if (a.t.k === 'string') {
        return { fn: (env, it) => Buffer.byteLength(af(env, it) as string, 'utf8'), t: INT };
      }
      return { fn: (env, it) => rt.len(af(env, it)), t: INT };
    }
    if (node.args.length !== 2 || node.args[1].kind !== 'closure') {
      throw typeError(`${name} expects 2 arguments: an array and a closure {...}`, node.pos);
    }
    const arr = this.compile(node.args[0]);
    if (!(arr.t.k === 'array' || arr.t.k === 'any' || arr.t.k === 'nil')) {
      throw typeError(`builtin ${name} takes only array (got ${typeName(arr.t)})`, node.args[0].pos);
    }
    const elem = arr.t.k === 'array' ? arr.t.elem : ANY;
    this.elemTypes.push(elem);
    let body: Compiled;
    try {
      body = this.compile(node.args[1].body);
    } finally {
      this.elemTypes.pop();
    }
    const isPredicate = name !== 'map';
    if (isPredicate && !(body.t.k === 'bool' || body.t.k === 'any')) {
      throw typeError(`closure of ${name} must return bool (got ${typeName(body.t)})`, node.args[1].pos);
    }
    const af = arr.fn;
    const bf = body.fn;
    const list = (env: Env, it: unknown): readonly unknown[] => {
      const v = af(env, it);
      if (Array.isArray(v)) return v;
      throw new ExprRuntimeError(`builtin ${name} takes only array (got ${rt.goTypeOf(v)})`);
    };
    const pred = body.t.k === 'bool'
      ? (env: Env, x: unknown) => bf(env, x) as boolean
      : (env: Env, x: unknown) => rt.asBool(bf(env, x), `${name} closure`);
    switch (name) {
      case 'all':
        return { fn: (env, it) => { for (const x of list(env, it)) if (!pred(env, x)) return false; return true; }, t: BOOL };
      case 'none':
        return { fn: (env, it) => { for (const x of list(env, it)) if (pred(env, x)) return false; return true; }, t: BOOL };
      case 'any':
        return { fn: (env, it) => { for (const x of list(env, it)) if (pred(env, x)) return true; return false; }, t: BOOL };
      case 'one':
        return {
          fn: (env, it) => {
            let n = 0;
            for (const x of list(env, it)) if (pred(env, x) && ++n > 1) return false;
            return n === 1;
          },
          t: BOOL,
        };
      case 'count':
        return { fn: (env, it) => { let n = 0; for (const x of list(env, it)) if (pred(env, x)) n++; return n; }, t: INT };
      case 'filter':
        return { fn: (env, it) => list(env, it).filter((x) => pred(env, x)), t: { k: 'array', elem } };
      default: // map
        return { fn: (env, it) => list(env, it).map((x) => bf(env, x)), t: { k: 'array', elem: body.t } };
    }
  }

  private method(node: NodeOf<'method'>): Compiled {
    const obj = this.compile(node.object);
    const args = node.args.map((a) => this.compile(a));
    const name = node.name;
    let ret: Type = ANY;
    if (obj.t.k === 'struct') {
      const sig = obj.t.methods[name];
      if (!sig) {
        if (obj.t.fields[name]) throw typeError(`${name} is a field of ${obj.t.name}, not a method`, node.pos);
        throw typeError(`type ${obj.t.name} has no method ${name}`, node.pos);
      }
      this.checkArgs(name, sig, args, node.args, node.pos);
      ret = sig.ret;
    } else if (obj.t.k !== 'any' && obj.t.k !== 'nil') {
      throw typeError(`type ${typeName(obj.t)} has no method ${name}`, node.pos);
    }
    const of = obj.fn;
    const fns = args.map((a) => a.fn);
    return {
      fn: (env, it) => {
        const o = of(env, it);
        if (o === null || o === undefined) return nilDeref(`${name}()`);
        const m = (o as Record<string, unknown>)[name];
        if (typeof m !== 'function') throw new ExprRuntimeError(`type ${rt.goTypeOf(o)} has no method ${name}`);
        const v = (m as (...a: unknown[]) => unknown).apply(o, fns.map((f) => f(env, it)));
        return v === undefined ? null : v;
      },
      t: ret,
    };
  }

  private unary(node: NodeOf<'unary'>): Compiled {
    const a = this.compile(node.operand);
    const af = a.fn;
    if (node.op === 'not') {
      if (!(a.t.k === 'bool' || a.t.k === 'any')) throw typeError(`invalid operation: not ${typeName(a.t)} (bool expected)`, node.pos);
      if (a.t.k === 'bool') return { fn: (env, it) => !af(env, it), t: BOOL };
      return { fn: (env, it) => !rt.asBool(af(env, it), 'not'), t: BOOL };
    }
    if (!(isNumber(a.t) || a.t.k === 'any')) throw typeError(`invalid operation: ${node.op} ${typeName(a.t)} (number expected)`, node.pos);
    const t = a.t.k === 'any' ? ANY : a.t;
    if (node.op === '-') return { fn: (env, it) => -rt.asNumber(af(env, it), 'unary -'), t };
    return { fn: (env, it) => rt.asNumber(af(env, it), 'unary +'), t };
  }

  private cond(node: NodeOf<'cond'>): Compiled {
    const test = this.compile(node.test);
    if (!(test.t.k === 'bool' || test.t.k === 'any')) throw typeError(`non-bool ${typeName(test.t)} used as condition`, node.test.pos);
    const a = this.compile(node.then);
    const b = this.compile(node.else);
    const tf = test.fn;
    const af = a.fn;
    const bf = b.fn;
    const t = sameType(a.t, b.t) ? a.t : ANY;
    if (test.t.k === 'bool') return { fn: (env, it) => (tf(env, it) ? af(env, it) : bf(env, it)), t };
    return { fn: (env, it) => (rt.asBool(tf(env, it), '?:') ? af(env, it) : bf(env, it)), t };
  }

  private binary(node: NodeOf<'binary'>): Compiled {
    const op = node.op;
    const l = this.compile(node.left);
    const r = this.compile(node.right);
    const lf = l.fn;
    const rf = r.fn;
    const lt = l.t.k;
    const rtk = r.t.k;
    const mismatch = (): never => {
      throw typeError(`invalid operation: ${typeName(l.t)} ${op} ${typeName(r.t)} (mismatched types)`, node.pos);
    };
    switch (op) {
      case 'or': case '||': case 'and': case '&&': {
        for (const [c, n] of [[l, node.left], [r, node.right]] as const) {
          if (!(c.t.k === 'bool' || c.t.k === 'any')) throw typeError(`invalid operation: ${op} on ${typeName(c.t)} (bool expected)`, n.pos);
        }
        const lb = lt === 'bool' ? (lf as (e: Env, i: unknown) => boolean) : (e: Env, i: unknown) => rt.asBool(lf(e, i), op);
        const rb = rtk === 'bool' ? (rf as (e: Env, i: unknown) => boolean) : (e: Env, i: unknown) => rt.asBool(rf(e, i), op);
        if (op === 'or' || op === '||') return { fn: (env, it) => lb(env, it) || rb(env, it), t: BOOL };
        return { fn: (env, it) => lb(env, it) && rb(env, it), t: BOOL };
      }
      case '==': case '!=': {
        if (!comparable(l.t, r.t)) mismatch();
        const neg = op === '!=';
        // Same primitive static types: plain strict equality.
        if (lt === rtk && (lt === 'string' || lt === 'bool' || lt === 'int') || (isNumber(l.t) && isNumber(r.t))) {
          if (r.k) {
            const kv = r.k.v;
            const fused = l.read ? evtMapTest(l.read, neg ? NE : EQ, kv, null, lf) : null;
            if (fused !== null) return { fn: fused, t: BOOL };
            return { fn: neg ? (env, it) => lf(env, it) !== kv : (env, it) => lf(env, it) === kv, t: BOOL };
          }
          return { fn: neg ? (env, it) => lf(env, it) !== rf(env, it) : (env, it) => lf(env, it) === rf(env, it), t: BOOL };
        }
        return { fn: neg ? (env, it) => !rt.equal(lf(env, it), rf(env, it)) : (env, it) => rt.equal(lf(env, it), rf(env, it)), t: BOOL };
      }
      case '<': case '>': case '<=': case '>=': {
        const ok = (isNumber(l.t) || lt === 'any') && (isNumber(r.t) || rtk === 'any') ||
          (lt === 'string' || lt === 'any') && (rtk === 'string' || rtk === 'any');
        if (!ok) mismatch();
        if ((isNumber(l.t) && isNumber(r.t)) || (lt === 'string' && rtk === 'string')) {
          switch (op) {
            case '<': return { fn: (env, it) => (lf(env, it) as number) < (rf(env, it) as number), t: BOOL };
            case '>': return { fn: (env, it) => (lf(env, it) as number) > (rf(env, it) as number), t: BOOL };
            case '<=': return { fn: (env, it) => (lf(env, it) as number) <= (rf(env, it) as number), t: BOOL };
            default: return { fn: (env, it) => (lf(env, it) as number) >= (rf(env, it) as number), t: BOOL };
          }
        }
        return { fn: (env, it) => rt.arith(op, lf(env, it), rf(env, it)), t: BOOL };
      }
      case 'in': case 'not in':
        return this.inOp(node, l, r);
      case 'matches':
        return this.matches(node, l, r);
      case 'contains': case 'startsWith': case 'endsWith': {
        if (!(lt === 'string' || lt === 'any') || !(rtk === 'string' || rtk === 'any')) mismatch();
        const ls = lt === 'string' ? (lf as (e: Env, i: unknown) => string) : (e: Env, i: unknown) => rt.asString(lf(e, i), op);
        const rs = rtk === 'string' ? (rf as (e: Env, i: unknown) => string) : (e: Env, i: unknown) => rt.asString(rf(e, i), op);
        if (op === 'contains') return { fn: (env, it) => ls(env, it).includes(rs(env, it)), t: BOOL };
        if (op === 'startsWith') return { fn: (env, it) => ls(env, it).startsWith(rs(env, it)), t: BOOL };
        return { fn: (env, it) => ls(env, it).endsWith(rs(env, it)), t: BOOL };
      }
      case '..': {
        if (!(lt === 'int' || lt === 'any') || !(rtk === 'int' || rtk === 'any')) mismatch();
        return { fn: (env, it) => rt.range(lf(env, it), rf(env, it)), t: { k: 'array', elem: INT } };
      }
      case '+': case '-': case '*': case '/': case '%': case '**':
        return this.arith(node, l, r);
      default:
        throw typeError(`unknown operator ${op}`, node.pos);
    }
  }

  private arith(node: NodeOf<'binary'>, l: Compiled, r: Compiled): Compiled {
    const op = node.op;
    const lf = l.fn;
    const rf = r.fn;
    const lt = l.t.k;
    const rtk = r.t.k;
    const bothNum = isNumber(l.t) && isNumber(r.t);
    if (op === '+' && lt === 'string' && rtk === 'string') {
      return { fn: (env, it) => (lf(env, it) as string) + (rf(env, it) as string), t: STRING };
    }
    const okSide = (k: string) => k === 'int' || k === 'float' || k === 'any' || (op === '+' && k === 'string');
    if (!okSide(lt) || !okSide(rtk) || (op === '+' && ((lt === 'string' && isNumber(r.t)) || (rtk === 'string' && isNumber(l.t))))) {
      throw typeError(`invalid operation: ${typeName(l.t)} ${op} ${typeName(r.t)} (mismatched types)`, node.pos);
    }
    if (op === '%' && (lt === 'float' || rtk === 'float')) throw typeError('invalid operation: % on float64 (int expected)', node.pos);
    let t: Type = ANY;
    if (bothNum) {
      if (op === '/' || op === '**') t = FLOAT;
      else if (op === '%') t = INT;
      else t = lt === 'int' && rtk === 'int' ? INT : FLOAT;
    } else if (op === '/' || op === '**') {
      t = FLOAT;
    }
    if (bothNum) {
      switch (op) {
        case '+': return { fn: (env, it) => (lf(env, it) as number) + (rf(env, it) as number), t };
        case '-': return { fn: (env, it) => (lf(env, it) as number) - (rf(env, it) as number), t };
        case '*': return { fn: (env, it) => (lf(env, it) as number) * (rf(env, it) as number), t };
        case '/': return { fn: (env, it) => (lf(env, it) as number) / (rf(env, it) as number), t };
        case '%': return { fn: (env, it) => rt.intMod(lf(env, it) as number, rf(env, it) as number), t };
        default: return { fn: (env, it) => Math.pow(lf(env, it) as number, rf(env, it) as number), t };
      }
    }
    return { fn: (env, it) => rt.arith(op, lf(env, it), rf(env, it)), t };
  }

  private inOp(node: NodeOf<'binary'>, l: Compiled, r: Compiled): Compiled {
    const neg = node.op === 'not in';
    const rk = r.t.k;
    if (!(rk === 'array' || rk === 'map' || rk === 'struct' || rk === 'any' || rk === 'nil')) {
      throw typeError(`invalid operation: ${node.op} on ${typeName(r.t)} (array or map expected)`, node.pos);
    }
    if ((rk === 'map' || rk === 'struct') && !(l.t.k === 'string' || l.t.k === 'any')) {
      throw typeError(`invalid operation: ${typeName(l.t)} ${node.op} ${typeName(r.t)}`, node.pos);
    }
    const lf = l.fn;
    const rf = r.fn;
    // A literal list of primitives becomes a Set built once (the hub's `x in ['a', 'b']`).
    if (this.optimize && r.k && Array.isArray(r.k.v) && r.k.v.every((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean')) {
      const set = new Set(r.k.v as unknown[]);
      const fused = l.read ? evtMapTest(l.read, neg ? NOT_IN : IN, null, set, lf) : null;
      if (fused !== null) return { fn: fused, t: BOOL };
      return { fn: neg ? (env, it) => !set.has(lf(env, it)) : (env, it) => set.has(lf(env, it)), t: BOOL };
    }
    return { fn: neg ? (env, it) => !rt.inOp(lf(env, it), rf(env, it)) : (env, it) => rt.inOp(lf(env, it), rf(env, it)), t: BOOL };
  }

  private matches(node: NodeOf<'binary'>, l: Compiled, r: Compiled): Compiled {
    if (!(l.t.k === 'string' || l.t.k === 'any') || !(r.t.k === 'string' || r.t.k === 'any')) {
      throw typeError(`invalid operation: ${typeName(l.t)} matches ${typeName(r.t)} (string expected)`, node.pos);
    }
    const lf = l.fn;
    const ls = l.t.k === 'string' ? (lf as (e: Env, i: unknown) => string) : (e: Env, i: unknown) => rt.asString(lf(e, i), 'matches');
    if (r.k && typeof r.k.v === 'string') {
      let re: RegExp;
      try {
        re = searchRegex(r.k.v);
      } catch (e) {
        const reason = e instanceof LoadError ? e.reason : (e as Error).message;
        throw new CheckError('REGEX_COMPILE', `invalid regexp ${JSON.stringify(r.k.v)}: ${reason}`, node.right.pos);
      }
      return { fn: (env, it) => re.test(ls(env, it)), t: BOOL };
    }
    // Computed pattern: compiled when it runs; the last one is kept since it rarely changes.
    const rf = r.fn;
    let lastSrc: string | null = null;
    let lastRe: RegExp | null = null;
    return {
      fn: (env, it) => {
        const s = ls(env, it);
        const p = rt.asString(rf(env, it), 'matches');
        if (p !== lastSrc) {
          try {
            lastRe = searchRegex(p);
          } catch (e) {
            throw new ExprRuntimeError(`invalid regexp ${JSON.stringify(p)}: ${e instanceof LoadError ? e.reason : (e as Error).message}`);
          }
          lastSrc = p;
        }
        return lastRe!.test(s);
      },
      t: BOOL,
    };
  }
}

/** expr's isComparable: same kind, both numbers, or an interface / nil on either side. */
function comparable(a: Type, b: Type): boolean {
  if (a.k === 'any' || b.k === 'any' || a.k === 'nil' || b.k === 'nil') return true;
  if (isNumber(a) && isNumber(b)) return true;
  return sameType(a, b);
}

/** Can a value of static type `from` be passed where `to` is expected? */
function assignable(from: Type, to: Type): boolean {
  if (to.k === 'any' || from.k === 'any') return true;
  if (from.k === 'nil') return to.k === 'array' || to.k === 'map' || to.k === 'struct';
  if (to.k === 'float' && from.k === 'int') return false;
  return sameType(from, to) || (to.k === 'array' && from.k === 'array' && (to.elem.k === 'any' || from.elem.k === 'any'));
}
