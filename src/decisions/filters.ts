/**
 * Decision and alert filters: parsing LAPI query strings (spec §7.3, §7.4) into filter
 * objects, compiling them once per query, and matching records. Pure: no store access.
 *
 * The store uses its indexes to pick candidates and then runs `matchDecision` /
 * `matchAlert` on every candidate, so these functions are the single definition of what a
 * filter means; a full scan with them is the simple twin of every indexed path.
 */
import { parseDurationWithDays, parseGoDuration } from '../core/duration.js';
import { addressMatches, parseInterval, type AddrInterval } from './address.js';
import { StoreError, type DecisionRecord } from './records.js';

// ---------------------------------------------------------------------------------------
// Filter shapes

export type DecisionStatus = 'active' | 'expired' | 'all';

export interface DecisionFilter {
  id?: number;
  /** Only ids strictly greater (newer LAPI `id_gt`). */
  idGt?: number;
  alertId?: number;
  /** Address query (spec §7.5); at most one of ip / range. */
  ip?: string;
  range?: string;
  /** Default true: decisions holding the query; false: decisions inside it. */
  contains?: boolean;
  value?: string;
  type?: string;
  /** Exact scope names (already mapped, see normalizeDecisionScope). */
  scopes?: string[];
  origins?: string[];
  /** Exact scenario name. */
  scenario?: string;
  /** Case-insensitive substrings: any of `scenariosContaining`, none of `scenariosNotContaining`. */
  scenariosContaining?: string[];
  scenariosNotContaining?: string[];
  excludeSimulated?: boolean;
  /** Default 'active': not soft-deleted and until > now. */
  status?: DecisionStatus;
  /** Strict bounds, ms epoch (the stream's `created_at > last_pull`, `last_pull-2s < until < now`). */
  createdGt?: number;
  untilGt?: number;
  untilLt?: number;
  /** Max results (ids ascending); absent or 0 = all. */
  limit?: number;
}

export interface AlertFilter {
  id?: number;
  /** Source scope (exact, `ip`/`range` already mapped to `Ip`/`Range`) and value. */
  scope?: string;
  value?: string;
  /** Alerts having a decision with this scenario. */
  scenario?: string;
  /** Alerts having a decision whose address interval matches (spec §7.5). */
  ip?: string;
  range?: string;
  contains?: boolean;
  startedAtGte?: number;
  startedAtLte?: number;
  createdAtLte?: number;
  decisionType?: string;
  origin?: string;
  /** false: only alerts having a decision of origin `crowdsec` or `cscli`. */
  includeCapi?: boolean;
  /** true: having a decision active now; false: having no decision at all. */
  hasActiveDecision?: boolean;
  excludeSimulated?: boolean;
  /** Absent or 0 = all (the query parser applies the LAPI default of 100). */
  limit?: number;
  /** On (createdAt, id); default DESC. */
  sort?: 'ASC' | 'DESC';
}

/** The alert fields filters look at (both the stored alert and its on-disk form have them). */
export interface AlertFields {
  id: number;
  createdAt: number;
  startedAt: number;
  simulated: boolean;
  source: { scope: string; value: string };
}

// ---------------------------------------------------------------------------------------
// Compiled filters

export interface CompiledDecisionFilter {
  readonly f: DecisionFilter;
  readonly status: DecisionStatus;
  /** Parsed ip/range query, null when the filter has none. */
  readonly addr: AddrInterval | null;
  readonly contains: boolean;
  readonly scopes: ReadonlySet<string> | null;
  readonly origins: ReadonlySet<string> | null;
  readonly scenIn: readonly string[] | null;
  readonly scenOut: readonly string[] | null;
}

export function compileAddress(ip: string | undefined, range: string | undefined): AddrInterval | null {
  const text = ip !== undefined && ip !== '' ? ip : range !== undefined && range !== '' ? range : undefined;
  if (text === undefined) return null;
  const iv = parseInterval(text);
  if (!iv) throw new StoreError('INVALID_ADDRESS', `invalid ip address / range '${text}'`, { param: ip ? 'ip' : 'range' });
  return iv;
}

