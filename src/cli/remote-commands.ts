/**
 * The operator verbs against a running Local API (`--lapi URL`), logged in as a machine
 * (flags or PALISADE_MACHINE_ID / PALISADE_PASSWORD), as cscli does: decisions are read
 * through GET /v1/alerts (machines have no GET /v1/decisions; that route is the bouncers'),
 * added as a cscli-shaped alert carrying its decision, deleted through DELETE /v1/decisions.
 * Output matches the local-store verbs (store-commands.ts): the same tables and JSON shapes.
 */
import { hostname } from 'node:os';
import { parseDurationWithDays } from '../core/duration.js';
import { parseCidr, parseIp } from '../core/ip.js';
import { LapiClient, LapiHttpError } from '../pipeline/lapi-client.js';
import { machineCredentials } from './agent.js';
import { OperationError, UsageError } from './errors.js';
import { manualDecisionTarget, type AddOpts, type FilterOpts } from './store-commands.js';
import { isTTY } from './tty.js';
import { alertsTable, table } from './tables.js';

export interface RemoteOpts { lapi: string; machineId?: string; password?: string }

interface RemoteDecision { duration: string; id: number; origin: string; scenario: string; scope: string; simulated?: boolean; type: string; value: string }
interface RemoteAlert {
  id: number; machine_id?: string; created_at?: string; scenario: string; message: string; events_count: number;
  start_at: string; stop_at: string; simulated: boolean; source: { scope: string; value: string; cn?: string; as_name?: string };
  decisions: RemoteDecision[] | null;
}

function client(o: RemoteOpts): LapiClient {
  const creds = machineCredentials(o);
  try {
    return new LapiClient({ url: o.lapi, ...creds });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Network and HTTP failures are failed operations (exit 1), with the API's message. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof LapiHttpError || e instanceof TypeError || (e as Error).name === 'TimeoutError') {
      const cause = (e as { cause?: { code?: string } }).cause?.code;
      throw new OperationError(`Local API: ${(e as Error).message}${cause ? ` (${cause})` : ''}`);
    }
    throw e;
  }
}

function checkAddress(o: FilterOpts): void {
  if (o.ip !== undefined && !parseIp(o.ip)) throw new UsageError(`invalid IP '${o.ip}'`);
  if (o.range !== undefined && !parseCidr(o.range)) throw new UsageError(`invalid range '${o.range}' (CIDR expected)`);
}

function checkDuration(text: string | undefined, flag: string): void {
  if (text !== undefined && parseDurationWithDays(text) === null) throw new UsageError(`${flag}: '${text}' is not a duration (e.g. 4h, 30m, 2d)`);
}

function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

const expired = (d: RemoteDecision) => d.duration.startsWith('-') || d.duration === '0s';

export async function remoteDecisionsList(o: FilterOpts & RemoteOpts): Promise<void> {
  checkAddress(o);
  checkDuration(o.since, '--since');
  checkDuration(o.until, '--until');
  const c = client(o);
  const alerts = await call(() => c.json<RemoteAlert[] | null>('GET', '/v1/alerts' + query({
    ip: o.ip, range: o.range, scenario: o.scenario, decision_type: o.type, origin: o.origin, value: o.value,
    contains: o.contained ? 'false' : undefined, since: o.since, until: o.until,
    has_active_decision: o.all ? undefined : 'true', limit: '0',
  })));
  let list: (RemoteDecision & { alertId: number })[] = [];
  for (const a of alerts ?? []) for (const d of a.decisions ?? []) list.push({ ...d, alertId: a.id });
  // The alert filter selects alerts; the decision-level filters apply to each decision, as locally.
  list = list.filter((d) => (o.all || !expired(d)) && (o.type === undefined || d.type === o.type) && (o.origin === undefined || d.origin === o.origin)
    && (o.value === undefined || d.value === o.value) && (o.scenario === undefined || d.scenario === o.scenario));
  list.sort((a, b) => a.id - b.id);
  const limit = o.limit ? Number(o.limit) : 0;
  if (limit > 0) list = list.slice(-limit);
  if (o.json) {
    process.stdout.write(JSON.stringify(list.length ? list.map(({ alertId: _a, ...d }) => ({ ...d, simulated: d.simulated ?? false })) : null) + '\n');
    return;
  }
  if (list.length === 0) {
    process.stdout.write('No active decisions\n');
    return;
  }
  const rows = [['ID', 'Source', 'Scope:Value', 'Reason', 'Action', 'Expiration', 'Alert ID']];
  for (const d of list) rows.push([String(d.id), d.origin, `${d.scope}:${d.value}`, d.scenario, d.type, d.duration, String(d.alertId)]);
  process.stdout.write(table(rows));
}

