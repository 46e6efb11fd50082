/**
 * Public API of the expr language: compile once at load time, run per event.
 *
 *   const f = compileFilter("evt.Parsed.program == 'sshd'", { env: ['evt'], where: { file, item } });
 *   if (f({ evt })) ...
 *
 * See README.md for the semantics and the quirks kept from CrowdSec 1.4.6 / expr v1.9.
 */
import { LoadError, type Where } from '../core/errors.js';
import { parse, ParseError } from './parser.js';
import { lineCol } from './lexer.js';
import { Compiler, CheckError, type MapRead } from './compiler.js';
import { ExprRuntimeError } from './runtime.js';
import { typeName } from './types.js';
import type { DataFileStore, HelperContext } from './helpers.js';

export type { DataFileStore, HelperContext, MapRead };
export { ExprRuntimeError };
export { AnyMap } from './runtime.js';

export interface ExprOptions {
  /** Names of the variables the expression may reference, e.g. ['evt'], ['queue','signal','leaky'], ['Alert'], ['results']. Unknown identifiers are a load error. */
  env: readonly string[];
  helpers?: HelperContext;
  /** Copied into LoadErrors (file/item/path). If `line`/`col` are given they are taken as the
   * position of the expression's first character in the file, and the error position is
   * shifted by the position inside the expression. */
  where?: Where;
}

export interface CompiledExpr {
  readonly source: string;
  /** Static result type as the checker sees it (`string`, `bool`, `int`, `float64`, `interface {}`...).
   * Always set by compileExpr; optional so hand-made stubs of this interface stay valid. */
  readonly resultType?: string;
  /** Evaluate against an environment object (e.g. { evt }). Throws ExprRuntimeError on runtime errors. */
  run(env: Record<string, unknown>): unknown;
  /**
   * The compiled closure itself (call as `fn(env, null)`), for hot callers that catch errors
   * anyway: the same result as run(), but an error that is not an ExprRuntimeError comes out
   * as thrown, without run()'s wrapping (see runErrorMessage). Absent on hand-made stubs.
   */
  readonly fn?: (env: Record<string, unknown>, it: unknown) => unknown;
  /** Set when the expression is nothing but a string-map read such as `evt.Parsed.program`. */
  readonly mapRead?: MapRead;
}

/** The message run() would give an error thrown while evaluating `source`. */
export function runErrorMessage(e: unknown, source: string): string {
  if (e instanceof ExprRuntimeError) return e.message;
  return `${(e as Error)?.message ?? String(e)} (in ${JSON.stringify(source)})`;
}

/** A LoadError that also carries the 1-based position inside the expression text. */
export class ExprLoadError extends LoadError {
  constructor(code: LoadError['code'], reason: string, where: Where, readonly exprLine: number, readonly exprCol: number) {
    super(code, reason, where);
  }
}

function loadError(source: string, code: LoadError['code'], msg: string, pos: number, where: Where = {}): ExprLoadError {
  const { line, col } = lineCol(source, pos);
  const multiline = source.includes('\n');
  const at = multiline ? `line ${line}, column ${col}` : `column ${col}`;
  const shown = source.length > 200 ? source.slice(0, 200) + '...' : source;
  const w: Where = { ...where };
  if (where.line !== undefined) {
    w.line = where.line + line - 1;
    w.col = line === 1 && where.col !== undefined ? where.col + col - 1 : col;
  }
  return new ExprLoadError(code, `${msg} at ${at} of expression ${JSON.stringify(shown)}`, w, line, col);
}

/** Compiles `source`; throws LoadError ('EXPR_SYNTAX' | 'EXPR_TYPE' | 'REGEX_COMPILE') with position. */
export function compileExpr(source: string, opts: ExprOptions): CompiledExpr {
  if (typeof source !== 'string') {
    throw new LoadError('EXPR_SYNTAX', `expression must be a string, got ${source === null ? 'null' : typeof source}`, opts.where ?? {});
  }
  let compiled;
  try {
    const ast = parse(source);
    compiled = new Compiler(opts.env, opts.helpers ?? {}).compile(ast);
  } catch (e) {
    if (e instanceof ParseError) throw loadError(source, 'EXPR_SYNTAX', e.message, e.pos, opts.where);
    if (e instanceof CheckError) throw loadError(source, e.code, e.message, e.pos, opts.where);
    if (e instanceof RangeError) throw loadError(source, 'EXPR_SYNTAX', 'expression too deeply nested', 0, opts.where);
    throw e;
  }
  const fn = compiled.fn;
  return {
    source,
    resultType: typeName(compiled.t),
    fn,
    ...(compiled.read ? { mapRead: compiled.read } : {}),
    run(env: Record<string, unknown>): unknown {
      try {
        return fn(env, null);
      } catch (e) {
        if (e instanceof ExprRuntimeError) throw e;
        // Anything else (a method of the environment throwing, stack overflow) is still an
        // evaluation failure of this expression, never a crash of the caller.
        throw new ExprRuntimeError(runErrorMessage(e, source));
      }
    },
  };
}

/** Convenience for filters: bool result required; runtime error or non-bool -> false; calls onError if given. */
export function compileFilter(
  source: string,
  opts: ExprOptions & { onError?: (e: Error) => void },
): (env: Record<string, unknown>) => boolean {
  const c = compileExpr(source, opts);
  if (c.resultType !== undefined && c.resultType !== 'bool' && c.resultType !== 'interface {}' && c.resultType !== 'nil') {
    // expr.AsBool(): a filter whose type is known not to be bool is rejected at load.
    throw new LoadError('EXPR_TYPE', `expected bool, but got ${c.resultType} in expression ${JSON.stringify(source)}`, opts.where ?? {});
  }
  const onError = opts.onError;
  return (env) => {
    try {
      const v = c.run(env);
      if (typeof v === 'boolean') return v;
      onError?.(new ExprRuntimeError(`expected bool, but got ${v === null ? 'nil' : typeof v} from ${JSON.stringify(source)}`));
      return false;
    } catch (e) {
      onError?.(e as Error);
      return false;
    }
  };
}
