/**
 * Parser node semantics (spec §2.3–2.5), one node key at a time, on throw-away rule dirs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createExplainer } from '../../src/parse/explain.js';
import { makeRulesDir, RAW_STAGE } from '../support/rules-fixture.js';

const quiet = () => {};
async function explainWith(files: Record<string, string>, line: string, type = 'test') {
  const ex = await createExplainer({ type, configDir: makeRulesDir(files), warn: quiet });
  return ex.explain(line);
}

test('a succeeding node without next_stage drops the line before the next stage', async () => {
  const r = await explainWith({
    'parsers/s00-raw/raw.yaml': `name: a\ndescription: d\nfilter: "true"\nstatics:\n  - meta: x\n    value: y\n`,
    'parsers/s01-parse/p.yaml': `name: b\ndescription: d\nstatics:\n  - meta: z\n    value: w\n`,
  }, 'hello');
  assert.equal(r.success, false);
  assert.deepEqual(r.parsers.map((p) => [p.stage, p.name, p.success]), [['s00-raw', 'a', true]]);
});

test('the last stage accepts any succeeding node; next_stage promotes', async () => {
  const r = await explainWith({
    'parsers/s00-raw/raw.yaml': RAW_STAGE,
    'parsers/s01-parse/p.yaml': `name: b\ndescription: d\nstatics:\n  - meta: z\n    value: w\n`,
  }, 'hello');
  assert.equal(r.success, true);
  assert.equal(r.meta.z, 'w');
  assert.equal(r.parsed.message, 'hello');
});

test('filter false or erroring fails the node; runtime errors never crash', async () => {
  const files = {
    'parsers/s00-raw/raw.yaml': RAW_STAGE,
    'parsers/s01-parse/a.yaml': `name: nilptr\ndescription: d\nfilter: "evt.Overflow.Alert.Remediation == true"\nstatics:\n  - meta: a\n    value: "1"\n`,
    'parsers/s01-parse/b.yaml': `name: ok\ndescription: d\nfilter: "evt.Parsed.message startsWith 'he'"\nstatics:\n  - meta: b\n    value: "1"\n`,
  };
  const r = await explainWith(files, 'hello');
  assert.equal(r.success, true);
  assert.deepEqual(r.parsers.filter((p) => p.stage === 's01-parse').map((p) => [p.name, p.success]), [['nilptr', false], ['ok', true]]);
  assert.equal(r.meta.a, undefined);
  assert.equal(r.meta.b, '1');
});

test('grok captures land in Parsed, grok statics run only on match, non-participating groups give ""', async () => {
  const files = {
    'parsers/s00-raw/raw.yaml': RAW_STAGE,
    'parsers/s01-parse/g.yaml': `
name: g
description: d
grok:
  pattern: '^D (%{WORD:x}|%{NUMBER:y}) ?%{WORD:x}?'
  apply_on: message
  statics:
    - meta: matched
      value: "yes"
`,
  };
  const r = await explainWith(files, 'D 42 ');
  assert.equal(r.success, true);
  assert.equal(r.parsed.x, '');
  assert.equal(r.parsed.y, '');
  assert.equal(r.meta.matched, 'yes');
  const miss = await explainWith(files, 'nothing here');
  assert.equal(miss.success, false);
  assert.equal(miss.meta.matched, undefined);
});

test('grok apply_on a missing Parsed key fails the node even though the pattern could match ""', async () => {
  const r = await explainWith({
    'parsers/s00-raw/raw.yaml': RAW_STAGE,
    'parsers/s01-parse/g.yaml': `name: g\ndescription: d\ngrok:\n  pattern: '^%{DATA:all}$'\n  apply_on: nosuchkey\n`,
  }, 'x');
  assert.equal(r.success, false);
});

test('a continue skeleton node takes the result of its last child (spec §14)', async () => {
  const r = await explainWith({
    'parsers/s00-raw/raw.yaml': RAW_STAGE,
    'parsers/s01-parse/sk.yaml': `
name: skel
description: d
nodes:
  - grok:
      pattern: '^(?P<ignored>a)-%{WORD:first}'
      apply_on: message
  - grok:
      pattern: '^zzz%{WORD:second}'
      apply_on: message
`,
  }, 'a-bc');
  assert.equal(r.success, false);
  assert.deepEqual(r.parsers.map((p) => p.success), [true, false]);
  assert.equal(r.parsed.first, 'bc', 'the first child\'s captures stay in Parsed');
});

test('a next_stage skeleton node succeeds when any child succeeds and stops at the first', async () => {
  const r = await explainWith({
    'parsers/s00-raw/raw.yaml': RAW_STAGE,
    'parsers/s01-parse/sk.yaml': `
name: skel
description: d
onsuccess: next_stage
nodes:
  - grok:
      pattern: '^a-%{WORD:first}'
      apply_on: message
  - grok:
      pattern: '^a-%{WORD:second}'
      apply_on: message
statics:
  - meta: done
    value: "1"
`,
    'parsers/s02-enrich/e.yaml': `name: e\ndescription: d\nstatics:\n  - meta: enriched\n    value: "1"\n`,
  }, 'a-bc');
  assert.equal(r.success, true);
  assert.equal(r.parsed.first, 'bc');
  assert.equal(r.parsed.second, undefined);
  assert.equal(r.meta.done, '1');
  assert.equal(r.meta.enriched, '1');
});

test('statics: expression types, target paths, later statics see earlier ones', async () => {
  const r = await explainWith({
    'parsers/s00-raw/raw.yaml': RAW_STAGE,
    'parsers/s01-parse/s.yaml': `
name: s
description: d
statics:
  - parsed: a
    value: one
  - meta: b
    expression: evt.Parsed.a + "-two"
  - meta: n
    expression: len(evt.Parsed.a)
  - target: evt.StrTime
    expression: evt.Meta.b
  - target: evt.Parsed.viaTarget
    value: t
  - meta: empty
    value: ""
  - enriched: e
    value: en
`,
  }, 'x');
  assert.equal(r.success, true);
  assert.equal(r.meta.b, 'one-two');
  assert.equal(r.meta.n, '3');
  assert.equal(r.parsed.viaTarget, 't');
  assert.equal(r.enriched.e, 'en');
  assert.equal('empty' in r.meta, false, 'an empty value skips the static');
});

test('a static expression returning a bool drops the line (spec §14)', async () => {
  const r = await explainWith({
    'parsers/s00-raw/raw.yaml': RAW_STAGE,
    'parsers/s01-parse/s.yaml': `name: s\ndescription: d\nstatics:\n  - meta: b\n    expression: "1 == 1"\n`,
  }, 'x');
  assert.equal(r.success, false);
  assert.match(r.error ?? '', /dropped/);
});

test('whitelists: ip, cidr and expression; the event is parsed and flagged', async () => {
  const files = {
    'parsers/s00-raw/raw.yaml': RAW_STAGE,
    'parsers/s01-parse/ip.yaml': `
name: ip
description: d
onsuccess: next_stage
grok:
  pattern: '^%{IP:ip}'
  apply_on: message
statics:
  - meta: source_ip
    expression: evt.Parsed.ip
`,
    'parsers/s02-enrich/wl.yaml': `
name: wl
description: d
whitelist:
  reason: private
  ip: ["127.0.0.1", "::1"]
  cidr: ["10.0.0.0/8", "fc00::/7"]
  expression: ["evt.Parsed.message endsWith 'trusted'"]
statics:
  - meta: wl_static
    value: ran
`,
  };
  const ex = await createExplainer({ type: 't', configDir: makeRulesDir(files), warn: quiet });
  for (const [line, wl] of [['10.1.2.3 x', true], ['127.0.0.1 x', true], ['fd00::1 x', true], ['1.2.3.4 x', false], ['1.2.3.4 trusted', true], ['2001:db8::1 x', false]] as const) {
    const r = ex.explain(line);
    assert.equal(r.success, true, line);
    assert.equal(r.whitelisted, wl, line);
    // A whitelist node's statics apply only to whitelisted events.
    assert.equal(r.meta.wl_static, wl ? 'ran' : undefined, line);
    assert.deepEqual(r.scenarios, []);
  }
});

test('pattern_syntax joins the shared library, first definition wins', async () => {
  const r = await explainWith({
    'parsers/s00-raw/raw.yaml': RAW_STAGE,
    'parsers/s01-parse/a.yaml': `
name: a
description: d
pattern_syntax:
  MYWORD: 'foo\\w+'
grok:
  pattern: '%{MYWORD:w}'
  apply_on: message
`,
    'parsers/s01-parse/b.yaml': `
name: b
description: d
pattern_syntax:
  MYWORD: 'bar\\w+'
grok:
  pattern: 'x%{MYWORD:w2}'
  apply_on: message
`,
  }, 'xfoox');
  assert.equal(r.parsed.w, 'foox');
  assert.equal(r.parsed.w2, 'foox');
});

test('data files feed File() and RegexpInFile()', async () => {
  const files = {
    'data/words.txt': '# comment\nalpha\n\nbeta\n',
    'data/re.txt': '^ga.*a$\n',
    'parsers/s00-raw/raw.yaml': RAW_STAGE,
    'parsers/s01-parse/d.yaml': `
name: d
description: d
data:
  - source_url: https://example.invalid/words.txt
    dest_file: words.txt
    type: string
  - dest_file: re.txt
    type: regexp
statics:
  - meta: in_list
    expression: "evt.Parsed.message in File('words.txt') ? 'yes' : 'no'"
  - meta: re
    expression: "RegexpInFile(evt.Parsed.message, 're.txt') ? 'yes' : 'no'"
`,
  };
  const ex = await createExplainer({ type: 't', configDir: makeRulesDir(files), warn: quiet });
  assert.deepEqual([ex.explain('beta').meta.in_list, ex.explain('gamma').meta.in_list], ['yes', 'no']);
  assert.deepEqual([ex.explain('gamma').meta.re, ex.explain('beta').meta.re], ['yes', 'no']);
});

test('scenarios: explain lists every scenario whose filter matches', async () => {
  const r = await explainWith({
    'parsers/s00-raw/raw.yaml': RAW_STAGE,
    'parsers/s01-parse/p.yaml': `name: p\ndescription: d\nstatics:\n  - meta: log_type\n    value: fail\n`,
    'scenarios/s.yaml': `
type: leaky
name: t/one
description: d
filter: "evt.Meta.log_type == 'fail'"
leakspeed: 10s
capacity: 5
labels: {}
---
type: trigger
name: t/two
description: d
filter: "evt.Meta.log_type == 'other'"
labels: {}
`,
  }, 'x');
  assert.deepEqual(r.scenarios, ['t/one']);
});
