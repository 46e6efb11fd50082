/**
 * A `Map<string, string>` for the fields of an event that is reused line after line (a pool
 * worker's one event, PEvent.reset): clear() keeps its storage, so a line allocates nothing
 * for its fields once the arrays have grown to the widest line seen. A V8 Map cannot do that:
 * clear() and `new Map()` both start from a 4-entry table that re-grows as fields are set.
 *
 * It is a real Map subclass so that every consumer (`instanceof Map` in the expr runtime,
 * route index, filter memos, statics, go-json, sprintf; for-of, forEach, `new Map(m)`) takes
 * it unchanged; every method that reads or writes entries is overridden, and the Map's own
 * (native) storage stays empty.
 * Entries live in a small open-addressed hash table whose slots are reused (emptied by an epoch
 * bump), with their insertion order kept aside (our outputs are compared byte for byte, so
 * order is part of the contract). Keys are mostly interned (internKey): a probe's comparison
 * is then a pointer comparison.
 *
 * Iterators follow Map's rules: entries added during iteration are visited, deleted ones are
 * not, and an iterator that survives clear() goes on with the entries set after it.
 *
 * Not for cloning across threads (structuredClone / postMessage read the native storage,
 * which is empty), nor for code that calls Map.prototype methods on it directly.
 */

/** Marks a deleted entry's key slot (never equal to a string key). */
const HOLE: unknown = Symbol('deleted');
/** Initial slots (a power of two); the table doubles when half full. */
const INITIAL_SLOTS = 64;

/**
 * A cheap hash of an (interned) key: its length and three of its characters. Rule field
 * names differ early, late or in length; collisions only cost a probe.
 */
function hashOf(k: string): number {
  const n = k.length;
  if (n === 0) return 0;
  return (n * 7 + k.charCodeAt(0) * 31 + k.charCodeAt(n >> 1) * 5 + k.charCodeAt(n - 1) * 17) | 0;
}

export class FieldMap extends Map<string, string> {
  // An open-addressed table (linear probing): slot i is in use when #stamp[i] === #epoch, so
  // clear() empties it by bumping #epoch. A deleted entry keeps its slot (key HOLE) so that
  // probes go on past it; its #order entry becomes -1.
  #mask = INITIAL_SLOTS - 1;
  #keys: unknown[] = new Array<unknown>(INITIAL_SLOTS).fill(HOLE);
  #vals: string[] = new Array<string>(INITIAL_SLOTS).fill('');
  #stamp = new Int32Array(INITIAL_SLOTS);
  #epoch = 1;
  /** Slot of each entry in insertion order (-1: deleted); the first #used are current. */
  #order: number[] = [];
  #used = 0;
  #deleted = 0;
  /** clear() calls: a live iterator then starts over at the first entry. */
  #clears = 0;

  constructor(entries?: Iterable<readonly [string, string]> | null) {
    // Map's constructor would call set() before the fields above exist: add entries after it.
    super();
    if (entries) for (const [k, v] of entries) this.set(k, v);
  }

