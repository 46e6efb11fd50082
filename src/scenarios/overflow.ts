/**
 * Overflow → alert (spec §4.8). Builds, from a bucket that overflowed:
 *  - the LAPI Alert objects (one per source, JSON shape of spec §7.6, what the agent POSTs),
 *  - the RuntimeAlert that rides on the OVFLW event (`evt.Overflow`) for postoverflows,
 *    reprocess and hubtest, whose `Alert` / `Sources` expose Go field names
 *    (`evt.Overflow.Alert.Source.IP`) as views over those same JSON objects, so a
 *    postoverflow that sets `Source.Value` changes what is sent.
 */
import { EventType, PEvent, type RuntimeAlert } from '../core/event.js';
import { formatGoDuration } from '../core/duration.js';
import { formatGoString, formatRFC3339Nano, fromDate } from '../core/gotime.js';
import { formatIp, parseCidr, parseIp } from '../core/ip.js';
import type { ScenarioSpec } from '../config/scenario.js';
import type { BucketRow } from './table.js';
import { diffNs } from './time.js';

export interface LapiMetaItem { key: string; value: string }

export interface LapiEvent { meta: LapiMetaItem[]; timestamp: string }

export interface LapiSource {
  as_name?: string;
  as_number?: string;
  cn?: string;
  ip?: string;
  latitude?: number;
  longitude?: number;
  range?: string;
  scope: string;
  value: string;
}

/** Alert as POSTed by the agent (keys in Go's JSON order). */
export interface LapiAlert {
  capacity: number;
  decisions: null;
  events: LapiEvent[];
  events_count: number;
  labels: null;
  leakspeed: string;
  message: string;
  remediation?: boolean;
  scenario: string;
  scenario_hash: string;
  scenario_version: string;
  simulated: boolean;
  source: LapiSource;
  start_at: string;
  stop_at: string;
}

/** Go-named view of a Source (models.Source) over its JSON object. */
export class SourceView {
  constructor(readonly json: LapiSource) {}
  get Scope(): string { return this.json.scope; }
  set Scope(v: string) { this.json.scope = v; }
  get Value(): string { return this.json.value; }
  set Value(v: string) { this.json.value = v; }
  get IP(): string { return this.json.ip ?? ''; }
  set IP(v: string) { setOpt(this.json, 'ip', v); }
  get Range(): string { return this.json.range ?? ''; }
  set Range(v: string) { setOpt(this.json, 'range', v); }
  get AsName(): string { return this.json.as_name ?? ''; }
  get AsNumber(): string { return this.json.as_number ?? ''; }
  get Cn(): string { return this.json.cn ?? ''; }
  get Latitude(): number { return this.json.latitude ?? 0; }
  get Longitude(): number { return this.json.longitude ?? 0; }
  toJSON(): LapiSource { return this.json; }
}

function setOpt(o: LapiSource, k: 'ip' | 'range', v: string): void {
  if (v === '') delete o[k];
  else o[k] = v;
}

/** Go-named view of an API alert (models.Alert) plus the getters profiles use (spec §5.2). */
export class AlertView {
  readonly Source: SourceView;
  private events: { Timestamp: string; Meta: LapiMetaItem[] }[] | null = null;
  constructor(readonly json: LapiAlert) {
    this.Source = new SourceView(json.source);
  }
  get Scenario(): string { return this.json.scenario; }
  get ScenarioHash(): string { return this.json.scenario_hash; }
  get ScenarioVersion(): string { return this.json.scenario_version; }
  get Message(): string { return this.json.message; }
  get EventsCount(): number { return this.json.events_count; }
  get Capacity(): number { return this.json.capacity; }
  get Leakspeed(): string { return this.json.leakspeed; }
  get StartAt(): string { return this.json.start_at; }
  get StopAt(): string { return this.json.stop_at; }
  get Simulated(): boolean { return this.json.simulated; }
  get Remediation(): boolean { return this.json.remediation === true; }
  set Remediation(v: boolean) {
    if (v) this.json.remediation = true;
    else delete this.json.remediation;
  }
  get Labels(): null { return null; }
  get Events(): { Timestamp: string; Meta: LapiMetaItem[] }[] {
    return (this.events ??= this.json.events.map((e) => ({ Timestamp: e.timestamp, Meta: e.meta })));
  }
  GetScope(): string { return this.json.source.scope; }
  GetValue(): string { return this.json.source.value; }
  GetScenario(): string { return this.json.scenario; }
  GetEventsCount(): number { return this.json.events_count; }
  /** Alert-level meta is not filled by 1.4.6; the events' meta is what carries data. */
  GetMeta(key: string): string {
    for (const e of this.json.events) for (const m of e.meta) if (m.key === key && m.value !== '') return m.value;
    return '';
  }
  toJSON(): LapiAlert { return this.json; }
}

