/**
 * `palisade bouncers add|list|delete` and `palisade machines add|list|delete|validate` on
 * the local store (`--data-dir S`), as cscli manipulates its database directly (spec §9).
 * A running API in another process sees the change on its next request.
 */
import { randomBytes } from 'node:crypto';
import { defaultDataDir } from '../core/paths.js';
import { Store } from '../decisions/store.js';
import { CredentialError, Credentials, type BouncerRecord, type MachineRecord } from '../api/credentials.js';
import { OperationError, UsageError } from './errors.js';

export interface CredOpts { dataDir?: string; json?: boolean }

async function withCreds<T>(o: CredOpts, fn: (c: Credentials) => Promise<T>): Promise<T> {
  const store = Store.open(o.dataDir ?? defaultDataDir());
  try {
    return await fn(new Credentials(store));
  } catch (e) {
    if (e instanceof CredentialError) throw e.code === 'INVALID' ? new UsageError(e.message) : new OperationError(e.message);
    throw e;
  } finally {
    await store.close();
  }
}

const iso = (ms: number) => (ms ? new Date(ms).toISOString() : null);
const out = (s: string) => process.stdout.write(s);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

// ---- bouncers --------------------------------------------------------------------------

export async function bouncersAdd(name: string, o: CredOpts & { key?: string }): Promise<void> {
  if (o.key !== undefined && o.key.length < 1) throw new UsageError('--key must not be empty');
  await withCreds(o, async (c) => {
    const { key } = await c.addBouncer(name, o.key !== undefined ? { key: o.key } : {});
    if (o.json) out(JSON.stringify({ name, key }) + '\n');
    else out(`API key for '${name}':\n\n   ${key}\n\nPlease keep this key since you will not be able to retrieve it!\n`);
  });
}

function bouncerJson(b: BouncerRecord): Record<string, unknown> {
  return {
    name: b.name, ip_address: b.ipAddress, revoked: b.revoked, valid: !b.revoked, type: b.type, version: b.version,
    auth_type: b.authType, last_pull: iso(b.lastPull), created_at: iso(b.createdAt), updated_at: iso(b.updatedAt),
  };
}

export async function bouncersList(o: CredOpts): Promise<void> {
  await withCreds(o, async (c) => {
    const list = c.listBouncers();
    if (o.json) return void out(JSON.stringify(list.map(bouncerJson)) + '\n');
    if (!list.length) return void out('No bouncers\n');
    const rows = [['Name', 'IP Address', 'Valid', 'Last API pull', 'Type', 'Version', 'Auth Type']];
    for (const b of list) rows.push([b.name, b.ipAddress, b.revoked ? 'no' : 'yes', iso(b.lastPull) ?? '-', b.type, b.version, b.authType]);
    out(table(rows));
  });
}

export async function bouncersDelete(names: string[], o: CredOpts): Promise<void> {
  await withCreds(o, async (c) => {
    for (const n of names) if (!(await c.deleteBouncer(n))) throw new OperationError(`unable to delete bouncer '${n}': not found`);
    if (o.json) out(JSON.stringify({ deleted: names }) + '\n');
    else for (const n of names) out(`bouncer '${n}' deleted successfully\n`);
  });
}

// ---- machines --------------------------------------------------------------------------

export async function machinesAdd(name: string, o: CredOpts & { password?: string; auto?: boolean; force?: boolean }): Promise<void> {
  if (o.password !== undefined && o.auto) throw new UsageError('give either --password or --auto');
  if (o.password === undefined && !o.auto) throw new UsageError('machines add needs --password P (or --auto to generate one)');
  if (o.password === '') throw new UsageError('--password must not be empty');
  const password = o.password ?? randomBytes(24).toString('base64url');
  await withCreds(o, async (c) => {
    await c.addMachine(name, password, { validated: true, force: o.force ?? false });
    if (o.json) out(JSON.stringify({ machine_id: name, ...(o.auto ? { password } : {}) }) + '\n');
    else out(`Machine '${name}' successfully added to the local API.${o.auto ? `\nPassword: ${password}` : ''}\n`);
  });
}

function machineJson(m: MachineRecord): Record<string, unknown> {
  return {
    machineId: m.machineId, ipAddress: m.ipAddress, isValidated: m.isValidated, version: m.version, scenarios: m.scenarios,
    auth_type: m.authType, last_heartbeat: iso(m.lastHeartbeat), last_push: iso(m.lastPush), created_at: iso(m.createdAt), updated_at: iso(m.updatedAt),
  };
}

export async function machinesList(o: CredOpts): Promise<void> {
  await withCreds(o, async (c) => {
    const list = c.listMachines();
    if (o.json) return void out(JSON.stringify(list.map(machineJson)) + '\n');
    if (!list.length) return void out('No machines\n');
    const rows = [['Name', 'IP Address', 'Last Update', 'Status', 'Version', 'Auth Type', 'Last Heartbeat']];
    for (const m of list) rows.push([m.machineId, m.ipAddress, iso(m.updatedAt) ?? '-', m.isValidated ? 'validated' : 'pending', m.version, m.authType, iso(m.lastHeartbeat) ?? '-']);
    out(table(rows));
  });
}

export async function machinesDelete(names: string[], o: CredOpts): Promise<void> {
  await withCreds(o, async (c) => {
    for (const n of names) if (!(await c.deleteMachine(n))) throw new OperationError(`unable to delete machine '${n}': not found`);
    if (o.json) out(JSON.stringify({ deleted: names }) + '\n');
    else for (const n of names) out(`machine '${n}' deleted successfully\n`);
  });
}

export async function machinesValidate(name: string, o: CredOpts): Promise<void> {
  await withCreds(o, async (c) => {
    if (!(await c.validateMachine(name))) throw new OperationError(`unable to validate machine '${name}': not found`);
    if (o.json) out(JSON.stringify({ machine_id: name, validated: true }) + '\n');
    else out(`machine '${name}' validated successfully\n`);
  });
}
