/** Load errors name the file and position; bad input lines never crash explain. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createExplainer } from '../../src/parse/explain.js';
import { LoadError } from '../../src/core/errors.js';
import { makeRulesDir, RAW_STAGE } from '../support/rules-fixture.js';

const quiet = () => {};
async function loadError(files: Record<string, string>): Promise<LoadError> {
  try {
    await createExplainer({ type: 't', configDir: makeRulesDir(files), warn: quiet });
  } catch (e) {
    assert.ok(e instanceof LoadError, `expected LoadError, got ${(e as Error).message}`);
    return e;
  }
  assert.fail('expected a load error');
}

test('malformed YAML names file, line and column', async () => {
  const e = await loadError({ 'parsers/s01-parse/bad.yaml': 'name: x\ndescription: [unclosed\nfilter: a\n' });
  assert.equal(e.code, 'YAML_SYNTAX');
  assert.match(e.where.file ?? '', /bad\.yaml$/);
  assert.ok((e.where.line ?? 0) >= 2, `line ${e.where.line}`);
});

test('an unknown node key names the key and its position', async () => {
  const e = await loadError({ 'parsers/s01-parse/k.yaml': 'name: x\ndescription: d\nfilterr: "true"\nstatics:\n  - meta: a\n    value: b\n' });
  assert.equal(e.code, 'UNKNOWN_KEY');
  assert.match(e.message, /filterr/);
  assert.equal(e.where.line, 3);
  assert.equal(e.where.col, 1);
  assert.equal(e.where.item, 'x');
});

test('a bad grok (unknown pattern) names the pattern and the node', async () => {
  const e = await loadError({ 'parsers/s01-parse/g.yaml': 'name: x\ndescription: d\ngrok:\n  pattern: "%{NOSUCHPATTERN:a}"\n  apply_on: message\n' });
  assert.equal(e.code, 'GROK_UNKNOWN_PATTERN');
  assert.match(e.message, /NOSUCHPATTERN/);
  assert.match(e.message, /g\.yaml:4/);
});

test('a bad expr names the file, line and position in the expression', async () => {
  const e = await loadError({ 'parsers/s01-parse/e.yaml': `name: x\ndescription: d\nfilter: "evt.Parsed.a == (1 +"\n${'statics:\n  - meta: a\n    value: b\n'}` });
  assert.equal(e.code, 'EXPR_SYNTAX');
  assert.match(e.message, /e\.yaml:3/);
});

test('binary junk, invalid UTF-8 and a 1 MB line go through explain without a crash', async () => {
  const ex = await createExplainer({ type: 'syslog', warn: quiet });
  const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)).toString('latin1');
  const invalid = Buffer.from([0x46, 0x65, 0x62, 0x20, 0xff, 0xfe, 0xc3, 0x28, 0x0a]).toString('utf8');
  const huge = 'Feb 12 14:10:21 host sshd[1]: Invalid user ' + 'a'.repeat(1024 * 1024) + ' from 1.2.3.4 port 22';
  const hugeNoMatch = 'x'.repeat(1024 * 1024);
  for (const line of [junk, invalid, huge, hugeNoMatch, '\u0000\u0001\u0002']) {
    const t0 = performance.now();
    const r = ex.explain(line);
    assert.equal(typeof r.success, 'boolean');
    // A stall check, not a benchmark: a catastrophic backtrack would take minutes; linear scans of
    // a 1 MB line by every parser take a few hundred ms, more on a loaded CI machine.
    assert.ok(performance.now() - t0 < 10_000, 'explain of a hostile line must not stall');
  }
});

test('the shipped rules load strictly with no error', async () => {
  const ex = await createExplainer({ type: 'syslog', warn: quiet });
  assert.ok(ex.rules.parsers.set.stages.length >= 3);
  assert.ok(ex.rules.parsers.loaded.length >= 10, `loaded ${ex.rules.parsers.loaded.length} parser files`);
});
