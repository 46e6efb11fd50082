/**
 * The CrowdSec-compatible Local API (spec §7) on fastify: routes per group in routes/,
 * auth hooks in auth/, error bodies in errors.ts, JSON schemas in schemas.ts.
 *
 * Protocol details handled here, once for every route:
 *  - bodies: any content type is read as JSON (Go's binder ignores it), gzip-encoded
 *    bodies are inflated, the size limit applies to the inflated bytes (413), malformed
 *    JSON answers 400 naming the position;
 *  - body validation failures answer 500 with go-swagger's "validation failure list";
 *  - an unknown route answers 404 and a known route with another method 405, both empty.
 */
import { createGunzip } from 'node:zlib';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyRequest, type onRequestHookHandler } from 'fastify';
import { parseIpOrCidr, type IpRange } from '../core/ip.js';
import { ActiveDecisionSet } from '../decisions/active-set.js';
import type { Profile } from '../decisions/profiles.js';
import type { Store } from '../decisions/store.js';
import { BouncerKeyCache, type BouncerCacheOptions } from './auth/bouncer-cache.js';
import { clientIp } from './auth/hooks.js';
import { jwtSecretFromEnv } from './auth/jwt.js';
import type { ApiContext } from './context.js';
import { Credentials } from './credentials.js';
import { ApiError, Errors, messageError, toApiError } from './errors.js';
import { installFastLookup } from './fast-lookup.js';
import { installRawLookup, type RawLookupFront } from './raw-lookup.js';
import { locateJsonError } from './json-errors.js';
import { ApiMetrics } from './metrics.js';
import { registerPushStream, type PushHub, type PushStreamOptions } from './push-stream.js';
import { alertRoutes } from './routes/alerts.js';
import { bouncerDecisionRoutes } from './routes/bouncer-decisions.js';
import { decisionRoutes } from './routes/decisions.js';
import { healthRoutes } from './routes/health.js';
import { usageMetricsRoutes } from './routes/usage-metrics.js';
import { watcherRoutes } from './routes/watchers.js';

export interface ApiTlsOptions {
  cert: string | Buffer;
  key: string | Buffer;
  /** CA that signs client certificates (enables client-certificate auth). */
  ca?: string | Buffer;
  /** Ask for a client certificate and verify it if given (default true when `ca` is set). */
  requestClientCert?: boolean;
  agentsAllowedOu?: string[];
  bouncersAllowedOu?: string[];
}

export interface ApiServerOptions {
  store: Store;
  profiles: Profile[];
  /** `host:port`, `[v6]:port` or `:port` (all interfaces); default `127.0.0.1:8080`. */
  listen?: string;
  tls?: ApiTlsOptions;
  /** CIDRs or addresses allowed to DELETE /v1/alerts (loopback always is). */
  trustedIps?: string[];
  trustedProxies?: string[];
  useForwardedFor?: boolean;
  /** Default: CS_LAPI_SECRET, else random per process (tokens die on restart). */
  jwtSecret?: Buffer;
  now?: () => number;
  /** fastify's logger (false by default). */
  log?: boolean;
  /** Max request body (inflated) in bytes; default 8 MiB. */
  bodyLimit?: number;
  /** Counters for /metrics (serve them with metrics.listen); a new registry by default. */
  metrics?: ApiMetrics | false;
  /** Run store upkeep (expiry sweep every 5 s, alert flush every minute) while listening. */
  maintenance?: boolean;
  /** In-memory active-decision set for ip lookups and the push stream (default on; loaded at listen). */
  activeSet?: boolean;
  /** `GET /v1/decisions/push` (SSE) settings; false disables the route. Needs the active set. */
  push?: PushStreamOptions | false;
  /** Bouncer API-key cache settings (revalidation age, size); tests shorten or lengthen them. */
  bouncerCache?: BouncerCacheOptions;
  /**
   * Answer plain `GET /v1/decisions?ip=X` before fastify (fast-lookup.ts; same bytes as the
   * route). Default on when the active set is; tests turn it off to compare both paths.
   */
  fastLookup?: boolean;
  /**
   * Answer those lookups at the connection level, before node:http parses them (raw-lookup.ts;
   * same bytes). Default on when the fast path is, except with TLS client-certificate auth;
   * connections handed to node:http keep the request-level fast path.
   */
  rawLookup?: boolean;
}

export interface ApiServer {
  app: FastifyInstance;
  ctx: ApiContext;
  metrics: ApiMetrics | null;
  /** The push stream's clients (null when disabled). */
  push: PushHub | null;
  /** The connection-level fast path's counters (null when off). */
  rawLookup: RawLookupFront | null;
  listen(): Promise<{ url: string }>;
  close(): Promise<void>;
}

