/**
 * Alert routes (JWT; spec §7.3): push (profiles -> decisions -> store), list with filters,
 * get, delete (trusted IPs only).
 */
import type { FastifyInstance } from 'fastify';
import { evaluateProfiles, ProfileRuntimeError } from '../../decisions/profiles.js';
import { parseAlertQuery } from '../../decisions/filters.js';
import type { AlertInput, DecisionInput } from '../../decisions/records.js';
import type { LapiAlert } from '../../scenarios/overflow.js';
import type { ApiContext } from '../context.js';
import { Errors, messageError } from '../errors.js';
import { machineAuth, trustedIpOnly } from '../auth/hooks.js';
import { alertIdsOut, alertListOut, alertOut, alertsPostBody, deleteOut } from '../schemas.js';
import { alertView } from '../views.js';

/** An alert as the schema admits it (nullable fields may be null). */
type PostedAlert = Omit<AlertInput, 'machine_id'> & {
  decisions?: { duration: string | null; origin: string | null; scenario: string | null; scope: string | null; type: string | null; value: string | null; simulated?: boolean | null; uuid?: string }[] | null;
};

/** Go's strconv.Atoi on a path parameter. */
export function parseId(text: string): number | null {
  if (!/^[+-]?\d{1,15}$/.test(text)) return null;
  return Number(text);
}

export function alertRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const jwt = machineAuth(ctx);
  const trusted = trustedIpOnly(ctx);

  app.post<{ Body: PostedAlert[] }>('/v1/alerts', { onRequest: jwt, schema: { body: alertsPostBody, response: { 201: alertIdsOut } } }, async (req, reply) => {
    const now = ctx.now();
    const batch = req.body.map((a) => {
      // Alerts that carry decisions (cscli, CAPI) keep them; profiles then only pick notifications.
      const existing: DecisionInput[] = (a.decisions ?? []).map((d) => ({
        origin: d.origin ?? '', type: d.type ?? '', scope: d.scope ?? '', value: d.value ?? '',
        scenario: d.scenario ?? '', duration: d.duration ?? '', simulated: d.simulated === true,
        ...(d.uuid ? { uuid: d.uuid } : {}),
      }));
      let decisions: DecisionInput[];
      try {
        decisions = evaluateProfiles(ctx.profiles, a as unknown as LapiAlert, existing).decisions;
      } catch (e) {
        if (e instanceof ProfileRuntimeError) throw messageError(500, e.message);
        throw e;
      }
      const { decisions: _ignored, ...alert } = a;
      return { alert: { ...alert, machine_id: req.machineId! } as AlertInput, decisions };
    });
    const res = await ctx.store.addAlerts(batch, now);
    void ctx.creds.updateMachine(req.machineId!, { lastPush: now }, now).catch((e: Error) => ctx.log.warn(e.message));
    reply.code(201).send(res.map((r) => String(r.alertId)));
  });

  app.get('/v1/alerts', { onRequest: jwt, schema: { response: { 200: alertListOut } } }, async (req, reply) => {
    ctx.refresh();
    const now = ctx.now();
    const list = ctx.store.listAlerts(parseAlertQuery(req.query as Record<string, string>, now), now);
    reply.send(list.length ? list.map((a) => alertView(a, now)) : null);
  });

  app.get<{ Params: { alert_id: string } }>('/v1/alerts/:alert_id', { onRequest: jwt, schema: { response: { 200: alertOut } } }, async (req, reply) => {
    const id = parseId(req.params.alert_id);
    if (id === null) throw Errors.badAlertId();
    ctx.refresh();
    const a = ctx.store.getAlert(id);
    if (!a) throw messageError(404, 'object not found');
    reply.send(alertView(a, ctx.now()));
  });

  app.delete('/v1/alerts', { onRequest: [jwt, trusted], schema: { response: { 200: deleteOut } } }, async (req, reply) => {
    const now = ctx.now();
    const n = await ctx.store.deleteAlerts(parseAlertQuery(req.query as Record<string, string>, now, false), now);
    reply.send({ nbDeleted: String(n) });
  });

  app.delete<{ Params: { alert_id: string } }>('/v1/alerts/:alert_id', { onRequest: [jwt, trusted], schema: { response: { 200: deleteOut } } }, async (req, reply) => {
    const id = parseId(req.params.alert_id);
    if (id === null) throw Errors.badAlertId();
    const deleted = await ctx.store.deleteAlert(id, ctx.now());
    if (!deleted) throw messageError(404, 'object not found');
    reply.send({ nbDeleted: '1' });
  });
}
