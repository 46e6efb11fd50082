/**
 * `palisade explain`: run lines through the parser stages one at a time and report what each
 * top-level node did, the final Parsed/Meta, and which scenarios the event would be poured
 * into. Explain runs in time-machine mode, as `cscli explain` does.
 */
import { ExpectMode, newLogEvent } from '../core/event.js';
import { loadRulesDir, SHIPPED_RULES_DIR, usedMethods, type RulesDir } from '../config/rules-dir.js';
import { buildEnrichers, GEOIP_METHODS } from './enrichers/index.js';
import { newCounters, limitedWarn, type ParseRuntime } from './runtime.js';
import { parseEvent, type NodeTrace } from './stages.js';
import { loadScenarioFilters, type ScenarioFilter } from './scenario-filters.js';

export interface ExplainOptions {
  type: string;
  configDir?: string;
  src?: string;
  now?: Date;
  geoipDir?: string | null;
  warn?: (m: string) => void;
}

export interface ExplainLine {
  line: string;
  success: boolean;
  parsers: NodeTrace[];
  parsed: Record<string, string>;
  meta: Record<string, string>;
  enriched: Record<string, string>;
  whitelisted: boolean;
  scenarios: string[];
  error?: string;
}

export interface Explainer {
  rules: RulesDir;
  runtime: ParseRuntime;
  explain(line: string): ExplainLine;
}

const sorted = (m: Map<string, string>): Record<string, string> =>
  Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export async function createExplainer(opts: ExplainOptions): Promise<Explainer> {
  const warn = limitedWarn(opts.warn ?? ((m) => process.stderr.write(`warning: ${m}\n`)));
  const rules = loadRulesDir(opts.configDir ?? SHIPPED_RULES_DIR, { strict: true, warn });
  const nowFn = opts.now ? () => opts.now! : () => new Date();
  const methods = usedMethods(rules.parsers.set, rules.postoverflows.set);
  const needsGeo = [...methods].some((m) => GEOIP_METHODS.has(m));
  const enrichers = await buildEnrichers({ geoipDir: needsGeo ? opts.geoipDir : null, now: nowFn, warn });
  const runtime: ParseRuntime = { enrichers, counters: newCounters(), warn, now: nowFn };
  const scenarios: ScenarioFilter[] = loadScenarioFilters(rules, warn);
  const labels = new Map([['type', opts.type]]);
  return {
    rules,
    runtime,
    explain(line: string): ExplainLine {
      const evt = newLogEvent(line, { src: opts.src ?? '', module: 'file', labels, mode: ExpectMode.TIMEMACHINE, time: nowFn() });
      const trace: NodeTrace[] = [];
      runtime.counters.lines++;
      let outcome;
      let error: string | undefined;
      try {
        outcome = parseEvent(rules.parsers.set, evt, runtime, trace);
      } catch (e) {
        outcome = 'dropped' as const;
        error = (e as Error).message;
      }
      const success = outcome === 'parsed';
      if (success) runtime.counters.parsed++;
      else runtime.counters.unparsed++;
      const matched = success && !evt.Whitelisted ? scenarios.filter((s) => s.matches(evt)).map((s) => s.name) : [];
      return {
        line,
        success,
        parsers: trace,
        parsed: sorted(evt.Parsed),
        meta: sorted(evt.Meta),
        enriched: sorted(evt.Enriched),
        whitelisted: evt.Whitelisted,
        scenarios: matched,
        ...(error ? { error } : outcome === 'dropped' ? { error: 'event dropped by a static (see warnings)' } : {}),
      };
    },
  };
}
