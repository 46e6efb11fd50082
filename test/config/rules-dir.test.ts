/**
 * loadRulesDir with compileParsers false (the pool's pouring side): parsers are not compiled,
 * yet it must report the same `method:` names as a full load (they decide whether GeoIP data
 * is opened for the workers) and leave the same pattern library for postoverflows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  listStagedFiles, loadParserFiles, loadRulesDir, scanParserFiles, usedMethods, SHIPPED_RULES_DIR,
} from '../../src/config/rules-dir.js';
import { DataFiles } from '../../src/config/data-files.js';
import { PatternLibrary } from '../../src/grok/library.js';
import { LoadError } from '../../src/core/errors.js';
import { requireDebianReference } from '../support/debian.js';

const sorted = (s: ReadonlySet<string>): string[] => [...s].sort();

test('shipped rules: scanned methods equal the compiled ones, and no parser is compiled', () => {
  const full = loadRulesDir(SHIPPED_RULES_DIR, { strict: true, warn: () => {} });
  const scan = loadRulesDir(SHIPPED_RULES_DIR, { strict: true, warn: () => {}, compileParsers: false });
  assert.deepEqual(sorted(full.parserMethods), sorted(usedMethods(full.parsers.set)));
  assert.ok(full.parserMethods.has('ParseDate') && full.parserMethods.has('GeoIpCity'), 'the shipped enrich parsers call ParseDate and GeoIpCity');
  assert.deepEqual(sorted(scan.parserMethods), sorted(full.parserMethods));
  assert.deepEqual(scan.parsers.set.stages, []);
  assert.equal(scan.parsers.set.byStage.size, 0);
  assert.ok(full.parsers.set.stages.length >= 3);
  // Postoverflows and scenarios are the same either way.
  assert.deepEqual(scan.scenarioFiles, full.scenarioFiles);
  assert.deepEqual(scan.postoverflows.set.stages, full.postoverflows.set.stages);
});

test('Debian hub: scanned methods of the files that load equal the compiled ones', (t) => {
  const ref = requireDebianReference(t);
  if (!ref) return;
  const patterns = PatternLibrary.withBuiltins();
  patterns.loadDir(ref.patterns);
  const data = new DataFiles(ref.data, () => {});
  const files = listStagedFiles(join(ref.hub, 'parsers'));
  const res = loadParserFiles(files, { strict: false, patterns, data, helpers: { warn: () => {}, data } });
  const ok = new Set(res.loaded.map((l) => l.file));
  const loadedFiles = files.filter((f) => ok.has(f.file));
  assert.ok(loadedFiles.length > 50, `${loadedFiles.length} hub parser files loaded`);
  const compiled = usedMethods(res.set);
  assert.ok(compiled.has('ParseDate'), `methods: ${sorted(compiled).join(',')}`); // this snapshot has no geoip-enrich
  assert.deepEqual(sorted(scanParserFiles(loadedFiles, null)), sorted(compiled));
});

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-rules-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

test('pattern_syntax of parsers reaches postoverflows when parsers are only scanned', (t) => {
  const dir = tree({
    'parsers/s01-parse/a.yaml': [
      'name: test/a',
      'filter: "1 == 1"',
      'pattern_syntax:',
      '  MYWORD: "[a-z]+"',
      'nodes:',
      '  - grok:',
      '      pattern: "%{MYWORD:w}"',
      '      apply_on: message',
      '    statics:',
      '      - method: CustomThing',
      '        expression: evt.Parsed.w',
      '',
    ].join('\n'),
    'postoverflows/s01-whitelist/p.yaml': [
      'name: test/p',
      'filter: "1 == 1"',
      'grok:',
      '  pattern: "^%{MYWORD:x}$"',
      '  apply_on: message',
      '',
    ].join('\n'),
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const full = loadRulesDir(dir, { strict: true });
  const scan = loadRulesDir(dir, { strict: true, compileParsers: false });
  assert.deepEqual(sorted(scan.parserMethods), ['CustomThing']);
  assert.deepEqual(sorted(full.parserMethods), ['CustomThing']);
  assert.equal(scan.patterns.get('MYWORD'), '[a-z]+');
  assert.deepEqual(scan.postoverflows.set.stages, ['s01-whitelist']);
  assert.equal(scan.postoverflows.set.byStage.get('s01-whitelist')?.length, 1);
});

test('a YAML error in a scanned parser file is a LoadError naming the file', (t) => {
  const dir = tree({ 'parsers/s02-enrich/bad.yaml': 'statics:\n  - method: ParseDate\n    expression: [unclosed\n' });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => loadRulesDir(dir, { strict: true, compileParsers: false }), (e: unknown) => {
    assert.ok(e instanceof LoadError);
    assert.equal(e.where.file, join(dir, 'parsers/s02-enrich/bad.yaml'));
    return true;
  });
});

test('files that never mention method or pattern_syntax are not parsed', (t) => {
  // Invalid YAML, but nothing the scan needs: a full load would fail, the scan skips it.
  const dir = tree({ 'parsers/s01-parse/x.yaml': 'name: [oops\n' });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => loadRulesDir(dir, { strict: true }), LoadError);
  assert.equal(loadRulesDir(dir, { strict: true, compileParsers: false }).parserMethods.size, 0);
});
