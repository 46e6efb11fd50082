/**
 * Scenario YAML (hub format, spec §4.1–4.2) → validated, frozen ScenarioSpec with every
 * expression compiled once. Decoding is strict like CrowdSec's (an unknown key is a load
 * error), and each error names file, document, scenario and YAML line:col. A file may hold
 * several documents; one bad document does not hide the good ones (the caller decides whether
 * a failure is fatal, `hub check` only counts it).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { compileExpr, type CompiledExpr, type HelperContext } from '../expr/index.js';
import { parseGoDuration } from '../core/duration.js';
import { LoadError, type Where } from '../core/errors.js';
import { keyPosOf, parseYamlDocs, posOf, whereAt, type YamlDoc } from './yaml-source.js';
import type { DataEntry, DataFiles } from './data-files.js';

export type BucketType = 'leaky' | 'trigger' | 'counter' | 'conditional' | 'bayesian';

export interface ScopeSpec {
  /** `Ip` (default), `Range`, or any custom scope name (`system_account`, ...). */
  readonly type: string;
  readonly expression: CompiledExpr | null;
}

export interface BayesianConditionSpec {
  readonly condition: CompiledExpr;
  /** float32 in CrowdSec; kept as the float32-rounded value. */
  readonly probGivenEvil: number;
  readonly probGivenBenign: number;
  readonly guillotine: boolean;
}

export interface ScenarioSpec {
  readonly name: string;
  readonly description: string;
  readonly type: BucketType;
  readonly author: string;
  readonly references: readonly string[];
  readonly format: string;
  /** Where it came from: file path and 0-based document index. */
  readonly file: string;
  readonly docIndex: number;
  /** SHA-256 hex of the whole file (spec §4.2). */
  readonly hash: string;
  /** Hub index version whose digest matches the file, else ''. */
  readonly version: string;
  readonly filterSource: string;
  readonly filter: CompiledExpr;
  readonly groupby: CompiledExpr | null;
  readonly distinct: CompiledExpr | null;
  /** leaky > 0, trigger 0, counter/bayesian -1, conditional usually -1. */
  readonly capacity: number;
  /** Go duration in ns; 0 when absent. `leakspeedText` is what the alert prints. */
  readonly leakspeedNs: number;
  readonly durationNs: number;
  readonly cacheSize: number;
  readonly overflowFilter: CompiledExpr | null;
  readonly cancelOn: CompiledExpr | null;
  /** 0 = no blackhole. */
  readonly blackholeNs: number;
  readonly reprocess: boolean;
  readonly labels: Readonly<Record<string, unknown>>;
  /** labels.remediation == "true" (CrowdSec compares the string form). */
  readonly remediation: boolean;
  readonly scope: ScopeSpec;
  readonly data: readonly DataEntry[];
  readonly debug: boolean;
  readonly simulated: boolean;
  /** conditional: overflow when true (env queue, leaky, evt). */
  readonly condition: CompiledExpr | null;
  readonly bayesianPrior: number;
  readonly bayesianThreshold: number;
  readonly bayesianConditions: readonly BayesianConditionSpec[];
}

/** Versions of hub items, from the hub's `.index.json` (spec §4.2: `ssh-bf` → `0.1`). */
export interface HubIndex {
  /** SHA-256 hex of a file → the version it is in the hub. */
  readonly versionByDigest: ReadonlyMap<string, string>;
}

export interface SimulationConfig {
  simulation: boolean;
  exclusions: readonly string[];
}

export interface ScenarioLoadOptions {
  helpers?: HelperContext;
  /** Where `data:` entries are loaded (File()/RegexpInFile()); entries are only recorded without it. */
  data?: DataFiles;
  hubIndex?: HubIndex | null;
  simulation?: SimulationConfig | null;
}

export interface ScenarioFailure {
  file: string;
  /** 0-based document index; -1 when the whole file failed (I/O, YAML syntax). */
  docIndex: number;
  /** Scenario name when known, else `document N`. */
  name: string;
  error: LoadError;
}

export interface ScenarioLoadResult {
  scenarios: ScenarioSpec[];
  failures: ScenarioFailure[];
}