export class OverflowAlert implements RuntimeAlert {
  Whitelisted = false;
  constructor(
    readonly Mapkey: string,
    readonly BucketId: string,
    public Reprocess: boolean,
    readonly Sources: Map<string, SourceView>,
    readonly APIAlerts: AlertView[],
  ) {}
  get Alert(): AlertView | null {
    return this.APIAlerts[0] ?? null;
  }
  GetSources(): string[] {
    return [...this.Sources.keys()];
  }
  /** The JSON objects to POST (one per source). */
  lapiAlerts(): LapiAlert[] {
    return this.APIAlerts.map((a) => a.json);
  }
}

export class AlertBuildError extends Error {}

/**
 * Builds the alert of an overflowed bucket. Throws AlertBuildError when CrowdSec would
 * lose the alert (an event without a valid source_ip in an Ip/Range scenario, a scope
 * expression failing, sources of mixed scopes, no source at all).
 */
export function buildOverflowAlert(row: BucketRow): OverflowAlert {
  const spec = row.spec;
  const { sources, scope } = checkOverflowAlert(row);
  const first = row.firstTs!, ovflw = row.ovflwTs!, last = row.lastTs!;
  const queue = row.queue.Queue;
  const who = sources.size === 1 ? sources.keys().next().value! : `${sources.size} sources`;
  const message = `${scope} ${who} performed '${spec.name}' (${row.totalCount} events over ${formatGoDuration(diffNs(ovflw, first))}) at ${formatGoString(last)}`;
  const events = eventsFromQueue(queue);
  const startAt = formatRFC3339Nano(first), stopAt = formatRFC3339Nano(ovflw);
  const leakspeed = formatGoDuration(spec.leakspeedNs);
  const views: AlertView[] = [];
  const srcViews = new Map<string, SourceView>();
  for (const [value, src] of sources) {
    const json: LapiAlert = {
      capacity: spec.capacity,
      decisions: null,
      events,
      events_count: row.totalCount,
      labels: null,
      leakspeed,
      message,
      ...(spec.remediation ? { remediation: true } : {}),
      scenario: spec.name,
      scenario_hash: spec.hash,
      scenario_version: spec.version,
      simulated: spec.simulated,
      source: orderedSource(src),
      start_at: startAt,
      stop_at: stopAt,
    };
    const view = new AlertView(json);
    views.push(view);
    srcViews.set(value, view.Source);
  }
  return new OverflowAlert(row.Mapkey, row.Mapkey, spec.reprocess, srcViews, views);
}

/**
 * The part of buildOverflowAlert that can fail: timestamps and sources. Throws the same
 * AlertBuildError; used alone when the alert itself would be discarded anyway (blackhole).
 */
export function checkOverflowAlert(row: BucketRow): { sources: Map<string, LapiSource>; scope: string } {
  const spec = row.spec;
  if (!row.firstTs || !row.ovflwTs || !row.lastTs) throw new AlertBuildError(`${spec.name}: bucket has no timestamps`);
  return checkedSources(spec, sourcesFromQueue(spec, row.queue.Queue));
}

/**
 * checkOverflowAlert when only whether it throws matters (an overflow a blackhole drops): the
 * same checks in the same order, without building the sources. An Ip scenario's queue without
 * reprocessed overflows only needs every event's source_ip and declared range checked (its
 * sources then all have scope Ip, and there is one unless the queue is empty).
 */
