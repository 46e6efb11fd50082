/**
 * The live engine in process: a syslog (UDP) source and a tailed file feed the detection
 * engine on the wall clock; brute forces from both come out as LAPI alerts.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAcquisText } from '../../src/acquisition/acquis.js';
import { LiveEngine } from '../../src/pipeline/live.js';
import type { LapiAlert } from '../../src/scenarios/overflow.js';
import { tempRoot } from '../api/support.js';
import { bruteForce, waitFor } from './support.js';

const root = tempRoot('live');
let live: LiveEngine | null = null;
after(async () => { await live?.stop(); });

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

test('syslog and file sources feed one engine; alerts come out on the wall clock', async () => {
  const port = await freeUdpPort();
  const file = join(root, 'auth.log');
  writeFileSync(file, '');
  const acquisition = parseAcquisText(`source: syslog
listen_port: ${port}
protocols: [udp]
labels: {type: syslog}
---
filename: ${file}
labels: {type: syslog}
`);
  const alerts: LapiAlert[] = [];
  live = await LiveEngine.create({ acquisition, dataDir: join(root, 'state'), onAlerts: (a) => alerts.push(...a), pollMs: 200 });
  assert.ok(live.scenarioNames().includes('palisade/ssh-bf'));
  await live.start();

  const udp = createSocket('udp4');
  for (const line of bruteForce('203.0.113.201', 8).trim().split('\n')) {
    await new Promise<void>((r) => udp.send(`<38>${line}`, port, '127.0.0.1', () => r()));
  }
  udp.close();
  appendFileSync(file, bruteForce('203.0.113.202', 8));
  await waitFor(() => alerts.length >= 2, 'two alerts', 10_000);
  const byIp = new Map(alerts.map((a) => [a.source.value, a]));
  for (const ip of ['203.0.113.201', '203.0.113.202']) {
    const a = byIp.get(ip);
    assert.ok(a, `alert for ${ip}`);
    assert.equal(a.scenario, 'palisade/ssh-bf');
    // Live mode: the alert's times are now, not the log's.
    assert.ok(Math.abs(Date.parse(a.stop_at) - Date.now()) < 60_000, a.stop_at);
  }
  const st = live.stats();
  assert.equal(st.lines, 16);
  assert.equal(st.errors, 0);
  await live.stop();
  live = null;
});
