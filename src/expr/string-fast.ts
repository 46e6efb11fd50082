/**
 * Direct closures for the string expressions parser statics are full of:
 *   evt.Meta.http_path != '' ? evt.Meta.http_path : evt.Parsed.request   (coalesce)
 *   evt.Parsed.file_frag + evt.Parsed.file_ext                            (concat)
 * Built from the syntax tree at load time, they read the event's maps directly instead of
 * walking the compiled closure tree (and statics.ts's input memo, which misses on every
 * line when an input is a path). Only shapes whose result is provably a string and that
 * cannot throw are taken (field-reads.ts alwaysString, restricted further to string
 * comparisons); anything else gets null and the general compiler.
 *
 * Same result as the expression on a PEvent: a missing map key reads "" (Go's zero value),
 * `+` of strings concatenates, `==` / `!=` of strings compare exactly.
 */
import type { Node } from './ast.js';
import { parse } from './parser.js';
import { EVT_STRING_FIELDS, evtPath, mapFieldOf, type EvtStringField } from './evt-field.js';
import { internKey, type PEvent } from '../core/event.js';

export type StringFn = (evt: PEvent) => string;
type BoolFn = (evt: PEvent) => boolean;

/** A direct closure computing `source` on an event, or null when its shape is not one of the above. */
export function compileStringExpr(source: string): StringFn | null {
  let ast: Node;
  try {
    ast = parse(source);
  } catch {
    return null;
  }
  return str(ast);
}

function read(n: Node): StringFn | null {
  const path = evtPath(n);
  if (path === null) return null;
  const m = mapFieldOf(path);
  if (m !== null) {
    const key = internKey(m.key);
    switch (m.map) {
      case 'Meta': return (evt) => evt.Meta.get(key) ?? '';
      case 'Parsed': return (evt) => evt.Parsed.get(key) ?? '';
      case 'Enriched': return (evt) => evt.Enriched.get(key) ?? '';
      case 'Labels': return (evt) => evt.Line.Labels.get(key) ?? '';
    }
  }
  if (path.length === 1 && EVT_STRING_FIELDS.has(path[0]!)) {
    const f = path[0] as EvtStringField;
    return (evt) => evt[f];
  }
  return null;
}

function str(n: Node): StringFn | null {
  switch (n.kind) {
    case 'string': {
      const v = n.value;
      return () => v;
    }
    case 'member': case 'index':
      return read(n);
    case 'binary': {
      if (n.op !== '+') return null;
      const a = str(n.left), b = str(n.right);
      return a && b ? (evt) => a(evt) + b(evt) : null;
    }
    case 'cond': {
      const t = bool(n.test), a = str(n.then), b = str(n.else);
      if (!t || !a || !b) return null;
      // `x != '' ? x : y` (the commonest): one read of x.
      if (n.test.kind === 'binary' && n.test.op === '!=' && n.test.right.kind === 'string' && n.test.right.value === ''
        && sameRead(n.test.left, n.then)) {
        return (evt) => {
          const v = a(evt);
          return v !== '' ? v : b(evt);
        };
      }
      return (evt) => (t(evt) ? a(evt) : b(evt));
    }
    default:
      return null;
  }
}

function bool(n: Node): BoolFn | null {
  switch (n.kind) {
    case 'unary': {
      if (n.op !== 'not' && n.op !== '!') return null;
      const f = bool(n.operand);
      return f ? (evt) => !f(evt) : null;
    }
    case 'binary': {
      if (n.op === '&&' || n.op === 'and' || n.op === '||' || n.op === 'or') {
        const a = bool(n.left), b = bool(n.right);
        if (!a || !b) return null;
        return n.op === '&&' || n.op === 'and' ? (evt) => a(evt) && b(evt) : (evt) => a(evt) || b(evt);
      }
      if (n.op === '==' || n.op === '!=') {
        // String operands only: other types compare by rules of their own.
        const a = str(n.left), b = str(n.right);
        if (!a || !b) return null;
        return n.op === '==' ? (evt) => a(evt) === b(evt) : (evt) => a(evt) !== b(evt);
      }
      return null;
    }
    default:
      return null;
  }
}

function sameRead(x: Node, y: Node): boolean {
  const p = evtPath(x), q = evtPath(y);
  return p !== null && q !== null && p.length === q.length && p.every((s, i) => s === q[i]);
}
