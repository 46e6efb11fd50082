/**
 * Several processes on one store directory, as when operator commands write while the
 * daemon has the store open (design §3): concurrent writers never share an id or a change
 * seq, and a reader in another process sees commits after refresh().
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Store } from '../../src/decisions/store.js';
import { alertFor, decisionFor, tempDir } from './support.js';

const root = new URL('../..', import.meta.url).pathname;
const childPath = join(root, 'test/decisions/writer-child.ts');

/** A child with a line reader: `next()` resolves with its next stdout line. */
function start(args: string[]): { p: ChildProcessWithoutNullStreams; next: () => Promise<string> } {
  const p = spawn(process.execPath, ['--import', 'tsx', childPath, ...args], { cwd: root });
  const queue: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  let buf = '';
  let err = '';
  p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  p.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(line);
      else queue.push(line);
    }
  });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const l = queue.shift();
      if (l !== undefined) return resolve(l);
      const timer = setTimeout(() => reject(new Error(`child did not answer; stderr: ${err}`)), 20_000);
      waiters.push((line) => { clearTimeout(timer); resolve(line); });
    });
  return { p, next };
}

test('two writer processes and this one write at once: ids and change seqs stay unique and gapless', { timeout: 60_000 }, async () => {
  const { dir, cleanup } = tempDir('mp');
  const store = Store.open(dir, { noSync: true });
  try {
    assert.equal(store.listAlerts({}).length, 0); // a read snapshot exists before the children write
    const kids = [start(['write', dir, 'a', '150']), start(['write', dir, 'b', '150'])];
    for (const k of kids) assert.equal(await k.next(), 'ready');
    for (const k of kids) k.p.stdin.write('go\n');
    const mine: { alertId: number; decisionIds: number[] }[] = [];
    for (let i = 0; i < 100; i++) {
      const [r] = await store.addAlerts([{ alert: alertFor(`9.9.${i >> 8}.${i & 255}`), decisions: [decisionFor(`9.9.${i >> 8}.${i & 255}`, { until: 4_000_000_000_000, durationMs: undefined }), decisionFor('c', { scope: 'username', until: 4_000_000_000_000, durationMs: undefined })] }]);
      mine.push(r!);
    }
    const results = [mine];
    for (const k of kids) {
      const line = await k.next();
      assert.match(line, /^done /);
      results.push(JSON.parse(line.slice(5)));
    }
    store.refresh();
    const alertIds = results.flat().map((r) => r.alertId);
    const decisionIds = results.flat().flatMap((r) => r.decisionIds);
    assert.equal(new Set(alertIds).size, 400);
    assert.equal(new Set(decisionIds).size, 800);
    assert.deepEqual([...alertIds].sort((x, y) => x - y), Array.from({ length: 400 }, (_, i) => i + 1));
    for (const r of results) {
      const ids = r.map((x) => x.alertId);
      assert.deepEqual(ids, [...ids].sort((x, y) => x - y), 'each writer sees its ids increase');
    }
    assert.equal(store.listAlerts({ limit: 0 }).length, 400);
    assert.equal(store.listDecisions({ scenario: 'mp/a' }).length, 300);
    assert.equal(store.listDecisions({ scenario: 'mp/b' }).length, 300);
    const ch = store.changesSince(0, 10_000);
    assert.deepEqual(ch.changes.map((c) => c.seq), Array.from({ length: 800 }, (_, i) => i + 1));
    assert.deepEqual(new Set(ch.changes.map((c) => c.decisionId)), new Set(decisionIds));
    assert.ok(ch.changes.every((c) => c.kind === 'new' && c.decision !== undefined));
  } finally {
    await store.close();
    cleanup();
  }
});

test('a reader in another process sees writes and soft deletes after refresh()', { timeout: 30_000 }, async () => {
  const { dir, cleanup } = tempDir('mpwatch');
  const store = Store.open(dir, { noSync: true });
  const w = start(['watch', dir]);
  try {
    assert.equal(await w.next(), 'ready');
    w.p.stdin.write('check 5.5.5.5\n');
    assert.equal(await w.next(), 'seen 0 0 none');
    await store.addAlerts([{ alert: alertFor('5.5.5.5'), decisions: [decisionFor('5.5.5.5', { until: 4_000_000_000_000, durationMs: undefined })] }]);
    w.p.stdin.write('check 5.5.5.5\n');
    assert.equal(await w.next(), 'seen 1 1 new');
    await store.deleteDecisions({ ip: '5.5.5.5' });
    w.p.stdin.write('check 5.5.5.5\n');
    assert.equal(await w.next(), 'seen 0 2 deleted');
  } finally {
    w.p.stdin.end();
    await new Promise((r) => w.p.once('exit', r));
    await store.close();
    cleanup();
  }
});
