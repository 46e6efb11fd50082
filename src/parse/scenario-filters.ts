/**
 * The scenario side of `explain`: which scenarios would receive an event (their `filter`).
 * Scenarios load through the same loader as the bucket engine, so explain reports exactly
 * what replay would pour; a scenario that fails to load is reported and left out.
 */
import type { PEvent } from '../core/event.js';
import type { RulesDir } from '../config/rules-dir.js';
import { loadScenarioFiles, type ScenarioSpec } from '../config/scenario.js';

export interface ScenarioFilter {
  name: string;
  matches(evt: PEvent): boolean;
}

export function loadScenarioFilters(rules: RulesDir, warn: (m: string) => void): ScenarioFilter[] {
  const r = loadScenarioFiles(rules.scenarioFiles, { helpers: rules.helpers, data: rules.data });
  for (const f of r.failures) warn(`scenario ${f.name} not loaded: ${f.error.message}`);
  return r.scenarios.map((s: ScenarioSpec) => ({
    name: s.name,
    matches(evt: PEvent): boolean {
      try {
        return s.filter.run({ evt }) === true;
      } catch {
        return false;
      }
    },
  }));
}
