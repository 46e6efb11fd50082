/**
 * YAML documents parsed once and handed to pool workers (config/yaml-source.ts packDocs,
 * unpackDocs, preloadYamlDocs; config/rule-docs.ts packRuleDocs): after a structured clone the
 * values and every position known to posOf/keyPosOf are those of a fresh parse; a preloaded
 * file is used only for the same text, once; files that cannot be packed are left to the worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  keyPosOf, packDocs, parseYamlDocs, posOf, preloadYamlDocs, dropPreloadedYamlDocs, recordYamlDocs, takeRecordedDocs, unpackDocs,
  type Pos, type YamlDoc,
} from '../../src/config/yaml-source.js';
import { packRuleDocs, rememberRuleDocs, ruleYamlFiles } from '../../src/config/rule-docs.js';
import { SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';

const TEXT = `name: a/b
filter: "evt.Line.Labels.type == 'syslog'"
nodes:
  - grok:
      pattern: '%{WORD:x}'
      apply_on: message
    statics:
      - meta: k
        value: v
      - {target: evt.Parsed.y, expression: "1 + 2"}
  - []
anchors: &a {p: 1, q: [2, 3]}
again: *a
dup: 1
dup: 2
empty:
num: 1.5
---
# a second document
- x
- {y: true}
`;

/** Every map/sequence of a document tree with its position and its keys' positions, in walk order. */
function positions(docs: readonly YamlDoc[]): unknown[] {
  const out: unknown[] = [];
  const walk = (v: unknown, path: string): void => {
    if (typeof v !== 'object' || v === null) return;
    const p: Pos | undefined = posOf(v);
    out.push([path, p?.line, p?.col]);
    if (Array.isArray(v)) { v.forEach((x, i) => walk(x, `${path}[${i}]`)); return; }
    for (const [k, x] of Object.entries(v)) {
      const kp = keyPosOf(v, k);
      out.push([`${path}.${k}`, kp?.line, kp?.col]);
      walk(x, `${path}.${k}`);
    }
  };
  docs.forEach((d) => walk(d.value, `#${d.index}`));
  return out;
}

test('packed documents survive a structured clone with their values and positions', () => {
  const parsed = parseYamlDocs(TEXT, 'f.yaml');
  const packed = packDocs('f.yaml', TEXT, parsed);
  assert.ok(packed);
  const back = unpackDocs(structuredClone(packed));
  assert.ok(back);
  assert.deepEqual(back.map((d) => d.value), parsed.map((d) => d.value));
  assert.deepEqual(back.map((d) => [d.index, d.pos]), parsed.map((d) => [d.index, d.pos]));
  const want = positions(parsed);
  assert.deepEqual(positions(back), want);
  // Real positions, not all zero: `filter` is on line 2, the statics' flow map on line 10.
  assert.ok(want.some((x) => JSON.stringify(x) === JSON.stringify(['#0.filter', 2, 1])));
  assert.ok(want.some((x) => (x as unknown[])[0] === '#0.nodes[0].statics[1]' && (x as unknown[])[1] === 10));
});

test('a pack that does not fit its values is refused, and a __proto__ key is not packed', () => {
  const parsed = parseYamlDocs(TEXT, 'f.yaml');
  const packed = packDocs('f.yaml', TEXT, parsed)!;
  assert.equal(unpackDocs({ ...packed, positions: packed.positions.slice(2) }), null);
  assert.equal(unpackDocs({ ...packed, nodes: packed.nodes + 1 }), null);
  const proto = '__proto__: {a: 1}\nb: 2\n';
  assert.equal(packDocs('p.yaml', proto, parseYamlDocs(proto, 'p.yaml')), null);
});

test('a preloaded file is used for the same text only, once', () => {
  const parsed = parseYamlDocs(TEXT, '/x/pre.yaml');
  const packed = structuredClone(packDocs('/x/pre.yaml', TEXT, parsed)!);
  preloadYamlDocs([packed]);
  try {
    // Another text under that name: parsed (and the preloaded entry kept for the right text).
    assert.deepEqual(parseYamlDocs('a: 1\n', '/x/pre.yaml').map((d) => d.value), [{ a: 1 }]);
    const first = parseYamlDocs(TEXT, '/x/pre.yaml');
    assert.equal(first[0]!.value, packed.docs[0]!.value, 'the preloaded values themselves');
    assert.deepEqual(keyPosOf(first[0]!.value, 'filter'), { line: 2, col: 1 });
    const second = parseYamlDocs(TEXT, '/x/pre.yaml');
    assert.notEqual(second[0]!.value, first[0]!.value, 'a second parse gets values of its own');
    assert.deepEqual(second.map((d) => d.value), parsed.map((d) => d.value));
  } finally {
    dropPreloadedYamlDocs();
  }
});

test('recording keeps a copy of what was parsed, as parsed', () => {
  recordYamlDocs();
  const docs = parseYamlDocs('a: [1, 2]\n', '/x/rec.yaml');
  (docs[0]!.value as { a: number[] }).a.push(3);
  const rec = takeRecordedDocs();
  assert.deepEqual(rec.get('/x/rec.yaml')?.docs[0]?.value, { a: [1, 2] });
  parseYamlDocs('b: 1\n', '/x/rec2.yaml');
  assert.equal(takeRecordedDocs().size, 0, 'recording stopped at take');
});

test('packRuleDocs packs every rule file a worker parses, leaves out the broken ones, reuses remembered ones', () => {
  const shipped = packRuleDocs(SHIPPED_RULES_DIR);
  assert.deepEqual(shipped.map((p) => p.file), ruleYamlFiles(SHIPPED_RULES_DIR));
  assert.ok(shipped.some((p) => p.file.endsWith('sshd-logs.yaml')));
  assert.ok(shipped.some((p) => p.file.endsWith('simulation.yaml')));

  const dir = mkdtempSync(join(tmpdir(), 'rule-docs-'));
  try {
    mkdirSync(join(dir, 'parsers', 's01-parse'), { recursive: true });
    mkdirSync(join(dir, 'scenarios'));
    const good = join(dir, 'parsers', 's01-parse', 'good.yaml');
    const bad = join(dir, 'parsers', 's01-parse', 'bad.yaml');
    const scen = join(dir, 'scenarios', 's.yaml');
    writeFileSync(good, 'name: x/good\nfilter: "true"\n');
    writeFileSync(bad, 'name: x\n  bad: [\n');
    writeFileSync(scen, 'name: x/s\ntype: trigger\n');
    // The scenario as the main thread's own load parsed it: reused while its text is the same.
    recordYamlDocs();
    parseYamlDocs('name: x/s\ntype: trigger\n', scen);
    const mine = takeRecordedDocs();
    rememberRuleDocs(dir, mine);
    const packs = packRuleDocs(dir);
    assert.deepEqual(packs.map((p) => p.file), [good, scen]);
    assert.equal(packs[1], mine.get(scen));
    assert.deepEqual(unpackDocs(structuredClone(packs[0]!))?.map((d) => d.value), [{ name: 'x/good', filter: 'true' }]);
    // Remembered documents serve one pack only, and only for the text the file still has.
    rememberRuleDocs(dir, mine);
    writeFileSync(scen, 'name: x/s2\ntype: trigger\n');
    const again = packRuleDocs(dir);
    assert.notEqual(again[1], mine.get(scen));
    assert.deepEqual(again[1]?.docs[0]?.value, { name: 'x/s2', type: 'trigger' });
    assert.deepEqual(packRuleDocs(join(dir, 'missing')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
