/**
 * Push stream (beyond CrowdSec, issue 5 item 2): `GET /v1/decisions/push` is a
 * server-sent-events stream of decision changes for Palisade's own bouncers, so enforcement
 * follows a decision within one poll of the active set (200 ms) instead of the 10 s pull.
 * CrowdSec clients keep polling `/v1/decisions/stream`.
 *
 * Protocol (text/event-stream):
 *   retry: 1000
 *   event: new | deleted         one event per decision change, data = the LAPI Decision
 *   id: <change seq>             JSON (spec §7.6) plus `until` (RFC3339); `id` is the store's
 *   data: {"duration":...}       change cursor, so EventSource resumes with Last-Event-ID
 *   event: ready                 after the snapshot / replay: data {"cursor":N}, id N
 *   event: resync                final event before the server closes: the client must
 *                                reconnect with startup=true (cursor too old, log trimmed,
 *                                or the client read too slowly)
 *   : hb                         heartbeat comment every `heartbeatMs`
 *
 * Query: `cursor=N` (or header Last-Event-ID, which wins: EventSource reconnects with the
 * original URL) replays every change after N; `startup=true` without a cursor sends every
 * active decision as `new` first; neither = only what happens from now on. Filters as
 * `/v1/decisions/stream` (`scopes` default ip,range, `origins`, `scenarios_containing`,
 * `scenarios_not_containing`, `simulated`). Auth: the bouncer `X-Api-Key` (403 otherwise).
 *
 * Natural expiry is not pushed (the change log records it only when the daemon sweeps):
 * clients use `duration` as the entry's timeout, as the firewall bouncer does with the pull
 * stream. Events are per decision id, not deduplicated.
 *
 * Backpressure: a client is written to only while its socket accepts data; a backlog is
 * read back from the store's change log on 'drain' instead of being queued per client, so
 * a burst never grows server memory. A client whose socket stays full for `stallMs` gets
 * `resync` and the connection is ended (destroyed after `dropGraceMs` if it still does not
 * read).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { ActiveDecisionSet } from '../decisions/active-set.js';
import { compileDecisionFilter, matchDecision, parseStreamQuery, type CompiledDecisionFilter } from '../decisions/filters.js';
import type { Change, DecisionRecord } from '../decisions/records.js';
import type { Store } from '../decisions/store.js';
import { bouncerAuth } from './auth/hooks.js';
import type { ApiContext } from './context.js';
import { messageError } from './errors.js';
import { bouncerDecision, rfc3339 } from './views.js';

export const PUSH_PATH = '/v1/decisions/push';

export interface PushStreamOptions {
  heartbeatMs?: number;
  /** A client whose socket stays full (no 'drain') this long is dropped with `resync`. */
  stallMs?: number;
  /** Most changes replayed for a resume; beyond that the client is told to resync. */
  maxReplay?: number;
  /** How long a dropped client gets to read its final event before the socket is destroyed. */
  dropGraceMs?: number;
}

interface Client {
  res: ServerResponse;
  filter: CompiledDecisionFilter;
  /** Last change seq considered for this client (written or filtered out). */
  cursor: number;
  /** The socket is full: wait for 'drain', then catch up from the store's change log. */
  waiting: boolean;
  waitingSince: number;
  /** startup=true: active decisions still to send (shared records, not copies), then `ready`. */
  snapshot: DecisionRecord[] | null;
  snapIdx: number;
  readySent: boolean;
  closed: boolean;
}

export interface PushStats {
  clients: number;
  /** Clients dropped for not reading, since start. */
  dropped: number;
  events: number;
}

/** How many change-log entries one catch-up step reads. */
const PAGE = 500;
const ADDRESS_SCOPES = new Set(['Ip', 'Range']);

/**
 * The clients and their fan-out; one per API server.
 *
 * Memory per client is bounded by the socket's buffer plus one event: a client is written
 * to only while its socket accepts data. When the socket is full the client stops taking
 * live pages; on 'drain' it catches up from the store's change log (the backlog lives in
 * LMDB, not in per-client queues), then rejoins the live fan-out. A client that does not
 * drain for `stallMs` is dropped.
 */
