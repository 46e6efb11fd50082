import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoadError } from '../../src/core/errors.js';
import { compileGrok } from '../../src/grok/compile.js';
import { PatternLibrary } from '../../src/grok/library.js';

function withDir(files: Record<string, string>, fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'grok-lib-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('add: first definition wins', () => {
  const l = PatternLibrary.withBuiltins();
  assert.equal(l.add('MINE', 'a+'), true);
  assert.equal(l.add('MINE', 'b+'), false);
  assert.equal(l.get('MINE'), 'a+');
  assert.equal(l.add('WORD', 'x'), false); // built-ins too
  assert.equal(l.get('WORD'), '\\b\\w+\\b');
  assert.equal(l.has('MINE'), true);
  assert.equal(l.has('NOPE'), false);
});

test('clone is independent of the original', () => {
  const a = PatternLibrary.withBuiltins();
  const b = a.clone();
  b.add('ONLY_B', 'x');
  assert.equal(a.has('ONLY_B'), false);
  assert.equal(b.has('ONLY_B'), true);
  assert.equal(b.size, a.size + 1);
});

test('pattern files: only dot-less names, sorted, line syntax ^(\\w+)\\s+(.+)$', () => {
  withDir(
    {
      b_second: 'TWO %{FIRST}-2\n',
      a_first: [
        '# a comment',
        '',
        'FIRST [a-z]+',
        'WITH_TABS\t\t\\d+ \\d+',
        '  INDENTED x', // does not start with a name: ignored
        'NOEXPR',
        'CRLF y+\r',
      ].join('\n'),
      'skipped.txt': 'SKIPPED x\n',
      'README.md': 'ALSO_SKIPPED x\n',
    },
    (dir) => {
      const l = PatternLibrary.withBuiltins();
      l.loadDir(dir);
      assert.equal(l.get('FIRST'), '[a-z]+');
      assert.equal(l.get('WITH_TABS'), '\\d+ \\d+');
      assert.equal(l.get('CRLF'), 'y+');
      assert.equal(l.get('TWO'), '%{FIRST}-2');
      assert.equal(l.has('INDENTED'), false);
      assert.equal(l.has('NOEXPR'), false);
      assert.equal(l.has('SKIPPED'), false);
      assert.equal(l.has('ALSO_SKIPPED'), false);
      assert.deepEqual(l.siteOf('TWO'), { file: join(dir, 'b_second'), line: 1 });
      assert.deepEqual(Object.fromEntries(compileGrok('%{TWO:s}', l).match('abc-2')!), { s: 'abc-2' });
    },
  );
});

test('pattern files: a name defined twice is a LoadError naming file:line', () => {
  withDir({ one: 'DUP a\n', two: '# c\n\nDUP b\n' }, (dir) => {
    const l = PatternLibrary.withBuiltins();
    assert.throws(
      () => l.loadDir(dir),
      (e: unknown) =>
        e instanceof LoadError &&
        e.where.file === join(dir, 'two') &&
        e.where.line === 3 &&
        e.message.startsWith(`${join(dir, 'two')}:3`) &&
        e.reason.includes(`${join(dir, 'one')}:1`),
    );
  });
  withDir({ clash: 'x\nWORD \\w+\n' }, (dir) => {
    assert.throws(
      () => PatternLibrary.withBuiltins().loadDir(dir),
      (e: unknown) => e instanceof LoadError && e.where.line === 2 && /WORD.*built-in/.test(e.reason),
    );
  });
});

test('pattern directory: symlinked files are read, sub-directories skipped, missing dir is IO', () => {
  withDir({ real: 'REAL r\n' }, (dir) => {
    mkdirSync(join(dir, 'subdir'));
    writeFileSync(join(dir, 'subdir', 'inner'), 'INNER x\n');
    const other = mkdtempSync(join(tmpdir(), 'grok-lib-target-'));
    try {
      writeFileSync(join(other, 'target.txt'), 'LINKED l\n');
      symlinkSync(join(other, 'target.txt'), join(dir, 'link'));
      const l = PatternLibrary.withBuiltins();
      l.loadDir(dir);
      assert.equal(l.get('REAL'), 'r');
      assert.equal(l.get('LINKED'), 'l');
      assert.equal(l.has('INNER'), false);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
  assert.throws(
    () => PatternLibrary.withBuiltins().loadDir('/nonexistent/patterns'),
    (e: unknown) => e instanceof LoadError && e.code === 'IO' && e.where.file === '/nonexistent/patterns',
  );
});
