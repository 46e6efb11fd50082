/**
 * Statics (spec §2.5): each computes a value (literal or expression over the *current* event)
 * and writes it to Meta / Parsed / Enriched, a field path, or an enricher method.
 *
 * Every static list is compiled once into a runner: one closure per static, specialised on
 * its target kind and on literal vs expression, so the per-event code neither switches on
 * the kind nor re-checks what load time already knows (a literal "" writes nothing).
 */
import { internKey, PEvent } from '../core/event.js';
import { runErrorMessage, type MapRead } from '../expr/index.js';
import type { Static } from './types.js';
import { parse } from '../expr/parser.js';
import { pureInputs, QUIET_CALLS } from '../expr/pure-inputs.js';
import { EVT_STRING_FIELDS, LINE_STRING_FIELDS, evtPath, type EvtStringField, type LineStringField } from '../expr/evt-field.js';
import type { ParseRuntime } from './runtime.js';
import { compileStringExpr } from '../expr/string-fast.js';
import { placeBlock, StaticsBlock } from './enrichers/statics-block.js';

/** evaluate()'s answer when the expression threw (the error is already counted and reported). */
const FAILED: unique symbol = Symbol('static failed');

/** A static whose expression returned a type CrowdSec refuses: the event is dropped. */
export class EventDropError extends Error {}

/** Runs a compiled static list against one event. */
export type StaticsRunner = (evt: PEvent, env: { evt: PEvent }, rt: ParseRuntime) => void;

/** Converts an expression result the way CrowdSec's RunTimeValue does, or throws EventDropError. */
function toStaticString(v: unknown, s: Static, rt: ParseRuntime): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v) || v instanceof Map || (typeof v === 'object' && v !== null && !(v instanceof Date))) {
    rt.warn(`${s.where}: expression returned a map/array, using ""`);
    return '';
  }
  throw new EventDropError(`${s.where}: unexpected return type for RunTimeValue: ${v === null ? 'nil' : typeof v}`);
}

/** Split field paths, per path text: rules hold a handful, so this never grows large. */
const targetParts = new Map<string, readonly string[]>();

function partsOf(path: string): readonly string[] {
  let parts = targetParts.get(path);
  if (parts === undefined) targetParts.set(path, (parts = (path.startsWith('evt.') ? path.slice(4) : path).split('.')));
  return parts;
}

/** Assigns `value` at a field path such as `evt.StrTime` or `evt.Parsed.request` (spec §2.5 `target`). */
function assignTarget(evt: PEvent, path: string, parts: readonly string[], value: string, rt: ParseRuntime): void {
  let cur: unknown = evt;
  for (let i = 0; i < parts.length; i++) {
    const field = parts[i]!;
    if (cur instanceof Map) {
      // The first map on the path takes the next element as key; the rest is ignored, as in CrowdSec.
      cur.set(field, value);
      return;
    }
    if (typeof cur !== 'object' || cur === null) {
      rt.warn(`target ${path}: nil value on the path`);
      return;
    }
    const obj = cur as Record<string, unknown>;
    if (i === parts.length - 1) {
      if (typeof obj[field] === 'string' || !(field in obj)) {
        if (!(field in obj)) {
          rt.warn(`target ${path}: no field '${field}'`);
          return;
        }
        obj[field] = value;
      } else {
        rt.warn(`target ${path}: field '${field}' is not a string`);
      }
      return;
    }
    cur = obj[field];
  }
}

/** Writes one computed value; `value` is never "" here unless the static is ParseDate. */
type Writer = (evt: PEvent, value: string, rt: ParseRuntime) => void;

// Enricher results are shared (memoised) maps: copy their entries without allocating.
let sink: Map<string, string> | null = null;
const put = (v: string, k: string): void => {
  sink!.set(k, v);
};

function writerFor(s: Static): Writer {
  const key = internKey(s.key);
  switch (s.kind) {
    case 'meta': return (evt, value) => { evt.Meta.set(key, value); };
    case 'parsed': return (evt, value) => { evt.Parsed.set(key, value); };
    case 'enriched': return (evt, value) => { evt.Enriched.set(key, value); };
    case 'target': {
      // The usual targets are plain string fields of the event itself.
      if (key === 'evt.StrTime' || key === 'StrTime') return (evt, value) => { evt.StrTime = value; };
      if (key === 'evt.StrTimeFormat' || key === 'StrTimeFormat') return (evt, value) => { evt.StrTimeFormat = value; };
      if (key === 'evt.MarshaledTime' || key === 'MarshaledTime') return (evt, value) => { evt.MarshaledTime = value; };
      const parts = partsOf(key);
      return (evt, value, rt) => assignTarget(evt, key, parts, value, rt);
    }
    case 'method':
      return (evt, value, rt) => {
        const fn = rt.enrichers.get(key);
        if (!fn) return; // unknown or unregistered (e.g. GeoIP without data): silently nothing
        const out = fn(value, evt);
        if (out) {
          sink = evt.Enriched;
          out.forEach(put);
          sink = null;
        }
      };
  }
}