const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;

export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s.trim());
  if (!m) throw new Error(`invalid listen address '${s}' (expected host:port, [v6]:port or :port)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in '${s}'`);
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]!);
  return { host, port };
}

function ranges(list: string[] | undefined, what: string): IpRange[] {
  return (list ?? []).map((s) => {
    const r = parseIpOrCidr(s.trim());
    if (!r) throw new Error(`invalid ${what} entry '${s}' (IP or CIDR expected)`);
    return r;
  });
}

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const listenAt = parseListen(opts.listen ?? '127.0.0.1:8080');
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const tls = opts.tls;
  const app = Fastify({
    logger: opts.log ?? false,
    // No per-request log lines even when a logger is given: a lookup must not pay for them.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    // A client that trickles its request in (slowloris) is cut off.
    requestTimeout: 60_000,
    // Go's router matches paths exactly; "/v1/alerts/" is not "/v1/alerts".
    routerOptions: { ignoreTrailingSlash: false },
    ajv: { customOptions: { coerceTypes: false, allErrors: true, removeAdditional: false, useDefaults: false } },
    ...(tls
      ? {
          https: {
            cert: tls.cert,
            key: tls.key,
            ...(tls.ca ? { ca: tls.ca, requestCert: tls.requestClientCert ?? true, rejectUnauthorized: false } : {}),
          },
        }
      : {}),
  }) as unknown as FastifyInstance;

  const store = opts.store;
  const metrics = opts.metrics === false ? null : opts.metrics ?? new ApiMetrics(store, opts.now);
  const creds = new Credentials(store);
  const refresh = () => store.refresh();
  const ctx: ApiContext = {
    store,
    creds,
    bouncers: new BouncerKeyCache(creds, refresh, opts.bouncerCache),
    profiles: opts.profiles,
    now: opts.now ?? Date.now,
    jwtSecret: opts.jwtSecret ?? jwtSecretFromEnv(),
    trustedIps: ranges(opts.trustedIps ?? ['127.0.0.1', '::1'], 'trusted IP'),
    trustedProxies: ranges(opts.trustedProxies, 'trusted proxy'),
    useForwardedFor: opts.useForwardedFor ?? false,
    tlsAuth: tls?.ca ? { agentsAllowedOu: tls.agentsAllowedOu ?? ['agent-ou'], bouncersAllowedOu: tls.bouncersAllowedOu ?? ['bouncer-ou'] } : null,
    metrics,
    log: app.log,
    refresh,
  };
  // Active-decision set (push-stream / ip lookups): created here, loaded and polled from listen().
  const activeSet = opts.activeSet === false ? null : new ActiveDecisionSet(store, { now: ctx.now });
  ctx.activeSet = activeSet;

  app.decorateRequest('clientIp', '');
  app.decorateRequest('metricsRoute', '');
  app.addHook('onRequest', (req, _reply, done) => {
    req.clientIp = clientIp(ctx, req);
    done();
  });
  if (metrics) countRoutes(app, metrics);

  installBodyParsing(app);
  installErrors(app, metrics);

  healthRoutes(app);
  watcherRoutes(app, ctx);
  alertRoutes(app, ctx);
  decisionRoutes(app, ctx);
  bouncerDecisionRoutes(app, ctx);
  usageMetricsRoutes(app, ctx);
  const push = activeSet && opts.push !== false ? registerPushStream(app, ctx, activeSet, opts.push ?? {}) : null;
  // Set when the app starts closing (close() below, or fastify's preClose): fastify then
  // answers 503, so the fast path hands every request to it.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  const fast = activeSet !== null && opts.fastLookup !== false;
  if (fast) installFastLookup(app.server, ctx, () => closing);
  // With client-certificate auth every connection would go to node at once: no raw front then.
  const rawLookup = fast && ctx.tlsAuth === null && opts.rawLookup !== false ? installRawLookup(app.server, ctx, () => closing) : null;

  const timers: NodeJS.Timeout[] = [];
  return {
    app,
    ctx,
    metrics,
    push,
    rawLookup,
    async listen() {
      await app.listen({ host: listenAt.host, port: listenAt.port });
      activeSet?.start();
      if (opts.maintenance) startMaintenance(ctx, timers);
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : listenAt.port;
      const host = listenAt.host.includes(':') ? `[${listenAt.host}]` : listenAt.host;
      return { url: `${tls ? 'https' : 'http'}://${host}:${port}` };
    },
    async close() {
      closing = true;
      for (const t of timers) clearInterval(t);
      timers.length = 0;
      activeSet?.stop();
      await app.close();
    },
  };
}

