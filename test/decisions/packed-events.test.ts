/** Alert events as stored (packed-events.ts): exact round trip, the LAPI's checks and caps, compactness. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packEvents, unpackEvents } from '../../src/decisions/packed-events.js';
import { capEventMeta, StoreError, type KeyValue } from '../../src/decisions/records.js';

/** What the store kept before packing: a normalised copy of each event, capped. */
function copyEvents(events: { timestamp: string; meta?: ({ key?: unknown; value?: unknown } | null)[] | null }[]): { timestamp: string; meta: KeyValue[] }[] {
  return events.map((e) => ({
    timestamp: e.timestamp,
    meta: capEventMeta((e.meta ?? []).map((m) => ({ key: typeof m?.key === 'string' ? m.key : '', value: typeof m?.value === 'string' ? m.value : '' }))),
  }));
}

const ts = (k: number): string => `2026-01-05T00:0${k}:00Z`;

test('events round-trip exactly, whatever changes from one event to the next', () => {
  const events = [
    { timestamp: ts(0), meta: [{ key: 'a', value: '1' }, { key: 'b', value: '2' }, { key: 'timestamp', value: ts(0) }] },
    // same keys: one value kept, one changed, one equal to the event's timestamp
    { timestamp: ts(1), meta: [{ key: 'a', value: '1' }, { key: 'b', value: '3' }, { key: 'timestamp', value: ts(1) }] },
    // keys reordered, one more entry, a value equal to another key's value
    { timestamp: ts(2), meta: [{ key: 'b', value: '3' }, { key: 'a', value: '1' }, { key: 'timestamp', value: ts(2) }, { key: 'c', value: '1' }] },
    // fewer entries, empty strings, a value that is the previous timestamp
    { timestamp: ts(3), meta: [{ key: 'b', value: '' }, { key: '', value: ts(2) }] },
    { timestamp: ts(4), meta: [] },
    { timestamp: '', meta: [{ key: 'a', value: '1' }] },
    // numbers as strings must not be confused with the packing's codes
    { timestamp: ts(6), meta: [{ key: '0', value: '1' }, { key: '2', value: '0' }] },
    { timestamp: ts(7), meta: [{ key: '0', value: '2' }, { key: '2', value: ts(7) }] },
  ];
  assert.deepEqual(unpackEvents(packEvents(events, 0)), events);
  assert.deepEqual(unpackEvents(packEvents([], 0)), []);
  assert.deepEqual(unpackEvents(packEvents(null, 0)), []);
  assert.deepEqual(unpackEvents(packEvents(undefined, 0)), []);
});

test('records of the previous layout (arrays of {timestamp, meta}) read as they are', () => {
  const old = [{ timestamp: ts(0), meta: [{ key: 'a', value: '1' }] }];
  assert.equal(unpackEvents(old), old);
  assert.deepEqual(unpackEvents(null), []);
});

test('packing normalises as the old copy did: extra properties dropped, null/missing key or value is ""', () => {
  const events = [
    { timestamp: ts(0), meta: [{ key: 'a', value: '1', extra: 'x' }, { key: 'b' }, { value: 'v' }, null, { key: null, value: null }] },
    { timestamp: ts(1), meta: null },
    { timestamp: ts(2) },
  ] as unknown as Parameters<typeof copyEvents>[0];
  const got = unpackEvents(packEvents(events, 0));
  assert.deepEqual(got, copyEvents(events));
  assert.deepEqual(got[0]!.meta, [{ key: 'a', value: '1' }, { key: 'b', value: '' }, { key: '', value: 'v' }, { key: '', value: '' }, { key: '', value: '' }]);
  assert.deepEqual(Object.keys(got[0]!.meta[0]!), ['key', 'value']);
});

test('oversized metas are cut as the LAPI cuts them (capEventMeta)', () => {
  const events = [
    { timestamp: ts(0), meta: [{ key: 'k', value: 'v'.repeat(5000) }, { key: 'k2', value: 'w'.repeat(5000) }] },
    { timestamp: ts(1), meta: [{ key: 'k', value: 'v'.repeat(5000) }, { key: 'small', value: 's' }] },
    { timestamp: ts(2), meta: Array.from({ length: 2000 }, (_, i) => ({ key: `key${i}`, value: '' })) },
  ];
  const got = unpackEvents(packEvents(events, 0));
  assert.deepEqual(got, copyEvents(events));
  assert.ok(got[0]!.meta[0]!.value.endsWith('<stripped>'));
  assert.deepEqual(got[2]!.meta, [], 'keys alone exceed the limit');
});

test('bad input is rejected naming the alert and the field', () => {
  const where = (events: unknown): unknown => {
    try {
      packEvents(events, 3);
    } catch (e) {
      assert.ok(e instanceof StoreError);
      assert.equal(e.code, 'INVALID_INPUT');
      return { where: e.where, message: e.message };
    }
    return null;
  };
  assert.deepEqual(where({}), { where: { alert: 3, field: 'events' }, message: 'alerts[3].events: expected an array' });
  assert.deepEqual(where([{ timestamp: ts(0) }, { meta: [] }]), { where: { alert: 3, field: 'events[1].timestamp' }, message: 'alerts[3].events[1].timestamp: expected a string, got undefined' });
  assert.deepEqual(where([null]), { where: { alert: 3, field: 'events[0].timestamp' }, message: 'alerts[3].events[0].timestamp: expected a string, got undefined' });
  assert.deepEqual(where([{ timestamp: ts(0), meta: 'x' }]), { where: { alert: 3, field: 'events[0].meta' }, message: 'alerts[3].events[0].meta: expected an array of {key, value}' });
  assert.deepEqual(where([{ timestamp: ts(0), meta: [{ key: 'a', value: 'b' }, { key: 7, value: 'b' }] }]), { where: { alert: 3, field: 'events[0].meta[1].key' }, message: 'alerts[3].events[0].meta[1].key: expected a string, got number' });
  assert.deepEqual(where([{ timestamp: ts(0), meta: [{ key: 'a', value: false }] }]), { where: { alert: 3, field: 'events[0].meta[0].value' }, message: 'alerts[3].events[0].meta[0].value: expected a string, got boolean' });
});

test('a replay-shaped alert packs to a fraction of its entries', () => {
  const base = [
    ['ASNNumber', '5384'], ['ASNOrg', 'EMIRATES TELECOMMUNICATIONS GROUP COMPANY (ETISALAT GROUP) PJSC'], ['IsoCode', 'AE'],
    ['SourceRange', '194.170.0.0/16'], ['datasource_path', '/var/log/auth.log'], ['log_type', 'ssh_failed-auth'],
    ['source_ip', '194.170.34.196'], ['target_user', ''], ['timestamp', ''],
  ];
  const events = Array.from({ length: 9 }, (_, k) => ({
    timestamp: ts(k),
    meta: base.map(([key, value]) => ({ key: key!, value: key === 'timestamp' ? ts(k) : key === 'target_user' ? `user${k % 3}` : value! })),
  }));
  const packed = packEvents(events, 0);
  assert.deepEqual(unpackEvents(packed), events);
  const strings = packed.e.filter((x) => typeof x === 'string').length;
  // First event: 9 keys + 9 values; then per event its timestamp and the one changed value.
  assert.equal(strings, 1 + 18 + 8 * 2);
  assert.ok(JSON.stringify(packed).length * 3 < JSON.stringify(events).length);
});
