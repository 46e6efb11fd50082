import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileAlertFilter,
  compileDecisionFilter,
  matchAlert,
  matchDecision,
  normalizeDecisionScope,
  parseAlertQuery,
  parseDecisionDeleteQuery,
  parseDecisionQuery,
  parseGoBool,
  parseDurationMs,
  parseStreamQuery,
} from '../../src/decisions/filters.js';
import { parseInterval } from '../../src/decisions/address.js';
import { StoreError, type DecisionRecord } from '../../src/decisions/records.js';

const NOW = 1_800_000_000_000;

function dec(value: string, over: Partial<DecisionRecord> = {}): DecisionRecord {
  const scope = over.scope ?? (value.includes('/') ? 'Range' : 'Ip');
  const iv = scope === 'Ip' || scope === 'Range' ? parseInterval(value) : null;
  return {
    id: 1, alertId: 1, origin: 'crowdsec', type: 'ban', scope, value, scenario: 'crowdsecurity/ssh-bf',
    simulated: false, createdAt: NOW - 1000, until: NOW + 3600_000, family: iv ? iv.family : 0,
    ...(iv ? { start: iv.start, end: iv.end, prefix128: iv.prefix128 } : {}),
    ...over,
  };
}

const m = (f: Parameters<typeof compileDecisionFilter>[0], d: DecisionRecord, now = NOW) => matchDecision(compileDecisionFilter(f), d, now);

test('Go durations in ms: units, fractions, signs, days only where allowed', () => {
  assert.equal(parseDurationMs('4h'), 4 * 3600_000);
  assert.equal(parseDurationMs('1h30m'), 5400_000);
  assert.equal(parseDurationMs('1.5s'), 1500);
  assert.equal(parseDurationMs('-1m4.2s'), -64_200);
  assert.equal(parseDurationMs('300ms'), 300);
  assert.equal(parseDurationMs('2µs'), 0.002);
  assert.equal(parseDurationMs('0'), 0);
  assert.equal(parseDurationMs('.5h'), 1800_000);
  for (const bad of ['', '4', 'h', '4d', '1x', '--1s', '1h 2m', '3000000h']) assert.equal(parseDurationMs(bad), null, bad);
  assert.equal(parseDurationMs('2d', true), 2 * 86_400_000);
  assert.equal(parseDurationMs('1h2d', true), null);
  assert.equal(parseGoBool('True'), true);
  assert.equal(parseGoBool('0'), false);
  assert.equal(parseGoBool('yes'), null);
});

test('decision matching: address queries, scopes, origins, type, value, scenarios, simulated, status', () => {
  const r24 = dec('10.0.0.0/24', { id: 2 });
  const ip = dec('10.0.0.5');
  const v6 = dec('2001:db8::/48');
  const user = dec('bob', { scope: 'username' });
  assert.equal(m({ ip: '10.0.0.5' }, r24), true);
  assert.equal(m({ ip: '10.0.1.5' }, r24), false);
  assert.equal(m({ range: '10.0.0.0/16', contains: false }, r24), true);
  assert.equal(m({ range: '10.0.0.0/16', contains: true }, r24), false);
  assert.equal(m({ range: '10.0.0.0/28' }, r24), true);
  assert.equal(m({ ip: '2001:db8:0:ffff::1' }, v6), true);
  assert.equal(m({ ip: '2001:db8:1::1' }, v6), false);
  assert.equal(m({ range: '2001:db8::/32', contains: false }, v6), true);
  assert.equal(m({ ip: '10.0.0.5' }, user), false, 'other scopes never match an ip query');
  assert.equal(m({ scopes: ['Ip'] }, ip), true);
  assert.equal(m({ scopes: ['Ip', 'Range'] }, user), false);
  assert.equal(m({ origins: ['cscli', 'CAPI'] }, ip), false);
  assert.equal(m({ origins: ['crowdsec'] }, ip), true);
  assert.equal(m({ type: 'captcha' }, ip), false);
  assert.equal(m({ value: '10.0.0.5' }, ip), true);
  assert.equal(m({ scenario: 'crowdsecurity/ssh-bf' }, ip), true);
  assert.equal(m({ scenariosContaining: ['SSH', 'http'] }, ip), true, 'case-insensitive, any of');
  assert.equal(m({ scenariosNotContaining: ['http', 'Ssh'] }, ip), false, 'none of');
  assert.equal(m({ excludeSimulated: true }, dec('1.1.1.1', { simulated: true })), false);
  assert.equal(m({}, dec('1.1.1.1', { until: NOW })), false, 'until == now is no longer active');
  assert.equal(m({ status: 'expired' }, dec('1.1.1.1', { until: NOW - 1 })), true);
  assert.equal(m({}, dec('1.1.1.1', { deletedAt: NOW - 5, until: NOW - 5 })), false);
  assert.equal(m({ status: 'all', createdGt: NOW - 1000 }, ip), false);
  assert.equal(m({ status: 'all', untilGt: NOW, untilLt: NOW + 3600_001 }, ip), true);
  assert.throws(() => compileDecisionFilter({ ip: '10.0.0' }), (e: StoreError) => e.code === 'INVALID_ADDRESS' && /invalid ip address \/ range/.test(e.message));
});

