/**
 * The detection engine of one agent: parser stages → buckets → postoverflows → alerts.
 * One code path for replay and live mode; only the clock and the event mode differ.
 * Profiles and storage are the API side (src/pipeline/sink.ts), as in CrowdSec.
 */
import { ExpectMode, newLogEvent, reuseLogEvent, type PEvent } from '../core/event.js';
import { fromDate, nowGo, type GoTime } from '../core/gotime.js';
import { loadRulesDir, SHIPPED_RULES_DIR, usedMethods, type RulesDir } from '../config/rules-dir.js';
import { loadHubIndex, loadScenarioFiles, type HubIndex, type ScenarioSpec, type SimulationConfig } from '../config/scenario.js';
import { LoadError } from '../core/errors.js';
import { buildEnrichers, GEOIP_METHODS } from '../parse/enrichers/index.js';
import type { SharedGeo } from '../parse/enrichers/geoip.js';
import { newCounters, limitedWarn, type ParseRuntime } from '../parse/runtime.js';
import { parseEvent } from '../parse/stages.js';
import { BatchParser } from '../parse/batch.js';
import type { LineHint } from '../parse/line-hint.js';
import { BucketEngine, type OverflowResult, type PreparedRoutes } from '../scenarios/engine.js';
import type { LapiAlert } from '../scenarios/overflow.js';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readYamlDocs, recordYamlDocs, takeRecordedDocs } from '../config/yaml-source.js';
import { rememberRuleDocs } from '../config/rule-docs.js';

export interface EngineConfig {
  configDir?: string;
  mode: 'replay' | 'live';
  geoipDir?: string | null;
  maxBuckets?: number;
  warn?: (m: string) => void;
  now?: () => Date;
  /**
   * 'all' (default): this engine parses and pours. 'pour': lines are parsed elsewhere (the
   * worker pool) and only pourRouted()/postoverflows run here, so enrichers are built only
   * for what postoverflows use (GeoIP data costs ~50 MB and ~0.5 s per copy).
   */
  role?: 'all' | 'pour';
  /** GeoIP data in shared memory (a pool worker): used instead of opening geoipDir. */
  geoShared?: SharedGeo;
  /** Memoise pure scenario filters (scenarios/filter-memo.ts); default true. */
  filterMemo?: boolean;
  /** Scanner of parseBatch/processBatch: default the WASM one, its TS twin when missing. */
  scanner?: 'wasm' | 'twin';
}

/**
 * The clock of a replay: within one batch every line gets the same "now" (a Date per batch,
 * not per line); outside batches, a new Date per call.
 */
interface BatchClock { fixed: Date | null }

export interface AgentCounters {
  lines: number;
  parsed: number;
  unparsed: number;
  whitelisted: number;
  dropped: number;
  overflows: number;
  alerts: number;
  postoverflowWhitelisted: number;
}

export class DetectionEngine {
  readonly counters: AgentCounters = { lines: 0, parsed: 0, unparsed: 0, whitelisted: 0, dropped: 0, overflows: 0, alerts: 0, postoverflowWhitelisted: 0 };

  private constructor(
    readonly rules: RulesDir,
    readonly scenarios: readonly ScenarioSpec[],
    private readonly runtime: ParseRuntime,
    readonly buckets: BucketEngine,
    private readonly mode: 'replay' | 'live',
    private readonly clock: BatchClock | null,
    private readonly scannerImpl: 'wasm' | 'twin' | undefined,
  ) {}

  private batchParser: BatchParser | null = null;
  /** The one event parseBatch(reuse) parses every line into. */
  private scratchEvent: PEvent | null = null;