export function compileDecisionFilter(f: DecisionFilter): CompiledDecisionFilter {
  const lower = (xs: string[] | undefined) => (xs && xs.length ? xs.map((x) => x.toLowerCase()) : null);
  return {
    f,
    status: f.status ?? 'active',
    addr: compileAddress(f.ip, f.range),
    contains: f.contains ?? true,
    scopes: f.scopes && f.scopes.length ? new Set(f.scopes) : null,
    origins: f.origins && f.origins.length ? new Set(f.origins) : null,
    scenIn: lower(f.scenariosContaining),
    scenOut: lower(f.scenariosNotContaining),
  };
}

/**
 * Active = not soft-deleted and `until > now`. The LAPI's GET uses `until >= now` with
 * nanosecond times; with ms times a decision soft-deleted in this very millisecond must not
 * read as active, so the bound is strict.
 */
export function isActive(d: Pick<DecisionRecord, 'until' | 'deletedAt'>, now: number): boolean {
  return d.deletedAt === undefined && d.until > now;
}

export function matchDecision(c: CompiledDecisionFilter, d: DecisionRecord, now: number): boolean {
  const f = c.f;
  if (c.status !== 'all' && isActive(d, now) !== (c.status === 'active')) return false;
  if (f.id !== undefined && d.id !== f.id) return false;
  if (f.idGt !== undefined && d.id <= f.idGt) return false;
  if (f.alertId !== undefined && d.alertId !== f.alertId) return false;
  if (f.value !== undefined && d.value !== f.value) return false;
  if (f.type !== undefined && d.type !== f.type) return false;
  if (f.scenario !== undefined && d.scenario !== f.scenario) return false;
  if (c.scopes && !c.scopes.has(d.scope)) return false;
  if (c.origins && !c.origins.has(d.origin)) return false;
  if (f.excludeSimulated && d.simulated) return false;
  if (f.createdGt !== undefined && !(d.createdAt > f.createdGt)) return false;
  if (f.untilGt !== undefined && !(d.until > f.untilGt)) return false;
  if (f.untilLt !== undefined && !(d.until < f.untilLt)) return false;
  if (c.scenIn || c.scenOut) {
    const s = d.scenario.toLowerCase();
    if (c.scenIn && !c.scenIn.some((x) => s.includes(x))) return false;
    if (c.scenOut && c.scenOut.some((x) => s.includes(x))) return false;
  }
  if (c.addr && !decisionAddressMatches(d, c.addr, c.contains)) return false;
  return true;
}

/** Decisions of other scopes (family 0) never match an ip/range query. */
export function decisionAddressMatches(d: DecisionRecord, q: AddrInterval, contains: boolean): boolean {
  if (d.family === 0 || d.start === undefined || d.end === undefined || d.prefix128 === undefined) return false;
  return addressMatches({ family: d.family, prefix128: d.prefix128, start: d.start, end: d.end }, q, contains);
}

export interface CompiledAlertFilter {
  readonly f: AlertFilter;
  readonly addr: AddrInterval | null;
  readonly contains: boolean;
  /** Whether matching needs the alert's decisions loaded. */
  readonly needsDecisions: boolean;
}

export function compileAlertFilter(f: AlertFilter): CompiledAlertFilter {
  const addr = compileAddress(f.ip, f.range);
  return {
    f,
    addr,
    contains: f.contains ?? true,
    needsDecisions:
      addr !== null ||
      f.scenario !== undefined ||
      f.decisionType !== undefined ||
      f.origin !== undefined ||
      f.includeCapi === false ||
      f.hasActiveDecision !== undefined,
  };
}

/**
 * Each decision predicate is tested on one decision at a time ("has a decision that ...").
 * CrowdSec 1.4.6 tests the start/end/size parts of an ip query on possibly different
 * decisions of the alert; with one decision per alert (the usual case) both agree.
 */
