/**
 * Scenario routing index: most filters start with a cheap guard on one event field
 * (`evt.Meta.log_type == 'ssh_failed-auth' && ...`, `evt.Meta.log_type in [...] && ...`), so
 * an event only needs the filters of the scenarios whose guard it passes.
 *
 * A guard is taken from a filter only where skipping the filter cannot change anything:
 *  - `G`, `G && rest` (G evaluated first; `&&` short-circuits, so a false G means false with
 *    no error from `rest`), recursively on the left of `&&`;
 *  - `A || B` where A and B both have guards (the union of their values when they are on the
 *    same field; on different fields, alternatives: the scenario is a candidate when the event
 *    passes either, since both false means the filter is false with no error);
 *  - G itself is `F == 'lit'`, `'lit' == F` or `F in ['lit', ...]` with F one of
 *    evt.Meta/Parsed/Enriched.<key> or evt.Line.Labels.<key> (map[string]string: a missing
 *    key reads "", and a read cannot fail).
 * Anything else leaves the scenario unguarded: its filter runs for every event.
 *
 * At run time the event's value of each guard field is mapped to a small code (its index
 * among the values some guard names, 0 = none of them), and the codes select a
 * precomputed list of candidate scenarios in load order.
 */
import type { PEvent } from '../core/event.js';
import type { Node } from '../expr/ast.js';
import { parse } from '../expr/parser.js';
import { evtPath, mapFieldOf, type EvtMap } from '../expr/evt-field.js';

export type GuardMap = EvtMap;

export interface Guard {
  readonly map: GuardMap;
  readonly key: string;
  readonly values: ReadonlySet<string>;
  /** The whole filter is this guard: passing it means the filter is true. */
  readonly whole: boolean;
}

/**
 * The guard of a filter when it is on one field, or null when it has none that can be used
 * safely (or only alternatives on several fields: see guardAlternatives).
 */
export function extractGuard(source: string): Guard | null {
  const g = guardAlternatives(source);
  return g !== null && g.alts.length === 1 ? { ...g.alts[0]!, whole: g.whole } : null;
}

/** A filter's guard as alternatives, each on its own field: an event that passes none fails the filter. */
export interface GuardAlternatives {
  readonly alts: readonly RawGuard[];
  /** The whole filter is its single alternative (a lone comparison). */
  readonly whole: boolean;
}

/** The guard alternatives of a filter, or null when it has none that can be used safely. */
export function guardAlternatives(source: string): GuardAlternatives | null {
  let ast: Node;
  try {
    ast = parse(source);
  } catch {
    return null;
  }
  const alts = guardOf(ast);
  return alts ? { alts, whole: alts.length === 1 && isGuard(ast) } : null;
}

export type RawGuard = Omit<Guard, 'whole'>;

/** Alternatives, one per field (values merged): the filter is false unless the event passes one. */
function guardOf(n: Node): RawGuard[] | null {
  if (n.kind !== 'binary') return null;
  if (n.op === '&&' || n.op === 'and') return guardOf(n.left);
  if (n.op === '||' || n.op === 'or') {
    const a = guardOf(n.left);
    const b = guardOf(n.right);
    if (!a || !b) return null;
    const out = a.map((g) => ({ map: g.map, key: g.key, values: new Set(g.values) }));
    for (const g of b) {
      const same = out.find((x) => x.map === g.map && x.key === g.key);
      if (same) for (const v of g.values) same.values.add(v);
      else out.push({ map: g.map, key: g.key, values: new Set(g.values) });
    }
    return out;
  }
  const c = comparison(n);
  return c ? [c] : null;
}

function isGuard(n: Node): boolean {
  return n.kind === 'binary' && comparison(n) !== null;
}

function comparison(n: Extract<Node, { kind: 'binary' }>): RawGuard | null {
  if (n.op === '==') {
    const f = fieldOf(n.left) ?? fieldOf(n.right);
    const lit = n.left.kind === 'string' ? n.left : n.right.kind === 'string' ? n.right : null;
    if (!f || !lit || (fieldOf(n.left) && fieldOf(n.right))) return null;
    return { ...f, values: new Set([lit.value]) };
  }
  if (n.op === 'in') {
    const f = fieldOf(n.left);
    if (!f || n.right.kind !== 'array' || n.right.items.length === 0) return null;
    const values = new Set<string>();
    for (const it of n.right.items) {
      if (it.kind !== 'string') return null;
      values.add(it.value);
    }
    return { ...f, values };
  }
  return null;
}

/** evt.Meta.k / evt.Meta['k'] (Parsed, Enriched too) and evt.Line.Labels.k. */
function fieldOf(n: Node): { map: GuardMap; key: string } | null {
  const path = evtPath(n);
  return path && mapFieldOf(path);
}

interface IndexedField {
  readonly map: GuardMap;
  readonly key: string;
  /** value → code (1..n); values no guard names have code 0. */
  readonly codes: Map<string, number>;
  readonly stride: number;
  /**
   * The last value looked up and its code: guard fields hold a few values, usually written by
   * a static from one literal (the same string every event), so a compare replaces the hash.
   */
  last: string | undefined;
  lastCode: number;
}

