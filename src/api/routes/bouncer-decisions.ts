/**
 * Bouncer routes (API key; spec §7.4): GET /v1/decisions (live lookups, not deduped) and
 * GET /v1/decisions/stream (startup / new / deleted deltas per bouncer).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseDecisionQuery, parseStreamQuery } from '../../decisions/filters.js';
import type { DecisionRecord } from '../../decisions/records.js';
import type { ApiContext } from '../context.js';
import type { BouncerRecord } from '../credentials.js';
import { bouncerAuth } from '../auth/hooks.js';
import { Errors } from '../errors.js';
import { decisionListOut, streamOut } from '../schemas.js';
import { streamDelta } from '../stream.js';
import { bouncerDecision, remaining } from '../views.js';

/** last_pull of GET /v1/decisions is written at most this often (a write per lookup would cost an fsync). */
const LAST_PULL_EVERY_MS = 60_000;
export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The address of the live bouncer's query, `?ip=X` and nothing else (as parseDecisionQuery
 * would read it: `{ status: 'active', excludeSimulated: true, ip }`), or null for any other
 * query. The address is validated by the active set's lookup: a single address by its own
 * parser (parseAddressWords, which accepts exactly what the store's parser does:
 * test/decisions/ipset.test.ts), a CIDR by the store's parser; either throws the store's error.
 */
function ipOnlyQuery(q: Record<string, unknown>): string | null {
  let ip: unknown;
  let n = 0;
  for (const k in q) {
    if (k !== 'ip' || ++n > 1) return null;
    ip = q[k];
  }
  return typeof ip !== 'string' || ip === '' ? null : ip;
}

/** The answer's bytes without the schema serializer: the views carry Go's key order, so the bytes are the same. */
function listBody(list: readonly DecisionRecord[], now: number): string {
  if (list.length === 0) return 'null';
  if (list.length === 1) return '[' + decisionJson(list[0]!, now) + ']';
  let out = '[' + decisionJson(list[0]!, now);
  for (let i = 1; i < list.length; i++) out += ',' + decisionJson(list[i]!, now);
  return out + ']';
}

/**
 * JSON.stringify(bouncerDecision(d, now)) without building the view each time: only the
 * duration changes with `now`, so the text after it is kept per record (keyed by id and
 * checked by identity, so a record replaced in the active set is serialized afresh).
 * Bounded: the memo is emptied when it reaches TAIL_MEMO_MAX entries.
 */
function decisionJson(d: DecisionRecord, now: number): string {
  const memo = tails.get(d.id);
  // Go's duration text (digits, '.', '-', h m s µ n u) needs no JSON escaping.
  if (memo !== undefined && memo.rec === d) return '{"duration":"' + remaining(d.until, now) + '"' + memo.tail;
  const view = bouncerDecision(d, now);
  const json = JSON.stringify(view);
  const head = '{"duration":' + JSON.stringify(view.duration);
  if (d.id !== 0 && json.startsWith(head)) {
    if (tails.size >= TAIL_MEMO_MAX) tails.clear();
    tails.set(d.id, { rec: d, tail: json.slice(head.length) });
  }
  return json;
}
const TAIL_MEMO_MAX = 4096;
const tails = new Map<number, { rec: DecisionRecord; tail: string }>();

/**
 * The hot path of `GET /v1/decisions` (a live bouncer asking about one address, `?ip=X`
 * alone): the answer from the in-memory set, as the body's text and whether it holds any
 * decision; null for any other query or while the set is not loaded. Throws the store's
 * error for an invalid address. Shared by the route and the fast path (fast-lookup.ts).
 */
export function hotLookup(ctx: ApiContext, query: Record<string, unknown>, now: number): { body: string; any: boolean } | null {
  const ip = ctx.activeSet?.ready ? ipOnlyQuery(query) : null;
  const list = ip !== null ? ctx.activeSet!.lookupAddress(ip, now, true) : null;
  return list === null ? null : { body: listBody(list, now), any: list.length > 0 };
}

/**
 * hotLookup for a fast-path `?ip=X` (fast-lookup.ts): the body text, or null while the set
 * is not loaded. The set's address lookup (ActiveDecisionSet.lookupAddress) takes no filter
 * object and allocates nothing when no decision matches. An empty body list is 'null', so
 * `body !== 'null'` is hotLookup's `any`.
 */
