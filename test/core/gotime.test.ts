import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  goParse, formatRFC3339Nano, formatRFC3339, formatGoString, parseRFC3339, fromDate, toMillis, addYears, addDate,
  diffNs, addNs, isZero, civil, daysFromCivil, civilFromDays, goDate, type GoTime,
  isZeroFields, fieldsToTime, getLayout, parseFields, type ParsedFields,
} from '../../src/core/gotime.js';
import { mulberry32 } from '../../fixtures/seeded.js';

const rfc = (layout: string, value: string, local?: string): string | null => {
  const t = goParse(layout, value, local ? { local } : undefined);
  return t === null ? null : formatRFC3339Nano(t);
};

test('calendar conversions agree with Date.UTC and cover year 0', () => {
  for (let y = 1890; y <= 2110; y += 7) {
    for (let m = 1; m <= 12; m++) {
      assert.equal(daysFromCivil(y, m, 17), Date.UTC(y, m - 1, 17) / 86400000);
    }
  }
  for (let d = -800000; d < 800000; d += 997) {
    const c = civilFromDays(d);
    assert.equal(daysFromCivil(c.year, c.month, c.day), d);
  }
  // 0000-03-01 is 60 days after 0000-01-01: year 0 is a leap year.
  assert.equal(daysFromCivil(0, 3, 1) - daysFromCivil(0, 1, 1), 60);
  assert.deepEqual(civilFromDays(daysFromCivil(0, 2, 29)), { year: 0, month: 2, day: 29 });
});

test('every layout element of spec §2.7 parses like Go', () => {
  assert.equal(rfc('Jan _2 15:04:05', 'Feb  2 14:10:21'), '0000-02-02T14:10:21Z');
  assert.equal(rfc('January 2, 2006', 'february 12, 2023'), '2023-02-12T00:00:00Z');
  assert.equal(rfc('Mon Jan 2 15:04:05 2006', 'SUN FEB 12 14:10:21 2023'), '2023-02-12T14:10:21Z');
  assert.equal(rfc('Monday, 02-Jan-06', 'Sunday, 12-Feb-23'), '2023-02-12T00:00:00Z');
  assert.equal(rfc('1/2/2006', '2/5/2023'), '2023-02-05T00:00:00Z');
  assert.equal(rfc('01/02/2006', '02/05/2023'), '2023-02-05T00:00:00Z');
  assert.equal(rfc('01/02/2006', '2/05/2023'), null, '01 needs two digits');
  assert.equal(rfc('060102 15:04:05', '230212 14:10:21'), '2023-02-12T14:10:21Z');
  assert.equal(rfc('06', '69'), '1969-01-01T00:00:00Z', 'two-digit years >= 69 are 19xx');
  assert.equal(rfc('06', '68'), '2068-01-01T00:00:00Z');
  assert.equal(rfc('2006-01-02 3:04:05 PM', '2023-02-12 2:10:21 PM'), '2023-02-12T14:10:21Z');
  assert.equal(rfc('2006-01-02 03:04:05 pm', '2023-02-12 12:10:21 am'), '2023-02-12T00:10:21Z');
  assert.equal(rfc('2006-01-02 03:04:05 PM', '2023-02-12 12:10:21 pm'), null, 'PM is case-sensitive');
  assert.equal(rfc('2006-01-02 15:4:5', '2023-02-12 9:7:3'), '2023-02-12T09:07:03Z');
  assert.equal(rfc('2006-01-02 15:04:05.000', '2023-02-12 14:10:21.123'), '2023-02-12T14:10:21.123Z');
  assert.equal(rfc('2006-01-02 15:04:05.000', '2023-02-12 14:10:21.12'), null, '.000 needs exactly three digits');
  assert.equal(rfc('2006-01-02 15:04:05.999', '2023-02-12 14:10:21'), '2023-02-12T14:10:21Z', '.999 may be omitted');
  assert.equal(rfc('2006-01-02 15:04:05,000', '2023-02-12 14:10:21,250'), '2023-02-12T14:10:21.25Z');
  assert.equal(rfc('2006-01-02 15:04:05 -0700', '2023-02-12 14:10:21 +0130'), '2023-02-12T14:10:21+01:30');
  assert.equal(rfc('2006-01-02 15:04:05 -07:00', '2023-02-12 14:10:21 -05:00'), '2023-02-12T14:10:21-05:00');
  assert.equal(rfc('2006-01-02 15:04:05 -07', '2023-02-12 14:10:21 +03'), '2023-02-12T14:10:21+03:00');
  assert.equal(rfc('2006-01-02 15:04:05 Z0700', '2023-02-12 14:10:21 Z'), '2023-02-12T14:10:21Z');
  assert.equal(rfc('2006-01-02 15:04:05 Z0700', '2023-02-12 14:10:21 +0200'), '2023-02-12T14:10:21+02:00');
  assert.equal(rfc('2006-01-02 15:04:05 -0700', '2023-02-12 14:10:21 Z'), null, 'Z needs a Z-layout');
  assert.equal(rfc('2006-01-02 15:04:05 -0700', '2023-02-12 14:10:21 +01'), null);
  assert.equal(rfc('2006-01-02T15:04:05Z07:00', '2023-02-12T14:10:21-08:00'), '2023-02-12T14:10:21-08:00');
  assert.equal(rfc('_2 Jan 06', ' 5 Feb 23'), '2023-02-05T00:00:00Z');
  assert.equal(rfc('_2 Jan 06', '15 Feb 23'), '2023-02-15T00:00:00Z');
  assert.equal(rfc('2 Jan 2006', '15 Feb 2023'), '2023-02-15T00:00:00Z');
  assert.equal(rfc('02 Jan 2006', '5 Feb 2023'), null, '02 needs two digits');
});

