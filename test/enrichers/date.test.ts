import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDateEnricher, parseDateText, DATE_LAYOUTS } from '../../src/parse/enrichers/date.js';
import { addYears, formatRFC3339Nano, goParse, isZero } from '../../src/core/gotime.js';
import { mulberry32 } from '../../fixtures/seeded.js';

const now = new Date('2026-11-27T18:38:06.123Z');
const pd = (s: string, fmt = ''): string => {
  const r = parseDateEnricher(s, fmt, now);
  assert.ok(r.ok, `should parse ${JSON.stringify(s)}`);
  return r.marshaled;
};

test('the CrowdSec 1.4.6 layout list, in order', () => {
  assert.equal(DATE_LAYOUTS.length, 15);
  assert.equal(DATE_LAYOUTS[0], '2006-01-02T15:04:05Z07:00');
  assert.equal(DATE_LAYOUTS[6], 'Jan  2 15:04:05');
  assert.equal(DATE_LAYOUTS[14], '2006-01-02 15:04:05');
});

test('one sample per layout', () => {
  assert.equal(pd('2023-02-12T14:10:21+01:00'), '2023-02-12T14:10:21+01:00');
  assert.equal(pd('2023-02-12T14:10:21.123456789Z'), '2023-02-12T14:10:21.123456789Z');
  assert.equal(pd('12/Feb/2023:14:10:00 +0100'), '2023-02-12T14:10:00+01:00');
  assert.equal(pd('12/Feb/2023:14:10:00 +0000'), '2023-02-12T14:10:00Z');
  assert.equal(pd('Sun Feb 12 14:10:21 2023'), '2023-02-12T14:10:21Z');
  assert.equal(pd('12-Feb-2023 14:10:21 europe/paris'), '2023-02-12T14:10:21Z');
  assert.equal(pd('02/12/2023 14:10:21'), '2023-02-12T14:10:21Z', 'month first');
  assert.equal(pd('2023-02-12 14:10:21.5 +0100 CET'), '2023-02-12T14:10:21.5+01:00');
  assert.equal(pd('Feb 12 14:10:21'), '2026-02-12T14:10:21Z');
  assert.equal(pd('Sun Feb 12 14:10:21.123456 2023'), '2023-02-12T14:10:21.123456Z');
  assert.equal(pd('2023/02/12'), '2023-02-12T00:00:00Z');
  assert.equal(pd('2023/02/12 14:10'), '2023-02-12T14:10:00Z');
  assert.equal(pd('2023-02-12'), '2023-02-12T00:00:00Z');
  assert.equal(pd('2023-02-12 14:10'), '2023-02-12T14:10:00Z');
  assert.equal(pd('2023/02/12 14:10:21'), '2023-02-12T14:10:21Z');
  assert.equal(pd('2023-02-12 14:10:21'), '2023-02-12T14:10:21Z');
  assert.equal(pd('2023-02-12 14:10:21,250'), '2023-02-12T14:10:21.25Z', 'comma fraction after seconds');
});

test('syslog dates: double space, fractions, current UTC year, Feb 29 quirk', () => {
  assert.equal(pd('Feb  2 14:10:21'), '2026-02-02T14:10:21Z');
  assert.equal(pd('Feb 2 14:10:21'), '2026-02-02T14:10:21Z');
  assert.equal(pd('feb 12 14:10:21.5'), '2026-02-12T14:10:21.5Z');
  assert.equal(pd('Feb 29 01:02:03'), '2026-03-01T01:02:03Z', '2026 is not leap: AddDate rolls to Mar 1');
  const leap = parseDateEnricher('Feb 29 01:02:03', '', new Date('2028-06-01T00:00:00Z'));
  assert.equal(leap.marshaled, '2028-02-29T01:02:03Z');
  // The year is the clock's year in UTC (a host in UTC-5 would still be in 2026 here).
  const edge = parseDateEnricher('Dec 31 23:59:59', '', new Date('2027-01-01T03:00:00Z'));
  assert.equal(edge.marshaled, '2027-12-31T23:59:59Z');
});