export function hotLookupBody(ctx: ApiContext, ip: string, now: number): string | null {
  if (!ctx.activeSet?.ready || ip === '') return null;
  const list = ctx.activeSet.lookupAddress(ip, now, true);
  return list === null ? null : listBody(list, now);
}

/** What every answered lookup records: the ok/ko counter and (at most once a minute) last_pull. */
export function lookupServed(ctx: ApiContext, b: BouncerRecord, any: boolean, now: number): void {
  ctx.metrics?.decisionsServed(b.name, any);
  lookupPulled(ctx, b, now);
}

/** lookupServed's last_pull part (the fast paths count ok/ko through ApiMetrics.lookupCounters). */
export function lookupPulled(ctx: ApiContext, b: BouncerRecord, now: number): void {
  if (now - b.lastPull >= LAST_PULL_EVERY_MS) {
    // b may be the cached record shared by this bouncer's requests: mark it so that the
    // next lookups do not write again.
    b.lastPull = now;
    const name = b.name;
    void ctx.creds.touchBouncer(name, { lastPull: now }, now).catch((e: Error) => ctx.log.warn(`bouncer ${name}: ${e.message}`));
  }
}

export function bouncerDecisionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const auth = bouncerAuth(ctx);
  const empty = async (_req: FastifyRequest, reply: FastifyReply) => reply.code(200).send();

  // Synchronous handler: the hot path awaits nothing, so it needs no promise per request.
  // Plain `?ip=` lookups usually do not reach it: the fast path (fast-lookup.ts) answers them
  // the same way before fastify; it hands this route everything else.
  app.get('/v1/decisions', { onRequest: auth, exposeHeadRoute: false, schema: { response: { 200: decisionListOut } } }, (req, reply) => {
    const now = ctx.now();
    const b = req.bouncer!;
    const query = req.query as Record<string, unknown>;
    // Hot path: answered by the in-memory set and written out directly; anything else goes
    // through the general filter and the store.
    const hot = hotLookup(ctx, query, now);
    if (hot !== null) {
      lookupServed(ctx, b, hot.any, now);
      reply.type(JSON_TYPE).send(hot.body);
      return;
    }
    const f = parseDecisionQuery(query as Record<string, string>);
    let list = ctx.activeSet?.lookup(f, now) ?? null;
    if (list === null) {
      ctx.refresh();
      list = ctx.store.listDecisions(f, now);
    }
    lookupServed(ctx, b, list.length > 0, now);
    reply.send(list.length ? list.map((d) => bouncerDecision(d, now)) : null);
  });
  app.head('/v1/decisions', { onRequest: auth }, empty);

  app.get('/v1/decisions/stream', { onRequest: auth, exposeHeadRoute: false, schema: { response: { 200: streamOut } } }, async (req, reply) => {
    const now = ctx.now();
    // The pull state (last_pull, cursor) is read fresh: the auth cache may hold an older copy.
    ctx.refresh();
    const b = ctx.creds.getBouncer(req.bouncer!.name);
    if (!b || b.keyHash !== req.bouncer!.keyHash) throw Errors.forbidden();
    const q = parseStreamQuery(req.query as Record<string, string>);
    const delta = streamDelta(ctx.store, q, { lastPull: b.lastPull, cursor: b.streamCursor }, now, ctx.activeSet);
    await ctx.creds.touchBouncer(b.name, { lastPull: delta.next.lastPull, streamCursor: delta.next.cursor }, now);
    req.bouncer!.lastPull = delta.next.lastPull;
    const body = {
      deleted: delta.deleted.length ? delta.deleted.map((d) => bouncerDecision(d, now)) : null,
      new: delta.new.length ? delta.new.map((d) => bouncerDecision(d, now)) : null,
    };
    // A startup stream can carry 100k decisions: V8's JSON.stringify is several times faster
    // than the schema serializer on lists that long, and the views already have Go's key
    // order, so the bytes are the same (the schema still documents the shape).
    reply.type(JSON_TYPE).send(JSON.stringify(body));
  });
  app.head('/v1/decisions/stream', { onRequest: auth }, empty);
}