test('space runs, fractions after seconds, and extra text', () => {
  assert.equal(rfc('Jan  2 15:04:05', 'Feb 12 14:10:21'), '0000-02-12T14:10:21Z');
  assert.equal(rfc('Jan  2 15:04:05', 'Feb  2 14:10:21'), '0000-02-02T14:10:21Z');
  assert.equal(rfc('Jan 2 15:04:05', 'Feb    2 14:10:21'), '0000-02-02T14:10:21Z', 'one layout space takes many');
  assert.equal(rfc('Jan 2 15:04:05', 'Feb2 14:10:21'), null, 'a layout space needs at least one space');
  assert.equal(rfc('2006-01-02 ', '2023-02-12'), '2023-02-12T00:00:00Z', 'trailing layout spaces may match nothing');
  assert.equal(rfc('Jan  2 15:04:05', 'Feb 12 14:10:21.5'), '0000-02-12T14:10:21.5Z');
  assert.equal(rfc('Jan  2 15:04:05', 'Feb 12 14:10:21,123456789123'), '0000-02-12T14:10:21.123456789Z', 'nine digits kept');
  assert.equal(rfc('Jan  2 15:04:05', 'Feb 12 14:10:21.'), null, 'a dot without digits is extra text');
  assert.equal(rfc('Jan  2 15:04:05', 'Feb 12 14:10:21 host'), null);
  assert.equal(rfc('Jan  2 15:04:05', 'Feb 12 14:10'), null);
  assert.equal(rfc('02-Jan-2006 15:04:05 europe/paris', '12-Feb-2023 14:10:21 europe/paris'), '2023-02-12T14:10:21Z');
  assert.equal(rfc('2006-01-02', '2023-02-12T'), null);
});

test('range checks: day of month, hour, minute, month', () => {
  assert.equal(rfc('2006-01-02', '2023-02-29'), null);
  assert.equal(rfc('2006-01-02', '2024-02-29'), '2024-02-29T00:00:00Z');
  assert.equal(rfc('2006-01-02', '2023-04-31'), null);
  assert.equal(rfc('2006-01-02', '2023-13-01'), null);
  assert.equal(rfc('2006-01-02', '2023-00-01'), null);
  assert.equal(rfc('2006-01-02', '2023-01-00'), null);
  assert.equal(rfc('15:04', '24:00'), null);
  assert.equal(rfc('15:04', '23:60'), null);
  assert.equal(rfc('3:04', '13:00'), null);
  assert.equal(rfc('Jan 2', 'Feb 29'), '0000-02-29T00:00:00Z', 'year 0 is leap, so Feb 29 parses');
  assert.equal(rfc('Jan 2', 'Foo 29'), null);
});

