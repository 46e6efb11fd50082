/**
 * Authentication as fastify onRequest hooks, so that credentials are checked before the
 * body is read or validated (CrowdSec's middlewares run first too).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseIp, rangeContains, type IpRange } from '../../core/ip.js';
import type { ApiContext } from '../context.js';
import type { BouncerRecord } from '../credentials.js';
import { Errors, jwtError } from '../errors.js';
import { JWT_MESSAGES, verifyJwt } from './jwt.js';

type Hook = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
export type CallbackHook = (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;

/** `type/version` from a User-Agent such as `crowdsec-firewall-bouncer/v0.0.25`. */
export function splitUserAgent(ua: string | undefined): { readonly type: string; readonly version: string } | null {
  if (!ua) return null;
  // A bouncer sends the same User-Agent on every request: the last answer is kept, so the
  // per-request check allocates nothing.
  if (ua === lastUa) return lastSplit;
  const parts = ua.split('/');
  const r = parts.length !== 2 ? null : Object.freeze({ type: parts[0]!, version: parts[1]! });
  lastUa = ua;
  lastSplit = r;
  return r;
}
let lastUa = '';
let lastSplit: { readonly type: string; readonly version: string } | null = null;

/** A verified client certificate's CN and OUs, or null (no TLS, no cert, not verified). */
export function peerCertificate(req: FastifyRequest): { cn: string; ou: string[] } | null {
  const sock = req.raw.socket as Partial<TLSSocket>;
  if (typeof sock.getPeerCertificate !== 'function' || !sock.authorized) return null;
  const cert = sock.getPeerCertificate();
  if (!cert || !cert.subject) return null;
  const cn = cert.subject.CN;
  const ouRaw = cert.subject.OU as string | string[] | undefined;
  const ou = ouRaw === undefined ? [] : Array.isArray(ouRaw) ? ouRaw : [ouRaw];
  return typeof cn === 'string' && cn ? { cn, ou } : null;
}

export function inRanges(ip: string, ranges: readonly IpRange[]): boolean {
  const v = parseIp(ip);
  if (!v) return false;
  return ranges.some((r) => r.family === v.family && rangeContains(r, v.value));
}

/**
 * Bouncers: `X-Api-Key`, or a client certificate with an allowed OU. 403 otherwise.
 * API keys go through the in-memory cache (auth/bouncer-cache.ts: hashed, constant-time
 * compared, re-read from the store whenever the credentials counter moved), so a live bouncer's lookup
 * costs no store read; `req.bouncer` may be that shared cached record. A callback-style
 * hook: the API-key path is synchronous and needs no promise per request.
 */
export function bouncerAuth(ctx: ApiContext): CallbackHook {
  return (req, _reply, done) => {
    let b: BouncerRecord | undefined;
    try {
      const cert = ctx.tlsAuth ? peerCertificate(req) : null;
      if (cert && cert.ou.some((o) => ctx.tlsAuth!.bouncersAllowedOu.includes(o))) {
        tlsBouncer(ctx, req, cert.cn).then((tb) => admitBouncer(ctx, req, tb)).then(() => done(), done);
        return;
      }
      const key = req.headers['x-api-key'];
      if (typeof key !== 'string' || key === '') throw Errors.forbidden();
      b = ctx.bouncers.findOn(req.raw.socket, key);
      if (!b) throw Errors.forbidden();
      admitBouncer(ctx, req, b);
    } catch (e) {
      done(e as Error);
      return;
    }
    done();
  };
}

/** The bouncer of a verified client certificate, created on first sight (as CrowdSec does). */
async function tlsBouncer(ctx: ApiContext, req: FastifyRequest, cn: string): Promise<BouncerRecord> {
  ctx.refresh();
  const name = `${cn}@${req.clientIp}`;
  const b = ctx.creds.getBouncer(name) ?? (await ctx.creds.addBouncer(name, { authType: 'tls', ip: req.clientIp, now: ctx.now() })).bouncer;
  if (b.authType !== 'tls') throw Errors.forbidden();
  return b;
}

