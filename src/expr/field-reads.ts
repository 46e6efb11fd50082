/**
 * Every event field an expression can read, whatever helpers it calls (unlike pure-inputs.ts,
 * which also proves the result depends on those fields only): the basis of the parse
 * deferral analysis (src/parse/deferred.ts), which must know that nothing reads a field
 * before it moves the field's computation later. Helpers see only their arguments, so a
 * call reads what its arguments read. Anything that could reach a field unseen is
 * "unknown" (null): a bare `evt` or any other environment name, a whole map (`evt.Meta`
 * passed to a helper or iterated), a method of the event (`evt.GetMeta(...)`).
 *
 * Also: whether an expression always yields a string without ever throwing, so that a
 * static computing it can neither drop the event, warn, nor count an error.
 */
import type { Node } from './ast.js';
import { parse } from './parser.js';
import { EVT_STRING_FIELDS, evtPath, mapFieldOf } from './evt-field.js';
import { collectReads, type FieldRead } from './pure-inputs.js';

/** The fields `source` reads (distinct), or null when it may read more than can be named. */
export function fieldReads(source: string): FieldRead[] | null {
  let ast: Node;
  try {
    ast = parse(source);
  } catch {
    return null;
  }
  return fieldReadsOf(ast);
}

/** fieldReads on a parsed tree. */
export function fieldReadsOf(ast: Node): FieldRead[] | null {
  const reads = new Map<string, FieldRead>();
  // Helpers see only their arguments: any call reads what its arguments read.
  return collectReads(ast, reads, () => true, readOf) ? [...reads.values()] : null;
}

/** A member/index node's read: null when it is not rooted at `evt`, false when it cannot be named. */
function readOf(n: Node): FieldRead | null | false {
  const path = evtPath(n);
  return path === null ? null : readOfPath(path) ?? false;
}

/**
 * A path below `evt` as one read: a map entry, or a field outside the string maps (Time,
 * Line.Raw, Stage...). A whole map, or a path into a map that is not one key, is unknown.
 */
function readOfPath(path: readonly string[]): FieldRead | null {
  const m = mapFieldOf(path);
  if (m !== null) return { kind: 'map', ...m };
  if (path.length === 0) return null;
  const head = path[0]!;
  if (head === 'Meta' || head === 'Parsed' || head === 'Enriched') return null;
  if (head === 'Line' && (path.length === 1 || path[1] === 'Labels')) return null;
  // Unmarshaled, Overflow, ...: structures that hold copies of event maps in some rule sets.
  if (head === 'Unmarshaled' || head === 'Overflow') return null;
  return { kind: 'field', path };
}

/**
 * True when `source` always evaluates to a string and cannot throw on an event: string
 * literals, map entries (a missing key reads ""), string fields, `+` of two such, and
 * `test ? a : b` of two such with a test of comparisons between literals and reads.
 */
export function alwaysString(source: string): boolean {
  let ast: Node;
  try {
    ast = parse(source);
  } catch {
    return false;
  }
  return isString(ast);
}

function isStringRead(n: Node): boolean {
  const path = evtPath(n);
  if (path === null) return false;
  if (mapFieldOf(path) !== null) return true;
  return path.length === 1 && EVT_STRING_FIELDS.has(path[0]!);
}

function isString(n: Node): boolean {
  switch (n.kind) {
    case 'string': return true;
    case 'member': case 'index': return isStringRead(n);
    case 'binary': return n.op === '+' && isString(n.left) && isString(n.right);
    case 'cond': return isSafeBool(n.test) && isString(n.then) && isString(n.else);
    // Case mapping of a string cannot fail.
    case 'call': return (n.callee === 'Upper' || n.callee === 'Lower') && n.args.length === 1 && isString(n.args[0]!);
    default: return false;
  }
}

/**
 * Whether an expression always yields a string or an integer and cannot throw: alwaysString,
 * or `len(s)` of such a string (a static converts the integer without a warning).
 */
export function alwaysScalar(source: string): boolean {
  let ast: Node;
  try {
    ast = parse(source);
  } catch {
    return false;
  }
  if (isString(ast)) return true;
  return ast.kind === 'call' && ast.callee === 'len' && ast.args.length === 1 && isString(ast.args[0]!);
}

function isSafeBool(n: Node): boolean {
  switch (n.kind) {
    case 'bool': return true;
    case 'unary': return (n.op === '!' || n.op === 'not') && isSafeBool(n.operand);
    case 'binary':
      if (n.op === '&&' || n.op === '||' || n.op === 'and' || n.op === 'or') return isSafeBool(n.left) && isSafeBool(n.right);
      // Equality never throws, whatever the operand types.
      if (n.op === '==' || n.op === '!=') return isOperand(n.left) && isOperand(n.right);
      // Membership of a string in a list of literals compares, never throws.
      if (n.op === 'in') return isString(n.left) && n.right.kind === 'array' && n.right.items.every((x) => x.kind === 'string');
      return false;
    default: return false;
  }
}

function isOperand(n: Node): boolean {
  return n.kind === 'string' || n.kind === 'int' || n.kind === 'bool' || n.kind === 'nil' || isStringRead(n);
}