test('zones: Z, UTC, numeric offsets, abbreviations, local zone', () => {
  const z = goParse('2006-01-02T15:04:05Z07:00', '2023-02-12T14:10:21Z')!;
  assert.equal(z.zoneName, 'UTC');
  const zero = goParse('2006-01-02T15:04:05Z07:00', '2023-02-12T14:10:21+00:00')!;
  assert.equal(zero.zoneName, 'UTC', '+00:00 is the local (UTC) zone');
  const plus = goParse('02/Jan/2006:15:04:05 -0700', '12/Feb/2023:14:10:00 +0100')!;
  assert.deepEqual(plus, { unixSec: Date.UTC(2023, 1, 12, 13, 10, 0) / 1000, nsec: 0, offsetSec: 3600, zoneName: null });
  const mst = goParse('2006-01-02 15:04:05 MST', '2023-02-12 14:10:21 CET')!;
  assert.equal(mst.offsetSec, 0, 'an unknown abbreviation means offset 0');
  assert.equal(mst.zoneName, 'CET');
  assert.equal(goParse('2006-01-02 15:04:05 MST', '2023-02-12 14:10:21 UTC')!.zoneName, 'UTC');
  assert.equal(goParse('2006-01-02 15:04:05 MST', '2023-02-12 14:10:21 GMT+3')!.offsetSec, 3 * 3600);
  assert.equal(goParse('2006-01-02 15:04:05 MST', '2023-02-12 14:10:21 AEST')!.zoneName, 'AEST');
  assert.equal(goParse('2006-01-02 15:04:05 MST', '2023-02-12 14:10:21 AB'), null);
  assert.equal(goParse('2006-01-02 15:04:05 MST', '2023-02-12 14:10:21 ABCD'), null, 'four letters must end in T');
  const both = goParse('2006-01-02 15:04:05.999999999 -0700 MST', '2023-02-12 14:10:21.5 +0100 CET')!;
  assert.equal(both.offsetSec, 3600);
  assert.equal(both.zoneName, 'CET');
  assert.equal(formatGoString(both), '2023-02-12 14:10:21.5 +0100 CET');
  // With a local zone, its own abbreviation takes its offset; numeric offsets pick its name.
  const ny = goParse('2006-01-02 15:04:05 MST', '2023-02-12 14:10:21 EST', { local: 'America/New_York' })!;
  assert.equal(ny.offsetSec, -5 * 3600);
  assert.equal(formatRFC3339Nano(ny), '2023-02-12T14:10:21-05:00');
  const nyNum = goParse('2006-01-02 15:04:05 -0700', '2023-07-12 14:10:21 -0400', { local: 'America/New_York' })!;
  assert.equal(nyNum.zoneName, 'EDT');
  const notNy = goParse('2006-01-02 15:04:05 -0700', '2023-07-12 14:10:21 -0500', { local: 'America/New_York' })!;
  assert.equal(notNy.zoneName, null, 'an offset the local zone does not use at that time stays unnamed');
});

test('no year gives year 0; AddDate normalises Feb 29', () => {
  const t = goParse('Jan  2 15:04:05', 'Feb 29 01:02:03')!;
  assert.equal(civil(t).year, 0);
  assert.equal(formatRFC3339Nano(addYears(t, 2023)), '2023-03-01T01:02:03Z');
  assert.equal(formatRFC3339Nano(addYears(t, 2024)), '2024-02-29T01:02:03Z');
  assert.equal(formatRFC3339Nano(addDate(goDate(2023, 1, 31, 0, 0, 0, 0), 0, 1, 0)), '2023-03-03T00:00:00Z');
  const off = goParse('2006-01-02 15:04 -0700', '2023-12-31 23:30 -0200')!;
  assert.equal(formatRFC3339Nano(addYears(off, 1)), '2024-12-31T23:30:00-02:00', 'AddDate works on the wall clock');
});

test('formatting: RFC3339(Nano), Go Time.String(), round trips', () => {
  const t = goParse('2006-01-02T15:04:05Z07:00', '2023-02-12T14:10:21.120000Z')!;
  assert.equal(formatRFC3339Nano(t), '2023-02-12T14:10:21.12Z');
  assert.equal(formatRFC3339(t), '2023-02-12T14:10:21Z');
  assert.equal(formatGoString(t), '2023-02-12 14:10:21.12 +0000 UTC');
  const u = parseRFC3339('2023-02-12T14:10:03Z')!;
  assert.equal(formatGoString(u), '2023-02-12 14:10:03 +0000 UTC');
  const n = parseRFC3339('2023-02-12T14:10:03+01:00')!;
  assert.equal(formatGoString(n), '2023-02-12 14:10:03 +0100 +0100');
  assert.equal(formatGoString(parseRFC3339('2023-02-12T14:10:03-09:30')!), '2023-02-12 14:10:03 -0930 -0930');
  for (const s of ['2023-02-12T14:10:21Z', '2023-02-12T14:10:21.000000001Z', '1999-12-31T23:59:59.5-08:00',
    '0000-01-01T00:00:00Z', '2024-02-29T12:00:00.123456789+05:45', '1969-07-20T20:17:40Z']) {
    assert.equal(formatRFC3339Nano(parseRFC3339(s)!), s);
  }
  assert.equal(parseRFC3339('2023-02-12 14:10:21Z'), null);
  assert.equal(parseRFC3339('2023-02-12T14:10:21'), null, 'RFC3339 needs a zone');
});

