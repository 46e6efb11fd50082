/**
 * The memo of the GeoIP enrichers. Their answers are a pure function of the address text
 * (the databases do not change under us), logs repeat addresses line after line, and the
 * parsers call the three methods with the same text: one entry per address holds all three
 * answers.
 *
 * Memory is the point of this design (one memo per thread: the inline engine and each pool
 * worker, and V8 sizes a heap at a multiple of what stays live). 65,536 addresses took 58 MB
 * as three memos of ~300-byte maps; here an address costs its key, its slot and a map entry
 * (~100 bytes), and answer maps are kept once by content, as many addresses share a city
 * record, an AS or a network. 16,384 addresses: replaying the 10M-line sshd bench log
 * (97,526 distinct addresses) misses 100,243 times with it, 97,708 with 65,536.
 */

export type Answer = Map<string, string> | null;

/** The slot of each method: 0 GeoIpCity, 1 GeoIpASN, 2 IpToRange. */
export type GeoMethod = 0 | 1 | 2;

class Slot {
  a0: Answer | undefined = undefined;
  a1: Answer | undefined = undefined;
  a2: Answer | undefined = undefined;
}

export class GeoMemo {
  private slots = new Map<string, Slot>();
  private answers = new Map<string, Map<string, string>>();
  private readonly parts: string[] = [];
  // The slot of the last address asked for: the three methods ask for the same address text
  // in a row (the same string, from the same event), and so do a source's consecutive lines.
  private lastValue: string | null = null;
  private lastSlot: Slot | null = null;

  /** `max` addresses (and as many distinct answers); when full, it starts over. */
  constructor(private readonly max = 16384) {}

  /**
   * The memoised answer of `method` for `value`, computing it with `fn` on a miss. Cached
   * maps are shared: callers must not mutate them (applyStatics only copies their entries).
   */
  get(method: GeoMethod, value: string, fn: (value: string) => Answer): Answer {
    let slot = value === this.lastValue ? this.lastSlot! : this.slots.get(value);
    if (slot !== undefined) {
      const hit = method === 0 ? slot.a0 : method === 1 ? slot.a1 : slot.a2;
      if (hit !== undefined) {
        this.lastValue = value;
        this.lastSlot = slot;
        return hit;
      }
    } else {
      // Starting over is cheaper than LRU bookkeeping on every hit, and logs revisit recent keys.
      if (this.slots.size >= this.max) this.slots = new Map();
      slot = new Slot();
      this.slots.set(detach(value), slot);
    }
    // A slot dropped by a start-over stays valid as the last one (its answers are right).
    // lastValue may be a slice of the current batch text: it holds that one batch at most.
    this.lastValue = value;
    this.lastSlot = slot;
    const r = this.shared(fn(value));
    if (method === 0) slot.a0 = r;
    else if (method === 1) slot.a1 = r;
    else slot.a2 = r;
    return r;
  }

  /** The stored map with the same content, else `r` (then stored). */
  private shared(r: Answer): Answer {
    if (r === null) return null;
    // join() builds one flat string; `+=` would keep a tree of concatenations per key.
    const parts = this.parts;
    parts.length = 0;
    for (const [key, v] of r) parts.push(key, v);
    const k = parts.join('\n');
    const same = this.answers.get(k);
    if (same !== undefined) return same;
    if (this.answers.size >= this.max) this.answers = new Map();
    this.answers.set(k, r);
    return r;
  }

  /** Addresses held (for tests). */
  get size(): number {
    return this.slots.size;
  }
}

/**
 * A copy of `s` that does not keep its parent string alive. Addresses come from grok
 * captures, which V8 makes slices of the line, and a pool worker's lines are slices of its
 * whole 1 MB batch text: kept as memo keys, they held every batch in the worker's
 * large-object space (measured: +1 MB per batch until the memo started over). V8 copies
 * slices shorter than 13 characters; join() builds one flat string of the same UTF-16 code
 * units (`(' ' + s).slice(1)` would still be a slice, of a small copy: two objects).
 */
export function detach(s: string): string {
  return s.length < 13 ? s : s.split('').join('');
}
