/** On-disk layout of alerts: packed events, LZ4-compressed when large, and stores written before either still read. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { Store } from '../../src/decisions/store.js';
import { timeKey, type AlertInput, type DiskAlert } from '../../src/decisions/records.js';
import { alertFor, decisionFor, tempDir, T0 } from './support.js';

/** A replay-shaped alert: every event repeats the same source metas, as the agent posts them. */
function bigAlert(ip: string, nEvents: number): AlertInput {
  const a = alertFor(ip);
  a.events = Array.from({ length: nEvents }, (_, k) => ({
    timestamp: new Date(T0 + k * 1000).toISOString(),
    meta: [
      { key: 'ASNOrg', value: 'EMIRATES TELECOMMUNICATIONS GROUP COMPANY (ETISALAT GROUP) PJSC' },
      { key: 'IsoCode', value: 'AE' },
      { key: 'SourceRange', value: '194.170.0.0/16' },
      { key: 'datasource_path', value: '/var/log/auth.log' },
      { key: 'log_type', value: 'ssh_failed-auth' },
      { key: 'source_ip', value: ip },
      { key: 'target_user', value: `user${k % 3}` },
      { key: 'timestamp', value: new Date(T0 + k * 1000).toISOString() },
    ],
  }));
  a.events_count = nEvents;
  return a;
}

/** An alert whose events share little: every meta value differs from one event to the next. */
function noisyAlert(ip: string, nEvents: number): AlertInput {
  const a = bigAlert(ip, nEvents);
  for (const [k, e] of a.events!.entries()) e.meta = e.meta!.map((m, j) => ({ key: m.key, value: `${m.value}-${k}-${j}` }));
  return a;
}

test('alerts are stored with packed events (LZ4 over 1000 bytes) and read back exactly as posted', async () => {
  const { dir, cleanup } = tempDir('layout');
  try {
    const s = Store.open(dir, { noSync: true });
    const inputs = [bigAlert('194.170.34.196', 11), bigAlert('141.74.120.34', 6), alertFor('10.0.0.1'), noisyAlert('10.0.0.2', 40)];
    const res = await s.addAlerts(inputs.map((alert, i) => ({ alert, decisions: [decisionFor(alert.source.value, { durationMs: (i + 1) * 3600_000 })] })), T0);
    const before = res.map((r) => s.getAlert(r.alertId)!);
    for (const [i, got] of before.entries()) {
      assert.deepEqual(got.events, inputs[i]!.events, `events of alert ${i} round-trip`);
      assert.equal(got.decisions.length, 1);
      assert.equal(got.decisions[0]!.value, inputs[i]!.source.value);
    }
    await s.close();

    // The raw bytes: repeated metas are stored once (the 11-event alert's events are 3.4 KB of
    // JSON, its whole record stays under LZ4's 1000-byte threshold); a record that is still
    // large is an LZ4 frame (status byte 254).
    const raw = open({ path: dir, noSubdir: false, maxDbs: 16, readOnly: true });
    const bytes = raw.openDB<Buffer, number>({ name: 'alerts', encoding: 'binary' });
    const [b1, b2, b3, b4] = res.map((r) => bytes.getBinary(r.alertId)!);
    assert.ok(JSON.stringify(inputs[0]!.events).length > 3000);
    assert.ok(b1!.length < 1000 && b1![0] !== 254, `the 11-event alert is ${b1!.length} bytes, plain`);
    assert.ok(b2!.length < b1!.length && b3!.length < b2!.length);
    assert.equal(b4![0], 254, 'a 40-event alert of distinct metas is compressed');
    const plainSize = (b4![1]! << 16) | (b4![2]! << 8) | b4![3]!;
    assert.ok(plainSize > 1000 && b4!.length < plainSize, `compressed ${b4!.length} of ${plainSize} bytes`);
    await raw.close();

    // Reopened, the store answers the same.
    const s2 = Store.open(dir, { noSync: true, readOnly: true });
    assert.deepEqual(res.map((r) => s2.getAlert(r.alertId)), before);
    assert.deepEqual(s2.listAlerts({ sort: 'ASC' }, T0).map((a) => a.id), res.map((r) => r.alertId));
    await s2.close();
  } finally {
    cleanup();
  }
});