/** Like `cscli decisions add` against a LAPI: one alert carrying the decision (spec §7.6). */
export async function remoteDecisionsAdd(o: AddOpts & RemoteOpts): Promise<void> {
  const { scope, value, duration, type } = manualDecisionTarget(o);
  const { machineId } = machineCredentials(o);
  const reason = o.reason ?? `manual '${type}' from '${machineId || hostname()}'`;
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const c = client(o);
  const alert = {
    scenario: reason, scenario_hash: '', scenario_version: '', message: reason, events_count: 1,
    start_at: now, stop_at: now, capacity: 0, leakspeed: '0', simulated: false, events: [],
    source: { scope, value, ...(scope === 'Ip' ? { ip: value } : scope === 'Range' ? { range: value } : {}) },
    decisions: [{ duration, scope, value, type, scenario: reason, origin: 'cscli' }],
  };
  const ids = await call(() => c.json<string[]>('POST', '/v1/alerts', [alert], [200, 201]));
  const alertId = Number(ids?.[0]);
  if (o.json) {
    const a = Number.isInteger(alertId) ? await call(() => c.json<RemoteAlert>('GET', `/v1/alerts/${alertId}`)) : null;
    process.stdout.write(JSON.stringify({ alert_id: alertId, decision_ids: (a?.decisions ?? []).map((d) => d.id) }) + '\n');
  } else process.stdout.write(`Decision successfully added (${type} ${scope}:${value} for ${duration})\n`);
}

export async function remoteDecisionsDelete(o: FilterOpts & RemoteOpts): Promise<void> {
  checkAddress(o);
  const c = client(o);
  let n: number;
  if (o.id !== undefined) {
    const id = Number(o.id);
    if (!Number.isInteger(id) || id <= 0) throw new UsageError('--id takes a decision id');
    const r = await call(() => c.request('DELETE', `/v1/decisions/${id}`));
    if (r.status !== 200) throw new OperationError(`decision with id '${id}' doesn't exist`);
    n = Number((JSON.parse(r.text) as { nbDeleted: string }).nbDeleted);
  } else {
    const has = [o.ip, o.range, o.scenario, o.type, o.value, o.origin].some((v) => v !== undefined);
    if (!has && !o.all) throw new UsageError('decisions delete needs a filter (--ip, --range, --id, --type, --value, --scenario, --origin) or --all');
    const r = await call(() => c.json<{ nbDeleted: string }>('DELETE', '/v1/decisions' + query({
      ip: o.ip, range: o.range, scenario: o.scenario, type: o.type, value: o.value, origin: o.origin, contains: o.contained ? 'false' : undefined,
    })));
    n = Number(r.nbDeleted);
  }
  process.stdout.write(o.json ? JSON.stringify({ nbDeleted: String(n) }) + '\n' : `${n} decision(s) deleted\n`);
}

