/**
 * The event every stage sees, shaped like CrowdSec's `types.Event` (spec §1.2) so that hub
 * expressions (`evt.Parsed.program`, `evt.Line.Labels.type`, `evt.GetMeta('x')`) work
 * unchanged. Field names are the Go names on purpose.
 *
 * String maps are `Map<string, string>`: the expr engine reads a missing key of such a
 * map as "" (Go's zero value), never as nil (spec §1.2).
 */

import { FieldMap } from './field-map.js';

export const EventType = { LOG: 0, OVFLW: 1 } as const;
export const ExpectMode = { LIVE: 0, TIMEMACHINE: 1 } as const;

export type StringMap = Map<string, string>;

/**
 * The engine's unique copy of a string (V8 internalizes property names). Keys that rules
 * name at load time (grok semantics, static targets, `evt.Parsed.x` in expressions) are
 * interned so that a Map lookup hit is a pointer comparison instead of a character one.
 * Purely a speed measure: an equal string is returned either way.
 */
export function internKey(s: string): string {
  const k = Object.keys({ [s]: 0 })[0];
  return k === s ? k : s;
}

export interface Line {
  Raw: string;
  Src: string;
  Time: Date;
  Labels: StringMap;
  Module: string;
  Process: boolean;
}

/** Minimal alert view used by postoverflow expressions (filled by the scenarios stage). */
export interface RuntimeAlert {
  Mapkey: string;
  BucketId: string;
  Whitelisted: boolean;
  Reprocess: boolean;
  Sources: Map<string, unknown>;
  Alert: unknown;
  APIAlerts: unknown[];
  GetSources(): string[];
}

export class PEvent {
  Type: number = EventType.LOG;
  ExpectMode: number = ExpectMode.LIVE;
  Whitelisted = false;
  WhitelistReason = '';
  Stage = '';
  Line: Line;
  Parsed: StringMap = new Map();
  Enriched: StringMap = new Map();
  Meta: StringMap = new Map();
  Overflow: RuntimeAlert | null = null;
  /** Go zero time is represented by null; set to "now" when parsing starts. */
  Time: Date | null = null;
  StrTime = '';
  StrTimeFormat = '';
  MarshaledTime = '';
  Process = false;

  constructor(line: Line) {
    this.Line = line;
  }

  /**
   * Back to the state of `new PEvent(line)`: every field above to its initial value (keep
   * the two lists in step; test/core/event.test.ts fails when a field is left out). Fresh
   * Maps rather than clear(): V8's clear() allocates a new table too, and is slower. For a
   * thread that parses one line at a time and lets no event outlive its line (pool worker).
   * Static, so that classes implementing PEvent's shape (pooled-event.ts) need not have it.
   */
  static reset(evt: PEvent, line: Line): PEvent {
    evt.Type = EventType.LOG;
    evt.ExpectMode = ExpectMode.LIVE;
    evt.Whitelisted = false;
    evt.WhitelistReason = '';
    evt.Stage = '';
    evt.Line = line;
    evt.Parsed = emptied(evt.Parsed);
    evt.Enriched = emptied(evt.Enriched);
    evt.Meta = emptied(evt.Meta);
    evt.Overflow = null;
    evt.Time = null;
    evt.StrTime = '';
    evt.StrTimeFormat = '';
    evt.MarshaledTime = '';
    evt.Process = false;
    return evt;
  }

  /** `evt.GetType()` in expressions. */
  GetType(): string {
    return this.Type === EventType.OVFLW ? 'overflow' : 'log';
  }

  /** `evt.GetMeta(key)`: LOG reads Meta; OVFLW returns the first non-empty value among its alert's events. */
  GetMeta(key: string): string {
    if (this.Type === EventType.LOG) return this.Meta.get(key) ?? '';
    const alert = this.Overflow?.Alert as { Events?: { Meta?: { key: string; value: string }[] }[] } | undefined;
    for (const ev of alert?.Events ?? []) {
      for (const m of ev.Meta ?? []) if (m.key === key && m.value !== '') return m.value;
    }
    return '';
  }
}

/** `m` emptied if it is a FieldMap, else a new FieldMap (`m` left as it was). */
function emptied(m: StringMap): StringMap {
  if (m instanceof FieldMap) {
    m.clear();
    return m;
  }
  return new FieldMap();
}

// A set() loop is about twice as fast as `new Map(map)` (iterator protocol) for the one or
// two labels an event carries.
function copyMap(m: StringMap): StringMap {
  const out: StringMap = new Map();
  for (const [k, v] of m) out.set(k, v);
  return out;
}

// sameLabels' forEach callback, allocated once (a for-of allocated an iterator per line).
let against: StringMap | null = null;
let same = true;
const compareOne = (v: string, k: string): void => {
  if (same && against!.get(k) !== v) same = false;
};

/** Whether `copy` has exactly the entries of `labels` (a copied label map left unchanged). */
function sameLabels(copy: StringMap, labels: StringMap): boolean {
  if (copy.size !== labels.size) return false;
  against = copy;
  same = true;
  labels.forEach(compareOne);
  against = null;
  return same;
}

/**
 * newLogEvent into an existing event: `evt` reset (PEvent.reset) for `raw`, its Line object
 * and label copy reused when still equal to `labels`. Only for an event nothing else holds.
 */
export function reuseLogEvent(evt: PEvent, raw: string, src: string, module: string, labels: StringMap, time: Date, mode: number): PEvent {
  const line = evt.Line;
  line.Raw = raw;
  line.Src = src;
  line.Time = time;
  // A static may have written into the copy (target evt.Line.Labels.x): copy again then.
  if (!sameLabels(line.Labels, labels)) line.Labels = copyMap(labels);
  line.Module = module;
  line.Process = true;
  PEvent.reset(evt, line);
  evt.ExpectMode = mode;
  return evt;
}

/** Builds a LOG event for one raw line, as acquisition would. */
export function newLogEvent(raw: string, opts: {
  src?: string;
  module?: string;
  labels?: Record<string, string> | StringMap;
  time?: Date;
  mode?: number;
}): PEvent {
  const labels = opts.labels instanceof Map ? copyMap(opts.labels) : new Map(Object.entries(opts.labels ?? {}));
  const ev = new PEvent({
    Raw: raw,
    Src: opts.src ?? '',
    Time: opts.time ?? new Date(),
    Labels: labels,
    Module: opts.module ?? 'file',
    Process: true,
  });
  ev.ExpectMode = opts.mode ?? ExpectMode.LIVE;
  return ev;
}