export class RouteIndex {
  private readonly fields: IndexedField[];
  /** Per scenario: its guard alternatives' field numbers and accepted codes, or null (unguarded). */
  private readonly accept: ({ field: number; codes: Set<number> }[] | null)[];
  private readonly combos: number;
  /** candidates per combined code, built on first use. */
  private readonly cache: (readonly number[] | undefined)[] | Map<number, readonly number[]>;
  private readonly all: readonly number[];
  /** Scenarios whose filter is exactly their guard (no need to run it once the guard passed). */
  readonly whole: readonly boolean[];

  constructor(guards: readonly (GuardAlternatives | null)[]) {
    const byField = new Map<string, number>();
    const found: { map: GuardMap; key: string }[] = [];
    const values: Set<string>[] = [];
    for (const g of guards.flatMap((x) => x?.alts ?? [])) {
      const id = `${g.map}\0${g.key}`;
      let f = byField.get(id);
      if (f === undefined) {
        byField.set(id, (f = found.length));
        found.push({ map: g.map, key: g.key });
        values.push(new Set());
      }
      for (const v of g.values) values[f]!.add(v);
    }
    let stride = 1;
    const kept: IndexedField[] = [];
    const renumber: (number | null)[] = [];
    found.forEach((f, i) => {
      // Combined codes must stay exact integers: guards past that many combinations are not indexed.
      if (stride * (values[i]!.size + 1) > 2 ** 40) {
        renumber.push(null);
        return;
      }
      const codes = new Map<string, number>();
      for (const v of values[i]!) codes.set(v, codes.size + 1);
      renumber.push(kept.length);
      kept.push({ ...f, codes, stride, last: undefined, lastCode: 0 });
      stride *= codes.size + 1;
    });
    this.fields = kept;
    this.combos = stride;
    this.accept = guards.map((g) => {
      if (!g) return null;
      const out: { field: number; codes: Set<number> }[] = [];
      for (const a of g.alts) {
        const field = renumber[byField.get(`${a.map}\0${a.key}`)!];
        // One alternative not indexed: the scenario cannot be left out on the others.
        if (field === null || field === undefined) return null;
        const codes = new Set<number>();
        for (const v of a.values) codes.add(this.fields[field]!.codes.get(v)!);
        out.push({ field, codes });
      }
      return out;
    });
    this.whole = guards.map((g, i) => g?.whole === true && this.accept[i] !== null);
    this.all = guards.map((_, i) => i);
    this.cache = stride <= 1 << 16 ? new Array<readonly number[] | undefined>(stride) : new Map();
  }

  /** Scenario filters compiled from their source text. */
  static fromFilters(sources: readonly string[]): RouteIndex {
    return new RouteIndex(sources.map(guardAlternatives));
  }

  /** Scenarios that have a guard (for reports and tests). */
  get guarded(): number {
    return this.accept.filter((a) => a !== null).length;
  }

  /**
   * The scenarios, in load order, whose guard `evt` passes (all unguarded ones included);
   * null when the event's fields are not maps (a hand-made event): every filter must run.
   */
  candidates(evt: PEvent): readonly number[] | null {
    const fields = this.fields;
    if (fields.length === 0) return this.all;
    let combo = 0;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      const m = mapOf(evt, f.map);
      // Not a Map (a hand-made event): let every filter decide, as without the index.
      if (!(m instanceof Map)) return null;
      const v: unknown = m.get(f.key);
      let code: number;
      if (typeof v === 'string') {
        if (v === f.last) code = f.lastCode;
        else {
          code = f.codes.get(v) ?? 0;
          f.last = v;
          f.lastCode = code;
        }
      } else code = v === undefined ? f.codes.get('') ?? 0 : 0;
      combo += code * f.stride;
    }
    const c = this.cache;
    if (Array.isArray(c)) return (c[combo] ??= this.build(combo));
    let l = c.get(combo);
    if (!l) c.set(combo, (l = this.build(combo)));
    return l;
  }

  private build(combo: number): readonly number[] {
    const code = this.fields.map((f) => Math.floor(combo / f.stride) % (f.codes.size + 1));
    const out: number[] = [];
    this.accept.forEach((alts, i) => {
      if (alts === null || alts.some((a) => code[a.field] !== 0 && a.codes.has(code[a.field]!))) out.push(i);
    });
    return Object.freeze(out);
  }

  /** Number of distinct field-value combinations (the candidate lists are bounded by it). */
  get size(): number {
    return this.combos;
  }
}

/** Named reads, one shape each (a computed `evt[name]` is slower on this hot path). */
function mapOf(evt: PEvent, map: GuardMap): unknown {
  switch (map) {
    case 'Meta': return evt.Meta;
    case 'Parsed': return evt.Parsed;
    case 'Enriched': return evt.Enriched;
    default: return evt.Line?.Labels;
  }
}
