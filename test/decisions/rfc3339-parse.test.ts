import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRfc3339, parseRfc3339Regex } from '../../src/decisions/records.js';

// The regex parser is what parseRfc3339 was before its character-code fast path, and its
// fallback now: the fast path must give exactly its results.
const reference = parseRfc3339Regex;

test('parseRfc3339: the same result as the regex parser on usual and odd texts', () => {
  const cases = [
    '2023-02-12T14:10:21Z', '2023-02-12t14:10:21z', '2023-02-12 14:10:21Z', '2026-01-05T10:00:00.123456789+01:00',
    '2026-01-05T10:00:00.1-05:30', '2026-01-05T10:00:00.999999Z', '0001-01-01T00:00:00Z', '0099-03-01T00:00:00Z',
    '2023-02-31T00:00:00Z', '2023-13-01T00:00:00Z', '2023-00-01T00:00:00Z', '2023-01-00T00:00:00Z', '2023-01-01T24:00:00Z',
    '2023-01-01T23:60:00Z', '2023-01-01T23:59:60Z', '2023-01-01T23:59:59.Z', '2023-01-01T23:59:59', '2023-01-01T23:59:59+0100',
    '2023-01-01T23:59:59+01:00x', '2023-01-01T23:59:59ZZ', '2023-01-01X23:59:59Z', '2023/01/01T23:59:59Z', '2023-1-01T23:59:59Z',
    '２023-01-01T23:59:59Z', '2023-01-01T23:59:59+99:99', '9999-12-31T23:59:59.999999999-23:59', '', 'not a time',
    '2023-01-01T23:59:59.123456789012Z', '1970-01-01T00:00:00Z', '1969-12-31T23:59:59.5Z',
  ];
  for (const s of cases) assert.equal(parseRfc3339(s), reference(s), s);
});

test('parseRfc3339: random well-formed times match the regex parser (day memo included)', () => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const p2 = (n: number): string => String(n).padStart(2, '0');
  for (let k = 0; k < 5000; k++) {
    const y = 1000 + rnd(9000);
    const day = `${y}-${p2(1 + rnd(12))}-${p2(1 + rnd(31))}`;
    // Several times on one day in a row, then another day: exercises the memo of the last day.
    for (let j = 0; j < 3; j++) {
      const frac = rnd(3) === 0 ? '' : '.' + String(rnd(1e9)).padStart(1 + rnd(9), '0');
      const zone = rnd(3) === 0 ? 'Z' : `${rnd(2) ? '+' : '-'}${p2(rnd(24))}:${p2(rnd(60))}`;
      const s = `${day}${'Tt '[rnd(3)]}${p2(rnd(25))}:${p2(rnd(61))}:${p2(rnd(61))}${frac}${zone}`;
      assert.equal(parseRfc3339(s), reference(s), s);
    }
  }
});