const KEYS = new Set([
  'type', 'name', 'description', 'author', 'references', 'format', 'version',
  'filter', 'groupby', 'distinct', 'capacity', 'leakspeed', 'duration', 'cache_size',
  'overflow_filter', 'cancel_on', 'blackhole', 'reprocess', 'labels', 'scope', 'data',
  'debug', 'profiling', 'simulated',
  // newer (conditional / bayesian)
  'condition', 'bayesian_prior', 'bayesian_threshold', 'bayesian_conditions',
]);
const SCOPE_KEYS = new Set(['type', 'expression']);
const DATA_KEYS = new Set(['source_url', 'dest_file', 'type']);
const BAYES_KEYS = new Set(['condition', 'prob_given_evil', 'prob_given_benign', 'guillotine']);
const TYPES = new Set<BucketType>(['leaky', 'trigger', 'counter', 'conditional', 'bayesian']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads `<hub>/.index.json` into a digest → version map. */
export function loadHubIndex(indexPath: string): HubIndex {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(indexPath, 'utf8'));
  } catch (e) {
    throw new LoadError('IO', `cannot read hub index: ${(e as Error).message}`, { file: indexPath });
  }
  const versionByDigest = new Map<string, string>();
  const scenarios = isObj(raw) && isObj(raw.scenarios) ? raw.scenarios : {};
  for (const item of Object.values(scenarios)) {
    if (!isObj(item) || !isObj(item.versions)) continue;
    for (const [ver, info] of Object.entries(item.versions)) {
      if (isObj(info) && typeof info.digest === 'string') versionByDigest.set(info.digest, ver);
    }
  }
  return { versionByDigest };
}

/** Reads and compiles every document of one scenario file. Never throws: failures are returned. */
export function loadScenarioFile(file: string, opts: ScenarioLoadOptions = {}): ScenarioLoadResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const error = new LoadError('IO', (e as Error).message, { file });
    return { scenarios: [], failures: [{ file, docIndex: -1, name: file, error }] };
  }
  return loadScenarioText(bytes.toString('utf8'), file, opts, createHash('sha256').update(bytes).digest('hex'));
}

/** Loads several files; results are concatenated in the given order. */
export function loadScenarioFiles(files: readonly string[], opts: ScenarioLoadOptions = {}): ScenarioLoadResult {
  const out: ScenarioLoadResult = { scenarios: [], failures: [] };
  for (const f of files) {
    const r = loadScenarioFile(f, opts);
    out.scenarios.push(...r.scenarios);
    out.failures.push(...r.failures);
  }
  return out;
}

/** Compiles scenario documents from text (`hash` defaults to the SHA-256 of the text). */
export function loadScenarioText(text: string, file: string, opts: ScenarioLoadOptions = {}, hash?: string): ScenarioLoadResult {
  const fileHash = hash ?? createHash('sha256').update(text).digest('hex');
  let docs: YamlDoc[];
  try {
    docs = parseYamlDocs(text, file);
  } catch (e) {
    const error = e instanceof LoadError ? e : new LoadError('YAML_SYNTAX', String(e), { file });
    return { scenarios: [], failures: [{ file, docIndex: -1, name: file, error }] };
  }
  const version = opts.hubIndex?.versionByDigest.get(fileHash) ?? '';
  const out: ScenarioLoadResult = { scenarios: [], failures: [] };
  for (const doc of docs) {
    // Empty documents (a trailing `---`) are skipped, as the Go YAML decoder does.
    if (doc.value === null || doc.value === undefined) continue;
    const name = isObj(doc.value) && typeof doc.value.name === 'string' ? doc.value.name : `document ${doc.index + 1}`;
    try {
      out.scenarios.push(compileScenarioDoc(doc, file, fileHash, version, opts));
    } catch (e) {
      const error = e instanceof LoadError
        ? e.withWhere({ file, item: name })
        : new LoadError('SCHEMA', (e as Error).message ?? String(e), whereAt(file, doc.pos, { item: name, path: docPath(doc.index) }));
      out.failures.push({ file, docIndex: doc.index, name, error });
    }
  }
  return out;
}

function docPath(index: number, key?: string): string {
  return `document ${index + 1}${key ? ` '${key}'` : ''}`;
}

