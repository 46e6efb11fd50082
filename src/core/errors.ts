/**
 * Stable error codes for load-time failures (rules, patterns, expressions). Every load error
 * names where it happened: file, item (parser/scenario name) and a position when known, so an
 * operator can go straight to the line.
 */

export type LoadErrorCode =
  | 'YAML_SYNTAX'
  | 'UNKNOWN_KEY'
  | 'SCHEMA'
  | 'EXPR_SYNTAX'
  | 'EXPR_TYPE'
  | 'GROK_UNKNOWN_PATTERN'
  | 'GROK_TRANSLATE'
  | 'GROK_NO_SEMANTIC'
  | 'REGEX_COMPILE'
  | 'DATA_FILE'
  | 'IO';

export interface Where {
  file?: string;
  item?: string;
  /** 1-based line and column in `file`. */
  line?: number;
  col?: number;
  /** Free-form path inside the item, e.g. `nodes[2].grok.pattern`. */
  path?: string;
}

export function formatWhere(w: Where): string {
  let s = w.file ?? '<input>';
  if (w.line !== undefined) s += `:${w.line}` + (w.col !== undefined ? `:${w.col}` : '');
  if (w.item) s += ` (${w.item}${w.path ? ' ' + w.path : ''})`;
  else if (w.path) s += ` (${w.path})`;
  return s;
}

export class LoadError extends Error {
  readonly code: LoadErrorCode;
  readonly where: Where;
  readonly reason: string;
  constructor(code: LoadErrorCode, reason: string, where: Where = {}) {
    super(`${formatWhere(where)}: ${reason}`);
    this.name = 'LoadError';
    this.code = code;
    this.where = where;
    this.reason = reason;
  }

  /** Returns a copy with more context filled in (fields already set win). */
  withWhere(extra: Where): LoadError {
    return new LoadError(this.code, this.reason, { ...extra, ...definedOnly(this.where) });
  }
}

function definedOnly(w: Where): Where {
  const out: Where = {};
  for (const [k, v] of Object.entries(w)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
