/**
 * Machine routes (spec §7.3): register, login (JWT), heartbeat, token refresh.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import { Errors, jwtError } from '../errors.js';
import { issueToken, REFRESH_WINDOW_S, rfc3339Seconds } from '../auth/jwt.js';
import { burnPasswordCheck, verifyPassword } from '../auth/passwords.js';
import { machineAuth, peerCertificate, splitUserAgent } from '../auth/hooks.js';
import { loginOut, watcherRegisterBody } from '../schemas.js';

interface RegisterBody { machine_id: string; password: string }

export function watcherRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const jwt = machineAuth(ctx);

  app.post<{ Body: RegisterBody }>('/v1/watchers', { schema: { body: watcherRegisterBody } }, async (req, reply) => {
    const { machine_id: id, password } = req.body;
    ctx.refresh();
    // Checked before hashing too, so a replayed registration costs no scrypt run.
    if (ctx.creds.getMachine(id)) throw Errors.exists(id);
    await ctx.creds.addMachine(id, password, { validated: false, ip: req.clientIp, now: ctx.now() });
    reply.code(201).send();
  });

  app.post('/v1/watchers/login', { schema: { response: { 200: loginOut } } }, async (req, reply) => {
    const id = await authenticate(ctx, req);
    const { token, exp } = issueToken(id, ctx.jwtSecret, ctx.now());
    reply.send({ code: 200, expire: rfc3339Seconds(exp), token });
  });

  app.get('/v1/heartbeat', { onRequest: jwt }, async (req, reply) => {
    await ctx.creds.updateMachine(req.machineId!, { lastHeartbeat: ctx.now() }, ctx.now());
    reply.code(200).send();
  });

  app.get('/v1/refresh_token', { onRequest: jwt, schema: { response: { 200: loginOut } } }, async (req, reply) => {
    // machineAuth verified the token; its orig_iat bounds the refresh window.
    const origIat = req.jwtClaims!.orig_iat;
    if (origIat + REFRESH_WINDOW_S < Math.floor(ctx.now() / 1000)) throw jwtError(401, 'token is expired');
    const t = issueToken(req.machineId!, ctx.jwtSecret, ctx.now(), origIat);
    reply.send({ code: 200, expire: rfc3339Seconds(t.exp), token: t.token });
  });
}

/**
 * The login checks in CrowdSec's order: credentials (or a client certificate with an
 * allowed OU), validation, auth type, then bookkeeping (scenarios, IP, version from the
 * User-Agent, which must be `name/version`). Every failure is a 401 `{code, message}`.
 */
async function authenticate(ctx: ApiContext, req: FastifyRequest): Promise<string> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const scenarios = Array.isArray(body.scenarios) ? body.scenarios.filter((s): s is string => typeof s === 'string') : [];
  const now = ctx.now();
  ctx.refresh();
  const cert = ctx.tlsAuth ? peerCertificate(req) : null;
  let id: string;
  if (cert && cert.ou.some((o) => ctx.tlsAuth!.agentsAllowedOu.includes(o))) {
    id = `${cert.cn}@${req.clientIp}`;
    const m = ctx.creds.getMachine(id);
    if (!m) await ctx.creds.addMachine(id, '', { validated: true, ip: req.clientIp, authType: 'tls', now });
    else if (m.authType !== 'tls') throw jwtError(401, `machine ${id} attempted to auth with TLS cert but it is configured to use password`);
  } else {
    const mid = body.machine_id, password = body.password;
    if (typeof mid !== 'string' || typeof password !== 'string' || mid === '' || password === '') throw Errors.missingCredentials();
    const m = ctx.creds.getMachine(mid);
    if (!m) {
      await burnPasswordCheck(password); // unknown ids cost the same as wrong passwords
      throw Errors.badCredentials();
    }
    if (m.authType !== 'password') throw jwtError(401, `machine ${mid} attempted to auth with password but it is configured to use tls`);
    if (!(await verifyPassword(password, m.passwordHash))) throw Errors.badCredentials();
    if (!m.isValidated) throw Errors.notValidated(mid);
    id = mid;
  }
  const ua = splitUserAgent(req.headers['user-agent']);
  if (!ua) throw jwtError(401, `bad user agent '${req.headers['user-agent'] ?? ''}': expected name/version`);
  const m = ctx.creds.getMachine(id);
  if (m && m.ipAddress && m.ipAddress !== req.clientIp) ctx.log.warn(`machine ${id}: IP changed from ${m.ipAddress} to ${req.clientIp}`);
  await ctx.creds.updateMachine(id, { scenarios: scenarios.join(','), ipAddress: req.clientIp, version: ua.version }, now);
  return id;
}
