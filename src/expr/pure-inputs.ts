/**
 * Which event fields an expr filter reads, when its result depends on them only (no
 * TimeNow, LookupHost, decision counts, methods, bare `evt`): the basis of every memo keyed
 * on a filter's inputs (scenario filter memo, stage filter sharing in parse/stages.ts).
 */
import type { Node } from './ast.js';
import { parse } from './parser.js';
import { EVT_STRING_FIELDS, LINE_STRING_FIELDS, evtPath, mapFieldOf, type EvtMap } from './evt-field.js';

/** Helpers and builtins whose result depends on their arguments only. */
const PURE_CALLS = new Set([
  'len', 'all', 'none', 'any', 'one', 'filter', 'map', 'count',
  'Upper', 'Lower', 'XMLGetNodeValue', 'XMLGetAttributeValue', 'JsonExtract', 'JsonExtractLib', 'JsonExtractUnescape',
  'JsonExtractSlice', 'JsonExtractObject', 'ToJsonString', 'File', 'RegexpInFile', 'IpInRange', 'IpToRange',
  'PathUnescape', 'QueryUnescape', 'PathEscape', 'QueryEscape', 'ParseUri', 'Atof', 'Sprintf',
]);

/**
 * The pure helpers that never warn (data-file and XML/JSON helpers report bad input or a
 * missing file per evaluation): a memo that skips evaluations changes nothing observable.
 */
export const QUIET_CALLS: ReadonlySet<string> = new Set(['len', 'all', 'none', 'any', 'one', 'filter', 'map', 'count', 'Upper', 'Lower']);

/** One field a filter reads: a map key, or a string field. */
export type FieldRead =
  | { kind: 'map'; map: EvtMap; key: string }
  | { kind: 'field'; path: readonly string[] };

/**
 * The fields a pure filter reads (sorted, distinct), or null when it is not provably pure.
 * `calls`: the helpers allowed (default every pure one; QUIET_CALLS for memos that must not
 * drop warnings).
 */
export function pureInputs(source: string, calls: ReadonlySet<string> = PURE_CALLS): FieldRead[] | null {
  let ast: Node;
  try {
    ast = parse(source);
  } catch {
    return null;
  }
  const reads = new Map<string, FieldRead>();
  if (!visit(ast, reads, calls)) return null;
  return [...reads.keys()].sort().map((k) => reads.get(k)!);
}

function visit(n: Node, reads: Map<string, FieldRead>, calls: ReadonlySet<string>): boolean {
  switch (n.kind) {
    case 'nil': case 'bool': case 'int': case 'float': case 'string': case 'pointer':
      return true;
    case 'array':
      return n.items.every((x) => visit(x, reads, calls));
    case 'map':
      return n.entries.every((e) => visit(e.key, reads, calls) && visit(e.value, reads, calls));
    case 'ident':
      return false; // a bare `evt` (or any other name) may go anywhere
    case 'member': case 'index': {
      const r = readOf(n);
      if (r) {
        reads.set(r.kind === 'map' ? `m\0${r.map}\0${r.key}` : `f\0${r.path.join('.')}`, r);
        return true;
      }
      // `#.field`, `x[i]` on values computed from allowed reads.
      if (n.kind === 'member') return n.object.kind !== 'ident' && visit(n.object, reads, calls);
      return n.object.kind !== 'ident' && visit(n.object, reads, calls) && visit(n.index, reads, calls);
    }
    case 'slice':
      return visit(n.object, reads, calls) && (n.from === null || visit(n.from, reads, calls)) && (n.to === null || visit(n.to, reads, calls));
    case 'call':
      return calls.has(n.callee) && n.args.every((a) => visit(a, reads, calls));
    case 'closure':
      return visit(n.body, reads, calls);
    case 'method':
      return false;
    case 'unary':
      return visit(n.operand, reads, calls);
    case 'binary':
      return visit(n.left, reads, calls) && visit(n.right, reads, calls);
    case 'cond':
      return visit(n.test, reads, calls) && visit(n.then, reads, calls) && visit(n.else, reads, calls);
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
  if (path.length === 1 && EVT_STRING_FIELDS.has(path[0]!)) return { kind: 'field', path };
  // Not Line.Raw: nearly every line is unique, so a memo keyed on it would only fill up.
  if (path.length === 2 && path[0] === 'Line' && path[1] !== 'Raw' && LINE_STRING_FIELDS.has(path[1]!)) return { kind: 'field', path };
  return null;
}
