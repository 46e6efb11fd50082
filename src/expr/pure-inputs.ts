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
  if (!collectReads(ast, reads, (name) => calls.has(name), readOf)) return null;
  return [...reads.keys()].sort().map((k) => reads.get(k)!);
}

/**
 * Walks `n`, adding every event field it reads to `reads` (keyed, distinct); false when the
 * expression may read something unnamed: a bare name (`evt` itself goes anywhere), a method
 * call, a helper `call` refuses, or a path `read` refuses outright (false). `read` names the
 * read a member/index node makes (null: not a read of its own; its object and index are then
 * walked, e.g. `#.field` or `x[i]` on values computed from allowed reads). Shared by
 * pureInputs and field-reads.ts, which differ only in the helpers and reads they accept.
 */
export function collectReads(
  n: Node,
  reads: Map<string, FieldRead>,
  call: (name: string) => boolean,
  read: (n: Node) => FieldRead | null | false,
): boolean {
  const walk = (x: Node): boolean => collectReads(x, reads, call, read);
  switch (n.kind) {
    case 'nil': case 'bool': case 'int': case 'float': case 'string': case 'pointer':
      return true;
    case 'array':
      return n.items.every(walk);
    case 'map':
      return n.entries.every((e) => walk(e.key) && walk(e.value));
    case 'ident':
      return false;
    case 'member': case 'index': {
      const r = read(n);
      if (r === false) return false;
      if (r !== null) {
        reads.set(r.kind === 'map' ? `m\0${r.map}\0${r.key}` : `f\0${r.path.join('.')}`, r);
        return true;
      }
      if (n.kind === 'member') return n.object.kind !== 'ident' && walk(n.object);
      return n.object.kind !== 'ident' && walk(n.object) && walk(n.index);
    }
    case 'slice':
      return walk(n.object) && (n.from === null || walk(n.from)) && (n.to === null || walk(n.to));
    case 'call':
      return call(n.callee) && n.args.every(walk);
    case 'closure':
      return walk(n.body);
    case 'method':
      return false;
    case 'unary':
      return walk(n.operand);
    case 'binary':
      return walk(n.left) && walk(n.right);
    case 'cond':
      return walk(n.test) && walk(n.then) && walk(n.else);
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
