/**
 * Bouncer routes (API key; spec §7.4): GET /v1/decisions (live lookups, not deduped) and
 * GET /v1/decisions/stream (startup / new / deleted deltas per bouncer).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseDecisionQuery, parseStreamQuery } from '../../decisions/filters.js';
import type { ApiContext } from '../context.js';
import { bouncerAuth } from '../auth/hooks.js';
import { decisionListOut, streamOut } from '../schemas.js';
import { streamDelta } from '../stream.js';
import { bouncerDecision } from '../views.js';

/** last_pull of GET /v1/decisions is written at most this often (a write per lookup would cost an fsync). */
const LAST_PULL_EVERY_MS = 60_000;

export function bouncerDecisionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const auth = bouncerAuth(ctx);
  const empty = async (_req: FastifyRequest, reply: FastifyReply) => reply.code(200).send();

  app.get('/v1/decisions', { onRequest: auth, exposeHeadRoute: false, schema: { response: { 200: decisionListOut } } }, async (req, reply) => {
    const now = ctx.now();
    const f = parseDecisionQuery(req.query as Record<string, string>);
    // ip/range lookups (the live-bouncer hot path) come from the in-memory set; the rest from the store.
    const list = ctx.activeSet?.lookup(f, now) ?? ctx.store.listDecisions(f, now);
    const b = req.bouncer!;
    ctx.metrics?.decisionsServed(b.name, list.length > 0);
    if (now - b.lastPull >= LAST_PULL_EVERY_MS) {
      void ctx.creds.touchBouncer(b.name, { lastPull: now }, now).catch((e: Error) => ctx.log.warn(e.message));
    }
    reply.send(list.length ? list.map((d) => bouncerDecision(d, now)) : null);
  });
  app.head('/v1/decisions', { onRequest: auth }, empty);

  app.get('/v1/decisions/stream', { onRequest: auth, exposeHeadRoute: false, schema: { response: { 200: streamOut } } }, async (req, reply) => {
    const now = ctx.now();
    const b = req.bouncer!;
    const q = parseStreamQuery(req.query as Record<string, string>);
    const delta = streamDelta(ctx.store, q, { lastPull: b.lastPull, cursor: b.streamCursor }, now, ctx.activeSet);
    await ctx.creds.touchBouncer(b.name, { lastPull: delta.next.lastPull, streamCursor: delta.next.cursor }, now);
    const body = {
      deleted: delta.deleted.length ? delta.deleted.map((d) => bouncerDecision(d, now)) : null,
      new: delta.new.length ? delta.new.map((d) => bouncerDecision(d, now)) : null,
    };
    // A startup stream can carry 100k decisions: V8's JSON.stringify is several times faster
    // than the schema serializer on lists that long, and the views already have Go's key
    // order, so the bytes are the same (the schema still documents the shape).
    reply.type('application/json; charset=utf-8').send(JSON.stringify(body));
  });
  app.head('/v1/decisions/stream', { onRequest: auth }, empty);
}
