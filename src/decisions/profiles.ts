/**
 * profiles.yaml (spec §5.2): turns alerts into decisions on the API side. Each profile has
 * filters over `Alert`, a list of decisions, an optional `duration_expr`, `on_success`
 * (`break` stops at this profile) and notifications. Compiled once at load.
 */
import { compileExpr, type CompiledExpr, type HelperContext } from '../expr/index.js';
import { LoadError } from '../core/errors.js';
import { parseGoDuration } from '../core/duration.js';
import { readYamlDocs, keyPosOf, whereAt } from '../config/yaml-source.js';
import { AlertView, type LapiAlert } from '../scenarios/overflow.js';
import type { DecisionInput } from './records.js';

const PROFILE_KEYS = new Set(['name', 'debug', 'filters', 'decisions', 'duration_expr', 'on_success', 'on_failure', 'notifications']);
const DECISION_KEYS = new Set(['type', 'duration', 'scope', 'origin', 'simulated', 'value']);

export interface ProfileDecision { type: string; duration: string; scope: string | null; origin: string | null; simulated: boolean }

export interface Profile {
  name: string;
  filters: readonly CompiledExpr[];
  decisions: readonly ProfileDecision[];
  durationExpr: CompiledExpr | null;
  breakOnSuccess: boolean;
  notifications: readonly string[];
}

export interface ProfileResult {
  decisions: DecisionInput[];
  /** Notification plugin names the alert was queued for. */
  notifications: string[];
  /** Names of the profiles whose filter matched. */
  matched: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function loadProfiles(file: string, helpers: HelperContext): Profile[] {
  const out: Profile[] = [];
  for (const doc of readYamlDocs(file)) {
    const raw = doc.value;
    if (raw === null || raw === undefined) continue;
    if (!isObj(raw)) throw new LoadError('SCHEMA', 'a profile must be a map', whereAt(file, doc.pos));
    const name = typeof raw.name === 'string' ? raw.name : `profile ${doc.index + 1}`;
    const where = (k?: string) => whereAt(file, k ? keyPosOf(raw, k) : doc.pos, { item: name });
    for (const k of Object.keys(raw)) if (!PROFILE_KEYS.has(k)) throw new LoadError('UNKNOWN_KEY', `unknown key '${k}' in profile`, where(k));
    const filters = asList(raw.filters, 'filters', where).map((f, i) =>
      compileExpr(String(f), { env: ['Alert'], helpers, where: { ...where('filters'), path: `filters[${i}]` } }));
    const decisions = asList(raw.decisions, 'decisions', where).map((d, i): ProfileDecision => {
      if (!isObj(d)) throw new LoadError('SCHEMA', `decisions[${i}] must be a map`, where('decisions'));
      for (const k of Object.keys(d)) if (!DECISION_KEYS.has(k)) throw new LoadError('UNKNOWN_KEY', `unknown key '${k}' in decisions[${i}]`, where('decisions'));
      const duration = String(d.duration ?? '4h');
      if (parseGoDuration(duration) === null) throw new LoadError('SCHEMA', `decisions[${i}].duration '${duration}' is not a Go duration`, where('decisions'));
      return {
        type: String(d.type ?? 'ban'),
        duration,
        scope: typeof d.scope === 'string' ? d.scope : null,
        origin: typeof d.origin === 'string' ? d.origin : null,
        simulated: d.simulated === true,
      };
    });
    const durationExpr = typeof raw.duration_expr === 'string'
      ? compileExpr(raw.duration_expr, { env: ['Alert'], helpers, where: where('duration_expr') })
      : null;
    const onSuccess = raw.on_success ?? '';
    if (!['', 'break', 'continue'].includes(String(onSuccess))) throw new LoadError('SCHEMA', `on_success must be break or continue`, where('on_success'));
    out.push(Object.freeze({
      name,
      filters: Object.freeze(filters),
      decisions: Object.freeze(decisions),
      durationExpr,
      breakOnSuccess: onSuccess === 'break',
      notifications: Object.freeze(asList(raw.notifications, 'notifications', where).map(String)),
    }));
  }
  return out;
}

function asList(v: unknown, key: string, where: (k?: string) => ReturnType<typeof whereAt>): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new LoadError('SCHEMA', `'${key}' must be a list`, where(key));
  return v;
}

/** Thrown when a profile filter fails at run time: the LAPI answers the whole POST with 500. */
export class ProfileRuntimeError extends Error {}

/**
 * Evaluates the profiles for one alert (spec §5.2). Alerts that already carry decisions
 * (cscli, CAPI) keep them; profiles then only pick notifications.
 */
export function evaluateProfiles(profiles: readonly Profile[], alert: LapiAlert, existing: readonly DecisionInput[] = []): ProfileResult {
  const view = new AlertView(alert);
  const env = { Alert: view };
  const decisions: DecisionInput[] = [...existing];
  const notifications: string[] = [];
  const matched: string[] = [];
  const hadDecisions = existing.length > 0;
  for (const p of profiles) {
    let generated: DecisionInput[] = [];
    let any = false;
    for (const f of p.filters) {
      let ok: unknown;
      try {
        ok = f.run(env);
      } catch (e) {
        throw new ProfileRuntimeError(`profile ${p.name}: ${(e as Error).message}`);
      }
      if (ok !== true) continue;
      any = true;
      if (!hadDecisions) generated = generated.concat(makeDecisions(p, alert, env));
    }
    if (!any) continue;
    matched.push(p.name);
    if (decisions.length === 0 && generated.length > 0) decisions.push(...generated);
    notifications.push(...p.notifications);
    if (p.breakOnSuccess) break;
  }
  return { decisions, notifications, matched };
}

function makeDecisions(p: Profile, alert: LapiAlert, env: { Alert: AlertView }): DecisionInput[] {
  let exprDuration: string | null = null;
  if (p.durationExpr) {
    try {
      const v = p.durationExpr.run(env);
      const text = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
      if (parseGoDuration(text) !== null) exprDuration = text;
    } catch {
      // An invalid duration_expr falls back to the profile duration, as CrowdSec does.
    }
  }
  return p.decisions.map((d) => ({
    type: d.type,
    scope: d.scope ?? alert.source.scope,
    value: alert.source.value,
    duration: exprDuration ?? d.duration,
    origin: d.origin ? `crowdsec/${d.origin}` : 'crowdsec',
    scenario: alert.scenario,
    simulated: d.simulated || alert.simulated,
  }));
}