export class PushHub {
  private readonly clients = new Set<Client>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private readonly stallMs: number;
  private readonly maxReplay: number;
  private readonly dropGraceMs: number;
  readonly stats: PushStats = { clients: 0, dropped: 0, events: 0 };

  constructor(
    private readonly store: Store,
    private readonly set: ActiveDecisionSet,
    private readonly now: () => number,
    opts: PushStreamOptions = {},
  ) {
    this.stallMs = opts.stallMs ?? 30_000;
    this.maxReplay = opts.maxReplay ?? 200_000;
    this.dropGraceMs = opts.dropGraceMs ?? 5000;
    this.unsubscribe = set.subscribe({
      changes: (changes) => this.fanOut(changes),
      reset: () => {
        for (const c of this.clients) this.drop(c, 'change log trimmed');
      },
    });
    const hbMs = opts.heartbeatMs ?? 15_000;
    this.heartbeat = setInterval(() => this.tick(), Math.min(hbMs, this.stallMs));
    this.heartbeat.unref();
    this.hbEvery = hbMs;
  }

  private readonly hbEvery: number;
  private lastHb = 0;

  get size(): number {
    return this.clients.size;
  }

  /**
   * Serves one subscription on `res` (headers not yet sent); `resume` from resumeCursor().
   * Throws StoreError for a bad filter before anything is written.
   */
  open(res: ServerResponse, query: Record<string, string>, resume: number | null): void {
    const q = parseStreamQuery(query);
    const filter = compileDecisionFilter({ ...q.filter, status: 'all' });
    // Bring the set (and with it the store snapshot) up to date: the set's cursor is where
    // live pages start, and anything before it comes from the change log or the snapshot.
    this.set.sync();
    const live = this.set.cursor;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const c: Client = { res, filter, cursor: live, waiting: false, waitingSince: 0, snapshot: null, snapIdx: 0, readySent: false, closed: false };
    res.on('close', () => {
      c.closed = true;
      this.clients.delete(c);
      this.stats.clients = this.clients.size;
    });
    res.on('drain', () => this.pump(c));
    res.write('retry: 1000\n\n');
    this.clients.add(c);
    this.stats.clients = this.clients.size;
    if (resume !== null) {
      if (resume > live) return this.drop(c, 'cursor ahead of the store');
      if (live - resume > this.maxReplay) return this.drop(c, 'cursor too old');
      c.cursor = resume;
    } else if (query.startup === 'true') {
      const scopes = q.filter.scopes;
      // The set holds every active Ip/Range decision as of its cursor: no copy, no query.
      c.snapshot = scopes && scopes.every((x) => ADDRESS_SCOPES.has(x))
        ? this.set.all()
        : this.store.listDecisions({ ...q.filter, status: 'active' }, this.now());
    }
    this.pump(c);
  }

  /** Writes what the client is owed (snapshot, then change-log backlog, then `ready`) while its socket accepts it. */
  private pump(c: Client): void {
    if (c.closed) return;
    c.waiting = false;
    const now = this.now();
    if (c.snapshot) {
      const snap = c.snapshot;
      while (c.snapIdx < snap.length) {
        const d = snap[c.snapIdx++]!;
        if (!(d.until > now && d.deletedAt === undefined) || !matchDecision(c.filter, d, now)) continue;
        if (!this.event(c, 'new', undefined, d, now)) return;
      }
      c.snapshot = null;
    }
    const live = this.set.cursor;
    while (c.cursor < live) {
      const r = this.store.changesSince(c.cursor, PAGE);
      if (r.truncated) return this.drop(c, 'cursor too old');
      if (r.changes.length === 0) break;
      if (!this.send(c, r.changes, now)) return;
    }
    if (!c.readySent) {
      c.readySent = true;
      this.write(c, `event: ready\nid: ${c.cursor}\ndata: {"cursor":${c.cursor}}\n\n`);
    }
  }

  private fanOut(changes: readonly Change[]): void {
    if (this.clients.size === 0) return;
    const now = this.now();
    // Clients that are waiting or still catching up get these from the log in pump().
    for (const c of this.clients) if (!c.waiting && c.readySent) this.send(c, changes, now);
  }