class DocCompiler {
  private item: string | undefined;
  constructor(private readonly file: string, private readonly doc: YamlDoc, private readonly opts: ScenarioLoadOptions) {}

  setItem(name: string): void {
    this.item = name;
  }

  where(obj: unknown, key?: string, sub?: string): Where {
    const pos = key !== undefined ? keyPosOf(obj, key) : posOf(obj);
    return whereAt(this.file, pos ?? this.doc.pos, { item: this.item, path: docPath(this.doc.index, sub ?? key) });
  }

  fail(obj: unknown, key: string | undefined, msg: string, code: 'SCHEMA' | 'UNKNOWN_KEY' = 'SCHEMA'): never {
    throw new LoadError(code, msg, this.where(obj, key));
  }

  checkKeys(obj: Obj, allowed: Set<string>, what: string): void {
    for (const k of Object.keys(obj)) {
      if (!allowed.has(k)) this.fail(obj, k, `unknown key '${k}' in ${what}`, 'UNKNOWN_KEY');
    }
  }

  str(obj: Obj, key: string): string | null {
    const v = obj[key];
    if (v === undefined || v === null) return null;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return this.fail(obj, key, `'${key}' must be a string`);
  }

  int(obj: Obj, key: string, dflt: number): number {
    const v = obj[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim());
    return this.fail(obj, key, `'${key}' must be an integer, got ${JSON.stringify(v)}`);
  }

  float(obj: Obj, key: string): number {
    const v = obj[key];
    if (v === undefined || v === null) return 0;
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
    if (!Number.isFinite(n)) this.fail(obj, key, `'${key}' must be a number, got ${JSON.stringify(v)}`);
    return n;
  }

  bool(obj: Obj, key: string): boolean {
    const v = obj[key];
    if (v === undefined || v === null) return false;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    return this.fail(obj, key, `'${key}' must be a boolean, got ${JSON.stringify(v)}`);
  }

  duration(obj: Obj, key: string): { ns: number; text: string } | null {
    const text = this.str(obj, key);
    if (text === null || text === '') return null;
    const ns = parseGoDuration(text);
    if (ns === null) this.fail(obj, key, `bad ${key} '${text}': not a Go duration (e.g. 10s, 1m30s, 4h; no 'd')`);
    return { ns, text };
  }

  expr(obj: Obj, key: string, env: readonly string[], sub?: string): CompiledExpr | null {
    const src = this.str(obj, key);
    if (src === null || src.trim() === '') return null;
    const at = this.where(obj, key, sub);
    // The expr module reports the column inside the expression; the YAML line is the key's.
    const { line: _l, col: _c, ...noPos } = at;
    try {
      return compileExpr(src, { env, helpers: this.opts.helpers, where: noPos });
    } catch (e) {
      if (e instanceof LoadError) throw new LoadError(e.code, e.reason, { ...at, ...(e.where.path ? { path: e.where.path } : {}) });
      throw e;
    }
  }
}

