/** Machine decision routes (JWT; spec §7.3): soft delete by filter and by id. */
import type { FastifyInstance } from 'fastify';
import { parseDecisionDeleteQuery } from '../../decisions/filters.js';
import type { ApiContext } from '../context.js';
import { Errors, messageError } from '../errors.js';
import { machineAuth } from '../auth/hooks.js';
import { deleteOut } from '../schemas.js';
import { parseId } from './alerts.js';

export function decisionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const jwt = machineAuth(ctx);

  app.delete('/v1/decisions', { onRequest: jwt, schema: { response: { 200: deleteOut } } }, async (req, reply) => {
    const n = await ctx.store.deleteDecisions(parseDecisionDeleteQuery(req.query as Record<string, string>), ctx.now());
    reply.send({ nbDeleted: String(n) });
  });

  app.delete<{ Params: { decision_id: string } }>('/v1/decisions/:decision_id', { onRequest: jwt, schema: { response: { 200: deleteOut } } }, async (req, reply) => {
    const id = parseId(req.params.decision_id);
    if (id === null) throw Errors.badDecisionId();
    const deleted = await ctx.store.deleteDecision(id, ctx.now());
    if (!deleted) throw messageError(500, `decision with id '${id}' doesn't exist: unable to delete`);
    reply.send({ nbDeleted: '1' });
  });
}
