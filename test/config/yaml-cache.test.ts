/**
 * The disk cache of parsed YAML (config/yaml-cache.ts, used by yaml-source.ts parseYamlDocs):
 * documents read back are those of a parse, positions included; corrupt or foreign entries are
 * ignored and rewritten; values JSON cannot carry exactly are never cached; an unwritable
 * directory only costs the saving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureYamlDiskCache } from '../../src/config/yaml-cache.js';
import { keyPosOf, parseYamlDocs, posOf } from '../../src/config/yaml-source.js';
import { LoadError } from '../../src/core/errors.js';

const TEXT = `name: a/b
nodes:
  - grok: {pattern: '%{WORD:x}', apply_on: message}
    statics:
      - meta: k
        value: "v"
n: 12
f: 1.5
t: true
z: ~
---
- second
`;

test('a cached parse gives the documents and positions of a fresh one', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'yaml-cache-'));
  t.after(() => { configureYamlDiskCache(); rmSync(root, { recursive: true, force: true }); });
  const cache = configureYamlDiskCache({ dir: root })!;
  const first = parseYamlDocs(TEXT, 'a.yaml');
  assert.deepEqual(cache.stats, { hits: 0, misses: 1, writes: 1 });
  const again = parseYamlDocs(TEXT, 'b.yaml');
  assert.deepEqual(cache.stats, { hits: 1, misses: 1, writes: 1 });
  assert.notEqual(again[0]!.value, first[0]!.value);
  assert.deepEqual(again, first);
  const nodes = (v: YamlValue): YamlValue[] => (v as { nodes: YamlValue[] }).nodes;
  const [n0, n1] = [nodes(first[0]!.value as YamlValue)[0]!, nodes(again[0]!.value as YamlValue)[0]!];
  assert.deepEqual(posOf(n1), posOf(n0));
  assert.deepEqual(posOf(n1), { line: 3, col: 5 });
  assert.deepEqual(keyPosOf(again[0]!.value, 'n'), { line: 7, col: 1 });
  assert.deepEqual(keyPosOf(n1, 'statics'), keyPosOf(n0, 'statics'));
});
type YamlValue = Record<string, unknown>;

test('corrupt and foreign entries are ignored and rewritten; inexact values are not cached', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'yaml-cache-'));
  t.after(() => { configureYamlDiskCache(); rmSync(root, { recursive: true, force: true }); });
  const cache = configureYamlDiskCache({ dir: root })!;
  parseYamlDocs(TEXT, 'a.yaml');
  const [entry] = readdirSync(cache.dir);
  const path = join(cache.dir, entry!);
  for (const bad of ['{"key": "', JSON.stringify({ key: 'other', docs: [], positions: [], nodes: 0 }), JSON.stringify({ key: entry!.replace('.json', ''), docs: [{ index: 0, pos: { line: 1, col: 1 }, value: { a: 1 } }], positions: [9], nodes: 1 })]) {
    writeFileSync(path, bad);
    const writes = cache.stats.writes;
    const docs = parseYamlDocs(TEXT, 'a.yaml');
    assert.equal((docs[0]!.value as YamlValue).name, 'a/b');
    assert.deepEqual(keyPosOf(docs[0]!.value, 'n'), { line: 7, col: 1 });
    assert.equal(cache.stats.writes, writes + 1, 'rewritten');
  }
  // -0 and .inf do not come back from JSON as they are: parsed every time.
  for (const text of ['a: -0\n', 'a: .inf\n', 'a: [1, .nan]\n']) {
    const writes = cache.stats.writes;
    const v = parseYamlDocs(text, 'x.yaml')[0]!.value as { a: unknown };
    assert.equal(cache.stats.writes, writes, text);
    assert.deepEqual(parseYamlDocs(text, 'x.yaml')[0]!.value, v);
  }
  assert.ok(Object.is((parseYamlDocs('a: -0\n', 'x.yaml')[0]!.value as { a: number }).a, -0));
});

test('syntax errors are not cached; an unwritable or disabled cache only parses', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'yaml-cache-'));
  t.after(() => { configureYamlDiskCache(); rmSync(root, { recursive: true, force: true }); });
  const cache = configureYamlDiskCache({ dir: root })!;
  for (let i = 0; i < 2; i++) {
    assert.throws(() => parseYamlDocs('a: [\n', 'bad.yaml'), (e: unknown) => e instanceof LoadError && e.where.file === 'bad.yaml' && e.where.line !== undefined);
  }
  assert.equal(cache.stats.writes, 0);
  const file = join(root, 'not-a-dir');
  writeFileSync(file, '');
  const blocked = configureYamlDiskCache({ dir: file })!;
  assert.deepEqual(parseYamlDocs(TEXT, 'a.yaml')[1]!.value, ['second']);
  assert.deepEqual(parseYamlDocs(TEXT, 'a.yaml')[1]!.value, ['second']);
  assert.equal(blocked.stats.writes, 0);
  assert.equal(configureYamlDiskCache({ dir: null }), null);
  assert.deepEqual(parseYamlDocs(TEXT, 'a.yaml')[0]!.pos, { line: 1, col: 1 });
});