test('instants: Date conversion, differences, zero time', () => {
  const d = new Date('2023-02-12T14:10:21.345Z');
  const g = fromDate(d);
  assert.deepEqual(g, { unixSec: 1676211021, nsec: 345_000_000, offsetSec: 0, zoneName: 'UTC' });
  assert.equal(toMillis(g), d.getTime());
  const a = parseRFC3339('2023-02-12T14:10:24Z')!;
  const b = parseRFC3339('2023-02-12T15:10:21.5+01:00')!;
  assert.equal(diffNs(a, b), 2.5e9);
  const c: GoTime = addNs(b, 2.5e9);
  assert.equal(formatRFC3339Nano(c), '2023-02-12T15:10:24+01:00');
  assert.equal(formatRFC3339Nano(addNs(a, -1)), '2023-02-12T14:10:23.999999999Z');
  assert.ok(isZero(parseRFC3339('0001-01-01T00:00:00Z')!));
  assert.ok(isZero(parseRFC3339('0001-01-01T01:00:00+01:00')!));
  assert.ok(!isZero(parseRFC3339('0001-01-01T00:00:00.1Z')!));
});

test('isZeroFields agrees with isZero(fieldsToTime(f)) around the zero time, at any offset', () => {
  const rnd = mulberry32(7);
  const fields = (t: GoTime): ParsedFields => ({ ...civil(t), offsetSec: t.offsetSec, zoneName: null });
  // The zero instant shown at offsets up to the largest a layout can read (-99:99:99).
  const maxOff = (99 * 60 + 99) * 60 + 99;
  let zeros = 0;
  for (let i = 0; i < 3000; i++) {
    const off = Math.round((rnd() * 2 - 1) * maxOff);
    const delta = i % 3 === 0 ? 0 : Math.round((rnd() * 2 - 1) * 10 * 86400);
    const t: GoTime = { unixSec: -62135596800 + delta, nsec: i % 7 === 0 ? 1 : 0, offsetSec: off, zoneName: null };
    const f = fields(t);
    const want = isZero(fieldsToTime(f));
    assert.equal(isZeroFields(f), want, JSON.stringify(f));
    if (want) zeros++;
  }
  assert.ok(zeros > 500, `${zeros} zero instants tried`);
  // Ordinary dates, yearless ones (year 0) included.
  for (const v of ['Jan  5 00:00:02', 'Dec 31 23:59:59', '2023-02-12T14:10:21Z']) {
    const f = parseFields(getLayout(v.includes('T') ? '2006-01-02T15:04:05Z07:00' : 'Jan _2 15:04:05'), v)!;
    assert.equal(isZeroFields(f), false, v);
  }
  const z = parseFields(getLayout('2006-01-02T15:04:05Z07:00'), '0000-12-31T23:00:00-01:00')!;
  assert.equal(isZeroFields(z), true, 'year 0 Dec 31 23:00 at -01:00 is the zero time');
});

test('month and weekday names: case-insensitive, first match, anything else fails', () => {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  months.forEach((m, i) => {
    for (const form of [m, m.toUpperCase(), m.toLowerCase()]) {
      assert.equal(rfc('Jan 2 2006', `${form} 3 2021`), `2021-${String(i + 1).padStart(2, '0')}-03T00:00:00Z`, form);
    }
  });
  for (const d of days) for (const form of [d, d.toUpperCase(), d.toLowerCase()]) assert.equal(rfc('Mon 2006', `${form} 2021`), '2021-01-01T00:00:00Z', form);
  for (const bad of ['Jun', 'Ja', 'J@n', 'Jan'.replace('a', '\u00e1'), '', 'Sunday']) assert.equal(rfc('Mon 2006', `${bad} 2021`), null, bad);
  for (const bad of ['Jux', 'Ja', '', 'M@y']) assert.equal(rfc('Jan 2006', `${bad} 2021`), null, bad);
  // The long names still take their own path.
  assert.equal(rfc('January 2 2006', 'SEPTEMBER 9 2021'), '2021-09-09T00:00:00Z');
  assert.equal(rfc('Monday 2006', 'thursday 2021'), '2021-01-01T00:00:00Z');
});

