/**
 * Golden bucket cases: fixtures/cases/buckets/<case>/ holds scenario.yaml, events.yaml and
 * expected.yaml. events.yaml is either a list of {time, meta, parsed, enriched} or a map
 * {mode, simulation, reprocess_loop, max_buckets, events}; an item {sweep: time} runs a sweep
 * with the clock at that time. expected.yaml lists the alerts in emission order (only the
 * fields given are compared) and optionally a subset of the engine stats.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadScenarioFile, type SimulationConfig } from '../../src/config/scenario.js';
import { BucketEngine, type OverflowResult } from '../../src/scenarios/engine.js';
import type { PEvent } from '../../src/core/event.js';
import { repoRoot } from '../support/debian.js';
import { FakeClock, makeEvent, type EventSpec } from './support.js';

const casesDir = join(repoRoot, 'fixtures/cases/buckets');

interface CaseInput {
  mode?: 'live' | 'replay';
  simulation?: SimulationConfig;
  reprocess_loop?: boolean;
  max_buckets?: number;
  events: (EventSpec | { sweep: string })[];
}

function summary(r: OverflowResult, i: number): Record<string, unknown> {
  const a = r.alerts[i]!;
  return {
    scenario: a.scenario,
    source: a.source.value,
    scope: a.source.scope,
    ip: a.source.ip ?? null,
    range: a.source.range ?? null,
    events_count: a.events_count,
    events: a.events.length,
    first_event_time: a.events[0]?.timestamp ?? null,
    start_at: a.start_at,
    stop_at: a.stop_at,
    message: a.message,
    leakspeed: a.leakspeed,
    capacity: a.capacity,
    remediation: a.remediation === true,
    simulated: a.simulated,
    reprocess: r.reprocess,
    kind: r.kind,
  };
}

for (const name of readdirSync(casesDir).sort()) {
  const dir = join(casesDir, name);
  if (!existsSync(join(dir, 'scenario.yaml'))) continue;
  test(`bucket golden case: ${name}`, () => {
    const rawInput = parse(readFileSync(join(dir, 'events.yaml'), 'utf8')) as CaseInput | CaseInput['events'];
    const input: CaseInput = Array.isArray(rawInput) ? { events: rawInput } : rawInput;
    const expected = parse(readFileSync(join(dir, 'expected.yaml'), 'utf8')) as {
      alerts: Record<string, unknown>[];
      stats?: Record<string, number>;
    };
    const loaded = loadScenarioFile(join(dir, 'scenario.yaml'), { simulation: input.simulation ?? null });
    assert.deepEqual(loaded.failures.map((f) => f.error.message), [], 'scenario.yaml must load');
    const mode = input.mode ?? 'replay';
    // The clock is set from each item before it is used; epoch 0 until then.
    const clock = new FakeClock({ unixSec: 0, nsec: 0, offsetSec: 0, zoneName: 'UTC' });
    const logs: string[] = [];
    const engine = new BucketEngine(loaded.scenarios, {
      mode,
      now: clock.now,
      ...(input.max_buckets ? { maxBuckets: input.max_buckets } : {}),
      log: (level, msg) => logs.push(`${level}: ${msg}`),
    });
    const got: Record<string, unknown>[] = [];
    const collect = (results: OverflowResult[]): void => {
      const again: PEvent[] = [];
      for (const r of results) {
        assert.equal(r.alerts.length, r.alert.APIAlerts.length);
        for (let i = 0; i < r.alerts.length; i++) got.push(summary(r, i));
        if (r.reprocess && input.reprocess_loop) again.push(r.event);
      }
      for (const e of again) collect(engine.pour(e));
    };
    for (const item of input.events) {
      if ('sweep' in item) {
        clock.set(item.sweep);
        collect(engine.sweep(clock.current));
      } else {
        clock.set(item.time);
        collect(engine.pour(makeEvent(item, mode)));
      }
    }
    assert.equal(got.length, expected.alerts.length, `alert count (got ${JSON.stringify(got.map((g) => g.message))}; log ${logs.join(' | ')})`);
    expected.alerts.forEach((want, i) => {
      for (const [k, v] of Object.entries(want)) {
        assert.deepEqual(got[i]![k], v, `alert ${i} field ${k}`);
      }
    });
    const stats = engine.stats as unknown as Record<string, number>;
    for (const [k, v] of Object.entries(expected.stats ?? {})) assert.equal(stats[k], v, `stats.${k}`);
  });
}
