import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoDuration, parseGoDurationExact, parseDurationWithDays, formatGoDuration } from '../../src/core/duration.js';

test('parseGoDuration accepts Go time.ParseDuration syntax', () => {
  const cases: [string, number][] = [
    ['0', 0], ['5s', 5e9], ['30s', 30e9], ['1478s', 1478e9], ['-5s', -5e9], ['+5s', 5e9], ['-0', 0], ['+0', 0],
    ['5.0s', 5e9], ['5.6s', 5.6e9], ['5.s', 5e9], ['.5s', 0.5e9], ['1.0s', 1e9], ['1.00s', 1e9], ['1.004s', 1.004e9],
    ['1.0040s', 1.004e9], ['100.00100s', 100.001e9],
    ['10ns', 10], ['11us', 11e3], ['12\u00b5s', 12e3], ['12\u03bcs', 12e3], ['13ms', 13e6], ['14s', 14e9],
    ['15m', 15 * 60e9], ['16h', 16 * 3600e9],
    ['3h30m', (3 * 60 + 30) * 60e9], ['10.5s4m', 4 * 60e9 + 10.5e9], ['-2m3.4s', -(2 * 60e9 + 3.4e9)],
    ['1h2m3s4ms5us6ns', 3600e9 + 2 * 60e9 + 3e9 + 4e6 + 5e3 + 6], ['39h9m14.425s', 140954425e6],
    ['52763797000ns', 52763797000], ['0.3333333333333333333h', 20 * 60e9], ['300ms', 300e6], ['1.5h', 5400e9],
    ['2h45m', 9900e9], ['-1m4.2s', -64.2e9], ['3h59m52.171418957s', 14392171418957],
  ];
  for (const [s, want] of cases) assert.equal(parseGoDuration(s), want, s);
  assert.equal(parseGoDurationExact('9223372036854775807ns'), 9223372036854775807n);
  assert.equal(parseGoDurationExact('-9223372036854775808ns'), -9223372036854775808n);
  assert.equal(parseGoDurationExact('0.9223372036854775807s'), 922337203n, 'fraction digits past int64 are dropped');
});

test('parseGoDuration rejects what Go rejects', () => {
  for (const s of ['', '3', '-', 's', '.', '-.', '.s', '+.s', '1d', '1 h', '1hh', '3000000h', '9223372036854775808ns',
    '9223372036854775807ms', '1.5', 'h1', '1h-1m', '1e3s']) {
    assert.equal(parseGoDuration(s), null, JSON.stringify(s));
  }
});

test('parseDurationWithDays adds a leading day count for alert filters', () => {
  assert.equal(parseDurationWithDays('7d'), 7 * 86400e9);
  assert.equal(parseDurationWithDays('1d12h'), 36 * 3600e9);
  assert.equal(parseDurationWithDays('-2d'), -2 * 86400e9);
  assert.equal(parseDurationWithDays('90m'), 90 * 60e9);
  assert.equal(parseDurationWithDays('1d-1h'), null);
  assert.equal(parseDurationWithDays('d'), null);
  assert.equal(parseDurationWithDays('1dx'), null);
});

test('formatGoDuration is Duration.String()', () => {
  const cases: [number | bigint, string][] = [
    [0, '0s'], [1, '1ns'], [1100, '1.1\u00b5s'], [2200e3, '2.2ms'], [3300e6, '3.3s'], [4 * 60e9 + 5e9, '4m5s'],
    [4 * 60e9 + 5001e6, '4m5.001s'], [5 * 3600e9 + 6 * 60e9 + 7001e6, '5h6m7.001s'], [8 * 60e9 + 1, '8m0.000000001s'],
    [9223372036854775807n, '2562047h47m16.854775807s'], [-9223372036854775808n, '-2562047h47m16.854775808s'],
    [1.5e9, '1.5s'], [4 * 3600e9, '4h0m0s'], [90e9, '1m30s'], [500e6, '500ms'], [1200, '1.2\u00b5s'], [3, '3ns'],
    [-64.2e9, '-1m4.2s'], [14392171418957, '3h59m52.171418957s'], [-34278526, '-34.278526ms'], [1000, '1\u00b5s'],
    [3600e9, '1h0m0s'], [60e9, '1m0s'], [-1, '-1ns'],
  ];
  for (const [ns, want] of cases) assert.equal(formatGoDuration(ns), want, String(ns));
});

test('format and parse round-trip', () => {
  let x = 7;
  for (let i = 0; i < 500; i++) {
    x = (x * 48271) % 2147483647;
    const ns = ((x % 2 === 0 ? 1 : -1) * Math.floor((x / 2147483647) * 10 ** (i % 16))) || 0; // no -0
    assert.equal(parseGoDuration(formatGoDuration(ns)), ns, String(ns));
  }
});
