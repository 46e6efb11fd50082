/**
 * Piscina task: parse one batch of lines and route the results to scenarios (design.md §1).
 *
 * Each worker loads the rules once (parsers, enrichers, scenario filters/groupby) from the
 * config in `workerData`, then per batch scans the bytes (DetectionEngine.parseBatch:
 * line split, literal prefilter, syslog header spans) and runs parser stages, whitelists and `route()`
 * on every line, and returns the pour records (src/pipeline/pour-records.ts) as one moved
 * buffer. Bucket state never lives here: the main thread applies the pours in order.
 */
import { move, workerData } from 'piscina';
import { DetectionEngine } from '../pipeline/engine.js';
import { PourRecordWriter } from '../pipeline/pour-records.js';
import { enableRegexpBacktrackGuard } from '../grok/regexp-guard.js';
import type { SharedGeo } from '../parse/enrichers/geoip.js';
import { ALL_FIELDS, fieldNeeds } from '../pipeline/field-needs.js';
import { PreparedRoutes } from '../scenarios/engine.js';
import { planDeferral, planTails, runDeferred } from '../parse/deferred.js';
import { enableDeferral } from '../parse/stages.js';
import { endLoadTimeTierUp } from '../pipeline/pool.js';
import { dropPreloadedYamlDocs, preloadYamlDocs, type PackedYamlFile } from '../config/yaml-source.js';

export interface ParseWorkerData {
  configDir?: string;
  geoipDir?: string | null;
  /** GeoIP data shared by the pool's creator (else each worker opens geoipDir itself). */
  geoShared?: SharedGeo;
  /** Send every event field, whatever the rules read (tests of the field-needs analysis). */
  allFields?: boolean;
  /** false: run every parser static in place (src/parse/deferred.ts off); default true (off with allFields, which sends every field of every event). */
  deferStatics?: boolean;
  /** The rules' YAML documents, parsed by the pool's creator (config/rule-docs.ts); files missing here are parsed as usual. */
  yamlDocs?: PackedYamlFile[];
}

export interface ParseTask {
  bytes: ArrayBuffer;
  src: string;
  /** labels as [key, value] pairs (a Map is cloned per task anyway). */
  labels: [string, string][];
}

// A hostile line must never stall a worker either (V8 flags are per process; set before compiling).
enableRegexpBacktrackGuard();
const data = (workerData ?? {}) as ParseWorkerData;
if (data.yamlDocs) {
  preloadYamlDocs(data.yamlDocs);
  // Not kept for the worker's life by workerData: once loaded, the rules hold what they use.
  data.yamlDocs = undefined;
}
// Warnings of all workers go to the one stderr, prefixed so they can be told apart.
const ready = DetectionEngine.create({
  configDir: data.configDir,
  mode: 'replay',
  geoipDir: data.geoipDir,
  geoShared: data.geoShared,
  warn: (m) => process.stderr.write(`warning: ${m}\n`),
}).then((engine) => {
  dropPreloadedYamlDocs();
  // The rules are loaded: the lines' code tiers up at V8's default pace (pool.ts loadTimeTierUp).
  endLoadTimeTierUp();
  // Statics whose results only routed events need (GeoIP enrichment...) run after routing,
  // for those events alone (src/parse/deferred.ts proves it from the rules).
  if (data.deferStatics !== false && data.allFields !== true) {
    const set = engine.rules.parsers.set;
    try {
      const post = engine.rules.postoverflows.set;
      enableDeferral(set, planDeferral(set, engine.scenarios, post), planTails(set, engine.scenarios, post));
    } catch (e) {
      // An analysis failure only costs the saving: every static then runs in place.
      process.stderr.write(`warning: statics deferral disabled: ${(e as Error).message}\n`);
    }
  }
  return engine;
});

let writer: PourRecordWriter | null = null;
const routes = new PreparedRoutes();
/** One writer per worker (its buffers are reused); distinct / cancel_on are evaluated here. */
function writerOf(engine: DetectionEngine): PourRecordWriter {
  if (writer) return writer;
  const needs = data.allFields ? ALL_FIELDS : fieldNeeds(engine.scenarios, engine.rules.postoverflows.set);
  return (writer = new PourRecordWriter(needs, engine.scenarios));
}

const labelCache = new Map<string, Map<string, string>>();
function labelsOf(pairs: [string, string][]): Map<string, string> {
  const key = JSON.stringify(pairs);
  let m = labelCache.get(key);
  if (!m) labelCache.set(key, (m = new Map(pairs)));
  return m;
}

export default async function parseBatch(task: ParseTask): Promise<Uint8Array> {
  const engine = await ready;
  const labels = labelsOf(task.labels);
  const before = { ...engine.counters };
  const out = writerOf(engine);
  const buckets = engine.buckets;
  // One scan of the batch (lines, prefilter, syslog header) in WASM, then per line the parsers.
  // One event object for every line: add() copies what it needs, nothing keeps the event.
  engine.parseBatch(new Uint8Array(task.bytes), task.src, labels, (evt) => {
    const r = buckets.routeInto(evt, routes);
    if (r.count > 0) runDeferred(evt);
    out.add(evt, r);
  }, 'file', true);
  const c = engine.counters;
  const packed = out.finish({
    lines: c.lines - before.lines,
    parsed: c.parsed - before.parsed,
    unparsed: c.unparsed - before.unparsed,
    whitelisted: c.whitelisted - before.whitelisted,
    dropped: c.dropped - before.dropped,
  });
  return move(packed) as unknown as Uint8Array;
}
