/**
 * Memoised scenario filters. Many filters are pure functions of a few event fields
 * (`evt.Meta.log_type in [...] && RegexpInFile(Lower(PathUnescape(evt.Meta.http_path)), ...)`)
 * whose values repeat from line to line (the same paths, user agents, log types), and the
 * regex lists they run are the largest routing cost. Such a filter's boolean result is kept
 * per combination of the values it reads, so a repeated combination costs a lookup.
 *
 * A filter is memoised only when its syntax tree proves it pure: literals, operators,
 * closures over `#`, reads of evt.Meta/Parsed/Enriched.<key> and evt.Line.Labels.<key>
 * (map[string]string: missing reads as "") or of evt's string fields, and calls of helpers
 * that depend on their arguments only (no TimeNow, LookupHost, decision counts, methods).
 * Filters reading the same fields share one table (one key per event and field set).
 * Results that are errors are never stored: the filter runs again and the error is counted
 * as without the memo. Tables are bounded (16 MB in all, cleared when full), and a group whose values do
 * not repeat stops storing for a while. A data file missing at load is warned about once per
 * combination instead of once per event.
 */
import type { PEvent } from '../core/event.js';
import type { Node } from '../expr/ast.js';
import { parse } from '../expr/parser.js';
import { evtPath, mapFieldOf, type EvtMap } from './evt-field.js';

/** Helpers and builtins whose result depends on their arguments only. */
const PURE_CALLS = new Set([
  'len', 'all', 'none', 'any', 'one', 'filter', 'map', 'count',
  'Upper', 'Lower', 'XMLGetNodeValue', 'XMLGetAttributeValue', 'JsonExtract', 'JsonExtractLib', 'JsonExtractUnescape',
  'JsonExtractSlice', 'JsonExtractObject', 'ToJsonString', 'File', 'RegexpInFile', 'IpInRange', 'IpToRange',
  'PathUnescape', 'QueryUnescape', 'PathEscape', 'QueryEscape', 'ParseUri', 'Atof', 'Sprintf',
]);
const STRING_FIELDS = new Set(['Stage', 'StrTime', 'StrTimeFormat', 'MarshaledTime', 'WhitelistReason']);
// Not Line.Raw: nearly every line is unique, so it would only fill the table.
const LINE_STRING_FIELDS = new Set(['Src', 'Module']);

/** One field a filter reads: a map key, or a string field. */
export type FieldRead =
  | { kind: 'map'; map: EvtMap; key: string }
  | { kind: 'field'; path: readonly string[] };

/** The fields a pure filter reads (sorted, distinct), or null when it is not provably pure. */
export function pureInputs(source: string): FieldRead[] | null {
  let ast: Node;
  try {
    ast = parse(source);
  } catch {
    return null;
  }
  const reads = new Map<string, FieldRead>();
  if (!visit(ast, reads)) return null;
  return [...reads.keys()].sort().map((k) => reads.get(k)!);
}

function visit(n: Node, reads: Map<string, FieldRead>): boolean {
  switch (n.kind) {
    case 'nil': case 'bool': case 'int': case 'float': case 'string': case 'pointer':
      return true;
    case 'array':
      return n.items.every((x) => visit(x, reads));
    case 'map':
      return n.entries.every((e) => visit(e.key, reads) && visit(e.value, reads));
    case 'ident':
      return false; // a bare `evt` (or any other name) may go anywhere
    case 'member': case 'index': {
      const r = readOf(n);
      if (r) {
        reads.set(r.kind === 'map' ? `m\0${r.map}\0${r.key}` : `f\0${r.path.join('.')}`, r);
        return true;
      }
      // `#.field`, `x[i]` on values computed from allowed reads.
      if (n.kind === 'member') return n.object.kind !== 'ident' && visit(n.object, reads);
      return n.object.kind !== 'ident' && visit(n.object, reads) && visit(n.index, reads);
    }
    case 'slice':
      return visit(n.object, reads) && (n.from === null || visit(n.from, reads)) && (n.to === null || visit(n.to, reads));
    case 'call':
      return PURE_CALLS.has(n.callee) && n.args.every((a) => visit(a, reads));
    case 'closure':
      return visit(n.body, reads);
    case 'method':
      return false;
    case 'unary':
      return visit(n.operand, reads);
    case 'binary':
      return visit(n.left, reads) && visit(n.right, reads);
    case 'cond':
      return visit(n.test, reads) && visit(n.then, reads) && visit(n.else, reads);
    default:
      return false;
  }
}