/**
 * `expression: evt.Parsed.x` (or Meta / Enriched): read the map directly. The compiled
 * expression reads env.evt's map at the key, "" when absent, and a static skips "": the
 * same as one Map.get here. The environment is always { evt } with a PEvent, whose string
 * maps are never missing, so the expression's other cases (nil, non-map) cannot occur.
 */
function mapCopy(read: MapRead, s: Static, write: Writer, keepEmpty: boolean): StaticsRunner | null {
  if (read.root !== 'evt' || keepEmpty) return null;
  const key = internKey(read.key);
  // The commonest static of all (`meta: x` + `expression: evt.Parsed.y`): the read and the
  // write by named properties (a keyed `env.evt[field]` load went megamorphic), and a
  // Meta/Parsed/Enriched target written here rather than by the generic writer closure.
  const to = targetOf(s);
  const tkey = internKey(s.key);
  const put = (evt: PEvent, v: string, rt: ParseRuntime): void => {
    if (to === 0) evt.Meta.set(tkey, v);
    else if (to === 1) evt.Parsed.set(tkey, v);
    else if (to === 2) evt.Enriched.set(tkey, v);
    else write(evt, v, rt);
  };
  switch (read.field) {
    case 'Parsed':
      return (evt, env, rt) => {
        const v = env.evt.Parsed.get(key);
        if (v !== undefined && v !== '') put(evt, v, rt);
      };
    case 'Meta':
      return (evt, env, rt) => {
        const v = env.evt.Meta.get(key);
        if (v !== undefined && v !== '') put(evt, v, rt);
      };
    case 'Enriched':
      return (evt, env, rt) => {
        const v = env.evt.Enriched.get(key);
        if (v !== undefined && v !== '') put(evt, v, rt);
      };
    default:
      return null;
  }
}

/** The string map a static writes into: 0 Meta, 1 Parsed, 2 Enriched, -1 another target. */
function targetOf(s: Static): number {
  return s.kind === 'meta' ? 0 : s.kind === 'parsed' ? 1 : s.kind === 'enriched' ? 2 : -1;
}

/**
 * `expression: evt.Line.Raw` / `evt.Line.Src` / `evt.Line.Labels.k` / `evt.StrTime` ...: a read
 * of a string field of the event, decided at load time from the syntax tree. The compiled
 * expression gives the field's string ("" for a missing label) and cannot fail on a PEvent,
 * so one property read replaces the closure chain and its error handling.
 */
function fieldCopy(source: string, write: Writer, keepEmpty: boolean): StaticsRunner | null {
  let path: string[] | null;
  try {
    path = evtPath(parse(source));
  } catch {
    return null;
  }
  if (path === null) return null;
  let read: ((evt: PEvent) => string | undefined) | null = null;
  if (path.length === 1 && EVT_STRING_FIELDS.has(path[0]!)) {
    const f = path[0] as EvtStringField;
    read = (evt) => evt[f];
  } else if (path.length === 2 && path[0] === 'Line' && LINE_STRING_FIELDS.has(path[1]!)) {
    const f = path[1] as LineStringField;
    read = (evt) => evt.Line[f];
  } else if (path.length === 3 && path[0] === 'Line' && path[1] === 'Labels') {
    const key = internKey(path[2]!);
    read = (evt) => evt.Line.Labels.get(key);
  }
  if (read === null) return null;
  const get = read;
  if (keepEmpty) {
    return (evt, env, rt) => {
      const v = get(env.evt);
      write(evt, v === undefined ? '' : v, rt);
    };
  }
  return (evt, env, rt) => {
    const v = get(env.evt);
    if (v !== undefined && v !== '') write(evt, v, rt);
  };
}

/**
 * A coalesce / concat of string reads (`evt.Meta.x != '' ? evt.Meta.x : evt.Parsed.y`,
 * `evt.Parsed.a + evt.Parsed.b`; expr/string-fast.ts): computed by a direct closure, which
 * can neither throw nor return a non-string, so no error handling and no input memo.
 */
function stringStatic(source: string, s: Static, write: Writer, keepEmpty: boolean): StaticsRunner | null {
  const f = compileStringExpr(source);
  if (f === null) return null;
  if (keepEmpty) return (evt, env, rt) => write(evt, f(env.evt), rt);
  const tkey = internKey(s.key);
  switch (targetOf(s)) {
    case 0: return (evt, env) => { const v = f(env.evt); if (v !== '') evt.Meta.set(tkey, v); };
    case 1: return (evt, env) => { const v = f(env.evt); if (v !== '') evt.Parsed.set(tkey, v); };
    case 2: return (evt, env) => { const v = f(env.evt); if (v !== '') evt.Enriched.set(tkey, v); };
    default: return (evt, env, rt) => { const v = f(env.evt); if (v !== '') write(evt, v, rt); };
  }
}

