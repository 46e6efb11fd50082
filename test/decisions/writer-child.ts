/**
 * Child process of multiprocess.test.ts.
 *   write DIR TAG N  — waits for a line on stdin, then writes N alerts (2 decisions each),
 *                      one awaited addAlerts at a time; prints `done <json results>`.
 *   watch DIR        — for each stdin line `check VALUE`: refresh(), then prints
 *                      `seen <active decisions with VALUE> <change cursor> <last change kind>`.
 */
import { createInterface } from 'node:readline';
import { Store } from '../../src/decisions/store.js';

const [mode, dir, tag, count] = process.argv.slice(2);
if (!dir || (mode !== 'write' && mode !== 'watch')) {
  process.stderr.write('usage: writer-child.ts write DIR TAG N | watch DIR\n');
  process.exit(2);
}
const store = Store.open(dir, { noSync: true });
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');

if (mode === 'write') {
  lines.once('line', async () => {
    const out = [];
    for (let i = 0; i < Number(count); i++) {
      const value = `${tag}-${i}`;
      const alert = {
        scenario: `mp/${tag}`, scenario_hash: '', scenario_version: '', message: value, events_count: i,
        start_at: '2026-01-01T00:00:00Z', stop_at: '2026-01-01T00:00:00Z', capacity: 0, leakspeed: '0',
        simulated: false, source: { scope: 'username', value }, events: [],
      };
      const decisions = [0, 1].map((k) => ({ origin: 'cscli', type: k ? 'captcha' : 'ban', scope: 'username', value, scenario: `mp/${tag}`, until: 4_000_000_000_000 }));
      const [r] = await store.addAlerts([{ alert, decisions }]);
      out.push(r);
    }
    process.stdout.write(`done ${JSON.stringify(out)}\n`);
    await store.close();
    process.exit(0);
  });
} else {
  lines.on('line', (line) => {
    const m = /^check (.+)$/.exec(line);
    if (!m) return;
    store.refresh();
    const n = store.listDecisions({ value: m[1]! }).length;
    const cursor = store.changeCursor();
    const last = store.changesSince(cursor - 1).changes[0]?.kind ?? 'none';
    process.stdout.write(`seen ${n} ${cursor} ${last}\n`);
  });
  lines.on('close', () => void store.close());
}