  /** Writes the changes after the client's cursor that pass its filter; false once the socket is full. */
  private send(c: Client, changes: readonly Change[], now: number): boolean {
    for (const ch of changes) {
      if (ch.seq <= c.cursor) continue;
      c.cursor = ch.seq;
      const d = ch.decision;
      if (!d || !matchDecision(c.filter, d, now)) continue;
      // A 'new' already gone again (expired, or deleted: its 'deleted' follows) is not worth enforcing.
      if (ch.kind === 'new' && !(d.until > now && d.deletedAt === undefined)) continue;
      if (!this.event(c, ch.kind, ch.seq, d, now)) return false;
    }
    return true;
  }

  private event(c: Client, kind: 'new' | 'deleted', id: number | undefined, d: DecisionRecord, now: number): boolean {
    const view = { ...bouncerDecision(d, now), until: rfc3339(d.until) };
    this.stats.events++;
    return this.write(c, `${id === undefined ? '' : `id: ${id}\n`}event: ${kind}\ndata: ${JSON.stringify(view)}\n\n`);
  }

  /** False when the client is gone or its socket is full (it continues on 'drain'). */
  private write(c: Client, text: string): boolean {
    if (c.closed) return false;
    if (c.res.write(text)) return true;
    c.waiting = true;
    c.waitingSince = this.now();
    return false;
  }

  /** Heartbeats for idle clients; drops clients whose socket has stayed full for stallMs. */
  private tick(): void {
    const now = this.now();
    const beat = now - this.lastHb >= this.hbEvery;
    if (beat) this.lastHb = now;
    for (const c of this.clients) {
      if (c.waiting) {
        if (now - c.waitingSince >= this.stallMs) {
          this.stats.dropped++;
          this.drop(c, 'client too slow');
        }
      } else if (beat) this.write(c, ': hb\n\n');
    }
  }

  /** Final `resync` event, then close; destroy if the client does not read it in time. */
  private drop(c: Client, reason: string): void {
    if (c.closed) return;
    c.closed = true;
    this.clients.delete(c);
    this.stats.clients = this.clients.size;
    c.res.end(`event: resync\ndata: ${JSON.stringify({ reason })}\n\n`);
    const t = setTimeout(() => c.res.destroy(), this.dropGraceMs);
    t.unref();
    c.res.once('finish', () => clearTimeout(t));
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.unsubscribe();
    for (const c of this.clients) {
      c.closed = true;
      c.res.destroy();
    }
    this.clients.clear();
    this.stats.clients = 0;
  }
}

/** The resume point: header Last-Event-ID, else `?cursor=`; null = none. ApiError 400 when not a number. */
export function resumeCursor(query: Record<string, string>, lastEventId: string | undefined): number | null {
  const text = lastEventId !== undefined && lastEventId !== '' ? lastEventId : query.cursor;
  if (text === undefined || text === '') return null;
  if (!/^\d{1,15}$/.test(text)) throw messageError(400, `cursor must be a non-negative integer, got '${text}'`);
  return Number(text);
}

/**
 * Registers `GET /v1/decisions/push` on `app` (bouncer API-key auth, as the other
 * `/v1/decisions*` routes). The caller owns `set` (started) and closes the hub with the app.
 */
export function registerPushStream(app: FastifyInstance, ctx: ApiContext, set: ActiveDecisionSet, opts: PushStreamOptions = {}): PushHub {
  const hub = new PushHub(ctx.store, set, ctx.now, opts);
  app.get(PUSH_PATH, { onRequest: bouncerAuth(ctx) }, async (req: FastifyRequest, reply: FastifyReply) => {
    const query = (req.query ?? {}) as Record<string, string>;
    const lastId = req.headers['last-event-id'];
    // Validate before hijacking, so a bad query gets the API's JSON error (thrown to its handler).
    const resume = resumeCursor(query, typeof lastId === 'string' ? lastId : undefined);
    parseStreamQuery(query);
    reply.hijack();
    try {
      hub.open(reply.raw, query, resume);
    } catch (e) {
      ctx.log.error(`push stream: ${(e as Error).message}`);
      reply.raw.destroy();
    }
  });
  app.addHook('preClose', async () => hub.close());
  return hub;
}
