/**
 * Operator verbs over the local store (cscli's `decisions` and `alerts`, spec §9), with
 * `--data-dir S`. LMDB is multi-process, so these work while a daemon has the store open.
 */
import { hostname } from 'node:os';
import { Store } from '../decisions/store.js';
import { parseDurationWithDays, parseGoDuration } from '../core/duration.js';
import { parseIp, parseCidr } from '../core/ip.js';
import { defaultDataDir } from '../core/paths.js';
import type { AlertFilter, DecisionFilter } from '../decisions/filters.js';
import type { DecisionRecord, StoredAlert } from '../decisions/records.js';
import { decisionRecordJson } from './format.js';
import { UsageError, OperationError } from './errors.js';
import { isTTY } from './tty.js';
import { alertsTable, table } from './tables.js';

export interface CommonOpts { dataDir?: string; json?: boolean }
export interface FilterOpts extends CommonOpts {
  ip?: string; range?: string; scenario?: string; type?: string; origin?: string; value?: string; scope?: string;
  since?: string; until?: string; all?: boolean; limit?: string; id?: string; contained?: boolean;
}

function openStore(o: CommonOpts): Store {
  return Store.open(o.dataDir ?? defaultDataDir());
}

function checkAddress(o: FilterOpts): void {
  if (o.ip !== undefined && !parseIp(o.ip)) throw new UsageError(`invalid IP '${o.ip}'`);
  if (o.range !== undefined && !parseCidr(o.range)) throw new UsageError(`invalid range '${o.range}' (CIDR expected)`);
}

function durationMs(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const ns = parseDurationWithDays(text);
  if (ns === null) throw new UsageError(`${flag}: '${text}' is not a duration (e.g. 4h, 30m, 2d)`);
  return ns / 1e6;
}

export async function decisionsList(o: FilterOpts): Promise<void> {
  checkAddress(o);
  const store = openStore(o);
  try {
    const now = Date.now();
    const since = durationMs(o.since, '--since');
    const until = durationMs(o.until, '--until');
    const f: DecisionFilter = {
      ip: o.ip, range: o.range, scenario: o.scenario, type: o.type, value: o.value,
      origins: o.origin ? [o.origin] : undefined,
      contains: o.contained ? false : undefined,
      status: o.all ? 'all' : 'active',
      createdGt: since !== undefined ? now - since : undefined,
    };
    let list = store.listDecisions(f, now);
    if (until !== undefined) list = list.filter((d) => d.createdAt <= now - until);
    const limit = o.limit ? Number(o.limit) : 0;
    if (limit > 0) list = list.slice(-limit);
    if (o.json) {
      process.stdout.write(JSON.stringify(list.length ? list.map((d) => decisionRecordJson(d, now)) : null) + '\n');
      return;
    }
    if (list.length === 0) {
      process.stdout.write('No active decisions\n');
      return;
    }
    const rows = [['ID', 'Source', 'Scope:Value', 'Reason', 'Action', 'Expiration', 'Alert ID']];
    for (const d of list) rows.push([String(d.id), d.origin, `${d.scope}:${d.value}`, d.scenario, d.type, decisionRecordJson(d, now).duration as string, String(d.alertId)]);
    process.stdout.write(table(rows));
  } finally {
    await store.close();
  }
}

export interface AddOpts extends CommonOpts { ip?: string; range?: string; scope?: string; value?: string; duration?: string; reason?: string; type?: string }

/** What `decisions add` acts on, validated (shared by the local and the remote verb). */
export function manualDecisionTarget(o: AddOpts): { scope: string; value: string; duration: string; type: string } {
  const given = [o.ip, o.range, o.value].filter((v) => v !== undefined).length;
  if (given !== 1) throw new UsageError('decisions add needs exactly one of --ip, --range or --scope S --value V');
  let scope: string, value: string;
  if (o.ip !== undefined) {
    if (!parseIp(o.ip)) throw new UsageError(`invalid IP '${o.ip}'`);
    scope = 'Ip'; value = o.ip;
  } else if (o.range !== undefined) {
    if (!parseCidr(o.range)) throw new UsageError(`invalid range '${o.range}' (CIDR expected)`);
    scope = 'Range'; value = o.range;
  } else {
    scope = o.scope ?? 'Ip'; value = o.value!;
  }
  const duration = o.duration ?? '4h';
  if (parseGoDuration(duration) === null) throw new UsageError(`--duration: '${duration}' is not a Go duration (e.g. 4h, 30m)`);
  return { scope, value, duration, type: o.type ?? 'ban' };
}

/** Like `cscli decisions add`: a manual alert carrying one decision (spec §7.6, cscli-created alert). */
export async function decisionsAdd(o: AddOpts): Promise<void> {
  const { scope, value, duration, type } = manualDecisionTarget(o);
  const machine = hostname();
  const reason = o.reason ?? `manual '${type}' from '${machine}'`;
  const nowIso = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const store = openStore(o);
  try {
    const [res] = await store.addAlerts([{
      alert: {
        scenario: reason, scenario_hash: '', scenario_version: '', message: reason, events_count: 1,
        start_at: nowIso, stop_at: nowIso, capacity: 0, leakspeed: '0', simulated: false,
        source: { scope, value, ...(scope === 'Ip' ? { ip: value } : scope === 'Range' ? { range: value } : {}) },
        events: [], machine_id: machine,
      },
      decisions: [{ origin: 'cscli', type, scope, value, duration, scenario: reason }],
    }]);
    if (o.json) process.stdout.write(JSON.stringify({ alert_id: res!.alertId, decision_ids: res!.decisionIds }) + '\n');
    else process.stdout.write(`Decision successfully added (${type} ${scope}:${value} for ${duration})\n`);
  } finally {
    await store.close();
  }
}