export function matchAlert(
  c: CompiledAlertFilter,
  a: AlertFields,
  getDecisions: () => readonly DecisionRecord[],
  now: number,
): boolean {
  const f = c.f;
  if (f.id !== undefined && a.id !== f.id) return false;
  if (f.scope !== undefined && a.source.scope !== f.scope) return false;
  if (f.value !== undefined && a.source.value !== f.value) return false;
  if (f.startedAtGte !== undefined && !(a.startedAt >= f.startedAtGte)) return false;
  if (f.startedAtLte !== undefined && !(a.startedAt <= f.startedAtLte)) return false;
  if (f.createdAtLte !== undefined && !(a.createdAt <= f.createdAtLte)) return false;
  if (f.excludeSimulated && a.simulated) return false;
  if (!c.needsDecisions) return true;
  // Loaded only now: cheap alert fields reject most candidates first.
  const decisions = getDecisions();
  const has = (p: (d: DecisionRecord) => boolean) => decisions.some(p);
  if (f.scenario !== undefined && !has((d) => d.scenario === f.scenario)) return false;
  if (f.decisionType !== undefined && !has((d) => d.type === f.decisionType)) return false;
  if (f.origin !== undefined && !has((d) => d.origin === f.origin)) return false;
  if (f.includeCapi === false && !has((d) => d.origin === 'crowdsec' || d.origin === 'cscli')) return false;
  if (f.hasActiveDecision === true && !has((d) => isActive(d, now))) return false;
  if (f.hasActiveDecision === false && decisions.length > 0) return false;
  if (c.addr && !has((d) => decisionAddressMatches(d, c.addr!, c.contains))) return false;
  return true;
}

// ---------------------------------------------------------------------------------------
// Go value syntax used by the query parameters

/**
 * A Go duration in milliseconds (fractional below 1 ms); null when invalid. With
 * `allowDays`, a leading day count is accepted too (the alert filters' since/until).
 * The grammar lives in core/duration.ts, shared with rules and the CLI.
 */
export function parseDurationMs(text: string, allowDays = false): number | null {
  const ns = allowDays ? parseDurationWithDays(text) : parseGoDuration(text);
  return ns === null ? null : ns / 1e6;
}

/** Go's strconv.ParseBool. */
export function parseGoBool(s: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return null;
}

/** Decision scope names as the bouncer routes map them (spec §7.4); other names are literal. */
export function normalizeDecisionScope(s: string): string {
  switch (s.toLowerCase()) {
    case 'ip': return 'Ip';
    case 'range': return 'Range';
    case 'country': return 'Country';
    case 'as': return 'AS';
    default: return s;
  }
}

/** Alert source scope as the alert routes map it: only ip and range are normalised. */
export function normalizeAlertScope(s: string): string {
  const l = s.toLowerCase();
  return l === 'ip' ? 'Ip' : l === 'range' ? 'Range' : s;
}

// ---------------------------------------------------------------------------------------
// Query-string parsers

export type QueryParams = URLSearchParams | Iterable<readonly [string, string]> | Record<string, string>;

/** First value of each parameter, as Go handlers read `value[0]`. */
function firstValues(q: QueryParams): Map<string, string> {
  const out = new Map<string, string>();
  const entries: Iterable<readonly [string, string]> =
    q instanceof URLSearchParams || Symbol.iterator in (q as object)
      ? (q as Iterable<readonly [string, string]>)
      : Object.entries(q as Record<string, string>);
  for (const [k, v] of entries) if (!out.has(k)) out.set(k, v);
  return out;
}

const splitList = (v: string) => v.split(',').map((x) => x.trim()).filter((x) => x !== '');

function boolParam(k: string, v: string): boolean {
  const b = parseGoBool(v);
  if (b === null) throw new StoreError('INVALID_FILTER', `'${v}' is not a boolean: invalid filter`, { param: k });
  return b;
}

function durationParam(k: string, v: string): number {
  const d = parseDurationMs(v, true);
  if (d === null) throw new StoreError('INVALID_FILTER', `while parsing duration '${v}': invalid filter`, { param: k });
  return d;
}

/**
 * `GET|DELETE /v1/alerts` parameters (spec §7.3). Unknown parameters are an error
 * (the LAPI answers 500). `withLimit` false for DELETE, which has no limit (a `limit`
 * parameter is then checked but not applied).
 */
