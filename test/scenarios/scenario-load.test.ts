import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { loadScenarioText, type ScenarioLoadResult } from '../../src/config/scenario.js';
import { LoadError } from '../../src/core/errors.js';

const BASE = `type: leaky
name: me/ok
description: ok
filter: "evt.Meta.log_type == 'x'"
groupby: evt.Meta.source_ip
capacity: 5
leakspeed: 10s
`;

function only(r: ScenarioLoadResult): LoadError {
  assert.equal(r.failures.length, 1, JSON.stringify(r.failures.map((f) => f.error.message)));
  return r.failures[0]!.error;
}

test('a valid document compiles into a frozen spec with parsed durations', () => {
  const text = BASE + 'blackhole: 1m30s\nreprocess: true\ncache_size: 3\nlabels:\n  remediation: true\n  service: ssh\n';
  const r = loadScenarioText(text, 'x.yaml');
  assert.equal(r.failures.length, 0);
  const s = r.scenarios[0]!;
  assert.equal(s.leakspeedNs, 10e9);
  assert.equal(s.blackholeNs, 90e9);
  assert.equal(s.cacheSize, 3);
  assert.equal(s.reprocess, true);
  assert.equal(s.remediation, true);
  assert.equal(s.scope.type, 'Ip');
  assert.equal(s.hash, createHash('sha256').update(text).digest('hex'));
  assert.equal(s.version, '');
  assert.ok(Object.isFrozen(s));
  assert.equal(s.filter.run({ evt: { Meta: new Map([['log_type', 'x']]) } }), true);
});

test('unknown keys are rejected with file, document, scenario and YAML line:col', () => {
  const text = BASE + '---\n' + BASE.replace('me/ok', 'me/second') + 'leak_speed: 10s\n';
  const r = loadScenarioText(text, 'rules/bad.yaml');
  assert.equal(r.scenarios.length, 1, 'the good document still loads');
  const e = only(r);
  assert.equal(e.code, 'UNKNOWN_KEY');
  assert.equal(r.failures[0]!.docIndex, 1);
  assert.equal(r.failures[0]!.name, 'me/second');
  assert.equal(e.where.file, 'rules/bad.yaml');
  assert.equal(e.where.item, 'me/second');
  assert.equal(e.where.line, 16);
  assert.equal(e.where.col, 1);
  assert.match(e.message, /^rules\/bad\.yaml:16:1 \(me\/second document 2 'leak_speed'\): unknown key 'leak_speed'/);
});