test('parseRFC3339 answers like goParse for repeated and alternating texts', () => {
  const texts = ['2023-02-12T14:10:21Z', '2023-02-12T14:10:21Z', '2023-02-12T14:10:21.5+01:00', 'garbage', 'garbage', '2023-02-12T14:10:21Z', ''];
  for (let round = 0; round < 3; round++) {
    for (const s of texts) assert.deepEqual(parseRFC3339(s), goParse('2006-01-02T15:04:05Z07:00', s), s);
  }
  // A repeat is the same answer; different text never is.
  const a = parseRFC3339('2024-01-01T00:00:00Z');
  assert.equal(parseRFC3339('2024-01-01T00:00:00Z'), a);
  assert.notEqual(parseRFC3339('2024-01-01T00:00:01Z'), a);
  assert.equal(parseRFC3339('2024-01-01T00:00:01Z')!.unixSec, a!.unixSec + 1);
});

test('parseFieldsInto fills a reused object exactly like parseFields, and fails like it', async () => {
  const { getLayout, newFields, parseFields, parseFieldsInto } = await import('../../src/core/gotime.js');
  const out = newFields();
  const cases: [string, string][] = [
    ['2006-01-02T15:04:05Z07:00', '2023-02-12T14:10:21.5+01:00'],
    ['02/Jan/2006:15:04:05 -0700', '12/Feb/2023:14:10:00 -0330'],
    ['Jan  2 15:04:05', 'Feb 12 14:10:21'],
    ['2006-01-02 15:04:05.999999999 -0700 MST', '2023-02-12 14:10:21.5 +0100 CET'],
    ['Jan  2 15:04:05', 'Feb 30 14:10:21'],
    ['2006-01-02', 'x2023-02-12'],
    ['3:04PM', '11:30AM'],
  ];
  for (const [layout, value] of cases) {
    const want = parseFields(getLayout(layout), value);
    const ok = parseFieldsInto(getLayout(layout), value, out);
    assert.equal(ok, want !== null, `${layout} / ${value}`);
    if (want !== null) assert.deepEqual({ ...out }, want, `${layout} / ${value}`);
  }
});

test('parseRFC3339 after a text of the same minute gives the full parse (next-second shortcut)', () => {
  const full = (s: string): GoTime | null => goParse('2006-01-02T15:04:05Z07:00', s);
  // Pairs (previous text, text): the second one may take the shortcut; every result must
  // equal a parse from scratch, including where the shortcut must not apply.
  const pairs: [string, string][] = [
    ['2026-01-05T00:00:18Z', '2026-01-05T00:00:19Z'],
    ['2026-01-05T00:00:59Z', '2026-01-05T00:00:00Z'],
    ['2026-01-05T00:00:05+01:00', '2026-01-05T00:00:42+01:00'],
    ['2026-01-05T00:00:05.250-09:30', '2026-01-05T00:00:06.250-09:30'],
    ['2026-01-05T00:00:05.25Z', '2026-01-05T00:00:06.5Z'],
    ['2026-01-05T00:00:05Z', '2026-01-05T00:00:60Z'], // no leap second: null
    ['2026-01-05T00:00:05Z', '2026-01-05T00:00:7xZ'],
    ['2026-01-05T00:00:05Z', '2026-01-05T00:01:05Z'],
    ['2026-02-28T23:59:58Z', '2026-02-28T23:59:59Z'],
    ['2024-02-29T10:00:00Z', '2024-02-29T10:00:01Z'],
    ['2026-01-05T1:00:05Z0', '2026-01-05T1:00:06Z0'],
    ['2026-01-05T1:0:05Z', '2026-01-05T1:0:06Z'],
    ['2026-01-05T00:00:18Z', '2026-01-05T00:00:18Z'],
  ];
  for (const [prev, s] of pairs) {
    parseRFC3339(prev);
    assert.deepEqual(parseRFC3339(s), full(s), `${prev} then ${s}`);
  }
  // A run of seconds, as a log replays them, against the parse from scratch.
  let prev = '2026-12-31T23:58:30+02:00';
  parseRFC3339(prev);
  for (let k = 0; k < 120; k++) {
    const sec = (30 + k) % 60;
    const min = 58 + Math.floor((30 + k) / 60);
    const s = `2026-12-31T23:${String(min % 60).padStart(2, '0')}:${String(sec).padStart(2, '0')}+02:00`;
    assert.deepEqual(parseRFC3339(s), full(s), `${prev} then ${s}`);
    prev = s;
  }
});
