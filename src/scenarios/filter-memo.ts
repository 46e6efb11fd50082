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
 * Filters reading the same fields share one table (one key per event and field set). Each
 * distinct field read is fetched once per event and its value interned to a small id shared
 * by every table (one string hash per read and event; the tables compare integers, reads
 * with fewest distinct values first). Results that are errors are never stored: the filter
 * runs again and the error is counted as without the memo. Tables are bounded (8 MB in all,
 * estimated from V8's object sizes; all cleared when full), and a group whose values do
 * not repeat stops storing for a while. A data file missing at load is warned about once per
 * combination instead of once per event.
 */
import type { PEvent } from '../core/event.js';
import type { Node } from '../expr/ast.js';
import { pureInputs, type FieldRead } from '../expr/pure-inputs.js';

/**
 * Nested tables, one level per field read, indexed by the value's id; a leaf holds the results
 * of the group's filters. Ids are small dense integers (1, 2, ... per read), so a level is a
 * plain array: an element load per level instead of a Map's hash lookup (nginx: three groups
 * walk a level of thousands of paths per event). V8 keeps a sparse one as a dictionary.
 */
type Level = (Level | Uint8Array | undefined)[];

/**
 * One distinct field read, shared by every group that reads it: its value is fetched once
 * per event, and turned into a small integer id (the string is hashed once per event, the
 * group tables below compare integers).
 */
interface ReadSlot {
  readonly get: (evt: PEvent) => string | null;
  /** value → id (1, 2, ...); ids are given only when a group stores the value. */
  ids: Map<string, number>;
  /** The last value looked up and its id (0: not interned): a repeated value skips the hash. */
  last: string | null;
  lastId: number;
}

interface Group {
  /**
   * Indices of the group's reads in FilterMemo.slots, in table order: fewest distinct values
   * first once known (endWindow), so the small levels are shared and stay in cache and only
   * the last level is large.
   */
  reads: Int32Array;
  /** Bytes of this group's table (part of FilterMemo.bytes). */
  bytes: number;
  /** id of read 0 → id of read 1 → ... → result per member scenario: 0 unknown, 1 false, 2 true. */
  table: Level;
  readonly members: number;
  /** The leaf of the last ids seen (a run of events with the same values skips the tables). */
  readonly lastIds: Int32Array;
  lastLeaf: Uint8Array | null;
  /** Lookups and found leaves in the current window; whether new combinations are stored. */
  lookups: number;
  found: number;
  storing: boolean;
  pausedWindows: number;
}

// What V8 holds per stored item (measured order of magnitude, 64-bit heap): an interned value
// is a string copy (header + UTF-16) and a Map entry with its share of the table's growth;
// a leaf is a small Uint8Array (typed array, buffer and store objects) and a level a fresh
// array, each plus its slot in the level above. A level's array also holds a slot per id
// below the largest one stored (ARRAY_SLOT_BYTES each, counted as it grows; V8 turns a very
// sparse one into a dictionary, which costs less). Underestimating these lets the tables
// grow past the bound several times over (heap peaks of the parse workers).
const INTERN_BYTES = 200;
const LEAF_BYTES = 220;
const LEVEL_BYTES = 260;
const ARRAY_SLOT_BYTES = 8;

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
  private readonly slots: ReadSlot[] = [];
  /** Per scenario: its group and its position among the group's members; -1: not memoised. */
  private readonly groupOf: Int32Array;
  private readonly memberOf: Int32Array;
  readonly stats: MemoStats = { memoised: 0, hits: 0, misses: 0, clears: 0, pauses: 0 };
  /** The current event's leaf per group (valid when leafEpoch[g] === epoch; null = cannot be keyed). */
  private readonly leaves: (Uint8Array | null)[];
  private readonly leafEpoch: Int32Array;
  /** The current event's id per read (valid when idEpoch[r] === epoch; -1 = cannot key, 0 = not interned). */
  private readonly curIds: Int32Array;
  private readonly idEpoch: Int32Array;
  private epoch = 1;
  /** Estimated bytes stored (interned values as UTF-16 plus per-entry overheads): the memory bound. */
  private bytes = 0;
  private readonly maxBytes: number;
  /** Leaf of groups that read nothing (one for every event). */
  private readonly constLeaf = new Map<Group, Uint8Array>();

  /**
   * `maxBytes`: estimated memory of all tables together; past it every table is emptied and
   * filled again. Default 8 MB: each parse worker has one, under a heap cap (pool.ts). 1M
   * nginx lines, 2 workers: 16 MB -> 299-307 MB peak RSS, 12 MB -> 291-296, 8 MB -> 288 MB
   * (GNU time KB), for ~5% more worker CPU (more refills).
   */
  constructor(sources: readonly string[], maxBytes = 8 * 1024 * 1024) {
    this.maxBytes = maxBytes;
    const bySig = new Map<string, number>();
    const slotOf = new Map<string, number>();
    const members: number[] = [];
    const reads: number[][] = [];
    this.groupOf = new Int32Array(sources.length).fill(-1);
    this.memberOf = new Int32Array(sources.length).fill(-1);
    sources.forEach((src, i) => {
      const r = pureInputs(src);
      if (r === null) return;
      const sig = JSON.stringify(r);
      let g = bySig.get(sig);
      if (g === undefined) {
        bySig.set(sig, (g = reads.length));
        reads.push(r.map((read) => {
          const k = JSON.stringify(read);
          let at = slotOf.get(k);
          if (at === undefined) {
            slotOf.set(k, (at = this.slots.length));
            this.slots.push({ get: accessor(read), ids: new Map(), last: null, lastId: 0 });
          }
          return at;
        }));
        members.push(0);
      }
      this.stats.memoised++;
      this.groupOf[i] = g;
      this.memberOf[i] = members[g]!++;
    });
    for (let g = 0; g < reads.length; g++) {
      this.groups.push({
        reads: Int32Array.from(reads[g]!), bytes: 0, table: [], members: members[g]!,
        lastIds: new Int32Array(reads[g]!.length), lastLeaf: null, lookups: 0, found: 0, storing: true, pausedWindows: 0,
      });
    }
    this.leaves = new Array<Uint8Array | null>(reads.length).fill(null);
    this.leafEpoch = new Int32Array(reads.length);
    this.curIds = new Int32Array(this.slots.length);
    this.idEpoch = new Int32Array(this.slots.length);
  }

  /** Call before the filters of each event (values are looked up once per event and read). */
  reset(): void {
    if (++this.epoch === 0x7fffffff) {
      this.epoch = 1;
      this.leafEpoch.fill(0);
      this.idEpoch.fill(0);
    }
  }

  /**
   * `run(env)` for scenario `i`, or the stored result of an earlier event with the same
   * values. Errors propagate (and are not stored).
   */
  run(i: number, env: { evt: PEvent }, run: (env: { evt: PEvent }) => unknown): unknown {
    const gi = this.groupOf[i]!;
    if (gi < 0) return run(env);
    let leaf: Uint8Array | null;
    if (this.leafEpoch[gi] === this.epoch) leaf = this.leaves[gi]!;
    else {
      leaf = this.leafOf(this.groups[gi]!, env.evt);
      this.leaves[gi] = leaf;
      this.leafEpoch[gi] = this.epoch;
    }
    if (leaf === null) {
      this.stats.misses++;
      return run(env);
    }
    const j = this.memberOf[i]!;
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

  /** The event's id for read `r`: -1 when its value cannot key, 0 when not interned (and `intern` false). */
  private idOf(r: number, evt: PEvent, intern: boolean): number {
    if (this.idEpoch[r] === this.epoch) {
      const id = this.curIds[r]!;
      if (id !== 0 || !intern) return id;
    }
    const slot = this.slots[r]!;
    const v = slot.get(evt);
    let id: number;
    if (v === null) id = -1;
    else if (v === slot.last) id = slot.lastId;
    else {
      id = slot.ids.get(v) ?? 0;
      slot.last = v;
      slot.lastId = id;
    }
    if (id === 0 && intern) {
      id = slot.ids.size + 1;
      // A copy (event values are often slices of a whole batch of lines, which a stored
      // slice would keep alive), plus a Map entry.
      slot.ids.set(detach(v!), id);
      slot.last = v;
      slot.lastId = id;
      this.bytes += 2 * v!.length + INTERN_BYTES;
    }
    this.curIds[r] = id;
    this.idEpoch[r] = this.epoch;
    return id;
  }

  /** The leaf of the event's values in a group's table, created if new; null when they cannot key. */
  private leafOf(g: Group, evt: PEvent): Uint8Array | null {
    const reads = g.reads;
    const n = reads.length;
    if (n === 0) {
      let leaf = this.constLeaf.get(g);
      if (!leaf) this.constLeaf.set(g, (leaf = new Uint8Array(g.members)));
      return leaf;
    }
    // Ids without interning first: a value never stored cannot be in the table.
    let unknown = false;
    for (let k = 0; k < n; k++) {
      const id = this.idOf(reads[k]!, evt, false);
      if (id < 0) return null;
      if (id === 0) unknown = true;
    }
    if (++g.lookups === WINDOW) this.endWindow(g);
    // The same ids as the group's last lookup: its leaf (endWindow may have reordered the reads).
    const lastLeaf = g.lastLeaf;
    if (lastLeaf !== null && !unknown) {
      const order = g.reads;
      const last = g.lastIds;
      let k = 0;
      while (k < n && this.curIds[order[k]!] === last[k]) k++;
      if (k === n) {
        g.found++;
        return lastLeaf;
      }
    }
    if (unknown && !g.storing) return null;
    if (!unknown) {
      const order = g.reads;
      let level: Level | Uint8Array | undefined = g.table;
      for (let k = 0; k < n && level !== undefined; k++) level = (level as Level)[this.curIds[order[k]!]!];
      if (level !== undefined) {
        g.found++;
        return this.remember(g, level as Uint8Array);
      }
      if (!g.storing) return null;
    }
    // A new combination: make room, then store it.
    if (this.bytes > this.maxBytes) this.clear();
    const order = g.reads;
    let level = g.table;
    for (let k = 0; k < n; k++) {
      const id = this.idOf(order[k]!, evt, true);
      if (id >= level.length) {
        const grown = ARRAY_SLOT_BYTES * (id + 1 - level.length);
        this.bytes += grown;
        g.bytes += grown;
      }
      const next = level[id];
      if (k === n - 1) {
        if (next !== undefined) return this.remember(g, next as Uint8Array);
        const leaf = new Uint8Array(g.members);
        level[id] = leaf;
        this.bytes += LEAF_BYTES + g.members;
        g.bytes += LEAF_BYTES + g.members;
        return this.remember(g, leaf);
      }
      if (next !== undefined) level = next as Level;
      else {
        const child: Level = [];
        level[id] = child;
        this.bytes += LEVEL_BYTES;
        g.bytes += LEVEL_BYTES;
        level = child;
      }
    }
    return null; // not reached: n > 0
  }

  private remember(g: Group, leaf: Uint8Array): Uint8Array {
    const reads = g.reads;
    for (let k = 0; k < reads.length; k++) g.lastIds[k] = this.curIds[reads[k]!]!;
    g.lastLeaf = leaf;
    return leaf;
  }

  /**
   * Puts the group's reads in order of distinct values seen (fewest first); when that changes
   * the order, the group's table starts again (the key is the same tuple of ids in any order).
   */
  private reorder(g: Group): void {
    const order = Int32Array.from(g.reads).sort((a, b) => this.slots[a]!.ids.size - this.slots[b]!.ids.size || a - b);
    if (order.every((r, k) => r === g.reads[k])) return;
    g.reads = order;
    g.table = [];
    g.lastLeaf = null;
    this.bytes -= g.bytes;
    g.bytes = 0;
  }

  /** Empties every table (ids are shared by the groups, so they go together). */
  private clear(): void {
    for (const s of this.slots) {
      s.ids.clear();
      s.last = null;
      s.lastId = 0;
    }
    for (const g of this.groups) {
      g.table = [];
      g.lastLeaf = null;
      g.bytes = 0;
    }
    this.bytes = 0;
    this.stats.clears++;
    // Ids of the current event are stale too.
    this.idEpoch.fill(0);
  }

  private endWindow(g: Group): void {
    this.reorder(g);
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
}

/**
 * A copy of `s` that shares no memory with it. Event values are often slices of a whole
 * batch of lines (V8 sliced strings); a stored key must not keep that batch alive.
 */
function detach(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf16le').toString('utf16le');
}

/** The value of one read on an event (a missing map key reads ""), null when it cannot key. */
function accessor(r: FieldRead): (evt: PEvent) => string | null {
  if (r.kind === 'map') {
    const key = r.key;
    // One closure per map, so each reads a fixed property (a computed evt[name] is slower here).
    const fromMap = (m: unknown): string | null => {
      if (!(m instanceof Map)) return null;
      const v: unknown = m.get(key);
      if (v === undefined) return '';
      return typeof v === 'string' ? v : null;
    };
    switch (r.map) {
      case 'Meta': return (evt) => fromMap(evt.Meta);
      case 'Parsed': return (evt) => fromMap(evt.Parsed);
      case 'Enriched': return (evt) => fromMap(evt.Enriched);
      default: return (evt) => fromMap(evt.Line?.Labels);
    }
  }
  const path = r.path;
  return (evt) => {
    let o: unknown = evt;
    for (const p of path) o = o === null || o === undefined ? undefined : (o as Record<string, unknown>)[p];
    return typeof o === 'string' ? o : null;
  };
}
