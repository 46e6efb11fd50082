/**
 * What a parse worker sends back for one batch: line counts and, for each event that goes to
 * at least one bucket, the routes and the event fields buckets, alerts, postoverflows and
 * scenario expressions can read. Only poured events travel; everything else stays in the
 * worker.
 *
 * Every parsed, non-whitelisted event is listed, in line order, because pour() counts it
 * and takes its clock even when no scenario wants it (auto-sweeps depend on that count).
 *
 * Wire format: one msgpack array of primitives (no per-record objects, which cost more to
 * pack than the parsing they carry), moved as one transferable buffer:
 *
 *   [lines, parsed, unparsed, whitelisted, dropped, nEvents,
 *    then per parsed event with no route (it still advances the bucket clock and sweeps):
 *      0, MarshaledTime
 *    or per event with routes:
 *      nRoutes, (scenarioIndex, groupKey) x nRoutes,
 *      Raw, LineTimeMs, TimeMs (-1 = null), Stage, MarshaledTime, StrTime, StrTimeFormat,
 *      nParsed, (k, v) x nParsed, nEnriched, (k, v) x nEnriched, nMeta, (k, v) x nMeta]
 *
 * Src, labels and the expect mode are per batch and known to the main thread.
 */
import { Packr } from 'msgpackr';
import { PEvent, type StringMap } from '../core/event.js';
import { ALL_FIELDS, type FieldNeeds } from './field-needs.js';

export interface LineCounts {
  lines: number;
  parsed: number;
  unparsed: number;
  whitelisted: number;
  dropped: number;
}

export type Routes = [number, string][];

export interface PouredEvent {
  evt: PEvent;
  routes: Routes;
}

const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * Accumulates one batch's records; `finish` packs them into a fresh, movable buffer.
 * `needs` (field-needs.ts) leaves out Line.Raw ("") and Parsed (empty) when nothing on the
 * main thread can read them.
 */
export class PourRecordWriter {
  private vals: (string | number)[] = [];
  private events = 0;

  constructor(private readonly needs: FieldNeeds = ALL_FIELDS) {}

  add(evt: PEvent, routes: Routes): void {
    const v = this.vals;
    v.push(routes.length);
    this.events++;
    if (routes.length === 0) {
      v.push(evt.MarshaledTime);
      return;
    }
    for (const [i, k] of routes) v.push(i, k);
    v.push(this.needs.raw ? evt.Line.Raw : '', evt.Line.Time.getTime(), evt.Time === null ? -1 : evt.Time.getTime(), evt.Stage, evt.MarshaledTime, evt.StrTime, evt.StrTimeFormat);
    if (this.needs.parsed) pushMap(v, evt.Parsed);
    else v.push(0);
    pushMap(v, evt.Enriched);
    pushMap(v, evt.Meta);
  }

  finish(c: LineCounts): Uint8Array {
    const out = packr.pack([c.lines, c.parsed, c.unparsed, c.whitelisted, c.dropped, this.events, ...this.vals]);
    this.vals = [];
    this.events = 0;
    // pack() returns a Buffer over a shared scratch ArrayBuffer (and Buffer#slice does not
    // copy): copy into an ArrayBuffer of its own before moving it to another thread.
    return new Uint8Array(out);
  }
}

function pushMap(v: (string | number)[], m: StringMap): void {
  v.push(m.size);
  for (const [k, x] of m) v.push(k, x);
}

export interface DecodedBatch {
  counts: LineCounts;
  events: PouredEvent[];
}

/** Rebuilds the events of one batch; `src`, `labels` and `mode` are the batch's. */
export function decodePourRecords(buf: Uint8Array, src: string, labels: StringMap, mode: number): DecodedBatch {
  const v = packr.unpack(buf) as (string | number)[];
  let p = 0;
  const num = (): number => v[p++] as number;
  const str = (): string => v[p++] as string;
  const counts: LineCounts = { lines: num(), parsed: num(), unparsed: num(), whitelisted: num(), dropped: num() };
  const n = num();
  const events: PouredEvent[] = new Array(n);
  for (let e = 0; e < n; e++) {
    const nr = num();
    if (nr === 0) {
      const evt = new PEvent({ Raw: '', Src: src, Time: new Date(0), Labels: labels, Module: 'file', Process: true });
      evt.MarshaledTime = str();
      events[e] = { evt, routes: [] };
      continue;
    }
    const routes: Routes = new Array(nr);
    for (let r = 0; r < nr; r++) routes[r] = [num(), str()];
    const raw = str();
    const lineTime = num();
    const time = num();
    const evt = new PEvent({ Raw: raw, Src: src, Time: new Date(lineTime), Labels: new Map(labels), Module: 'file', Process: true });
    evt.ExpectMode = mode;
    evt.Time = time < 0 ? null : new Date(time);
    evt.Stage = str();
    evt.MarshaledTime = str();
    evt.StrTime = str();
    evt.StrTimeFormat = str();
    evt.Process = true;
    for (const m of [evt.Parsed, evt.Enriched, evt.Meta]) {
      const k = num();
      for (let i = 0; i < k; i++) m.set(str(), str());
    }
    events[e] = { evt, routes };
  }
  return { counts, events };
}