export function validateOverflowAlert(row: BucketRow): void {
  const spec = row.spec;
  if (!row.firstTs || !row.ovflwTs || !row.lastTs) throw new AlertBuildError(`${spec.name}: bucket has no timestamps`);
  const queue = row.queue.Queue;
  if (spec.scope.type === 'Ip' && !queue.some((e) => e.Type === EventType.OVFLW)) {
    for (let i = 0; i < queue.length; i++) checkIpSource(spec, queue[i]!, metaValue(queue[i]!, 'source_ip'));
    if (queue.length === 0) throw new AlertBuildError(`${spec.name}: overflow without any source`);
    return;
  }
  checkedSources(spec, sourcesFromQueue(spec, queue));
}

function checkedSources(spec: ScenarioSpec, sources: Map<string, LapiSource>): { sources: Map<string, LapiSource>; scope: string } {
  if (sources.size === 0) throw new AlertBuildError(`${spec.name}: overflow without any source`);
  let scope = '';
  for (const s of sources.values()) {
    if (scope === '') scope = s.scope;
    else if (s.scope !== scope) throw new AlertBuildError(`${spec.name}: sources of mixed scopes (${scope}, ${s.scope})`);
  }
  return { sources, scope };
}

/** The OVFLW event that carries an alert to postoverflows (and back into buckets on reprocess). */
export function overflowEvent(alert: OverflowAlert, row: BucketRow): PEvent {
  const evt = new PEvent({ Raw: '', Src: '', Time: new Date(0), Labels: new Map(), Module: '', Process: false });
  evt.Type = EventType.OVFLW;
  evt.Overflow = alert;
  // Go stamps the overflow event with Ovflw_ts (MarshalText = RFC3339Nano).
  if (row.ovflwTs) evt.MarshaledTime = formatRFC3339Nano(row.ovflwTs);
  return evt;
}

/** spec §4.8: every queued event with meta, meta sorted by key, timestamp from MarshaledTime or Time. */
export function eventsFromQueue(queue: readonly PEvent[]): LapiEvent[] {
  const out: LapiEvent[] = [];
  // Queued events mostly carry the same meta keys in the same order: sort once per key list.
  let keys: string[] = [];
  let sorted: string[] = [];
  // The previous event's items, for the same sorted keys: an unchanged (key, value) is the
  // same object again. An alert's events mostly repeat their metas (an sshd alert: 15 per
  // event, 2-3 of them changing), and the items are never written to after this, so sharing
  // them changes nothing in the JSON or the store but most of the objects an alert holds
  // while it waits for the store (the main thread's largest promoted garbage).
  let prev: LapiMetaItem[] | null = null;
  // Where each sorted key is in `keys` (read from a flat list of entries).
  let at: number[] = [];
  for (const evt of queue) {
    // An event rebuilt from pour records lists its entries without building its Meta map.
    const n = (evt as Partial<FlatMeta>).metaCount?.() ?? -1;
    const kv = n >= 0 ? (evt as unknown as FlatMeta).metaEntries() : null;
    const m = kv === null ? evt.Meta : null;
    const size = m === null ? n : m.size;
    // Go skips events whose Meta map is nil; ours is never nil, so an OVFLW event with empty meta stands for it.
    if (evt.Type === EventType.OVFLW && size === 0) continue;
    if (m === null ? !sameFlatKeys(kv!, n, keys) : !sameKeys(m, keys)) {
      if (m === null) {
        keys = new Array<string>(n);
        for (let i = 0; i < n; i++) keys[i] = kv![2 * i]!;
      } else {
        keys = [...m.keys()];
      }
      // Go's sort.Strings order (byte-wise on UTF-8) is the default sort's UTF-16 order
      // outside surrogates.
      sorted = keys.slice().sort();
      at = sorted.map((k) => keys.indexOf(k));
      prev = null;
    }
    const meta: LapiMetaItem[] = new Array(sorted.length);
    for (let i = 0; i < sorted.length; i++) {
      const key = sorted[i]!, value = m === null ? kv![2 * at[i]! + 1]! : m.get(key)!;
      const p = prev === null ? undefined : prev[i];
      meta[i] = p !== undefined && p.value === value ? p : { key, value };
    }
    prev = meta;
    const timestamp = evt.MarshaledTime !== '' ? evt.MarshaledTime : evt.Time ? formatRFC3339Nano(fromDate(evt.Time)) : '';
    out.push({ meta, timestamp });
  }
  return out;
}

