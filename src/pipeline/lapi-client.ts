/**
 * A Local API client for machines (agents and the remote operator CLI), over Node's fetch.
 * Protocol (spec §7.2–7.3, §5.1):
 * - login: POST /v1/watchers/login {machine_id, password, scenarios} → {token, expire};
 *   the User-Agent must be `NAME/VERSION` or the LAPI refuses the login;
 * - the token is renewed when less than a minute of it remains, and dropped on 401/403
 *   (one fresh login and retry per request);
 * - heartbeat: GET /v1/heartbeat every minute while running;
 * - alerts are queued and pushed every second as one POST /v1/alerts; a failed push puts the
 *   batch back at the head of the queue; the queue is bounded (oldest dropped, counted);
 *   `stop()` flushes what is left, within a deadline.
 */
import type { LapiAlert } from '../scenarios/overflow.js';

export const USER_AGENT = 'palisade/v0.1.0';

export interface LapiClientOptions {
  url: string;
  machineId: string;
  password: string;
  scenarios?: string[];
  userAgent?: string;
  pushIntervalMs?: number;
  heartbeatMs?: number;
  maxQueue?: number;
  /** Per-request timeout. */
  timeoutMs?: number;
  warn?: (m: string) => void;
  /** Alerts actually accepted by the API (ids as returned). */
  onPushed?: (n: number, ids: string[]) => void;
}

export class LapiHttpError extends Error {
  constructor(readonly status: number, readonly body: string, what: string) {
    super(`${what}: HTTP ${status}${body ? ` ${summarize(body)}` : ''}`);
    this.name = 'LapiHttpError';
  }
}

function summarize(body: string): string {
  try {
    const j = JSON.parse(body) as { message?: unknown };
    if (typeof j.message === 'string') return j.message;
  } catch {
    // not JSON
  }
  return body.slice(0, 200);
}

export interface ClientStats { pushed: number; pushFailures: number; dropped: number; logins: number; heartbeats: number }

export class LapiClient {
  readonly stats: ClientStats = { pushed: 0, pushFailures: 0, dropped: 0, logins: 0, heartbeats: 0 };
  private readonly base: string;
  private token: string | null = null;
  private expiresAt = 0;
  private loginInFlight: Promise<string> | null = null;
  private queue: LapiAlert[] = [];
  private pushTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private pushing: Promise<void> | null = null;
  private running = false;

  constructor(private readonly o: LapiClientOptions) {
    let u: URL;
    try {
      u = new URL(o.url);
    } catch {
      throw new Error(`invalid LAPI URL '${o.url}'`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`LAPI URL must be http(s), not '${u.protocol}'`);
    this.base = u.href.replace(/\/+$/, '');
  }

  get queued(): number {
    return this.queue.length;
  }

  // ---- auth ------------------------------------------------------------------------------

  /** A valid token, logging in (once, shared by concurrent callers) when needed. */
  async authToken(): Promise<string> {
    if (this.token && this.expiresAt - Date.now() > 60_000) return this.token;
    this.loginInFlight ??= this.login().finally(() => { this.loginInFlight = null; });
    return this.loginInFlight;
  }

  private async login(): Promise<string> {
    const res = await this.raw('POST', '/v1/watchers/login', {
      machine_id: this.o.machineId, password: this.o.password, scenarios: this.o.scenarios ?? [],
    }, null);
    const text = await res.text();
    if (res.status !== 200) throw new LapiHttpError(res.status, text, `login as '${this.o.machineId}'`);
    const j = JSON.parse(text) as { token?: unknown; expire?: unknown };
    if (typeof j.token !== 'string') throw new Error('login: the API returned no token');
    const exp = typeof j.expire === 'string' ? Date.parse(j.expire) : NaN;
    this.token = j.token;
    // Without a readable expiry, assume CrowdSec's 1 h lifetime.
    this.expiresAt = Number.isFinite(exp) ? exp : Date.now() + 3600_000;
    this.stats.logins++;
    return j.token;
  }

  private async raw(method: string, path: string, body: unknown, token: string | null): Promise<Response> {
    const headers: Record<string, string> = { 'User-Agent': this.o.userAgent ?? USER_AGENT, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;
    return fetch(this.base + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
    });
  }

  /** An authenticated request; a 401/403 drops the token and retries once after a new login. */
  async request(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.authToken();
      const res = await this.raw(method, path, body, token);
      const text = await res.text();
      if ((res.status === 401 || res.status === 403) && attempt === 0) {
        this.token = null;
        continue;
      }
      return { status: res.status, text };
    }
  }