test('type rules: leaky needs capacity > 0 and leakspeed; trigger 0; counter -1 and duration', () => {
  const cases: [string, RegExp][] = [
    [BASE.replace('capacity: 5', 'capacity: 0'), /bad capacity for leaky '0'/],
    [BASE.replace('leakspeed: 10s\n', ''), /leakspeed can't be empty for leaky/],
    [BASE.replace('10s', '1d'), /bad leakspeed '1d'/],
    [BASE.replace('type: leaky', 'type: trigger'), /trigger bucket must have 0 capacity/],
    [BASE.replace('type: leaky', 'type: counter').replace('capacity: 5', 'capacity: -1'), /duration can't be empty for counter/],
    [BASE.replace('type: leaky', 'type: counter') + 'duration: 1m\n', /counter bucket must have -1 capacity/],
    [BASE.replace('type: leaky', 'type: leakyy'), /unknown bucket type 'leakyy'/],
    [BASE.replace('description: ok\n', ''), /description is mandatory/],
    [BASE.replace('name: me/ok\n', ''), /bucket must have name/],
    [BASE.replace(/filter: .*\n/, ''), /bucket without filter/],
    [BASE + 'format: 3.0\n', /format '3' is not supported/],
    [BASE.replace('type: leaky', 'type: conditional'), /conditional bucket must have a condition/],
    [BASE.replace('type: leaky', 'type: bayesian').replace('capacity: 5', 'capacity: -1') + 'bayesian_prior: 0.5\nbayesian_threshold: 0.9\n', /must have bayesian conditions/],
    [BASE.replace('type: leaky', 'type: bayesian') + 'bayesian_prior: 0.5\nbayesian_threshold: 0.9\nbayesian_conditions: [{condition: "true", prob_given_evil: 0.5, prob_given_benign: 0.5}]\n', /bayesian bucket must have capacity -1/],
    [BASE + 'scope:\n  type: username\n', /scope 'username' needs a scope.expression/],
    [BASE.replace('type: leaky', 'type: bayesian').replace('capacity: 5', 'capacity: -1').replace('leakspeed: 10s\n', '') + 'bayesian_prior: 0.5\nbayesian_threshold: 0.9\nbayesian_conditions: [{condition: "true", prob_given_evil: 0.5, prob_given_benign: 0.5}]\n', /leakspeed can't be empty for bayesian/],
    [BASE + 'condition: "true"\n', /'condition' only applies to conditional/],
  ];
  for (const [text, re] of cases) {
    const e = only(loadScenarioText(text, 'f.yaml'));
    assert.match(e.message, re, text);
    assert.equal(e.where.file, 'f.yaml');
  }
});

test('expression errors carry the YAML line of their key and the column inside the expression', () => {
  const e = only(loadScenarioText(BASE.replace(`"evt.Meta.log_type == 'x'"`, `"evt.Meta.log_type == "`), 'f.yaml'));
  assert.equal(e.code, 'EXPR_SYNTAX');
  assert.equal(e.where.line, 4);
  assert.equal(e.where.item, 'me/ok');
  assert.match(e.message, /column/);
});

test('YAML syntax errors fail the file with a position, never throw', () => {
  const r = loadScenarioText('type: leaky\nname: [unclosed\n', 'f.yaml');
  assert.equal(r.scenarios.length, 0);
  assert.equal(r.failures[0]!.docIndex, -1);
  assert.equal(r.failures[0]!.error.code, 'YAML_SYNTAX');
  assert.ok(r.failures[0]!.error.where.line !== undefined);
});

test('simulation: global off XOR listed; hub index gives the version by digest', () => {
  const text = BASE + '---\n' + BASE.replace('me/ok', 'me/sim');
  const hash = createHash('sha256').update(text).digest('hex');
  const r = loadScenarioText(text, 'f.yaml', {
    simulation: { simulation: false, exclusions: ['me/sim'] },
    hubIndex: { versionByDigest: new Map([[hash, '0.3']]) },
  });
  assert.deepEqual(r.scenarios.map((s) => [s.name, s.simulated, s.version]), [['me/ok', false, '0.3'], ['me/sim', true, '0.3']]);
  const on = loadScenarioText(text, 'f.yaml', { simulation: { simulation: true, exclusions: ['me/sim'] } });
  assert.deepEqual(on.scenarios.map((s) => s.simulated), [true, false]);
});

test('newer keys: conditional condition and bayesian conditions compile (float32 probabilities)', () => {
  const cond = loadScenarioText(BASE.replace('type: leaky', 'type: conditional').replace('capacity: 5', 'capacity: -1') + 'condition: "len(queue.Queue) > 2 && leaky.Total_count > 1"\n', 'c.yaml');
  assert.equal(cond.failures.length, 0, cond.failures[0]?.error.message);
  assert.ok(cond.scenarios[0]!.condition);
  const bay = loadScenarioText(BASE.replace('type: leaky', 'type: bayesian').replace('capacity: 5', 'capacity: -1') +
    'bayesian_prior: 0.1\nbayesian_threshold: 0.5\nbayesian_conditions:\n  - condition: evt.Meta.x == "1"\n    prob_given_evil: 0.7\n    prob_given_benign: 0.2\n    guillotine: true\n', 'b.yaml');
  assert.equal(bay.failures.length, 0, bay.failures[0]?.error.message);
  const s = bay.scenarios[0]!;
  assert.equal(s.bayesianPrior, Math.fround(0.1));
  assert.equal(s.bayesianConditions[0]!.probGivenEvil, Math.fround(0.7));
  assert.equal(s.bayesianConditions[0]!.guillotine, true);
});