export async function decisionsDelete(o: FilterOpts): Promise<void> {
  checkAddress(o);
  const store = openStore(o);
  try {
    let n: number;
    if (o.id !== undefined) {
      const id = Number(o.id);
      if (!Number.isInteger(id) || id <= 0) throw new UsageError('--id takes a decision id');
      n = (await store.deleteDecision(id)) ? 1 : 0;
      if (n === 0) throw new OperationError(`decision with id '${id}' doesn't exist`);
    } else {
      const has = [o.ip, o.range, o.scenario, o.type, o.value, o.origin].some((v) => v !== undefined);
      if (!has && !o.all) throw new UsageError('decisions delete needs a filter (--ip, --range, --id, --type, --value, --scenario, --origin) or --all');
      n = await store.deleteDecisions({ ip: o.ip, range: o.range, scenario: o.scenario, type: o.type, value: o.value, origins: o.origin ? [o.origin] : undefined, contains: o.contained ? false : undefined });
    }
    process.stdout.write(o.json ? JSON.stringify({ nbDeleted: String(n) }) + '\n' : `${n} decision(s) deleted\n`);
  } finally {
    await store.close();
  }
}

function alertFilter(o: FilterOpts): AlertFilter {
  checkAddress(o);
  const now = Date.now();
  const since = durationMs(o.since, '--since');
  const until = durationMs(o.until, '--until');
  return {
    ip: o.ip, range: o.range, scenario: o.scenario, decisionType: o.type, origin: o.origin, value: o.value,
    scope: o.scope, contains: o.contained ? false : undefined,
    startedAtGte: since !== undefined ? now - since : undefined,
    startedAtLte: until !== undefined ? now - until : undefined,
    limit: o.limit !== undefined ? Number(o.limit) : 50,
  };
}

function alertJson(a: StoredAlert, now: number): Record<string, unknown> {
  return {
    id: a.id, machine_id: a.machineId || 'N/A', created_at: new Date(a.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    scenario: a.scenario, scenario_hash: a.scenario_hash, scenario_version: a.scenario_version, message: a.message,
    events_count: a.events_count, start_at: a.start_at, stop_at: a.stop_at, capacity: a.capacity, leakspeed: a.leakspeed,
    simulated: a.simulated, ...(a.remediation ? { remediation: true } : {}), source: a.source, events: a.events,
    decisions: a.decisions.map((d: DecisionRecord) => decisionRecordJson(d, now)), labels: a.labels,
  };
}

export async function alertsList(o: FilterOpts): Promise<void> {
  const store = openStore(o);
  try {
    const now = Date.now();
    const list = store.listAlerts(alertFilter(o), now);
    if (o.json) {
      process.stdout.write(JSON.stringify(list.length ? list.map((a) => alertJson(a, now)) : null) + '\n');
      return;
    }
    if (list.length === 0) {
      process.stdout.write('No alerts\n');
      return;
    }
    process.stdout.write(alertsTable(list.map((a) => ({
      id: a.id, scope: a.source.scope, value: a.source.value, scenario: a.scenario,
      decisionTypes: a.decisions.map((d) => d.type), createdAt: new Date(a.createdAt).toISOString(),
    }))));
  } finally {
    await store.close();
  }
}

export async function alertsInspect(id: string, o: CommonOpts): Promise<void> {
  const n = Number(id);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError('alert_id must be valid integer');
  const store = openStore(o);
  try {
    const a = store.getAlert(n);
    if (!a) throw new OperationError(`alert ${n} not found`);
    const now = Date.now();
    if (o.json) {
      process.stdout.write(JSON.stringify(alertJson(a, now)) + '\n');
      return;
    }
    const tty = isTTY();
    const lines = [
      ` - ID           : ${a.id}`, ` - Date         : ${new Date(a.createdAt).toISOString()}`, ` - Machine      : ${a.machineId || 'N/A'}`,
      ` - Simulation   : ${a.simulated}`, ` - Reason       : ${a.scenario}`, ` - Events Count : ${a.events_count}`,
      ` - Scope:Value  : ${a.source.scope}:${a.source.value}`, ` - Country      : ${a.source.cn}`, ` - AS           : ${a.source.as_name}`,
      ` - Begin        : ${a.start_at}`, ` - End          : ${a.stop_at}`, '', tty ? '\x1b[1mDecisions:\x1b[0m' : 'Decisions:',
      ...a.decisions.map((d) => `   ${d.id}  ${d.type}  ${d.scope}:${d.value}  ${d.origin}  ${decisionRecordJson(d, now).duration}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await store.close();
  }
}

export async function alertsDelete(o: FilterOpts): Promise<void> {
  const store = openStore(o);
  try {
    let n: number;
    if (o.id !== undefined) {
      const id = Number(o.id);
      if (!Number.isInteger(id) || id <= 0) throw new UsageError('--id takes an alert id');
      n = (await store.deleteAlert(id)) ? 1 : 0;
    } else {
      const has = [o.ip, o.range, o.scenario, o.value, o.scope].some((v) => v !== undefined);
      if (!has && !o.all) throw new UsageError('alerts delete needs a filter (--ip, --range, --id, --scope/--value, --scenario) or --all');
      n = await store.deleteAlerts({ ...alertFilter(o), limit: 0 });
    }
    process.stdout.write(o.json ? JSON.stringify({ nbDeleted: String(n) }) + '\n' : `${n} alert(s) deleted\n`);
  } finally {
    await store.close();
  }
}
