/** The alert sink keeps a batch whose store write failed (full disk, closed store): no silent loss. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertSink } from '../../src/pipeline/sink.js';
import type { Store } from '../../src/decisions/store.js';
import type { LapiAlert } from '../../src/scenarios/overflow.js';

function alert(ip: string): LapiAlert {
  return {
    capacity: 5, decisions: null, events: [], events_count: 6, labels: null, leakspeed: '10s', message: 'm',
    scenario: 's', scenario_hash: '', scenario_version: '', simulated: false,
    source: { scope: 'Ip', value: ip, ip }, start_at: '2026-01-01T00:00:00Z', stop_at: '2026-01-01T00:00:01Z',
  };
}

test('a failed store write keeps the batch, in order, and a later flush writes it', async () => {
  const written: string[] = [];
  let fail = true;
  const store = {
    async addAlerts(batch: { alert: LapiAlert }[]) {
      if (fail) throw new Error('MDB_MAP_FULL: Environment mapsize limit reached');
      written.push(...batch.map((b) => b.alert.source.value));
      return batch.map((_, i) => ({ alertId: i + 1, decisionIds: [] }));
    },
  } as unknown as Store;
  const sink = new AlertSink([], store, 10);
  sink.add(alert('192.0.2.1'));
  sink.add(alert('192.0.2.2'));
  await assert.rejects(sink.flush(), /MDB_MAP_FULL/);
  assert.equal(sink.written, 0);
  sink.add(alert('192.0.2.3'));
  fail = false;
  await sink.flush();
  assert.deepEqual(written, ['192.0.2.1', '192.0.2.2', '192.0.2.3']);
  assert.equal(sink.written, 3);
});
