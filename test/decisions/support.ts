/** Shared helpers for the decision store tests: temp dirs, alert/decision builders, a seeded RNG. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlertInput, DecisionInput } from '../../src/decisions/records.js';
import { mulberry32 as rng } from '../../fixtures/seeded.js';
export { rng };

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `palisade-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** An agent-shaped alert (spec §7.6) for `value`, stopping at `stopAt`. */
export function alertFor(value: string, opts: { scope?: string; scenario?: string; stopAt?: number; simulated?: boolean; machine?: string } = {}): AlertInput {
  const stopAt = opts.stopAt ?? T0;
  const scope = opts.scope ?? 'Ip';
  return {
    scenario: opts.scenario ?? 'crowdsecurity/ssh-bf',
    scenario_hash: 'abc',
    scenario_version: '0.1',
    message: `${scope} ${value} performed 'x'`,
    events_count: 6,
    start_at: iso(stopAt - 3000),
    stop_at: iso(stopAt),
    capacity: 5,
    leakspeed: '10s',
    simulated: opts.simulated ?? false,
    remediation: true,
    source: scope === 'Ip' ? { scope, value, ip: value } : { scope, value },
    events: [{ timestamp: iso(stopAt), meta: [{ key: 'source_ip', value }] }],
    labels: null,
    machine_id: opts.machine ?? 'testMachine',
  };
}

export function decisionFor(value: string, opts: Partial<DecisionInput> = {}): DecisionInput {
  return {
    origin: 'crowdsec',
    type: 'ban',
    scope: 'Ip',
    value,
    scenario: 'crowdsecurity/ssh-bf',
    durationMs: 4 * 3600_000,
    ...opts,
  };
}

