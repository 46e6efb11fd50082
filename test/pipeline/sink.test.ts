/**
 * The alert sink keeps a batch whose store write failed (full disk, closed store): no silent
 * loss. SinkQueue runs it behind a producer with the same add/flush interleaving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertSink, SinkQueue, type SinkedAlert } from '../../src/pipeline/sink.js';
import type { PreparedAlertInput, Store } from '../../src/decisions/store.js';
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
    async addPrepared(batch: PreparedAlertInput[]) {
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

/** A store whose writes commit when the test says so. */
function manualStore() {
  const writes: { ips: string[]; commit: () => void; fail: (e: Error) => void }[] = [];
  let committed = 0;
  const store = {
    addPrepared(batch: PreparedAlertInput[]) {
      return new Promise((resolve, reject) => {
        writes.push({
          ips: batch.map((b) => b.alert.source.value),
          commit: () => {
            committed++;
            resolve(batch.map((_, i) => ({ alertId: i + 1, decisionIds: [] })));
          },
          fail: reject,
        });
      });
    },
  } as unknown as Store;
  return { store, writes, committed: () => committed };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('SinkQueue: alerts go through the sink in order, each seeing exactly the commits a direct caller would see', async () => {
  const m = manualStore();
  const seen: [string, number][] = [];
  const q = new SinkQueue(new AlertSink([], m.store, 2), (a: SinkedAlert) => seen.push([a.alert.source.value, m.committed()]));
  q.push([alert('a1'), alert('a2'), alert('a3')]);
  // a1, a2 fill a batch: its write starts and everything after waits for the commit.
  assert.deepEqual(seen, [['a1', 0], ['a2', 0]]);
  assert.equal(q.backlog, 1);
  q.push([alert('a4'), alert('a5')]);
  assert.equal(q.backlog, 3, 'the producer is not held up by the pending commit');
  await tick();
  assert.equal(seen.length, 2, 'nothing runs before the commit');
  m.writes[0]!.commit();
  await tick();
  assert.deepEqual(seen.slice(2), [['a3', 1], ['a4', 1]]);
  m.writes[1]!.commit();
  await q.drain();
  assert.deepEqual(seen.slice(4), [['a5', 2]]);
  assert.deepEqual(m.writes.map((w) => w.ips), [['a1', 'a2'], ['a3', 'a4']], 'drain leaves the last partial batch to the final flush');
  // A push that needs no flush runs at once, and the queue keeps going afterwards.
  q.push([alert('a6')]);
  assert.deepEqual(seen.at(-1), ['a6', 2]);
  q.push([alert('a7')]);
  assert.equal(m.writes.length, 3);
  m.writes[2]!.commit();
  await q.drain();
  assert.equal(q.backlog, 0);
});

test('SinkQueue: settle bounds the backlog; a failed write stops the queue and is rethrown', async () => {
  const m = manualStore();
  const q = new SinkQueue(new AlertSink([], m.store, 2));
  q.push([alert('b1'), alert('b2'), alert('b3'), alert('b4'), alert('b5')]);
  assert.equal(q.backlog, 3);
  let settled = false;
  const s = q.settle(1).then(() => (settled = true));
  await tick();
  assert.equal(settled, false, 'settle waits while more than 1 alert is queued');
  m.writes[0]!.commit();
  await tick();
  assert.equal(q.backlog, 1);
  m.writes[1]!.fail(new Error('MDB_MAP_FULL'));
  await assert.rejects(s, /MDB_MAP_FULL/);
  assert.throws(() => q.push([alert('b6')]), /MDB_MAP_FULL/);
  await assert.rejects(q.drain(), /MDB_MAP_FULL/);
  await q.stopped();
});

test('GetDecisionsCount asked twice for one alert reads the store once; each alert reads it again', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'sink-profiles-'));
  try {
    writeFileSync(join(dir, 'profiles.yaml'), [
      'name: p',
      'filters:',
      '  - Alert.GetScope() == "Ip"',
      'decisions:',
      '  - type: ban',
      '    duration: 4h',
      "duration_expr: \"GetDecisionsCount(Alert.GetValue()) >= 41 ? '168h' : Sprintf('%dh', (GetDecisionsCount(Alert.GetValue()) + 1) * 4)\"",
      'on_success: break',
    ].join('\n'));
    const stored = new Map<string, number>();
    const reads: string[] = [];
    const store = {
      countDecisions(v: string) {
        reads.push(v);
        return stored.get(v) ?? 0;
      },
      async addPrepared(batch: PreparedAlertInput[]) {
        for (const b of batch) stored.set(b.alert.source.value, (stored.get(b.alert.source.value) ?? 0) + 1);
        return batch.map((_, i) => ({ alertId: i + 1, decisionIds: [] }));
      },
    } as unknown as Store;
    const sink = new AlertSink(AlertSink.profilesFor(dir, { warn: () => {}, data: new Map() } as never, store), store, 1);
    const durations: string[] = [];
    const q = new SinkQueue(sink, (a) => durations.push(String(a.decisions[0]?.duration)));
    q.push([alert('192.0.2.1'), alert('192.0.2.1'), alert('192.0.2.2')]);
    await q.drain();
    assert.deepEqual(reads, ['192.0.2.1', '192.0.2.1', '192.0.2.2'], 'one read per alert, each after the previous commit');
    assert.deepEqual(durations, ['4h', '8h', '4h']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('alerts wait in the store\'s form; one the store would reject fails its batch at flush, named, and stays queued', async () => {
  const batches: PreparedAlertInput[][] = [];
  const store = {
    async addPrepared(batch: PreparedAlertInput[]) {
      batches.push(batch);
      return batch.map((_, i) => ({ alertId: i + 1, decisionIds: [] }));
    },
  } as unknown as Store;
  const sink = new AlertSink([], store, 10);
  const a1 = alert('192.0.2.1');
  assert.equal(sink.add(a1).alert, a1, 'what --json prints is the alert as built');
  assert.equal('machine_id' in a1, false, 'left as it is');
  sink.add({ ...alert('192.0.2.2'), stop_at: 7 as unknown as string });
  await assert.rejects(sink.flush(), (e: Error & { where?: { alert?: number; field?: string } }) => /expected a string/.test(e.message) && e.where?.alert === 1 && e.where.field === 'stop_at');
  assert.equal(batches.length, 0, 'nothing of the batch is written');
  await assert.rejects(sink.flush(), /expected a string/, 'the batch stays queued, in order');
  const ok = new AlertSink([], store, 10);
  ok.add(alert('192.0.2.3'));
  await ok.flush();
  const [p] = batches[0]!;
  assert.equal(p!.alert.source.value, '192.0.2.3');
  assert.equal(p!.alert.machineId, ok.machineId, 'stored under this agent\'s machine id');
  assert.equal(p!.alert.stoppedAt, Date.parse('2026-01-01T00:00:01Z'));
});
