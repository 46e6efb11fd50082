/**
 * Which grok inputs the batch prefilter may answer for (src/parse/prefilter-sites.ts): only
 * Parsed keys whose every value is a substring of the raw line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRulesDir, SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';
import { keysFromLine, sitePlan, AUTO_MIN_SITES } from '../../src/parse/prefilter-sites.js';
import { makeRulesDir, RAW_STAGE } from '../support/rules-fixture.js';

function setOf(s01: string) {
  const dir = makeRulesDir({ 'parsers/s00-raw/raw.yaml': RAW_STAGE, 'parsers/s01-parse/p.yaml': s01 });
  return loadRulesDir(dir, { strict: true, warn: () => {} }).parsers.set;
}

test('shipped rules: message and grok captures come from the line; program, logsource do not', () => {
  const set = loadRulesDir(SHIPPED_RULES_DIR, { strict: true, warn: () => {} }).parsers.set;
  const good = keysFromLine(set)!;
  for (const k of ['message', 'timestamp', 'repeated_message', 'remote_addr', 'request']) assert.ok(good.has(k), k);
  // program: from Labels.type (non-syslog); logsource: the literal "syslog".
  for (const k of ['program', 'logsource']) assert.ok(!good.has(k), k);
  const all = sitePlan(set, 'all')!;
  assert.ok(all.sites > 50 && all.plan.nodeCount === all.sites);
  // 'auto' keeps only unanchored groks, and none below the threshold.
  const auto = sitePlan(set, 'auto');
  assert.ok(auto === null || auto.sites >= AUTO_MIN_SITES);
});

test('a literal, an expression or a capture of a tainted input taints; copies of good keys stay good', () => {
  const set = setOf(`
name: p
description: d
nodes:
  - grok:
      pattern: '^%{WORD:a} %{WORD:b}'
      apply_on: message
      statics:
        - parsed: lit
          value: constant
        - parsed: up
          expression: Upper(evt.Parsed.a)
        - parsed: copy
          expression: evt.Parsed.b
        - parsed: raw
          expression: evt.Line.Raw
  - grok:
      pattern: '^%{WORD:c}'
      apply_on: up
  - grok:
      pattern: '^%{WORD:d}'
      apply_on: copy
statics:
  - target: evt.Parsed.b2
    value: x
`);
  const good = keysFromLine(set)!;
  for (const k of ['a', 'b', 'copy', 'raw', 'd', 'message']) assert.ok(good.has(k), `${k} should be from the line`);
  for (const k of ['lit', 'up', 'c', 'b2']) assert.ok(!good.has(k), `${k} should not be`);
});

test('a target into Line disables the plan', () => {
  const set = setOf(`
name: p
description: d
grok:
  pattern: '^%{WORD:a}'
  apply_on: message
statics:
  - target: evt.Line.Raw
    value: changed
`);
  assert.equal(keysFromLine(set), null);
  assert.equal(sitePlan(set, 'all'), null);
});