  /** JSON call that throws LapiHttpError unless the status is one of `ok`. */
  async json<T>(method: string, path: string, body?: unknown, ok: number[] = [200]): Promise<T> {
    const r = await this.request(method, path, body);
    if (!ok.includes(r.status)) throw new LapiHttpError(r.status, r.text, `${method} ${path}`);
    return (r.text ? JSON.parse(r.text) : null) as T;
  }

  async heartbeat(): Promise<void> {
    const r = await this.request('GET', '/v1/heartbeat');
    if (r.status !== 200) throw new LapiHttpError(r.status, r.text, 'heartbeat');
    this.stats.heartbeats++;
  }

  // ---- agent loop --------------------------------------------------------------------------

  /** Logs in (so bad credentials fail at start-up, not a second later) and starts the timers. */
  async start(): Promise<void> {
    await this.authToken();
    this.running = true;
    this.pushTimer = setInterval(() => { this.push().catch(() => { /* warned; retried next tick */ }); }, this.o.pushIntervalMs ?? 1000);
    this.heartbeatTimer = setInterval(() => {
      this.heartbeat().catch((e: Error) => this.o.warn?.(`heartbeat failed: ${e.message}`));
    }, this.o.heartbeatMs ?? 60_000);
  }

  enqueue(alerts: readonly LapiAlert[]): void {
    for (const a of alerts) this.queue.push(a);
    this.trim();
  }

  private trim(): void {
    const max = this.o.maxQueue ?? 10_000;
    if (this.queue.length > max) {
      const drop = this.queue.length - max;
      this.queue.splice(0, drop);
      this.stats.dropped += drop;
      this.o.warn?.(`alert queue full: dropped ${drop} oldest alert(s) (${this.stats.dropped} so far)`);
    }
  }

  /** Sends everything queued as one POST; on failure the batch goes back to the head of the queue. */
  push(): Promise<void> {
    this.pushing ??= this.pushOnce().finally(() => { this.pushing = null; });
    return this.pushing;
  }

  private async pushOnce(): Promise<void> {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    try {
      const ids = await this.json<string[]>('POST', '/v1/alerts', batch, [200, 201]);
      this.stats.pushed += batch.length;
      this.o.onPushed?.(batch.length, Array.isArray(ids) ? ids : []);
    } catch (e) {
      this.stats.pushFailures++;
      this.o.warn?.(`pushing ${batch.length} alert(s) failed: ${(e as Error).message}; will retry`);
      this.queue = batch.concat(this.queue);
      this.trim();
      throw e;
    }
  }

  /** Stops the timers and flushes the queue, retrying until `deadlineMs` has passed. */
  async stop(deadlineMs = 5000): Promise<void> {
    this.running = false;
    if (this.pushTimer) clearInterval(this.pushTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    const end = Date.now() + deadlineMs;
    while (Date.now() < end) {
      if (this.pushing) await this.pushing.catch(() => {});
      if (this.queue.length === 0) return;
      try {
        await this.push();
        continue;
      } catch {
        await new Promise((r) => setTimeout(r, Math.min(500, Math.max(0, end - Date.now()))));
      }
    }
    if (this.queue.length > 0) this.o.warn?.(`shutting down with ${this.queue.length} alert(s) not delivered`);
  }

  get isRunning(): boolean {
    return this.running;
  }
}