/**
 * An event that can list its Meta entries without building the map (pipeline/pooled-event.ts).
 * `metaCount()`: the number of entries, or -1 when Meta must be read as a map;
 * `metaEntries()`: then [k, v, k, v, ...] in Meta's order (keys distinct), at least that long.
 */
export interface FlatMeta {
  metaCount(): number;
  metaEntries(): readonly string[];
}

/** Whether the first `n` keys of the flat entries `kv` are `keys`, in that order. */
function sameFlatKeys(kv: readonly string[], n: number, keys: readonly string[]): boolean {
  if (n !== keys.length) return false;
  for (let i = 0; i < n; i++) if (kv[2 * i] !== keys[i]) return false;
  return true;
}

/** Whether `m`'s keys are `keys`, in that order. */
function sameKeys(m: ReadonlyMap<string, string>, keys: readonly string[]): boolean {
  if (m.size !== keys.length) return false;
  let i = 0;
  for (const k of m.keys()) if (k !== keys[i++]) return false;
  return true;
}

function sourcesFromQueue(spec: ScenarioSpec, queue: readonly PEvent[]): Map<string, LapiSource> {
  const out = new Map<string, LapiSource>();
  const scopeType = spec.scope.type;
  if (scopeType === 'Ip' && !queue.some((e) => e.Type === EventType.OVFLW)) return ipSources(spec, queue, out);
  for (const evt of queue) {
    if (evt.Type === EventType.OVFLW) {
      for (const s of overflowSources(spec, evt)) out.set(s.value, s);
      continue;
    }
    if (scopeType === 'Ip' || scopeType === 'Range') {
      const s = ipSource(spec, evt);
      if (s) out.set(s.value, s);
    } else {
      const value = runScope(spec, evt);
      out.set(value, { scope: scopeType, value });
    }
  }
  return out;
}

/**
 * sourcesFromQueue for an Ip scenario without reprocessed overflows. A source's entry is
 * built from the last event of that IP (the one a plain loop would keep), in order of first
 * appearance; every event is still checked, in queue order, so the same event fails.
 */
function ipSources(spec: ScenarioSpec, queue: readonly PEvent[], out: Map<string, LapiSource>): Map<string, LapiSource> {
  const last = new Map<string, PEvent>();
  for (const evt of queue) {
    const ipText = metaValue(evt, 'source_ip');
    checkIpSource(spec, evt, ipText);
    last.set(ipText, evt);
  }
  for (const [ip, evt] of last) out.set(ip, ipSource(spec, evt)!);
  return out;
}

/**
 * `evt.Meta.get(key) ?? ''`. For a LOG event that is what GetMeta returns, and an event
 * rebuilt from pour records answers GetMeta from its flat entries, without building its Meta
 * map (alert checks read one or two keys of every queued event).
 */
function metaValue(evt: PEvent, key: string): string {
  return evt.Type === EventType.LOG ? evt.GetMeta(key) : evt.Meta.get(key) ?? '';
}

/** The checks of ipSource that can fail for an Ip scenario. */
function checkIpSource(spec: ScenarioSpec, evt: PEvent, ipText: string): void {
  if (!validIp(ipText)) throw new AlertBuildError(`${spec.name}: event has no valid Meta.source_ip ('${ipText}')`);
  const declared = metaValue(evt, 'SourceRange');
  if (declared !== '' && rangeText(declared) === null) throw new AlertBuildError(`${spec.name}: declared range '${declared}' of ${ipText} can't be parsed`);
}

/** The Enriched keys ipSource reads (pour records send only these when no expression names Enriched). */
export const SOURCE_ENRICHED_KEYS: readonly string[] = Object.freeze(['ASNumber', 'ASNNumber', 'ASNOrg', 'IsoCode', 'Latitude', 'Longitude']);

