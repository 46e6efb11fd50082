/** Shared helpers for the Local API tests: a store in a temp dir, a server, credentials, alert bodies. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProfiles, type Profile } from '../../src/decisions/profiles.js';
import { Store } from '../../src/decisions/store.js';
import { createApiServer, type ApiServer, type ApiServerOptions } from '../../src/api/server.js';

export const UA = { 'user-agent': 'crowdsec/v1.4.6-debian' };

/**
 * Polls `read()` until `ok` accepts its value (every 5 ms, at most `timeoutMs`), for writes
 * a route does not await; fails naming `what` and the last value seen, so a write that never
 * happens still fails the test, and a slow one under load does not.
 */
export async function waitFor<T>(what: string, read: () => T, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const t0 = performance.now();
  for (;;) {
    const v = read();
    if (ok(v)) return v;
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A clock the test moves by hand. */
export class Clock {
  constructor(public t = Date.now()) {}
  now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface Harness {
  dir: string;
  store: Store;
  server: ApiServer;
  clock: Clock;
  cleanup(): Promise<void>;
}

const PROFILES = `name: default_ip_remediation
filters:
  - Alert.Remediation == true && Alert.GetScope() == "Ip"
decisions:
  - type: ban
    duration: 4h
on_success: break
---
name: default_range_remediation
filters:
  - Alert.Remediation == true && Alert.GetScope() == "Range"
decisions:
  - type: ban
    duration: 4h
on_success: break
`;

export function testProfiles(dir: string, store: Store): Profile[] {
  const file = join(dir, 'profiles.yaml');
  writeFileSync(file, PROFILES);
  return loadProfiles(file, { decisionsCount: (v) => store.countDecisions(v) });
}

/** A fresh temp root; the store goes in `<root>/data` (lmdb treats a path with an extension as a file). */
export function tempRoot(tag: string): string {
  return mkdtempSync(join(tmpdir(), `palisade-${tag}-`));
}

export async function harness(opts: Partial<ApiServerOptions> & { realClock?: boolean } = {}): Promise<Harness> {
  const root = mkdtempSync(join(tmpdir(), `palisade-api-`));
  const dir = join(root, 'data');
  const store = Store.open(dir, { noSync: true });
  const clock = new Clock();
  const server = createApiServer({
    store,
    profiles: testProfiles(root, store),
    listen: '127.0.0.1:0',
    jwtSecret: Buffer.alloc(64, 7),
    ...(opts.realClock ? {} : { now: clock.now }),
    ...opts,
  });
  return {
    dir,
    store,
    server,
    clock,
    async cleanup() {
      await server.close();
      await store.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A validated machine and a token for it. */
export async function machineToken(h: Harness, id = 'testMachine', password = 'pa55word'): Promise<string> {
  await h.server.ctx.creds.addMachine(id, password, { validated: true, force: true });
  const r = await h.server.app.inject({ method: 'POST', url: '/v1/watchers/login', headers: UA, payload: { machine_id: id, password, scenarios: ['crowdsecurity/ssh-bf'] } });
  if (r.statusCode !== 200) throw new Error(`login failed: ${r.statusCode} ${r.body}`);
  return (JSON.parse(r.body) as { token: string }).token;
}

export async function bouncerKey(h: Harness, name = 'fw'): Promise<string> {
  return (await h.server.ctx.creds.addBouncer(name)).key;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** An agent alert (spec §7.6) without decisions: profiles decide. */
export function agentAlert(value: string, at: number, opts: { scope?: string; scenario?: string; simulated?: boolean } = {}): Record<string, unknown> {
  const scope = opts.scope ?? 'Ip';
  return {
    capacity: 5, decisions: null,
    events: [{ meta: [{ key: 'source_ip', value }], timestamp: iso(at) }],
    events_count: 6, labels: null, leakspeed: '10s',
    message: `${scope} ${value} performed 'crowdsecurity/ssh-bf' (6 events over 3s)`,
    remediation: true, scenario: opts.scenario ?? 'crowdsecurity/ssh-bf', scenario_hash: 'abc', scenario_version: '0.1',
    simulated: opts.simulated ?? false,
    source: scope === 'Ip' ? { ip: value, scope, value } : { range: value, scope, value },
    start_at: iso(at - 3000), stop_at: iso(at),
  };
}

/** A cscli-style manual alert carrying its decision. */
export function manualAlert(value: string, at: number, opts: { scope?: string; duration?: string; type?: string; origin?: string; scenario?: string } = {}): Record<string, unknown> {
  const scope = opts.scope ?? 'Ip';
  const reason = opts.scenario ?? "manual 'ban' from 'testMachine'";
  return {
    capacity: 0, decisions: [{ duration: opts.duration ?? '4h', origin: opts.origin ?? 'cscli', scenario: reason, scope, type: opts.type ?? 'ban', value }],
    events: [], events_count: 1, labels: null, leakspeed: '0', message: reason, remediation: true,
    scenario: reason, scenario_hash: '', scenario_version: '', simulated: false,
    source: { scope, value, ...(scope === 'Ip' ? { ip: value } : {}) },
    start_at: iso(at), stop_at: iso(at),
  };
}
