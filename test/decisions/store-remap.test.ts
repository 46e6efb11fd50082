import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../src/decisions/store.js';
import { StoreError } from '../../src/decisions/records.js';
import { alertFor, decisionFor, rng, tempDir, T0 } from './support.js';

/** KiB of `file` resident in this process (summed over its mappings), from /proc/self/smaps. */
function residentKb(file: string): number {
  let inFile = false;
  let kb = 0;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const h = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (h) inFile = h[1] === file;
    else if (inFile && line.startsWith('Rss:')) kb += Number(/(\d+)/.exec(line)![1]);
  }
  return kb;
}

function randomIp(next: () => number): string {
  return [1 + Math.floor(next() * 223), Math.floor(next() * 256), Math.floor(next() * 256), 1 + Math.floor(next() * 254)].join('.');
}

test('releaseMappedPages unmaps data.mdb; reads, writes, counters and the change log carry on', async () => {
  const { dir, cleanup } = tempDir('remap');
  const next = rng(7);
  let s = Store.open(dir, { noSync: true });
  try {
    // Random values, so the value and address indexes take inserts all over the file.
    const ips = Array.from({ length: 3000 }, () => randomIp(next));
    for (let i = 0; i < ips.length; i += 500) {
      await s.addAlerts(ips.slice(i, i + 500).map((ip) => ({ alert: alertFor(ip), decisions: [decisionFor(ip)] })), T0);
    }
    const before = s.listDecisions({}, T0);
    const alertsBefore = s.listAlerts({ limit: 0 }, T0);
    assert.equal(before.length, 3000);
    const cursor = s.changeCursor();
    const writes = s.localWrites;

    const file = join(dir, 'data.mdb');
    const smaps = existsSync('/proc/self/smaps');
    const residentBefore = smaps ? residentKb(file) : 0;
    await s.releaseMappedPages();
    if (smaps) {
      const residentAfter = residentKb(file);
      assert.ok(residentBefore > 256, `the file was read through the map (${residentBefore} KiB resident)`);
      assert.ok(residentAfter < residentBefore / 4, `resident ${residentBefore} KiB -> ${residentAfter} KiB`);
    }

    assert.deepEqual(s.listDecisions({}, T0), before, 'same decisions after the remap');
    assert.deepEqual(s.listAlerts({ limit: 0 }, T0), alertsBefore, 'same alerts (compressed records read back)');
    assert.equal(s.changeCursor(), cursor);
    assert.equal(s.localWrites, writes, 'a remap is not a write');
    assert.equal(s.countDecisions(ips[10]!), ips.filter((ip) => ip === ips[10]).length);

    // Ids and seqs continue from the persisted counters.
    const [r] = await s.addAlerts([{ alert: alertFor('203.0.113.9'), decisions: [decisionFor('203.0.113.9')] }], T0);
    assert.equal(r!.alertId, 3001);
    assert.deepEqual(r!.decisionIds, [3001]);
    assert.equal(s.changeCursor(), cursor + 1);
    assert.deepEqual(s.changesSince(cursor).changes.map((c) => c.decisionId), [3001]);
    assert.deepEqual(s.listDecisions({ ip: '203.0.113.9' }, T0).map((d) => d.id), [3001]);

    // Everything is on disk for the next opener.
    await s.close();
    s = Store.open(dir, { noSync: true });
    assert.equal(s.listDecisions({}, T0).length, 3001);
  } finally {
    await s.close();
    cleanup();
  }
});

test('releaseMappedPages refuses when openTable handles exist or the store is closed', async () => {
  const { dir, cleanup } = tempDir('remap-refuse');
  const s = Store.open(dir, { noSync: true });
  try {
    const t = s.openTable<{ n: number }>('machines');
    await s.transact(() => t.putSync('m1', { n: 1 }));
    await assert.rejects(s.releaseMappedPages(), (e: unknown) => e instanceof StoreError && /openTable/.test(e.message));
    assert.deepEqual(t.get('m1'), { n: 1 }, 'the table still works: nothing was closed');
  } finally {
    await s.close();
  }
  await assert.rejects(s.releaseMappedPages(), (e: unknown) => e instanceof StoreError && e.code === 'CLOSED');
  cleanup();
});