/** A whole read rooted at `evt`, or null (not rooted at evt, or rooted at it in a way we do not key). */
function readOf(n: Node): FieldRead | null {
  const path = evtPath(n);
  if (!path) return null;
  const m = mapFieldOf(path);
  if (m) return { kind: 'map', ...m };
  if (path.length === 1 && STRING_FIELDS.has(path[0]!)) return { kind: 'field', path };
  if (path.length === 2 && path[0] === 'Line' && LINE_STRING_FIELDS.has(path[1]!)) return { kind: 'field', path };
  return null;
}

/** Nested tables, one level per field read; a leaf holds the results of the group's filters. */
type Level = Map<string, Level | Uint8Array>;

interface Group {
  readonly reads: readonly FieldRead[];
  /** value of read 0 → value of read 1 → ... → result per member scenario: 0 unknown, 1 false, 2 true. */
  table: Level;
  /** Estimated bytes stored (values as UTF-16 plus per-entry overhead): the memory bound. */
  bytes: number;
  readonly members: number;
  /** Lookups and found leaves in the current window; whether new combinations are stored. */
  lookups: number;
  found: number;
  storing: boolean;
  pausedWindows: number;
}

// Values that never repeat (unique paths of a scanner) would only cost stores: a group whose
// combinations were found less than MIN_FOUND of a WINDOW of lookups stops storing new ones
// for PAUSE windows (lookups go on), then tries again.
const WINDOW = 4096;
const MIN_FOUND = 0.25;
const PAUSE = 8;

export interface MemoStats {
  memoised: number;
  hits: number;
  misses: number;
  clears: number;
  /** Windows in which a group stopped storing (values not repeating enough). */
  pauses: number;
}

/** Per-engine memo of the pure filters among `sources` (index = scenario index). */
export class FilterMemo {
  private readonly groups: Group[] = [];
  /** Per scenario: [group, slot] or null (not memoised). */
  private readonly slot: ([number, number] | null)[];
  readonly stats: MemoStats = { memoised: 0, hits: 0, misses: 0, clears: 0, pauses: 0 };
  /** The current event's leaf per group: undefined = not looked up yet, null = cannot be keyed. */
  private readonly leaves: (Uint8Array | null | undefined)[];
  private readonly values: string[] = [];

  private readonly maxGroupBytes: number;

  /**
   * `maxBytes`: estimated memory of all tables together (default 16 MB, shared by the groups:
   * parse workers run under a heap cap, pool.ts).
   */
  constructor(sources: readonly string[], maxBytes = 16 * 1024 * 1024) {
    const bySig = new Map<string, number>();
    const members: number[] = [];
    const reads: FieldRead[][] = [];
    this.slot = sources.map((src) => {
      const r = pureInputs(src);
      if (r === null) return null;
      const sig = JSON.stringify(r);
      let g = bySig.get(sig);
      if (g === undefined) {
        bySig.set(sig, (g = reads.length));
        reads.push(r);
        members.push(0);
      }
      this.stats.memoised++;
      return [g, members[g]!++];
    });
    for (let g = 0; g < reads.length; g++) {
      this.groups.push({ reads: reads[g]!, table: new Map(), bytes: 0, members: members[g]!, lookups: 0, found: 0, storing: true, pausedWindows: 0 });
    }
    this.maxGroupBytes = maxBytes / Math.max(1, reads.length);
    this.leaves = new Array<Uint8Array | null | undefined>(reads.length).fill(undefined);
  }

