/**
 * Child process of crash.test.ts: opens the store in durable mode and writes alerts in a
 * loop, awaiting each addAlerts, and prints `ack <run> <i> <alertId> <decisionId,...>` on
 * stdout as soon as the write is acknowledged. The parent SIGKILLs it at some point.
 * Every 5th alert carries a large batch of decisions, so a kill often lands inside a big
 * transaction. Alert i of run r is fully determined by (r, i): see expectedAlert().
 *
 * usage: crash-child.ts DIR RUN
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from '../../src/decisions/store.js';
import type { AlertInput, DecisionInput } from '../../src/decisions/records.js';

export const BIG = 300;

export function expectedAlert(run: number, i: number): { alert: AlertInput; decisions: DecisionInput[] } {
  const ip = `10.${run}.${(i >> 8) & 255}.${i & 255}`;
  const n = i % 5 === 4 ? BIG : 1 + (i % 3);
  const decisions: DecisionInput[] = [];
  for (let k = 0; k < n; k++) {
    decisions.push({
      origin: k === 0 ? 'crowdsec' : 'cscli',
      type: k % 2 ? 'captcha' : 'ban',
      scope: k === 0 ? 'Ip' : 'Range',
      value: k === 0 ? ip : `172.${(k >> 8) & 255}.${k & 255}.0/24`,
      scenario: `crash/run${run}`,
      until: 4_000_000_000_000 + i * 1000 + k,
      uuid: `u-${run}-${i}-${k}`,
    });
  }
  return {
    alert: {
      scenario: `crash/run${run}`,
      scenario_hash: 'h',
      scenario_version: '1',
      message: `alert ${run}/${i}`,
      events_count: i,
      start_at: '2026-01-01T00:00:00Z',
      stop_at: '2026-01-01T00:00:01Z',
      capacity: 5,
      leakspeed: '10s',
      simulated: false,
      source: { scope: 'Ip', value: ip, ip },
      events: [{ timestamp: '2026-01-01T00:00:01Z', meta: [{ key: 'source_ip', value: ip }] }],
      machine_id: 'crash-child',
    },
    decisions,
  };
}

async function main(): Promise<void> {
  const [dir, runText] = process.argv.slice(2);
  if (!dir || !runText) {
    process.stderr.write('usage: crash-child.ts DIR RUN\n');
    process.exit(2);
  }
  const run = Number(runText);
  const store = Store.open(dir); // durable: the default
  process.stdout.write('ready\n');
  for (let i = 0; ; i++) {
    const [r] = await store.addAlerts([expectedAlert(run, i)]);
    process.stdout.write(`ack ${run} ${i} ${r!.alertId} ${r!.decisionIds.join(',')}\n`);
  }
}

// Run only when executed, not when the test imports expectedAlert().
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main();
