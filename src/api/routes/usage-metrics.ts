/**
 * POST /v1/usage-metrics (newer LAPI, spec §7.7). A 1.4.6 LAPI answers 404 and current
 * bouncers log "metrics endpoint not found, older LAPI?" every 15 minutes; we accept the
 * report instead (201) so they stay quiet. Contents are only counted, not stored.
 * Auth: an API key (bouncers) or a JWT (agents).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import { bouncerAuth, machineAuth } from '../auth/hooks.js';
import { usageMetricsBody } from '../schemas.js';

export function usageMetricsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const bouncer = bouncerAuth(ctx);
  const machine = machineAuth(ctx);
  const auth = (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
    if (req.headers['x-api-key'] !== undefined) bouncer(req, reply, done);
    else machine(req, reply).then(() => done(), done);
  };
  app.post('/v1/usage-metrics', { onRequest: auth, schema: { body: usageMetricsBody }, config: { validationStatus: 400 } }, async (_req, reply) => {
    reply.code(201).send();
  });
}