/** One static as a closure; null when it can never write anything (a literal ""). */
function compileStatic(s: Static, write: Writer = writerFor(s)): StaticsRunner | null {
  // ParseDate runs even on "" (it then yields its fallback); every other static skips "".
  const keepEmpty = s.kind === 'method' && s.key === 'ParseDate';
  if (s.value !== null) {
    const value = s.value;
    if (value === '' && !keepEmpty) return null;
    const key = internKey(s.key);
    switch (targetOf(s)) {
      case 0: return (evt) => { evt.Meta.set(key, value); };
      case 1: return (evt) => { evt.Parsed.set(key, value); };
      case 2: return (evt) => { evt.Enriched.set(key, value); };
      default: return (evt, _env, rt) => write(evt, value, rt);
    }
  }
  const expr = s.expr!;
  const direct = expr.mapRead ? mapCopy(expr.mapRead, s, write, keepEmpty) : fieldCopy(expr.source, write, keepEmpty);
  if (direct) return direct;
  const fast = stringStatic(expr.source, s, write, keepEmpty);
  if (fast) return fast;
  const source = expr.source;
  // The raw closure skips run()'s wrapper; errors get the message run() would have given.
  const raw = expr.fn;
  const fn = raw ?? ((env: { evt: PEvent }) => expr.run(env));
  const message = raw ? (e: unknown) => runErrorMessage(e, source) : (e: unknown) => (e as Error).message;
  /** The expression's value, or FAILED after counting and reporting its error. */
  const evaluate = (env: { evt: PEvent }, rt: ParseRuntime): unknown => {
    try {
      return fn(env, null);
    } catch (e) {
      rt.counters.staticErrors++;
      rt.warn(`${s.where}: ${message(e)}`);
      return FAILED;
    }
  };
  const inputs = memoInputs(source);
  if (inputs !== null) {
    // A pure function of one or two map entries: the last inputs and their string result
    // (consecutive lines repeat them: an empty timestamp8601, the same extension, status...).
    // Errors and results that warn or drop the event are never remembered.
    const [a, b] = inputs;
    let lastA: string | null = null;
    let lastB = '';
    let lastOut = '';
    return (evt, env, rt) => {
      const va = a(env.evt);
      const vb = b === undefined ? '' : b(env.evt);
      let value: string;
      if (va === lastA && vb === lastB) value = lastOut;
      else {
        const v = evaluate(env, rt);
        if (v === FAILED) return;
        value = typeof v === 'string' ? v : toStaticString(v, s, rt);
        // Strings and integers (`len(...)`) convert without a warning: remembered.
        if (typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v))) {
          lastOut = value;
          lastA = va;
          lastB = vb;
        }
      }
      if (value === '' && !keepEmpty) return;
      write(evt, value, rt);
    };
  }
  return (evt, env, rt) => {
    const v = evaluate(env, rt);
    if (v === FAILED) return;
    const value = typeof v === 'string' ? v : toStaticString(v, s, rt);
    if (value === '' && !keepEmpty) return;
    write(evt, value, rt);
  };
}

type EntryRead = (evt: PEvent) => string;

/**
 * The entry reads of an expression that is a pure function of one or two string-map
 * entries and calls no helper that warns (expr/pure-inputs.ts), else null. A missing entry
 * reads as "", as in the expression.
 */
function memoInputs(source: string): [EntryRead, EntryRead?] | null {
  const reads = pureInputs(source, QUIET_CALLS);
  if (reads === null || reads.length === 0 || reads.length > 2) return null;
  const out: EntryRead[] = [];
  for (const r of reads) {
    if (r.kind !== 'map') return null;
    const key = internKey(r.key);
    switch (r.map) {
      case 'Parsed': out.push((evt) => evt.Parsed.get(key) ?? ''); break;
      case 'Meta': out.push((evt) => evt.Meta.get(key) ?? ''); break;
      case 'Enriched': out.push((evt) => evt.Enriched.get(key) ?? ''); break;
      case 'Labels': out.push((evt) => evt.Line.Labels.get(key) ?? ''); break;
    }
  }
  return [out[0]!, out[1]];
}

const NOTHING: StaticsRunner = () => {};

/** Static lists compiled as one block (deferred.ts proved them eligible). */
const blockLists = new WeakSet<readonly Static[]>();

/**
 * Compiles `statics` as a block from now on (enrichers/statics-block.ts): deferred.ts has
 * proved that its enricher inputs read none of its writes, that its other statics read only
 * Meta / Enriched keys that no other node writes (so, before it runs, every key it reads or
 * writes is absent from the event), and that nothing in the worker reads its writes.
 */