function alertQuery(o: FilterOpts, limit: string | undefined): string {
  checkAddress(o);
  checkDuration(o.since, '--since');
  checkDuration(o.until, '--until');
  return query({
    ip: o.ip, range: o.range, scenario: o.scenario, decision_type: o.type, origin: o.origin, value: o.value, scope: o.scope,
    contains: o.contained ? 'false' : undefined, since: o.since, until: o.until, limit,
  });
}

export async function remoteAlertsList(o: FilterOpts & RemoteOpts): Promise<void> {
  const q = alertQuery(o, o.limit ?? '50');
  const c = client(o);
  const list = (await call(() => c.json<RemoteAlert[] | null>('GET', '/v1/alerts' + q))) ?? [];
  if (o.json) {
    process.stdout.write(JSON.stringify(list.length ? list : null) + '\n');
    return;
  }
  if (list.length === 0) {
    process.stdout.write('No alerts\n');
    return;
  }
  process.stdout.write(alertsTable(list.map((a) => ({
    id: a.id, scope: a.source.scope, value: a.source.value, scenario: a.scenario,
    decisionTypes: (a.decisions ?? []).map((d) => d.type), createdAt: a.created_at ? new Date(a.created_at).toISOString() : '',
  }))));
}

export async function remoteAlertsInspect(id: string, o: { json?: boolean } & RemoteOpts): Promise<void> {
  const n = Number(id);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError('alert_id must be valid integer');
  const c = client(o);
  const r = await call(() => c.request('GET', `/v1/alerts/${n}`));
  if (r.status === 404) throw new OperationError(`alert ${n} not found`);
  if (r.status !== 200) throw new OperationError(`Local API: GET /v1/alerts/${n}: HTTP ${r.status}`);
  const a = JSON.parse(r.text) as RemoteAlert;
  if (o.json) {
    process.stdout.write(JSON.stringify(a) + '\n');
    return;
  }
  const lines = [
    ` - ID           : ${a.id}`, ` - Date         : ${a.created_at ? new Date(a.created_at).toISOString() : ''}`, ` - Machine      : ${a.machine_id || 'N/A'}`,
    ` - Simulation   : ${a.simulated}`, ` - Reason       : ${a.scenario}`, ` - Events Count : ${a.events_count}`,
    ` - Scope:Value  : ${a.source.scope}:${a.source.value}`, ` - Country      : ${a.source.cn}`, ` - AS           : ${a.source.as_name}`,
    ` - Begin        : ${a.start_at}`, ` - End          : ${a.stop_at}`, '', isTTY() ? '\x1b[1mDecisions:\x1b[0m' : 'Decisions:',
    ...(a.decisions ?? []).map((d) => `   ${d.id}  ${d.type}  ${d.scope}:${d.value}  ${d.origin}  ${d.duration}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

export async function remoteAlertsDelete(o: FilterOpts & RemoteOpts): Promise<void> {
  const c = client(o);
  let n: number;
  if (o.id !== undefined) {
    const id = Number(o.id);
    if (!Number.isInteger(id) || id <= 0) throw new UsageError('--id takes an alert id');
    const r = await call(() => c.request('DELETE', `/v1/alerts/${id}`));
    if (r.status === 404) n = 0;
    else if (r.status !== 200) throw new OperationError(`Local API: DELETE /v1/alerts/${id}: HTTP ${r.status} ${r.text}`);
    else n = Number((JSON.parse(r.text) as { nbDeleted: string }).nbDeleted);
  } else {
    const has = [o.ip, o.range, o.scenario, o.value, o.scope].some((v) => v !== undefined);
    if (!has && !o.all) throw new UsageError('alerts delete needs a filter (--ip, --range, --id, --scope/--value, --scenario) or --all');
    const r = await call(() => c.json<{ nbDeleted: string }>('DELETE', '/v1/alerts' + alertQuery(o, undefined)));
    n = Number(r.nbDeleted);
  }
  process.stdout.write(o.json ? JSON.stringify({ nbDeleted: String(n) }) + '\n' : `${n} alert(s) deleted\n`);
}
