/**
 * rules/profiles.yaml and rules/simulation.yaml: default 4h ban for remediation alerts on an
 * Ip or a Range, escalating by 4h per earlier decision on the same value (capped at one
 * week), nothing for alerts without remediation. GetDecisionsCount is faked per value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadProfiles, evaluateProfiles } from '../../src/decisions/profiles.js';
import { SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';
import type { LapiAlert } from '../../src/scenarios/overflow.js';

const PROFILES = join(SHIPPED_RULES_DIR, 'profiles.yaml');

function alert(value: string, o: { scope?: string; remediation?: boolean; simulated?: boolean; scenario?: string } = {}): LapiAlert {
  const scope = o.scope ?? 'Ip';
  return {
    capacity: 5,
    decisions: null,
    events: [],
    events_count: 6,
    labels: null,
    leakspeed: '10s',
    message: `${scope} ${value} performed '${o.scenario ?? 'palisade/ssh-bf'}' (6 events over 2s) at 2026-01-05 06:00:02 +0000 UTC`,
    remediation: o.remediation ?? true,
    scenario: o.scenario ?? 'palisade/ssh-bf',
    scenario_hash: '',
    scenario_version: '',
    simulated: o.simulated ?? false,
    source: scope === 'Ip' ? { ip: value, scope, value } : { range: value, scope, value },
    start_at: '2026-01-05T06:00:00Z',
    stop_at: '2026-01-05T06:00:02Z',
  };
}

/** Profiles with GetDecisionsCount answering from `counts`; records the values asked for. */
function profilesWith(counts: Record<string, number>) {
  const asked: string[] = [];
  const warnings: string[] = [];
  const profiles = loadProfiles(PROFILES, {
    decisionsCount: (v) => (asked.push(v), counts[v] ?? 0),
    warn: (m) => warnings.push(m),
  });
  return { profiles, asked, warnings };
}

test('first offence: one 4h ban on the alert source, from the Ip profile', () => {
  const { profiles, asked } = profilesWith({});
  assert.deepEqual(profiles.map((p) => p.name), ['default_ip_remediation', 'default_range_remediation']);
  const r = evaluateProfiles(profiles, alert('45.155.205.10'));
  assert.deepEqual(r.matched, ['default_ip_remediation']);
  assert.deepEqual(r.decisions, [{
    type: 'ban', scope: 'Ip', value: '45.155.205.10', duration: '4h', origin: 'crowdsec', scenario: 'palisade/ssh-bf', simulated: false,
  }]);
  assert.ok(asked.includes('45.155.205.10'), 'GetDecisionsCount asked about the alert value');
});

test('repeat offenders: +4h per earlier decision on the same value, capped at one week', () => {
  const { profiles } = profilesWith({ '45.155.205.11': 1, '45.155.205.12': 2, '45.155.205.13': 9, '45.155.205.14': 40, '45.155.205.15': 41, '45.155.205.16': 500 });
  const duration = (ip: string): string | undefined => evaluateProfiles(profiles, alert(ip)).decisions[0]?.duration;
  assert.equal(duration('45.155.205.10'), '4h');
  assert.equal(duration('45.155.205.11'), '8h');
  assert.equal(duration('45.155.205.12'), '12h');
  assert.equal(duration('45.155.205.13'), '40h');
  assert.equal(duration('45.155.205.14'), '164h');
  assert.equal(duration('45.155.205.15'), '168h');
  assert.equal(duration('45.155.205.16'), '168h');
});

test('ranges get the same escalating ban from the Range profile', () => {
  const { profiles } = profilesWith({ '2001:db8:bad::/64': 2 });
  const r = evaluateProfiles(profiles, alert('2001:db8:bad::/64', { scope: 'Range' }));
  assert.deepEqual(r.matched, ['default_range_remediation']);
  assert.deepEqual(r.decisions.map((d) => [d.type, d.scope, d.value, d.duration]), [['ban', 'Range', '2001:db8:bad::/64', '12h']]);
});

test('no decision for alerts without remediation or on other scopes; simulated alerts give simulated bans', () => {
  const { profiles } = profilesWith({});
  assert.deepEqual(evaluateProfiles(profiles, alert('45.155.205.10', { remediation: false })).decisions, []);
  assert.deepEqual(evaluateProfiles(profiles, alert('root', { scope: 'Username' })).decisions, []);
  const sim = evaluateProfiles(profiles, alert('45.155.205.10', { simulated: true })).decisions;
  assert.deepEqual(sim.map((d) => [d.duration, d.simulated]), [['4h', true]]);
});

test('without a decision store GetDecisionsCount warns and counts 0: the base 4h applies', () => {
  const profiles = loadProfiles(PROFILES, { warn: () => {} });
  assert.equal(evaluateProfiles(profiles, alert('45.155.205.10')).decisions[0]?.duration, '4h');
});

test('simulation.yaml: simulation off, no exclusions', () => {
  const doc = parse(readFileSync(join(SHIPPED_RULES_DIR, 'simulation.yaml'), 'utf8')) as { simulation: unknown; exclusions: unknown };
  assert.equal(doc.simulation, 'off');
  assert.deepEqual(doc.exclusions, []);
});