  static async create(cfg: EngineConfig): Promise<DetectionEngine> {
    const warn = limitedWarn(cfg.warn ?? ((m) => process.stderr.write(`warning: ${m}\n`)));
    const dir = cfg.configDir ?? SHIPPED_RULES_DIR;
    // The pouring side of a pool: what it parses here, the workers need not parse (config/rule-docs.ts).
    if (cfg.role === 'pour') recordYamlDocs();
    let rules: RulesDir;
    let loaded: ReturnType<typeof loadScenarioFiles>;
    try {
      rules = loadRulesDir(dir, { strict: true, warn, compileParsers: cfg.role !== 'pour' });
      const simulation = loadSimulation(join(dir, 'simulation.yaml'));
      const hubIndex = findHubIndex(dir, rules.scenarioFiles);
      loaded = loadScenarioFiles(rules.scenarioFiles, { helpers: rules.helpers, data: rules.data, simulation, hubIndex });
    } finally {
      if (cfg.role === 'pour') rememberRuleDocs(dir, takeRecordedDocs());
    }
    if (loaded.failures.length > 0) throw loaded.failures[0]!.error;
    // Replay mode without an injected clock: one Date per batch (see BatchClock).
    const clock: BatchClock | null = cfg.now || cfg.mode !== 'replay' ? null : { fixed: null };
    const nowDate = cfg.now ?? (clock ? () => clock.fixed ?? new Date() : () => new Date());
    const methods = cfg.role === 'pour' ? usedMethods(rules.postoverflows.set) : usedMethods(rules.parsers.set, rules.postoverflows.set);
    const needsGeo = [...methods].some((m) => GEOIP_METHODS.has(m));
    const enrichers = await buildEnrichers({ geoipDir: needsGeo ? cfg.geoipDir : null, geoShared: needsGeo ? cfg.geoShared : undefined, now: nowDate, warn });
    const runtime: ParseRuntime = { enrichers, counters: newCounters(), warn, now: nowDate, hint: undefined };
    const now = cfg.now ? () => fromDate(cfg.now!()) : nowGo;
    const buckets = new BucketEngine(loaded.scenarios, {
      mode: cfg.mode,
      now,
      maxBuckets: cfg.maxBuckets,
      filterMemo: cfg.filterMemo,
      // A flood evicts on every pour: log the 1st, 10th, 100th... eviction, not each one.
      onEviction: (e) => { if (isPowerOfTen(e.total)) warn(`bucket cap reached: evicted a bucket of ${e.scenario} (${e.total} evictions so far)`); },
      log: (level, msg) => { if (level === 'warn' || level === 'error') warn(msg); },
    });
    return new DetectionEngine(rules, loaded.scenarios, runtime, buckets, cfg.mode, clock, cfg.scanner);
  }

  /** Processes one raw line; returns the alerts its overflows produced (one per source). */
  processLine(raw: string, src: string, labels: Map<string, string>, module = 'file'): LapiAlert[] {
    const evt = this.parseLine(raw, src, labels, module);
    return evt === null ? [] : this.pour(evt);
  }

  /**
   * The stateless half of processLine: parser stages and whitelists, counted. Returns the
   * event to pour, or null (unparsed, dropped or whitelisted). Safe to run in any thread
   * holding the same rules; `buckets.route(evt)` then gives what `pourRouted` needs.
   * `into`: an event to reset and parse into instead of a new one (see parseBatch reuse).
   */
  parseLine(raw: string, src: string, labels: Map<string, string>, module = 'file', hint?: LineHint, into?: PEvent): PEvent | null {
    this.counters.lines++;
    const mode = this.mode === 'replay' ? ExpectMode.TIMEMACHINE : ExpectMode.LIVE;
    const evt = into === undefined
      ? newLogEvent(raw, { src, module, labels, mode, time: this.runtime.now() })
      : reuseLogEvent(into, raw, src, module, labels, this.runtime.now(), mode);
    const rt = this.runtime;
    rt.hint = hint;
    let outcome;
    try {
      outcome = parseEvent(this.rules.parsers.set, evt, rt);
    } finally {
      rt.hint = undefined;
    }
    if (outcome === 'dropped') { this.counters.dropped++; return null; }
    if (outcome === 'unparsed') { this.counters.unparsed++; return null; }
    this.counters.parsed++;
    if (evt.Whitelisted) { this.counters.whitelisted++; return null; }
    return evt;
  }

  /**
   * parseLine on every line of a batch of raw bytes (lines as batcher.ts's forEachLine of
   * batchText gives them), with the batch scanners' hints (src/parse/batch.ts); `onEvent`
   * gets each event to pour, in line order. Same events and counters as parseLine per line.
   * `reuse`: every line is parsed into one and the same event (PEvent.reset), valid during
   * its onEvent call only; for callers that keep nothing of it (a pool worker writes its
   * pour records from it, then forgets it). Never for events poured into buckets here.
   */
  parseBatch(bytes: Uint8Array, src: string, labels: Map<string, string>, onEvent: (evt: PEvent) => void, module = 'file', reuse = false): void {
    const bp = (this.batchParser ??= BatchParser.create(this.rules.parsers.set, this.scannerImpl));
    const clock = this.clock;
    if (clock) clock.fixed = new Date();
    const into = reuse ? (this.scratchEvent ??= newLogEvent('', {})) : undefined;
    try {
      bp.forEachLine(bytes, (line, hint) => {
        const evt = this.parseLine(line, src, labels, module, hint, into);
        if (evt !== null) onEvent(evt);
      });
    } finally {
      if (clock) clock.fixed = null;
    }
  }

