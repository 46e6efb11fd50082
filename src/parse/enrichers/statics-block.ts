/**
 * A deferred node's outcome as one shared block (geoip-enrich: ~7 Meta and ~9 Enriched
 * entries per routed event). deferred.ts proves at load time that such a node only appends
 * entries to Meta / Enriched whose keys nothing else writes, from its enricher answers alone,
 * and that nothing in the worker reads them after routing but the pour-record writer. Its
 * entries are then a function of the answers (shared memo maps): computed once per distinct
 * answer set, kept here as flat [k, v, ...] lists, and an event holds a reference instead of
 * ~16 map writes. A writer sends a block once per epoch (pour-records.ts) and the main thread expands it only
 * when an event's maps are read (pour-records.ts, pooled-event.ts).
 *
 * Without a writer that takes blocks (tests, explain), the entries are copied into the maps:
 * the same maps the statics would have built.
 */
import type { PEvent } from '../../core/event.js';

export class StaticsBlock {
  /** The writer epoch this block was last sent in, and its id in that epoch (pour-records.ts). */
  gen = -1;
  wireId = -1;
  /** Its Enriched entries of SOURCE_ENRICHED_KEYS, in that order (pour-records.ts), built on first need. */
  sourceEnriched: string[] | null = null;

  constructor(
    /** [k, v, ...]: appended to Meta, in this order. */
    readonly meta: readonly string[],
    /** [k, v, ...]: appended to Enriched, in this order. */
    readonly enriched: readonly string[],
  ) {}
}

let wanted = false;
let heldBy: PEvent | null = null;
let held: StaticsBlock | null = null;
let heldMetaAt = 0;
let heldEnrichedAt = 0;

/** A pour-record writer reads events' blocks from now on (this thread); false: copy them into the maps again (tests). */
export function acceptBlocks(on = true): void {
  wanted = on;
}

/** The block of `evt`'s deferred node: kept aside (a writer takes it) or copied into its maps. */
export function placeBlock(evt: PEvent, block: StaticsBlock): void {
  if (!wanted) {
    const m = evt.Meta, e = evt.Enriched;
    const bm = block.meta, be = block.enriched;
    for (let i = 0; i < bm.length; i += 2) m.set(bm[i]!, bm[i + 1]!);
    for (let i = 0; i < be.length; i += 2) e.set(be[i]!, be[i + 1]!);
    return;
  }
  heldBy = evt;
  held = block;
  // Where its entries go: after what the maps hold now (later deferred nodes append after them).
  heldMetaAt = evt.Meta.size;
  heldEnrichedAt = evt.Enriched.size;
}

/** A new event is parsed: nothing is held. */
export function dropBlock(): void {
  heldBy = null;
  held = null;
}

/** The block held for `evt`, or null. */
export function blockOf(evt: PEvent): StaticsBlock | null {
  return heldBy === evt ? held : null;
}

/** Meta / Enriched entries of the held event before its block's. */
export function blockMetaAt(): number {
  return heldMetaAt;
}
export function blockEnrichedAt(): number {
  return heldEnrichedAt;
}

/**
 * The Enriched keys each enricher's answers can hold (geoip.ts, index.ts): deferred.ts proves
 * from them that no other node writes a block's keys. A method not listed may write any key.
 */
export const ENRICHER_KEYS: ReadonlyMap<string, readonly string[]> = new Map([
  ['GeoIpCity', ['IsoCode', 'IsInEU', 'Latitude', 'Longitude']],
  ['GeoIpASN', ['ASNNumber', 'ASNumber', 'ASNOrg']],
  ['IpToRange', ['SourceRange']],
  ['ParseDate', ['MarshaledTime']],
  ['reverse_dns', ['reverse_dns']],
]);
