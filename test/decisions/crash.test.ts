/**
 * Durability under SIGKILL: a child process writes alerts in durable mode and prints each
 * acknowledged write; the parent kills it with SIGKILL after a seeded-random number of
 * acknowledgements (so mid-write, often inside a 300-decision transaction), reopens the
 * store and checks that every acknowledged alert and decision is there with the right
 * fields, that no transaction is half-applied, that indexes agree with the tables, and that
 * the store accepts writes again. Repeated on the same directory.
 */
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Store } from '../../src/decisions/store.js';
import { BIG, expectedAlert } from './crash-child.js';
import { rng, tempDir } from './support.js';

const root = new URL('../..', import.meta.url).pathname;
const child = join(root, 'test/decisions/crash-child.ts');

interface Ack { run: number; i: number; alertId: number; decisionIds: number[] }

function runAndKill(dir: string, run: number, killAfter: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, dir, String(run)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: Ack[] = [];
    let buf = '';
    let err = '';
    let killed = false;
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`child timed out; stderr: ${err}`)); }, 30_000);
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^ack (\d+) (\d+) (\d+) ([\d,]+)$/.exec(line);
        if (!m || killed) continue;
        acks.push({ run: Number(m[1]), i: Number(m[2]), alertId: Number(m[3]), decisionIds: m[4]!.split(',').map(Number) });
        if (acks.length >= killAfter) { killed = true; p.kill('SIGKILL'); }
      }
    });
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own (code ${code}); stderr: ${err}`));
      else resolve(acks);
    });
  });
}

test('acknowledged decisions survive SIGKILL of the writer; the store reopens cleanly', { timeout: 60_000 }, async () => {
  const { dir, cleanup } = tempDir('crash');
  const random = rng(20261127);
  const all: Ack[] = [];
  try {
    for (let run = 1; run <= 3; run++) {
      const killAfter = 8 + Math.floor(random() * 25);
      const acks = await runAndKill(dir, run, killAfter);
      assert.equal(acks.length, killAfter);
      all.push(...acks);

      const store = Store.open(dir, { noSync: true });
      try {
        for (const a of all) {
          const exp = expectedAlert(a.run, a.i);
          const got = store.getAlert(a.alertId);
          assert.ok(got, `alert ${a.alertId} (run ${a.run} #${a.i}) lost`);
          assert.equal(got.message, exp.alert.message);
          assert.equal(got.events_count, a.i);
          assert.equal(got.source.value, exp.alert.source.value);
          assert.deepEqual(got.events[0]!.meta, [{ key: 'source_ip', value: exp.alert.source.value }]);
          assert.deepEqual(got.decisions.map((d) => d.id), a.decisionIds);
          got.decisions.forEach((d, k) => {
            const e = exp.decisions[k]!;
            assert.equal(d.alertId, a.alertId);
            assert.equal(d.value, e.value);
            assert.equal(d.scope, e.scope);
            assert.equal(d.type, e.type);
            assert.equal(d.origin, e.origin);
            assert.equal(d.until, e.until);
            assert.equal(d.uuid, e.uuid);
          });
          // Indexes were committed with the rows.
          const ip = exp.alert.source.value;
          assert.deepEqual(store.listDecisions({ ip, status: 'all' }).map((d) => d.id), [a.decisionIds[0]]);
          assert.deepEqual(store.listDecisions({ value: ip, status: 'all' }).map((d) => d.id), [a.decisionIds[0]]);
        }
        // No half-written transaction: every alert present holds all of its decisions.
        const alerts = store.listAlerts({ scenario: `crash/run${run}`, limit: 0 });
        // The child may commit a few more before the signal lands; those must be whole too.
        assert.ok(alerts.length >= acks.length, `alerts of run ${run}: ${alerts.length} < ${acks.length}`);
        for (const al of alerts) {
          const i = al.events_count;
          assert.equal(al.decisions.length, i % 5 === 4 ? BIG : 1 + (i % 3), `alert ${al.id} is partial`);
        }
        // Writes work again and ids keep increasing past everything written before the kill.
        const maxDecision = Math.max(...store.listDecisions({ status: 'all' }).map((d) => d.id));
        const [r] = await store.addAlerts([expectedAlert(99, run)]);
        assert.ok(r!.decisionIds[0]! > maxDecision);
        await store.deleteAlert(r!.alertId);
      } finally {
        await store.close();
      }
    }
  } finally {
    cleanup();
  }
});