/**
 * Per-route request counting: each route gets a first onRequest hook that knows its own
 * pattern, so a request is counted without asking fastify for its route options (a getter
 * that builds an object per call). Unmatched requests are counted as 'unknown' by the
 * not-found handler. Must be installed before the routes are registered.
 */
function countRoutes(app: FastifyInstance, metrics: ApiMetrics): void {
  app.addHook('onRoute', (r) => {
    const route = r.url ?? r.path;
    const count: onRequestHookHandler = (req, _reply, done) => {
      req.metricsRoute = route;
      metrics.request(route, req.method);
      done();
    };
    const hooks = r.onRequest === undefined ? [] : Array.isArray(r.onRequest) ? r.onRequest : [r.onRequest];
    r.onRequest = [count, ...hooks];
  });
}

function startMaintenance(ctx: ApiContext, timers: NodeJS.Timeout[]): void {
  const report = (e: Error) => ctx.log.warn(`store upkeep: ${e.message}`);
  const sweep = setInterval(() => void ctx.store.sweepExpired(ctx.now()).catch(report), 5000);
  // spec §7.8 defaults: 7 days, 5000 alerts.
  const flush = setInterval(() => void ctx.store.flushAlerts({ maxItems: 5000, maxAgeMs: 7 * 86_400_000 }, ctx.now()).catch(report), 60_000);
  sweep.unref();
  flush.unref();
  timers.push(sweep, flush);
}

function installBodyParsing(app: FastifyInstance): void {
  app.addHook('preParsing', async (req, _reply, payload) => {
    const enc = req.headers['content-encoding'];
    if (enc === undefined || enc === 'identity') return payload;
    if (enc !== 'gzip') throw messageError(415, `unsupported content encoding '${enc}' (gzip or none)`);
    const gunzip = createGunzip() as ReturnType<typeof createGunzip> & { receivedEncodedLength: number };
    gunzip.receivedEncodedLength = 0;
    payload.on('data', (c: Buffer) => { gunzip.receivedEncodedLength += c.length; });
    payload.on('error', (e) => gunzip.destroy(e));
    return payload.pipe(gunzip);
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req: FastifyRequest, body: string | Buffer, done: (e: Error | null, v?: unknown) => void) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      const p = locateJsonError(text);
      const where = p ? `${p.reason} at line ${p.line}, column ${p.column} (offset ${p.offset})` : (e as Error).message;
      done(messageError(400, `invalid JSON body: ${where}`));
    }
  });
}

interface AjvError { instancePath: string; keyword: string; params: Record<string, unknown>; message?: string; data?: unknown }

/** go-swagger's wording: `0.source.scope in body is required`, `x in body must be of type string: "number"`. */
function swaggerLine(e: AjvError): string {
  const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'required') {
    const name = [base, String(e.params.missingProperty)].filter(Boolean).join('.');
    return `${name} in body is required`;
  }
  const name = base || 'body';
  if (e.keyword === 'type') return `${name} in body must be of type ${String(e.params.type)}`;
  return `${name} in body ${e.message ?? 'is invalid'}`;
}

function installErrors(app: FastifyInstance, metrics: ApiMetrics | null): void {
  const known: { re: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', (r) => {
    const path = r.url ?? r.path;
    const re = new RegExp('^' + path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z_]+/g, '[^/]+') + '$');
    let entry = known.find((k) => k.re.source === re.source);
    if (!entry) known.push((entry = { re, methods: new Set() }));
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) entry.methods.add(m);
  });

  app.setNotFoundHandler((req, reply) => {
    metrics?.request('unknown', req.method);
    const path = req.url.split('?')[0]!;
    const hit = known.some((k) => k.re.test(path));
    reply.code(hit ? 405 : 404).send();
  });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    let api: ApiError;
    const fe = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
    if (err instanceof ApiError) api = err;
    else if (fe.validation) {
      const whole = fe.validation.find((v) => v.instancePath === '' && v.keyword === 'type');
      const status = (req.routeOptions.config as { validationStatus?: number } | undefined)?.validationStatus;
      if (fe.validationContext === 'body' && whole && req.body === undefined) api = messageError(400, 'empty request body: a JSON document is expected');
      else if (status) api = messageError(status, fe.validation.map(swaggerLine).join('\n'));
      else api = Errors.validation(fe.validation.map(swaggerLine));
    } else if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') api = Errors.tooLarge(req.routeOptions.bodyLimit ?? 0);
    else if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) api = messageError(fe.statusCode, fe.message);
    else api = toApiError(err);
    if (api.status >= 500) req.log.error({ err }, 'request failed');
    reply.code(api.status).type('application/json; charset=utf-8').send(JSON.stringify(api.body));
  });
}
