import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpr, compileFilter, ExprLoadError } from '../../src/expr/index.js';
import { LoadError } from '../../src/core/errors.js';

const where = { file: 'parsers/s01-parse/x.yaml', item: 'me/x', path: 'nodes[0].filter' };

function loadErr(src: string, env = ['evt'], w: typeof where & { line?: number; col?: number } = where): ExprLoadError {
  try {
    compileExpr(src, { env, where: w });
  } catch (e) {
    assert.ok(e instanceof ExprLoadError, `expected ExprLoadError, got ${String(e)}`);
    return e;
  }
  assert.fail(`no error for ${src}`);
}

test('syntax errors: code, column, caller where', () => {
  const e = loadErr("evt.Parsed.program == 'sshd' &&");
  assert.equal(e.code, 'EXPR_SYNTAX');
  assert.equal(e.exprLine, 1);
  assert.equal(e.exprCol, 32);
  assert.equal(e.where.file, where.file);
  assert.equal(e.where.item, where.item);
  assert.equal(e.where.path, where.path);
  assert.match(e.message, /^parsers\/s01-parse\/x\.yaml \(me\/x nodes\[0\]\.filter\): unexpected token end of expression at column 32 of expression/);
  const u = loadErr("evt.Parsed.x == 'unterminated");
  assert.equal(u.code, 'EXPR_SYNTAX');
  assert.equal(u.exprCol, 17);
});

test('multi-line expressions report line and column', () => {
  const src = "evt.Meta.log_type == 'http_access-log' &&\n  evt.Meta.http_path contains '/x' &&\n  evt.Metaa.x == ''";
  const e = loadErr(src);
  assert.equal(e.code, 'EXPR_TYPE');
  assert.equal(e.exprLine, 3);
  assert.equal(e.exprCol, 7);
  assert.match(e.reason, /type types\.Event has no field Metaa at line 3, column 7/);
});

test('a caller-given file position is shifted by the position in the expression', () => {
  const e1 = loadErr('evt.Nope', ['evt'], { ...where, line: 10, col: 9 });
  assert.equal(e1.where.line, 10);
  assert.equal(e1.where.col, 9 + 4);
  const e2 = loadErr("true &&\n  evt.Nope", ['evt'], { ...where, line: 10, col: 9 });
  assert.equal(e2.where.line, 11);
  assert.equal(e2.where.col, 7);
  // Without a caller position, the file position stays unknown (only the reason has it).
  const e3 = loadErr('evt.Nope');
  assert.equal(e3.where.line, undefined);
});

test('regex errors are REGEX_COMPILE at the pattern', () => {
  const e = loadErr("evt.Parsed.request matches '^http[s?://'");
  assert.equal(e.code, 'REGEX_COMPILE');
  assert.equal(e.exprCol, 28);
});

test('non-string source and non-bool filter are load errors, not crashes', () => {
  assert.throws(() => compileExpr(42 as unknown as string, { env: ['evt'], where }), (e: unknown) => e instanceof LoadError && e.code === 'EXPR_SYNTAX');
  assert.throws(() => compileFilter("'x' + 'y'", { env: [], where }), (e: unknown) => e instanceof LoadError && e.code === 'EXPR_TYPE' && e.where.file === where.file);
  // Pathologically deep nesting fails cleanly.
  assert.throws(() => compileExpr('('.repeat(20000) + '1' + ')'.repeat(20000), { env: [] }), LoadError);
});