  /** processLine on every line of a batch (see parseBatch); alerts go to `onAlerts` in order. */
  processBatch(bytes: Uint8Array, src: string, labels: Map<string, string>, onAlerts: (alerts: LapiAlert[]) => void, module = 'file'): void {
    this.parseBatch(bytes, src, labels, (evt) => {
      const alerts = this.pour(evt);
      if (alerts.length > 0) onAlerts(alerts);
    }, module);
  }

  /** Pours an event parsed and routed elsewhere (worker pool); same alerts as pour(evt). */
  pourRouted(evt: PEvent, routes: readonly (readonly [number, string])[]): LapiAlert[] {
    return this.handleOverflows(this.buckets.pourRouted(evt, routes));
  }

  /**
   * Pours an event parsed, routed and pre-evaluated in a pool worker (pour records); same
   * alerts as pour(evt). See BucketEngine.pourPrepared.
   */
  pourPrepared(evt: PEvent | null, now: GoTime | null, marshaledTime: string, routes: PreparedRoutes): LapiAlert[] {
    const results = this.buckets.pourPrepared(evt, now, marshaledTime, routes);
    return results.length === 0 ? NO_ALERTS : this.handleOverflows(results);
  }

  /** Adds line counts measured elsewhere (the pool's workers) to this engine's counters. */
  addCounts(c: Pick<AgentCounters, 'lines' | 'parsed' | 'unparsed' | 'whitelisted' | 'dropped'>): void {
    const k = this.counters;
    k.lines += c.lines;
    k.parsed += c.parsed;
    k.unparsed += c.unparsed;
    k.whitelisted += c.whitelisted;
    k.dropped += c.dropped;
  }

  /** Pours a parsed event; overflows go through postoverflows and reprocess. */
  pour(evt: PEvent): LapiAlert[] {
    return this.handleOverflows(this.buckets.pour(evt));
  }

  /** Counter buckets and idle rows: call periodically in live mode. */
  sweep(now?: GoTime): LapiAlert[] {
    return this.handleOverflows(this.buckets.sweep(now));
  }

  private handleOverflows(results: OverflowResult[]): LapiAlert[] {
    const out: LapiAlert[] = [];
    // Reprocessed overflows can overflow again; the queue keeps this iterative and bounded by the blackholes.
    const queue = [...results];
    for (let guard = 0; queue.length > 0 && guard < 10_000; guard++) {
      const r = queue.shift()!;
      this.counters.overflows++;
      if (this.rules.postoverflows.set.stages.length > 0) {
        r.event.Stage = '';
        parseEvent(this.rules.postoverflows.set, r.event, this.runtime);
        if (r.alert.Whitelisted) { this.counters.postoverflowWhitelisted++; continue; }
      }
      const alerts = r.alert.lapiAlerts();
      this.counters.alerts += alerts.length;
      out.push(...alerts);
      if (r.reprocess) queue.push(...this.buckets.pour(r.event));
    }
    return out;
  }
}

/**
 * Scenario versions come from the hub index (spec §4.2). cscli installs items as symlinks into
 * the hub, so the index is found next to the link targets (or in `<config>/hub/`).
 */
function findHubIndex(configDir: string, files: readonly string[]): HubIndex | null {
  const candidates = [join(configDir, 'hub')];
  for (const f of files.slice(0, 5)) {
    try {
      let d = dirname(realpathSync(f));
      for (let i = 0; i < 5; i++, d = dirname(d)) candidates.push(d);
    } catch {
      // unreadable link: no version
    }
  }
  for (const c of candidates) {
    const p = join(c, '.index.json');
    if (existsSync(p)) return loadHubIndex(p);
  }
  return null;
}

const NO_ALERTS: LapiAlert[] = [];
Object.freeze(NO_ALERTS);

function isPowerOfTen(n: number): boolean {
  while (n >= 10 && n % 10 === 0) n /= 10;
  return n === 1;
}

function loadSimulation(file: string): SimulationConfig | null {
  if (!existsSync(file)) return null;
  const doc = readYamlDocs(file)[0]?.value as Record<string, unknown> | null | undefined;
  if (!doc) return null;
  const sim = doc.simulation;
  const on = sim === true || sim === 'on' || sim === 'true';
  const ex = doc.exclusions;
  if (ex !== undefined && ex !== null && !Array.isArray(ex)) throw new LoadError('SCHEMA', 'exclusions must be a list', { file });
  return { simulation: on, exclusions: (ex as unknown[] | undefined ?? []).map(String) };
}
