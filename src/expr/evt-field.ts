/**
 * Recognises reads of event fields in a parsed expr filter (`evt.Meta.k`, `evt.Meta['k']`,
 * `evt.Line.Labels.k`, `evt.StrTime`, ...). Shared by the route index, the filter memos and
 * the statics, which key on or copy the fields an expression reads.
 */
import type { Node } from './ast.js';

export type EvtMap = 'Meta' | 'Parsed' | 'Enriched' | 'Labels';

/** The event's own string fields (`evt.X`; always strings on a PEvent). */
export type EvtStringField = 'Stage' | 'StrTime' | 'StrTimeFormat' | 'MarshaledTime' | 'WhitelistReason';
export const EVT_STRING_FIELDS: ReadonlySet<string> = new Set<EvtStringField>(['Stage', 'StrTime', 'StrTimeFormat', 'MarshaledTime', 'WhitelistReason']);
/** The line's string fields (`evt.Line.X`). */
export type LineStringField = 'Raw' | 'Src' | 'Module';
export const LINE_STRING_FIELDS: ReadonlySet<string> = new Set<LineStringField>(['Raw', 'Src', 'Module']);

/** The member path below `evt` (e.g. ['Meta', 'log_type']), or null when not rooted at evt. */
export function evtPath(n: Node): string[] | null {
  const path: string[] = [];
  let cur: Node = n;
  for (;;) {
    if (cur.kind === 'member') path.push(cur.name);
    else if (cur.kind === 'index' && cur.index.kind === 'string') path.push(cur.index.value);
    else break;
    cur = cur.object;
  }
  if (cur.kind !== 'ident' || cur.name !== 'evt') return null;
  return path.reverse();
}

/** The string map and key a path reads (Meta/Parsed/Enriched.k, Line.Labels.k), or null. */
export function mapFieldOf(path: readonly string[]): { map: EvtMap; key: string } | null {
  if (path.length === 2 && (path[0] === 'Meta' || path[0] === 'Parsed' || path[0] === 'Enriched')) return { map: path[0], key: path[1]! };
  if (path.length === 3 && path[0] === 'Line' && path[1] === 'Labels') return { map: 'Labels', key: path[2]! };
  return null;
}