function compileScenarioDoc(doc: YamlDoc, file: string, hash: string, version: string, opts: ScenarioLoadOptions): ScenarioSpec {
  const c: DocCompiler = new DocCompiler(file, doc, opts);
  const raw = doc.value;
  if (!isObj(raw)) return c.fail(raw, undefined, 'a scenario document must be a map');
  const nameRaw = c.str(raw, 'name');
  if (nameRaw) c.setItem(nameRaw);
  c.checkKeys(raw, KEYS, 'scenario');

  // Same checks, same order of precedence as CrowdSec's factory validation.
  if (!nameRaw) c.fail(raw, undefined, 'bucket must have name');
  const name = nameRaw;
  const description = c.str(raw, 'description') ?? '';
  if (description === '') c.fail(raw, 'description', 'description is mandatory');
  const typeText = c.str(raw, 'type') ?? '';
  if (!TYPES.has(typeText as BucketType)) c.fail(raw, 'type', `unknown bucket type '${typeText}'`);
  const type = typeText as BucketType;

  const format = c.str(raw, 'format') ?? '1.0';
  const fmtNum = Number(format);
  if (!(Number.isFinite(fmtNum) && fmtNum >= 1 && fmtNum < 3)) {
    c.fail(raw, 'format', `format '${format}' is not supported (need >=1.0,<3.0)`);
  }

  const filterSource = c.str(raw, 'filter') ?? '';
  if (filterSource.trim() === '') c.fail(raw, 'filter', 'bucket without filter directive');

  const capacity = c.int(raw, 'capacity', 0);
  const leak = c.duration(raw, 'leakspeed');
  const dur = c.duration(raw, 'duration');
  const leakspeedNs = leak?.ns ?? 0;
  const durationNs = dur?.ns ?? 0;
  const cacheSize = c.int(raw, 'cache_size', 0);

  switch (type) {
    case 'leaky':
      if (capacity <= 0) c.fail(raw, 'capacity', `bad capacity for leaky '${capacity}' (must be > 0)`);
      if (!leak) c.fail(raw, 'leakspeed', "leakspeed can't be empty for leaky");
      if (leakspeedNs <= 0) c.fail(raw, 'leakspeed', `bad leakspeed for leaky '${leak.text}'`);
      break;
    case 'counter':
      if (durationNs <= 0) c.fail(raw, 'duration', "duration can't be empty for counter");
      if (capacity !== -1) c.fail(raw, 'capacity', 'counter bucket must have -1 capacity');
      break;
    case 'trigger':
      if (capacity !== 0) c.fail(raw, 'capacity', 'trigger bucket must have 0 capacity');
      break;
    case 'conditional':
      if (c.str(raw, 'condition') === null) c.fail(raw, undefined, 'conditional bucket must have a condition');
      if (!leak) c.fail(raw, 'leakspeed', "leakspeed can't be empty for conditional bucket");
      if (leakspeedNs <= 0) c.fail(raw, 'leakspeed', `bad leakspeed for conditional bucket '${leak.text}'`);
      break;
    case 'bayesian':
      // CrowdSec does not check it at load, but a bucket without leakspeed would never expire
      // (Go panics on its zero-interval timer), so refuse it here with a clear reason.
      if (!leak || leakspeedNs <= 0) c.fail(raw, 'leakspeed', "leakspeed can't be empty for bayesian bucket");
      break; // the rest is validated below with its keys
  }

  const evtEnv = ['evt'] as const;
  const filter = c.expr(raw, 'filter', evtEnv)!;
  const groupby = c.expr(raw, 'groupby', evtEnv);
  const distinct = c.expr(raw, 'distinct', evtEnv);
  const cancelOn = c.expr(raw, 'cancel_on', evtEnv);
  const overflowFilter = c.expr(raw, 'overflow_filter', ['queue', 'signal', 'leaky']);
  const condEnv = ['queue', 'leaky', 'evt'] as const;
  const condition = type === 'conditional' ? c.expr(raw, 'condition', condEnv) : null;
  if (type !== 'conditional' && raw.condition !== undefined && raw.condition !== null) {
    c.fail(raw, 'condition', `'condition' only applies to conditional buckets (type is ${type})`);
  }

  const blackhole = c.duration(raw, 'blackhole');

  // labels: CrowdSec 1.4.6 decodes them as strings; newer hubs put lists under some keys, keep them as-is.
  let labels: Obj = {};
  if (raw.labels !== undefined && raw.labels !== null) {
    if (!isObj(raw.labels)) c.fail(raw, 'labels', "'labels' must be a map");
    labels = { ...raw.labels };
  }
  const remediation = labels.remediation !== undefined && labels.remediation !== null && String(labels.remediation) === 'true';

  const scope = compileScope(c, raw);

  const data: DataEntry[] = [];
  if (raw.data !== undefined && raw.data !== null) {
    if (!Array.isArray(raw.data)) c.fail(raw, 'data', "'data' must be a list");
    for (const d of raw.data) {
      if (!isObj(d)) c.fail(raw, 'data', "each 'data' entry must be a map");
      c.checkKeys(d, DATA_KEYS, 'data entry');
      const entry: DataEntry = {};
      const su = c.str(d, 'source_url'), df = c.str(d, 'dest_file'), ty = c.str(d, 'type');
      if (su !== null) entry.source_url = su;
      if (df !== null) entry.dest_file = df;
      if (ty !== null) entry.type = ty;
      opts.data?.load(entry, c.where(d, undefined, 'data'));
      data.push(Object.freeze(entry));
    }
  }

  let references: string[] = [];
  const refs = raw.references;
  if (typeof refs === 'string') references = [refs];
  else if (Array.isArray(refs)) references = refs.map((r) => String(r));

  let bayesianPrior = 0, bayesianThreshold = 0;
  const bayesianConditions: BayesianConditionSpec[] = [];
  if (type === 'bayesian') {
    const list = raw.bayesian_conditions;
    if (list === undefined || list === null) c.fail(raw, undefined, 'bayesian bucket must have bayesian conditions');
    if (!Array.isArray(list)) c.fail(raw, 'bayesian_conditions', "'bayesian_conditions' must be a list");
    bayesianPrior = Math.fround(c.float(raw, 'bayesian_prior'));
    bayesianThreshold = Math.fround(c.float(raw, 'bayesian_threshold'));
    if (bayesianPrior === 0 || bayesianPrior > 1) c.fail(raw, 'bayesian_prior', 'bayesian bucket must have a valid, non-zero prior');
    if (bayesianThreshold === 0 || bayesianThreshold > 1) c.fail(raw, 'bayesian_threshold', 'bayesian bucket must have a valid, non-zero threshold');
    if (capacity !== -1) c.fail(raw, 'capacity', 'bayesian bucket must have capacity -1');
    list.forEach((bc, i) => {
      if (!isObj(bc)) c.fail(raw, 'bayesian_conditions', `bayesian_conditions[${i}] must be a map`);
      c.checkKeys(bc, BAYES_KEYS, `bayesian_conditions[${i}]`);
      const cond = c.expr(bc, 'condition', condEnv, `bayesian_conditions[${i}].condition`);
      if (!cond) c.fail(bc, undefined, `bayesian_conditions[${i}] has no condition`);
      bayesianConditions.push(Object.freeze({
        condition: cond,
        probGivenEvil: Math.fround(c.float(bc, 'prob_given_evil')),
        probGivenBenign: Math.fround(c.float(bc, 'prob_given_benign')),
        guillotine: c.bool(bc, 'guillotine'),
      }));
    });
  } else {
    for (const k of ['bayesian_prior', 'bayesian_threshold', 'bayesian_conditions']) {
      if (raw[k] !== undefined && raw[k] !== null) c.fail(raw, k, `'${k}' only applies to bayesian buckets (type is ${type})`);
    }
  }

  let simulated = c.bool(raw, 'simulated');
  const sim = opts.simulation;
  if (sim) simulated = sim.simulation !== sim.exclusions.includes(name);

  return Object.freeze({
    name, description, type,
    author: c.str(raw, 'author') ?? '',
    references: Object.freeze(references),
    format,
    file, docIndex: doc.index, hash, version,
    filterSource, filter, groupby, distinct,
    capacity, leakspeedNs, durationNs, cacheSize,
    overflowFilter, cancelOn,
    blackholeNs: blackhole?.ns ?? 0,
    reprocess: c.bool(raw, 'reprocess'),
    labels: Object.freeze(labels),
    remediation,
    scope,
    data: Object.freeze(data),
    debug: c.bool(raw, 'debug'),
    simulated,
    condition,
    bayesianPrior, bayesianThreshold,
    bayesianConditions: Object.freeze(bayesianConditions),
  });
}

function compileScope(c: DocCompiler, raw: Obj): ScopeSpec {
  const s = raw.scope;
  if (s === undefined || s === null) return Object.freeze({ type: 'Ip', expression: null });
  if (!isObj(s)) return c.fail(raw, 'scope', "'scope' must be a map with 'type' and optional 'expression'");
  c.checkKeys(s, SCOPE_KEYS, 'scope');
  const typeText = c.str(s, 'type') ?? '';
  // CrowdSec's scope constants are matched exactly (`Ip`, `Range`); an empty type means Ip.
  const type = typeText === '' ? 'Ip' : typeText;
  const expression = c.expr(s, 'expression', ['evt'], 'scope.expression');
  if (type !== 'Ip' && type !== 'Range' && !expression) {
    c.fail(s, 'type', `scope '${type}' needs a scope.expression giving the value`);
  }
  return Object.freeze({ type, expression: type === 'Ip' ? null : expression });
}
