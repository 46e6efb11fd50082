/**
 * A replay writing more alerts than one sink batch (500): the store is unmapped and mapped
 * again between batches (Store.releaseMappedPages), and every alert and decision must still
 * land, with ids in order and profile durations that read earlier decisions back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runReplay } from '../../src/pipeline/replay.js';
import { Store } from '../../src/decisions/store.js';

const IPS = 1200;
const H = 3600_000;

// Public addresses: the shipped whitelist drops private ranges.
const ipOf = (i: number): string => `45.${(i >> 8) & 255}.${i & 255}.7`;

/** Six quick failures per IP (ssh-bf overflows on the 6th), one IP per second. */
function sshLog(): string {
  const lines: string[] = [];
  for (let i = 0; i < IPS; i++) {
    const t = `${String(7 + Math.floor(i / 3600)).padStart(2, '0')}:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`;
    for (let k = 0; k < 6; k++) lines.push(`Jan  5 ${t} srv1 sshd[4242]: Failed password for root from ${ipOf(i)} port ${50000 + k} ssh2`);
  }
  return lines.join('\n') + '\n';
}

test('a replay of more than one sink batch stores every alert and decision; a second one reads them back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-replay-store-'));
  try {
    const file = join(dir, 'auth.log');
    writeFileSync(file, sshLog());
    const dataDir = join(dir, 'data');
    const s1 = await runReplay({ files: [file], type: 'syslog', dataDir, workers: 0, warn: () => {} });
    assert.equal(s1.alerts, IPS);
    assert.equal(s1.decisions, IPS);

    let store = Store.open(dataDir, { readOnly: true });
    try {
      const alerts = store.listAlerts({ limit: 0, sort: 'ASC' }, 0);
      assert.equal(alerts.length, IPS);
      assert.deepEqual(alerts.map((a) => a.id), Array.from({ length: IPS }, (_, i) => i + 1));
      assert.deepEqual(new Set(alerts.map((a) => a.source.value)), new Set(Array.from({ length: IPS }, (_, i) => ipOf(i))));
      for (const a of alerts) {
        assert.equal(a.scenario, 'palisade/ssh-bf');
        assert.equal(a.decisions.length, 1);
        const d = a.decisions[0]!;
        assert.equal(d.value, a.source.value);
        assert.equal(d.until - a.stoppedAt, 4 * H, 'first offence: 4h');
      }
      assert.equal(store.listDecisions({ status: 'all' }, 0).length, IPS);
    } finally {
      await store.close();
    }

    // Same attackers again: the profile's GetDecisionsCount finds each one's first decision.
    const s2 = await runReplay({ files: [file], type: 'syslog', dataDir, workers: 0, warn: () => {} });
    assert.equal(s2.decisions, IPS);
    store = Store.open(dataDir, { readOnly: true });
    try {
      const second = store.listAlerts({ limit: 0, sort: 'ASC' }, 0).slice(IPS);
      assert.equal(second.length, IPS);
      assert.deepEqual(second.map((a) => a.id), Array.from({ length: IPS }, (_, i) => IPS + i + 1));
      for (const a of second) assert.equal(a.decisions[0]!.until - a.stoppedAt, 8 * H, `second offence of ${a.source.value}: 8h`);
      assert.equal(store.changeCursor(), 2 * IPS);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