test('StrTimeFormat is tried first; hub custom layouts', () => {
  assert.equal(pd('Sun Feb  5 14:10:21 2023', 'Mon Jan _2 15:04:05 2006'), '2023-02-05T14:10:21Z', 'vsftpd');
  assert.equal(pd('230212 14:10:21', '060102 15:04:05'), '2023-02-12T14:10:21Z', 'mariadb');
  assert.equal(pd('230212  4:10:21', '060102 15:04:05'), '2023-02-12T04:10:21Z', 'mariadb pads hours with a space');
  // 02/03/2023 is Feb 3 by the list; a day-first StrTimeFormat wins.
  assert.equal(pd('02/03/2023 10:00:00'), '2023-02-03T10:00:00Z');
  assert.equal(pd('02/03/2023 10:00:00', '02/01/2006 15:04:05'), '2023-03-02T10:00:00Z');
  // A failing StrTimeFormat falls back to the list.
  assert.equal(pd('2023-02-12 14:10:21', '02/01/2006'), '2023-02-12T14:10:21Z');
  // The hub documentation's example layout.
  assert.equal(pd('2023 12 14.10.21 Feb', '2006 2 15.04.05 Jan'), '2023-02-12T14:10:21Z');
  // Yearless custom layout: year inferred as for the list.
  assert.equal(pd('12.02 14:10', '02.01 15:04'), '2026-02-12T14:10:00Z');
});

test('nothing parses => now in UTC, ok=false', () => {
  for (const s of ['', 'garbage', '2023-02-30', '12/Feb/2023:14:10:00', 'Feb 12', '14:10:21', '2023-02-12T25:00:00Z']) {
    const r = parseDateEnricher(s, '', now);
    assert.equal(r.ok, false, s);
    assert.equal(r.marshaled, '2026-11-27T18:38:06.123Z');
  }
  // Go's zero time counts as "not parsed" too.
  assert.equal(parseDateEnricher('0001-01-01T00:00:00Z', '', now).ok, false);
});

/** ParseDate the long way: goParse each layout in turn, the year fix with addYears, then format. */
function reference(value: string, nowYear: number): string | null {
  for (const layout of DATE_LAYOUTS) {
    let t = goParse(layout, value);
    if (t === null || isZero(t)) continue;
    const f = formatRFC3339Nano(t);
    if (f.startsWith('0000-')) t = addYears(t, nowYear);
    const s = formatRFC3339Nano(t);
    if (/^\d{4}-/.test(s)) return s;
  }
  return null;
}

test('memoised formatting: runs of timestamps across second, minute, day and year ends match the long way', () => {
  const r = mulberry32(0xda7e);
  const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const offsets = [0, 0, 3600, -5 * 3600 - 1800, 14 * 3600];
  // Start near the end of a leap year so runs cross Feb 29, a year end and a minute end.
  let ms = Date.UTC(2027, 11, 31, 23, 58, 30);
  let checked = 0;
  for (let i = 0; i < 4000; i++) {
    ms += Math.floor(r() * 4) * 1000 * (r() < 0.02 ? 3600 * 24 * 30 : 1);
    const off = offsets[Math.floor(r() * offsets.length)]!;
    const d = new Date(ms + off * 1000);
    const frac = r() < 0.2 ? '.' + String(Math.floor(r() * 1000)).padStart(3, '0') : '';
    const Y = d.getUTCFullYear(), M = d.getUTCMonth(), D = d.getUTCDate();
    const hms = `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
    const sign = off < 0 ? '-' : '+';
    const oh = p2(Math.floor(Math.abs(off) / 3600)), om = p2((Math.abs(off) / 60) % 60);
    const kind = Math.floor(r() * 4);
    const value =
      kind === 0 ? `${MON[M]} ${String(D).padStart(2, ' ')} ${hms}${frac}` :
      kind === 1 ? `${p2(D)}/${MON[M]}/${Y}:${hms} ${sign}${oh}${om}` :
      kind === 2 ? `${Y}-${p2(M + 1)}-${p2(D)}T${hms}${frac}${off === 0 ? 'Z' : `${sign}${oh}:${om}`}` :
      `${Y}-${p2(M + 1)}-${p2(D)} ${hms}`;
    const nowYear = r() < 0.1 ? 2027 : 2028;
    const want = reference(value, nowYear);
    assert.notEqual(want, null, value);
    assert.equal(parseDateText(value, '', nowYear), want, value);
    checked++;
  }
  assert.equal(checked, 4000);
  // A repeat of a second hands out the same text; a yearless Feb 29 in a common year rolls over.
  assert.equal(parseDateText('Feb 29 10:00:00', '', 2027), '2027-03-01T10:00:00Z');
  assert.equal(parseDateText('Feb 29 10:00:00', '', 2028), '2028-02-29T10:00:00Z');
  assert.equal(parseDateText('Feb 28 10:00:01', '', 2027), '2027-02-28T10:00:01Z');
});