function ipSource(spec: ScenarioSpec, evt: PEvent): LapiSource | null {
  const ipText = metaValue(evt, 'source_ip');
  if (!validIp(ipText)) throw new AlertBuildError(`${spec.name}: event has no valid Meta.source_ip ('${ipText}')`);
  const src: LapiSource = { scope: spec.scope.type, value: ipText };
  const e = evt.Enriched;
  const asNumber = e.get('ASNumber') ?? e.get('ASNNumber');
  if (asNumber) src.as_number = asNumber;
  const asName = e.get('ASNOrg');
  if (asName) src.as_name = asName;
  const cn = e.get('IsoCode');
  if (cn) src.cn = cn;
  src.ip = ipText;
  const lat = Number(e.get('Latitude') ?? ''), lon = Number(e.get('Longitude') ?? '');
  if (Number.isFinite(lat) && lat !== 0) src.latitude = Math.fround(lat);
  if (Number.isFinite(lon) && lon !== 0) src.longitude = Math.fround(lon);
  const declared = metaValue(evt, 'SourceRange');
  if (declared !== '') {
    const range = rangeText(declared);
    if (range === null) throw new AlertBuildError(`${spec.name}: declared range '${declared}' of ${ipText} can't be parsed`);
    src.range = range;
  }
  if (spec.scope.type === 'Range') {
    const value = spec.scope.expression ? runScope(spec, evt) : src.range ?? '';
    // Without a range there is nothing to ban: Debian (no GeoIP) never emits range scenarios.
    if (value === '') return null;
    src.value = value;
  }
  return src;
}

// A queue mostly holds events of one source, and a source overflows several scenarios: the
// (BigInt) address parsing of its IP and range is done once per text, not once per event.
// Queues are mostly runs of one address, so the last answer is checked first.
const ipValid = new Map<string, boolean>();
const ranges = new Map<string, string | null>();
const MEMO_MAX = 4096;
let lastIp = '';
let lastIpValid = false;
let lastDeclared = '';
let lastRange: string | null = null;

function validIp(text: string): boolean {
  if (text === lastIp) return lastIpValid;
  let ok = ipValid.get(text);
  if (ok === undefined) {
    if (ipValid.size >= MEMO_MAX) ipValid.clear();
    ipValid.set(text, (ok = parseIp(text) !== null));
  }
  lastIp = text;
  return (lastIpValid = ok);
}

/** A declared range in canonical form (network address / prefix), null when unparsable. */
function rangeText(declared: string): string | null {
  if (declared === lastDeclared) return lastRange;
  let r = ranges.get(declared);
  if (r === undefined) {
    const c = parseCidr(declared);
    if (ranges.size >= MEMO_MAX) ranges.clear();
    ranges.set(declared, (r = c ? `${formatIp(c.start, c.family)}/${c.prefix}` : null));
  }
  lastDeclared = declared;
  return (lastRange = r);
}

/** Go marshals models.Source fields in alphabetical order; keep that for byte-exact JSON. */
function orderedSource(s: LapiSource): LapiSource {
  const o: Partial<LapiSource> = {};
  if (s.as_name !== undefined) o.as_name = s.as_name;
  if (s.as_number !== undefined) o.as_number = s.as_number;
  if (s.cn !== undefined) o.cn = s.cn;
  if (s.ip !== undefined) o.ip = s.ip;
  if (s.latitude !== undefined) o.latitude = s.latitude;
  if (s.longitude !== undefined) o.longitude = s.longitude;
  if (s.range !== undefined) o.range = s.range;
  o.scope = s.scope;
  o.value = s.value;
  return o as LapiSource;
}

function runScope(spec: ScenarioSpec, evt: PEvent): string {
  const ex = spec.scope.expression;
  if (!ex) throw new AlertBuildError(`${spec.name}: scope '${spec.scope.type}' has no expression`);
  let r: unknown;
  try {
    r = ex.run({ evt });
  } catch (e) {
    throw new AlertBuildError(`${spec.name}: scope expression failed: ${(e as Error).message}`);
  }
  return typeof r === 'string' ? r : '';
}

/** Sources of a reprocessed overflow; Ip sources become Range ones for a Range scenario. */
function overflowSources(spec: ScenarioSpec, evt: PEvent): LapiSource[] {
  const ov = evt.Overflow;
  if (!ov) return [];
  const out: LapiSource[] = [];
  for (const raw of ov.Sources.values()) {
    const s = raw instanceof SourceView ? raw.json : (raw as LapiSource);
    if (spec.scope.type === 'Range' && s.scope === 'Ip') {
      const value = spec.scope.expression ? runScope(spec, evt) : s.range ?? '';
      if (value === '') continue;
      out.push({ ...s, scope: 'Range', value });
    } else {
      out.push({ ...s });
    }
  }
  return out;
}