export function markBlockStatics(statics: readonly Static[]): void {
  blockLists.add(statics);
}

/** Most distinct answer sets a block runner keeps (then it starts over, as the GeoIP memo does). */
const MAX_BLOCKS = 2048;
const NO_ANSWER = {};

/**
 * A block runner: per event, the enricher methods alone run on the event (their answers are
 * shared memo maps); the statics' joint outcome for that answer set is computed once, on a
 * scratch event with empty maps (the same outcome as on the event, as the keys involved are
 * absent there), and placed as one reference (placeBlock).
 */
function compileBlock(statics: readonly Static[]): StaticsRunner {
  const answers: (Map<string, string> | null)[] = [];
  const methodSteps: StaticsRunner[] = [];
  /** Per static: its answer slot (method) or -1. */
  const slotOf: number[] = [];
  const steps = statics.map((s) => {
    if (s.kind !== 'method') {
      slotOf.push(-1);
      return compileStatic(s);
    }
    const slot = answers.length;
    answers.push(null);
    slotOf.push(slot);
    const key = internKey(s.key);
    const step = compileStatic(s, (evt, value, rt) => {
      const fn = rt.enrichers.get(key);
      answers[slot] = fn ? fn(value, evt) : null;
    });
    if (step !== null) methodSteps.push(step);
    return null;
  });
  const n = answers.length;
  const lastAnswers: (Map<string, string> | null | undefined)[] = answers.map(() => undefined);
  let last: StaticsBlock | null = null;
  let byAnswers = new Map<object, unknown>();
  let count = 0;

  const build = (line: PEvent['Line'], rt: ParseRuntime): StaticsBlock => {
    const scratch = new PEvent(line);
    const env = { evt: scratch };
    for (let i = 0; i < steps.length; i++) {
      const slot = slotOf[i]!;
      if (slot >= 0) {
        const a = answers[slot];
        if (a) a.forEach((v, k) => scratch.Enriched.set(k, v));
      } else {
        steps[i]?.(scratch, env, rt);
      }
    }
    const flat = (m: Map<string, string>): string[] => {
      const out: string[] = [];
      m.forEach((v, k) => out.push(k, v));
      return out;
    };
    return new StaticsBlock(flat(scratch.Meta), flat(scratch.Enriched));
  };

  return (evt, env, rt) => {
    for (let k = 0; k < n; k++) answers[k] = null;
    for (let k = 0; k < methodSteps.length; k++) methodSteps[k]!(evt, env, rt);
    let same = last !== null;
    for (let k = 0; same && k < n; k++) same = answers[k] === lastAnswers[k];
    if (!same) {
      // Answer maps are shared by content (geo-memo.ts): their identities key the block.
      let m = byAnswers;
      for (let k = 0; k < n - 1; k++) {
        const a = answers[k] ?? NO_ANSWER;
        let next = m.get(a) as Map<object, unknown> | undefined;
        if (next === undefined) m.set(a, (next = new Map()));
        m = next;
      }
      const a = answers[n - 1] ?? NO_ANSWER;
      let block = m.get(a) as StaticsBlock | undefined;
      if (block === undefined) {
        block = build(evt.Line, rt);
        if (++count > MAX_BLOCKS) {
          byAnswers = new Map();
          count = 0;
        } else {
          m.set(a, block);
        }
      }
      last = block;
      for (let k = 0; k < n; k++) lastAnswers[k] = answers[k];
    }
    placeBlock(evt, last!);
  };
}

/** Compiles a static list, in order (later statics see what earlier ones wrote). */
export function compileStatics(statics: readonly Static[]): StaticsRunner {
  if (blockLists.has(statics) && statics.some((s) => s.kind === 'method')) return compileBlock(statics);
  const steps = statics.map((s) => compileStatic(s)).filter((f): f is StaticsRunner => f !== null);
  switch (steps.length) {
    case 0: return NOTHING;
    case 1: return steps[0]!;
    case 2: {
      const [a, b] = steps as [StaticsRunner, StaticsRunner];
      return (evt, env, rt) => { a(evt, env, rt); b(evt, env, rt); };
    }
    default:
      return (evt, env, rt) => {
        for (let i = 0; i < steps.length; i++) steps[i]!(evt, env, rt);
      };
  }
}

const compiled = new WeakMap<readonly Static[], StaticsRunner>();

/** Applies a static list (compiled on first use, then cached per list). */
export function applyStatics(statics: readonly Static[], evt: PEvent, env: { evt: PEvent }, rt: ParseRuntime): void {
  let run = compiled.get(statics);
  if (run === undefined) compiled.set(statics, (run = compileStatics(statics)));
  run(evt, env, rt);
}