export function parseAlertQuery(q: QueryParams, now: number, withLimit = true): AlertFilter {
  const f: AlertFilter = { limit: withLimit ? 100 : 0 };
  for (const [k, v] of firstValues(q)) {
    switch (k) {
      case 'scope': f.scope = normalizeAlertScope(v); break;
      case 'value': f.value = v; break;
      case 'scenario': f.scenario = v; break;
      case 'ip': f.ip = v; break;
      case 'range': f.range = v; break;
      case 'contains': f.contains = boolParam(k, v); break;
      case 'since': f.startedAtGte = now - durationParam(k, v); break;
      case 'until': f.startedAtLte = now - durationParam(k, v); break;
      case 'created_before': f.createdAtLte = now - durationParam(k, v); break;
      case 'decision_type': f.decisionType = v; break;
      case 'origin': f.origin = v; break;
      case 'include_capi': if (v === 'false') f.includeCapi = false; break;
      case 'has_active_decision': f.hasActiveDecision = boolParam(k, v); break;
      case 'simulated': if (v === 'false') f.excludeSimulated = true; break;
      case 'limit': {
        if (!/^\d+$/.test(v)) throw new StoreError('INVALID_FILTER', `invalid limit '${v}': invalid filter`, { param: k });
        if (withLimit) f.limit = Number(v); // DELETE accepts it but deletes every match
        break;
      }
      case 'sort': {
        const s = v.toUpperCase();
        if (s !== 'ASC' && s !== 'DESC') throw new StoreError('INVALID_FILTER', `invalid sort '${v}': invalid filter`, { param: k });
        f.sort = s;
        break;
      }
      default: throw unknownAlertParam(k, v);
    }
  }
  if (f.origin !== undefined) delete f.includeCapi; // origin forces include_capi
  if (f.ip !== undefined || f.range !== undefined) compileAddress(f.ip, f.range); // fail early with the parameter named
  return f;
}

function unknownAlertParam(k: string, v: string): StoreError {
  return new StoreError('INVALID_FILTER', `Filter parameter '${k}' is unknown (=${v}): invalid filter`, { param: k });
}

/** Filters shared by the bouncer routes (spec §7.4); unknown parameters are ignored there. */
function bouncerFilter(p: Map<string, string>, defaultScopes: string[] | undefined): DecisionFilter {
  const f: DecisionFilter = { status: 'active', excludeSimulated: true };
  const scopes = p.get('scopes');
  if (scopes !== undefined) f.scopes = splitList(scopes).map(normalizeDecisionScope);
  else if (defaultScopes) f.scopes = defaultScopes;
  // 1.4.6 ignores the singular `scope` here (observed, spec §14).
  const origins = p.get('origins');
  if (origins !== undefined) f.origins = splitList(origins);
  const sc = p.get('scenarios_containing');
  if (sc !== undefined) f.scenariosContaining = splitList(sc);
  const snc = p.get('scenarios_not_containing');
  if (snc !== undefined) f.scenariosNotContaining = splitList(snc);
  if (p.get('simulated') === 'true') delete f.excludeSimulated;
  return f;
}

/** `GET /v1/decisions` (bouncer): active decisions matching the filters. */
export function parseDecisionQuery(q: QueryParams): DecisionFilter {
  const p = firstValues(q);
  const f = bouncerFilter(p, undefined);
  const ip = p.get('ip'), range = p.get('range'), value = p.get('value'), type = p.get('type');
  if (ip) f.ip = ip;
  if (range) f.range = range;
  const contains = p.get('contains');
  if (contains !== undefined) f.contains = boolParam('contains', contains);
  if (value !== undefined) f.value = value;
  if (type !== undefined) f.type = type;
  compileAddress(f.ip, f.range);
  return f;
}

export interface StreamQuery {
  startup: boolean;
  dedup: boolean;
  /** Status and time bounds are left to the caller (they depend on the bouncer's last pull). */
  filter: DecisionFilter;
}

/** `GET /v1/decisions/stream`: scopes default to ip,range (spec §7.4). */
export function parseStreamQuery(q: QueryParams): StreamQuery {
  const p = firstValues(q);
  const filter = bouncerFilter(p, ['Ip', 'Range']);
  delete filter.status;
  return { startup: p.get('startup') === 'true', dedup: p.get('dedup') !== 'false', filter };
}

/** `DELETE /v1/decisions` (soft delete of active decisions); unknown parameters are an error. */
export function parseDecisionDeleteQuery(q: QueryParams): DecisionFilter {
  const f: DecisionFilter = { status: 'active' };
  for (const [k, v] of firstValues(q)) {
    switch (k) {
      case 'scopes': f.scopes = splitList(v).map(normalizeDecisionScope); break;
      case 'origin': f.origins = [v]; break;
      case 'value': f.value = v; break;
      case 'type': f.type = v; break;
      case 'ip': f.ip = v; break;
      case 'range': f.range = v; break;
      case 'contains': f.contains = boolParam(k, v); break;
      case 'scenario': f.scenario = v; break;
      default: throw new StoreError('INVALID_FILTER', `'${k}' doesn't exist: invalid filter`, { param: k });
    }
  }
  compileAddress(f.ip, f.range);
  return f;
}