  /** Slot of `key`, or -1. */
  #find(key: unknown): number {
    if (typeof key !== 'string') return -1;
    const keys = this.#keys;
    const stamp = this.#stamp;
    const epoch = this.#epoch;
    const mask = this.#mask;
    for (let i = hashOf(key) & mask; stamp[i] === epoch; i = (i + 1) & mask) if (keys[i] === key) return i;
    return -1;
  }

  override get(key: string): string | undefined {
    const i = this.#find(key);
    return i < 0 ? undefined : this.#vals[i];
  }

  override has(key: string): boolean {
    return this.#find(key) >= 0;
  }

  override set(key: string, value: string): this {
    if (typeof key !== 'string') throw new TypeError(`FieldMap keys are strings, got ${typeof key}`);
    const keys = this.#keys;
    const stamp = this.#stamp;
    const epoch = this.#epoch;
    const mask = this.#mask;
    let i = hashOf(key) & mask;
    for (; stamp[i] === epoch; i = (i + 1) & mask) {
      if (keys[i] === key) {
        this.#vals[i] = value;
        return this;
      }
    }
    stamp[i] = epoch;
    keys[i] = key;
    this.#vals[i] = value;
    const order = this.#order;
    if (this.#used < order.length) order[this.#used] = i;
    else order.push(i);
    // Half full (deleted slots count: they lengthen probes): twice the slots.
    if (++this.#used * 2 > mask) this.#grow();
    return this;
  }

  /** Re-inserts the current entries into twice the slots; #order keeps its positions. */
  #grow(): void {
    const oldKeys = this.#keys;
    const oldVals = this.#vals;
    const size = 2 * (this.#mask + 1);
    const mask = size - 1;
    const keys = new Array<unknown>(size).fill(HOLE);
    const vals = new Array<string>(size).fill('');
    const stamp = new Int32Array(size);
    const order = this.#order;
    for (let j = 0; j < this.#used; j++) {
      const o = order[j]!;
      if (o < 0) continue;
      const key = oldKeys[o] as string;
      let i = hashOf(key) & mask;
      while (stamp[i] === 1) i = (i + 1) & mask;
      stamp[i] = 1;
      keys[i] = key;
      vals[i] = oldVals[o]!;
      order[j] = i;
    }
    this.#keys = keys;
    this.#vals = vals;
    this.#stamp = stamp;
    this.#mask = mask;
    this.#epoch = 1;
  }

  override delete(key: string): boolean {
    const i = this.#find(key);
    if (i < 0) return false;
    this.#keys[i] = HOLE;
    this.#vals[i] = '';
    this.#order[this.#order.indexOf(i)] = -1;
    this.#deleted++;
    return true;
  }

  /** Empties the map, keeping its storage. */
  override clear(): void {
    this.#used = 0;
    this.#deleted = 0;
    this.#clears++;
    if (++this.#epoch === 0x7fffffff) {
      this.#stamp.fill(0);
      this.#epoch = 1;
    }
  }

  override get size(): number {
    return this.#used - this.#deleted;
  }

  override forEach(fn: (value: string, key: string, map: Map<string, string>) => void, thisArg?: unknown): void {
    const order = this.#order;
    // #used re-read per step: entries set by fn are visited too, as with Map.
    for (let j = 0; j < this.#used; j++) {
      const i = order[j]!;
      if (i >= 0) fn.call(thisArg, this.#vals[i]!, this.#keys[i] as string, this);
    }
  }

  override entries(): MapIterator<[string, string]> {
    return new FieldMapIterator(this, ENTRY) as unknown as MapIterator<[string, string]>;
  }

  override keys(): MapIterator<string> {
    return new FieldMapIterator(this, KEY) as unknown as MapIterator<string>;
  }

  override values(): MapIterator<string> {
    return new FieldMapIterator(this, VALUE) as unknown as MapIterator<string>;
  }

  override [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }

  /** console.log / util.inspect read a Map's native storage, which is empty: show a copy. */
  [Symbol.for('nodejs.util.inspect.custom')](): Map<string, string> {
    return new Map(this);
  }

  /**
   * Moves `it` to its next entry (into it.key / it.value); false at the end. Static so that
   * the iterator class can reach the private fields.
   */
  static step(m: FieldMap, it: FieldMapIterator): boolean {
    if (it.clears !== m.#clears) {
      it.clears = m.#clears;
      it.pos = 0;
    }
    const order = m.#order;
    while (it.pos < m.#used) {
      const i = order[it.pos++]!;
      if (i >= 0) {
        it.key = m.#keys[i] as string;
        it.value = m.#vals[i]!;
        return true;
      }
    }
    return false;
  }

  static clearsOf(m: FieldMap): number {
    return m.#clears;
  }
}

const ENTRY = 0;
const KEY = 1;
const VALUE = 2;

class FieldMapIterator {
  map: FieldMap | null;
  clears: number;
  pos = 0;
  key = '';
  value = '';

  constructor(map: FieldMap, readonly kind: number) {
    this.map = map;
    this.clears = FieldMap.clearsOf(map);
  }

  next(): IteratorResult<unknown, undefined> {
    const m = this.map;
    if (m === null || !FieldMap.step(m, this)) {
      // Once done, always done (as a Map iterator), even if entries are added later.
      this.map = null;
      return { value: undefined, done: true };
    }
    const v = this.kind === ENTRY ? [this.key, this.value] : this.kind === KEY ? this.key : this.value;
    return { value: v, done: false };
  }

  [Symbol.iterator](): this {
    return this;
  }

  get [Symbol.toStringTag](): string {
    return 'Map Iterator';
  }
}