test('alert query parsing follows the LAPI (unknown parameter is an error, defaults, durations)', () => {
  const f = parseAlertQuery(new URLSearchParams('scope=ip&value=1.2.3.4&since=4h&until=1d&has_active_decision=true&include_capi=false&simulated=false&sort=asc'), NOW);
  assert.deepEqual(f, {
    limit: 100, scope: 'Ip', value: '1.2.3.4', startedAtGte: NOW - 4 * 3600_000, startedAtLte: NOW - 86_400_000,
    hasActiveDecision: true, includeCapi: false, excludeSimulated: true, sort: 'ASC',
  });
  assert.equal(parseAlertQuery({ limit: '0' }, NOW).limit, 0);
  assert.equal(parseAlertQuery({ origin: 'CAPI', include_capi: 'false' }, NOW).includeCapi, undefined, 'origin forces include_capi');
  assert.throws(() => parseAlertQuery({ foo: 'bar' }, NOW), (e: StoreError) => e.code === 'INVALID_FILTER' && e.reason === "Filter parameter 'foo' is unknown (=bar): invalid filter");
  assert.throws(() => parseAlertQuery({ since: 'yesterday' }, NOW), (e: StoreError) => e.code === 'INVALID_FILTER' && e.where.param === 'since');
  assert.throws(() => parseAlertQuery({ has_active_decision: 'maybe' }, NOW), StoreError);
  assert.throws(() => parseAlertQuery({ ip: '300.1.1.1' }, NOW), (e: StoreError) => e.code === 'INVALID_ADDRESS');
  assert.equal(parseAlertQuery({ limit: '10' }, NOW, false).limit, 0, 'DELETE has no limit');
  assert.throws(() => parseAlertQuery({ limit: 'ten' }, NOW), (e: StoreError) => e.where.param === 'limit');
});

test('bouncer and delete query parsing', () => {
  const f = parseDecisionQuery(new URLSearchParams('ip=1.2.3.4&contains=false&scopes=ip,RANGE,country,as,username&origins=crowdsec,cscli&scope=whatever&foo=1'));
  assert.deepEqual(f, {
    status: 'active', excludeSimulated: true, scopes: ['Ip', 'Range', 'Country', 'AS', 'username'],
    origins: ['crowdsec', 'cscli'], ip: '1.2.3.4', contains: false,
  });
  assert.equal(parseDecisionQuery({ simulated: 'true' }).excludeSimulated, undefined);
  const s = parseStreamQuery({ startup: 'true', scenarios_containing: 'ssh,http' });
  assert.equal(s.startup, true);
  assert.equal(s.dedup, true);
  assert.deepEqual(s.filter.scopes, ['Ip', 'Range'], 'stream scopes default to ip,range');
  assert.deepEqual(s.filter.scenariosContaining, ['ssh', 'http']);
  assert.equal(parseStreamQuery({ dedup: 'false' }).dedup, false);
  assert.deepEqual(parseDecisionDeleteQuery({ scopes: 'ip', origin: 'cscli', value: 'x', type: 'ban', scenario: 's' }), {
    status: 'active', scopes: ['Ip'], origins: ['cscli'], value: 'x', type: 'ban', scenario: 's',
  });
  assert.throws(() => parseDecisionDeleteQuery({ scope: 'ip' }), (e: StoreError) => e.reason === "'scope' doesn't exist: invalid filter");
  assert.equal(normalizeDecisionScope('As'), 'AS');
});

test('alert matching: source, times, decision predicates', () => {
  const a = { id: 7, createdAt: NOW - 10_000, startedAt: NOW - 20_000, simulated: false, source: { scope: 'Ip', value: '10.0.0.5' } };
  const active = dec('10.0.0.0/24');
  const old = dec('10.0.0.5', { until: NOW - 1, origin: 'CAPI', type: 'captcha' });
  const ma = (f: Parameters<typeof compileAlertFilter>[0], ds: DecisionRecord[]) => matchAlert(compileAlertFilter(f), a, () => ds, NOW);
  assert.equal(ma({ scope: 'Ip', value: '10.0.0.5' }, []), true);
  assert.equal(ma({ startedAtGte: NOW - 10_000 }, []), false);
  assert.equal(ma({ createdAtLte: NOW - 10_000 }, []), true);
  assert.equal(ma({ hasActiveDecision: true }, [old]), false);
  assert.equal(ma({ hasActiveDecision: true }, [old, active]), true);
  assert.equal(ma({ hasActiveDecision: false }, [old]), false);
  assert.equal(ma({ hasActiveDecision: false }, []), true);
  assert.equal(ma({ includeCapi: false }, [old]), false);
  assert.equal(ma({ origin: 'CAPI', decisionType: 'captcha' }, [old, active]), true);
  assert.equal(ma({ ip: '10.0.0.9' }, [old, active]), true);
  assert.equal(ma({ ip: '10.0.0.9' }, [old]), false);
  assert.equal(ma({ range: '10.0.0.0/8', contains: false }, [old]), true);
  let loaded = false;
  matchAlert(compileAlertFilter({ value: 'other', hasActiveDecision: true }), a, () => { loaded = true; return []; }, NOW);
  assert.equal(loaded, false, 'decisions are not loaded when a cheap field already rejects');
});
