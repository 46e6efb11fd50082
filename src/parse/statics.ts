/**
 * Statics (spec §2.5): each computes a value (literal or expression over the *current* event)
 * and writes it to Meta / Parsed / Enriched, a field path, or an enricher method.
 */
import type { PEvent } from '../core/event.js';
import type { Static } from './types.js';
import type { ParseRuntime } from './runtime.js';

/** A static whose expression returned a type CrowdSec refuses: the event is dropped. */
export class EventDropError extends Error {}

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

/** Assigns `value` at a field path such as `evt.StrTime` or `evt.Parsed.request` (spec §2.5 `target`). */
function assignTarget(evt: PEvent, path: string, value: string, rt: ParseRuntime): void {
  let parts = targetParts.get(path);
  if (parts === undefined) targetParts.set(path, (parts = (path.startsWith('evt.') ? path.slice(4) : path).split('.')));
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

export function applyStatics(statics: readonly Static[], evt: PEvent, env: { evt: PEvent }, rt: ParseRuntime): void {
  for (const s of statics) {
    let value: string;
    if (s.value !== null) value = s.value;
    else {
      let raw: unknown;
      try {
        raw = s.expr!.run(env);
      } catch (e) {
        rt.counters.staticErrors++;
        rt.warn(`${s.where}: ${(e as Error).message}`);
        continue;
      }
      value = toStaticString(raw, s, rt);
    }
    if (value === '' && !(s.kind === 'method' && s.key === 'ParseDate')) continue;
    switch (s.kind) {
      case 'meta': evt.Meta.set(s.key, value); break;
      case 'parsed': evt.Parsed.set(s.key, value); break;
      case 'enriched': evt.Enriched.set(s.key, value); break;
      case 'target': assignTarget(evt, s.key, value, rt); break;
      case 'method': {
        const fn = rt.enrichers.get(s.key);
        if (!fn) break; // unknown or unregistered (e.g. GeoIP without data): silently nothing
        const out = fn(value, evt);
        if (out) for (const [k, v] of out) evt.Enriched.set(k, v);
        break;
      }
    }
  }
}
