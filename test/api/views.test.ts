/** The JSON views: Go durations without BigInt match core/duration's formatter; key order. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGoDuration } from '../../src/core/duration.js';
import { alertDecision, bouncerDecision, remaining } from '../../src/api/views.js';
import type { DecisionRecord } from '../../src/decisions/records.js';

test('remaining() equals formatGoDuration for whole and fractional milliseconds', () => {
  const cases = [0, 1, -1, 999, 1000, 1001, 1500, 59_999, 60_000, 61_010, 3_599_999, 3_600_000, 3_600_001, 14_400_000, 14_399_973, 86_400_000 * 400 + 7, -34, -64_200, -24_876_035_956];
  let x = 1;
  for (let i = 0; i < 2000; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    cases.push((x % 2 === 0 ? 1 : -1) * (x % 10 ** (1 + (i % 11))));
  }
  for (const ms of cases) assert.equal(remaining(ms, 0), formatGoDuration(ms * 1e6), String(ms));
  assert.equal(remaining(1000.5, 0), formatGoDuration(1000.5 * 1e6)); // non-integer: exact path
  assert.equal(remaining(14_399_973, 0), '3h59m59.973s');
  assert.equal(remaining(-34, 0), '-34ms');
});

test('decision views: Go key order for JSON.stringify, id omitted when 0, simulated only in alerts', () => {
  const d: DecisionRecord = { id: 12, alertId: 1, origin: 'crowdsec', type: 'ban', scope: 'Ip', value: '35.188.49.176', scenario: 'crowdsecurity/ssh-bf', simulated: false, createdAt: 0, until: 14_392_171, family: 4 };
  assert.equal(JSON.stringify(bouncerDecision(d, 0)), '{"duration":"3h59m52.171s","id":12,"origin":"crowdsec","scenario":"crowdsecurity/ssh-bf","scope":"Ip","type":"ban","value":"35.188.49.176"}');
  assert.equal(JSON.stringify(bouncerDecision({ ...d, id: 0 }, 0)), '{"duration":"3h59m52.171s","origin":"crowdsec","scenario":"crowdsecurity/ssh-bf","scope":"Ip","type":"ban","value":"35.188.49.176"}');
  assert.deepEqual(Object.keys(alertDecision(d, 0)), ['duration', 'id', 'origin', 'scenario', 'scope', 'simulated', 'type', 'value']);
});