  /** Call before the filters of each event (values are looked up once per event and group). */
  reset(): void {
    this.leaves.fill(undefined);
  }

  /**
   * `run(env)` for scenario `i`, or the stored result of an earlier event with the same
   * values. Errors propagate (and are not stored).
   */
  run(i: number, env: { evt: PEvent }, run: (env: { evt: PEvent }) => unknown): unknown {
    const s = this.slot[i];
    if (!s) return run(env);
    const [gi, j] = s;
    let leaf = this.leaves[gi];
    if (leaf === undefined) this.leaves[gi] = leaf = this.leafOf(this.groups[gi]!, env.evt);
    if (leaf === null) {
      this.stats.misses++;
      return run(env);
    }
    const known = leaf[j]!;
    if (known !== 0) {
      this.stats.hits++;
      return known === 2;
    }
    this.stats.misses++;
    const r = run(env);
    if (typeof r === 'boolean') leaf[j] = r ? 2 : 1;
    return r;
  }

  /** The leaf of the event's values in a group's table, created if new; null when they cannot key. */
  private leafOf(g: Group, evt: PEvent): Uint8Array | null {
    const vals = this.values;
    const n = g.reads.length;
    for (let k = 0; k < n; k++) {
      const v = valueOf(g.reads[k]!, evt);
      if (v === null) return null;
      vals[k] = v;
    }
    if (++g.lookups === WINDOW) this.endWindow(g);
    let level = g.table;
    for (let k = 0; k < n; k++) {
      const v = vals[k]!;
      const next = level.get(v);
      if (next !== undefined) {
        if (k === n - 1) {
          g.found++;
          return next as Uint8Array;
        }
        level = next as Level;
        continue;
      }
      if (!g.storing) return null;
      // New values: make room, then store copies (event values are often slices of a whole
      // batch of lines, which a stored slice would keep alive).
      if (g.bytes > this.maxGroupBytes) {
        g.table.clear();
        g.bytes = 0;
        this.stats.clears++;
        level = g.table;
        k = -1;
        continue;
      }
      const child: Level | Uint8Array = k === n - 1 ? new Uint8Array(g.members) : new Map();
      level.set(detach(v), child);
      // A Map entry, the value's copy, and a leaf array or a nested Map.
      g.bytes += 2 * v.length + (k === n - 1 ? 96 + g.members : 160);
      if (k === n - 1) return child as Uint8Array;
      level = child as Level;
    }
    // No reads: one leaf for every event.
    let leaf = this.constLeaf.get(g);
    if (!leaf) this.constLeaf.set(g, (leaf = new Uint8Array(g.members)));
    return leaf;
  }

  private endWindow(g: Group): void {
    if (g.storing) {
      if (g.found < WINDOW * MIN_FOUND) {
        g.storing = false;
        g.pausedWindows = 0;
        this.stats.pauses++;
      }
    } else if (++g.pausedWindows >= PAUSE) {
      g.storing = true;
    }
    g.lookups = 0;
    g.found = 0;
  }

  private readonly constLeaf = new Map<Group, Uint8Array>();
}

/**
 * A copy of `s` that shares no memory with it. Event values are often slices of a whole
 * batch of lines (V8 sliced strings); a stored key must not keep that batch alive.
 */
function detach(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf16le').toString('utf16le');
}

/** The value of one read on `evt` (a missing map key reads ""), null when it cannot key. */
function valueOf(r: FieldRead, evt: PEvent): string | null {
  let v: unknown;
  if (r.kind === 'map') {
    const m = r.map === 'Labels' ? evt.Line?.Labels : evt[r.map];
    if (!(m instanceof Map)) return null;
    v = m.get(r.key);
    if (v === undefined) return '';
  } else {
    let o: unknown = evt;
    for (const p of r.path) o = o === null || o === undefined ? undefined : (o as Record<string, unknown>)[p];
    v = o;
  }
  return typeof v === 'string' ? v : null;
}