function admitBouncer(ctx: ApiContext, req: FastifyRequest, b: BouncerRecord): void {
  noteBouncerClient(ctx, b, req.clientIp, req.headers['user-agent']);
  req.bouncer = b;
  ctx.metrics?.bouncerRequest(b.name, req);
}

/**
 * Records an authenticated bouncer's address and user agent when they changed (shared with
 * the `?ip=` fast path, fast-lookup.ts).
 */
export function noteBouncerClient(ctx: ApiContext, b: BouncerRecord, ip: string, userAgent: string | undefined): void {
  const ua = splitUserAgent(userAgent);
  if (b.ipAddress !== ip || (ua && (ua.type !== b.type || ua.version !== b.version))) {
    // Bookkeeping, written only when it changes and not awaited (README "Bookkeeping writes").
    const patch = { ipAddress: ip, ...(ua ? { type: ua.type, version: ua.version } : {}) };
    Object.assign(b, patch);
    const name = b.name;
    void ctx.creds.touchBouncer(name, patch, ctx.now()).catch((e: Error) => ctx.log.warn(`bouncer ${name}: ${e.message}`));
  }
}

/** The token as gin-jwt looks it up: header, then `?token=`, then cookie `jwt`. */
function findToken(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (typeof h === 'string') {
    const m = /^Bearer (\S+)$/.exec(h);
    if (m) return m[1]!;
  }
  const q = (req.query as Record<string, unknown> | undefined)?.token;
  if (typeof q === 'string' && q !== '') return q;
  const cookie = req.headers.cookie;
  if (typeof cookie === 'string') {
    for (const part of cookie.split(';')) {
      const [k, ...v] = part.trim().split('=');
      if (k === 'jwt' && v.join('=') !== '') return v.join('=');
    }
  }
  return null;
}

/** Machines: a valid, unexpired JWT of an existing, validated machine. */
export function machineAuth(ctx: ApiContext): Hook {
  return async (req) => {
    const token = findToken(req);
    if (token === null) throw Errors.noToken();
    const r = verifyJwt(token, ctx.jwtSecret, ctx.now());
    if (!r.ok) throw jwtError(401, JWT_MESSAGES[r.failure]);
    ctx.refresh();
    const m = ctx.creds.getMachine(r.claims.id);
    if (!m || !m.isValidated) throw Errors.permission();
    req.machineId = m.machineId;
    req.jwtClaims = r.claims;
    ctx.metrics?.machineRequest(m.machineId, req);
  };
}

const LOOPBACK = ['127.0.0.1', '::1'];

/** DELETE /v1/alerts*: only from trusted IPs (loopback always). */
export function trustedIpOnly(ctx: ApiContext): Hook {
  return async (req) => {
    const ip = req.clientIp;
    if (LOOPBACK.includes(ip) || inRanges(ip, ctx.trustedIps)) return;
    throw Errors.forbiddenIp(ip);
  };
}

/**
 * Client IP as gin computes it: the socket peer, unless forwarded headers are enabled and
 * the peer is a trusted proxy; then X-Forwarded-For read right to left skipping trusted
 * proxies, then X-Real-IP.
 */
export function clientIp(ctx: ApiContext, req: FastifyRequest): string {
  return clientIpOf(ctx, req.raw.socket.remoteAddress, req.headers);
}

/** clientIp from the socket's peer address and the request headers (also used without fastify). */
export function clientIpOf(ctx: ApiContext, remoteAddress: string | undefined, headers: IncomingHttpHeaders): string {
  const peer = normalizePeer(remoteAddress ?? '');
  if (!ctx.useForwardedFor || !inRanges(peer, ctx.trustedProxies)) return peer;
  const xff = headers['x-forwarded-for'];
  if (typeof xff === 'string') {
    const hops = xff.split(',').map((s) => s.trim()).filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      const h = hops[i]!;
      if (!parseIp(h)) break;
      if (i === 0 || !inRanges(h, ctx.trustedProxies)) return h;
    }
  }
  const real = headers['x-real-ip'];
  if (typeof real === 'string' && parseIp(real.trim())) return real.trim();
  return peer;
}

/** `::ffff:1.2.3.4` (a v4 client on a dual-stack socket) is 1.2.3.4. */
function normalizePeer(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