test('alerts written before events were packed (LZ4-compressed {timestamp, meta} arrays) still read, next to new ones', async () => {
  const { dir, cleanup } = tempDir('layout-lz4');
  try {
    // The previous layout: compressed alert records whose events are the posted array.
    const { src, disk, rawOld, old } = await writeOldLayoutAlert(dir, true);
    assert.equal(rawOld[0], 254, 'the old record is an LZ4 frame');
    await old.close();

    const s = Store.open(dir, { noSync: true });
    const { uuid: _u, ...rest } = disk;
    assert.deepEqual(s.getAlert(1), { ...rest, decisions: [] });
    const second = bigAlert('141.74.120.34', 8);
    const [r] = await s.addAlerts([{ alert: second, decisions: [] }], T0 + 1);
    assert.deepEqual(s.listAlerts({ sort: 'ASC' }, T0 + 1).map((a) => [a.id, a.source.value, a.events]), [
      [1, '194.170.34.196', src.events],
      [r!.alertId, '141.74.120.34', second.events],
    ]);
    await s.close();
  } finally {
    cleanup();
  }
});

/**
 * Writes one alert the way builds before packed events did (events as the posted array;
 * LZ4-compressed or, older still, plain), with its time index entry and id counter.
 */
async function writeOldLayoutAlert(dir: string, compression: boolean) {
  const old = open({ path: dir, noSubdir: false, maxDbs: 16, noSync: true });
  const alerts = old.openDB<DiskAlert, number>({ name: 'alerts', sharedStructuresKey: Symbol.for('palisade.structures'), ...(compression ? { compression: true } : {}) });
  const meta = old.openDB<number, string>({ name: 'meta' });
  const alertTime = old.openDB<Buffer, Buffer>({ name: 'alert_time', keyEncoding: 'binary', encoding: 'binary' });
  const src = bigAlert('194.170.34.196', 11);
  const disk = diskAlertOf(src);
  await old.transaction(() => {
    alerts.putSync(1, disk);
    alertTime.putSync(timeKey(T0, 1), Buffer.alloc(0));
    meta.putSync('nextAlertId', 2);
  });
  const rawOld = old.openDB<Buffer, number>({ name: 'alerts', encoding: 'binary' }).getBinary(1)!;
  return { src, disk, rawOld, old };
}

/** The record an alert was stored as before events were packed. */
function diskAlertOf(src: AlertInput): DiskAlert {
  return {
    id: 1,
    createdAt: T0,
    machineId: 'testMachine',
    scenario: src.scenario,
    scenario_hash: 'abc',
    scenario_version: '0.1',
    message: src.message ?? '',
    events_count: src.events!.length,
    start_at: src.start_at,
    stop_at: src.stop_at,
    startedAt: Date.parse(src.start_at),
    stoppedAt: Date.parse(src.stop_at),
    capacity: 5,
    leakspeed: '10s',
    simulated: false,
    remediation: true,
    source: { scope: 'Ip', value: src.source.value, ip: src.source.value, range: '', as_number: '', as_name: '', cn: '', latitude: 0, longitude: 0 },
    events: src.events!.map((e) => ({ timestamp: e.timestamp, meta: e.meta! })),
    meta: [],
    labels: null,
    uuid: null,
  };
}

test('alerts written uncompressed (stores from before compression) still read, next to new ones', async () => {
  const { dir, cleanup } = tempDir('layout-old');
  try {
    // The previous layout: same env options and shared structures, alerts without compression.
    const { src, disk, rawOld, old } = await writeOldLayoutAlert(dir, false);
    assert.ok(rawOld.length > 1000 && rawOld[0]! < 250, 'the old record is plain msgpack above the threshold');
    await old.close();

    const s = Store.open(dir, { noSync: true });
    const { uuid: _u, ...rest } = disk;
    assert.deepEqual(s.getAlert(1), { ...rest, decisions: [] });
    const [r] = await s.addAlerts([{ alert: bigAlert('141.74.120.34', 8), decisions: [] }], T0 + 1);
    assert.equal(r!.alertId, 2);
    assert.deepEqual(s.listAlerts({ sort: 'ASC' }, T0 + 1).map((a) => [a.id, a.source.value, a.events.length]), [
      [1, '194.170.34.196', 11],
      [2, '141.74.120.34', 8],
    ]);
    await s.close();
  } finally {
    cleanup();
  }
});

test('the 1 GiB initial map is address space only: a small store stays a small file', async () => {
  const { dir, cleanup } = tempDir('layout-map');
  try {
    const s = Store.open(dir, { noSync: true });
    await s.addAlerts([{ alert: bigAlert('10.1.2.3', 20), decisions: [decisionFor('10.1.2.3')] }], T0);
    await s.close();
    const size = statSync(join(dir, 'data.mdb')).size;
    assert.ok(size < 1 << 20, `data.mdb is ${size} bytes`);
  } finally {
    cleanup();
  }
});
