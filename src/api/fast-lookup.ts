/**
 * Fast path of a live bouncer's lookup, `GET /v1/decisions?ip=X`, answered on the node:http
 * server's request event before fastify sees the request. Most lookups are answered one step
 * earlier, from the connection's bytes (raw-lookup.ts); this path serves the connections
 * raw-lookup.ts handed to node:http, and every lookup when that front is off. Fastify's routing, request and
 * reply objects, hook runner and send pipeline cost more CPU per request than the lookup
 * itself (bench/RESULTS-lapi.md); on a one-request-per-wakeup load that is most of the
 * tail.
 *
 * The answer is the route's (routes/bouncer-decisions.ts), byte for byte, by doing the same
 * steps with the same functions, in the same order where the order shows: client IP,
 * request counter, API key through the bouncer key cache (per connection: findOn; 403 with
 * the same body), bouncer bookkeeping and its counter, the in-memory lookup (hotLookupBody),
 * ok/ko counter and last_pull (lookupServed), then `writeHead(200, {content-type,
 * content-length})` + `end(body)` as fastify's reply does. test/api/fast-lookup.test.ts compares both paths' raw bytes.
 *
 * Everything else falls through to fastify untouched: other methods, paths or query
 * shapes (`?ip=` must be the only parameter, written literally), a body or content
 * encoding, TLS client-certificate auth, the set not loaded yet, the server closing, and an
 * address the lookup refuses (the error goes through fastify's error handler and logger).
 * The lookup runs before any side effect, so a request that falls through is counted once.
 */
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { clientIpOf, noteBouncerClient } from './auth/hooks.js';
import type { ApiContext } from './context.js';
import { Errors } from './errors.js';
import { hotLookupBody, JSON_TYPE, lookupPulled } from './routes/bouncer-decisions.js';

const ROUTE = '/v1/decisions';
const PREFIX = ROUTE + '?ip=';
export const FORBIDDEN_BODY = JSON.stringify(Errors.forbidden().body);
const FORBIDDEN_LENGTH = String(Buffer.byteLength(FORBIDDEN_BODY));

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The 200 answer's header object for a body of `length` bytes, built once per length:
 * writeHead only reads it (no header was set before, so node:http writes the object's
 * entries as they are), so one object serves every answer of that length.
 */
const okHeaders = new Map<number, Record<string, string>>();
function okHeadersFor(length: number): Record<string, string> {
  let h = okHeaders.get(length);
  if (h === undefined) {
    h = { 'content-type': JSON_TYPE, 'content-length': String(length) };
    if (okHeaders.size < 4096) okHeaders.set(length, h);
  }
  return h;
}
const FORBIDDEN_HEADERS = { 'content-type': JSON_TYPE, 'content-length': FORBIDDEN_LENGTH };
/** The answer without decisions, 'null' (4 bytes): no length to measure. */
const NULL_HEADERS = okHeadersFor(4);

/**
 * The `ip` value of a `?ip=X` request-target, decoded as fastify's query parser decodes it,
 * or null when the target has another shape (falls through). Only plain `%XX` / `+`
 * escapes are decoded here; anything decodeURIComponent refuses falls through.
 */
export function plainIpQuery(url: string): string | null {
  if (url.length <= PREFIX.length || !url.startsWith(PREFIX)) return null;
  let plain = true;
  for (let i = PREFIX.length; i < url.length; i++) {
    const c = url.charCodeAt(i);
    // '&' another parameter, '=' an odd value, '#' a fragment: leave them to the query parser.
    if (c === 38 || c === 61 || c === 35) return null;
    if (c === 37 || c === 43) plain = false;
  }
  const raw = url.slice(PREFIX.length);
  return plain ? raw : decodeQueryValue(raw);
}

/**
 * A query value holding `%` or `+` escapes, decoded as fastify's query parser decodes it
 * (`+` is a space, then decodeURIComponent), or null when decodeURIComponent refuses it.
 * The escapes of a single ASCII character (`%3A` in an IPv6 address) are decoded here
 * directly; anything else goes through decodeURIComponent.
 */
export function decodeQueryValue(raw: string): string | null {
  let out = '';
  let from = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 43) {
      out += raw.slice(from, i) + ' ';
      from = i + 1;
    } else if (c === 37) {
      const h = hexValue(raw.charCodeAt(i + 1)), l = hexValue(raw.charCodeAt(i + 2));
      // A multi-byte UTF-8 sequence or a malformed escape: decodeURIComponent decides.
      if (h < 0 || h > 7 || l < 0) return decodeSlow(raw);
      out += raw.slice(from, i) + String.fromCharCode(h * 16 + l);
      from = i + 3;
      i += 2;
    }
  }
  return out + raw.slice(from);
}
function decodeSlow(raw: string): string | null {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}
/** The value of hex digit `c` (a char code; NaN past the end), or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/**
 * The route's steps for a lookup whose answer is known (`any`: it holds decisions), in the
 * route's order: client IP, request counter, API key through the bouncer key cache (per
 * connection: findOn), then for a known bouncer its bookkeeping, its request counter and
 * lookupServed. Shared by this request-level path and the connection-level one
 * (raw-lookup.ts, which passes the peer address it read once per connection).
 * False: the key is missing or wrong, answer 403 (FORBIDDEN_BODY).
 */
export function serveLookup(ctx: ApiContext, socket: Socket, remoteAddress: string | undefined, headers: IncomingHttpHeaders, key: unknown, userAgent: string | undefined, any: boolean, now: number): boolean {
  const clientIp = clientIpOf(ctx, remoteAddress, headers);
  const m = ctx.metrics;
  if (m) m.lookupRequest();
  const b = typeof key === 'string' && key !== '' ? ctx.bouncers.findOn(socket, key) : undefined;
  if (b === undefined) return false;
  noteBouncerClient(ctx, b, clientIp, userAgent);
  // The route's bouncerRequest and lookupServed's ok/ko counters, found together.
  if (m) {
    const c = m.lookupCounters(b.name);
    c.request.n++;
    (any ? c.ok : c.ko).n++;
  }
  lookupPulled(ctx, b, now);
  return true;
}

/**
 * Puts the fast path in front of fastify's request listener on `server` (fastify's own
 * node:http or https server, so its timeouts and keep-alive settings stay in force).
 * `closing()` tells when the app is shutting down (fastify answers those with 503).
 */
export function installFastLookup(server: Server, ctx: ApiContext, closing: () => boolean): void {
  const listeners = server.listeners('request') as RequestListener[];
  if (listeners.length !== 1) throw new Error(`fast lookup: expected fastify's one request listener, found ${listeners.length}`);
  const fastify = listeners[0]!;
  server.removeListener('request', fastify);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' || ctx.tlsAuth !== null || closing()) return fastify(req, res);
    const url = req.url;
    const ip = url === undefined ? null : plainIpQuery(url);
    if (ip === null) return fastify(req, res);
    // node:http has built the headers object already (it checks Host and Expect).
    const headers = req.headers;
    // Bodies and their encodings are fastify's business (its preParsing hook answers 415).
    if (headers['content-encoding'] !== undefined || headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined) return fastify(req, res);
    const now = ctx.now();
    let body: string | null;
    try {
      body = hotLookupBody(ctx, ip, now);
    } catch {
      return fastify(req, res); // an invalid address: fastify's error handler answers (and logs)
    }
    if (body === null) return fastify(req, res);

    const any = body !== 'null';
    if (!serveLookup(ctx, req.socket, req.socket.remoteAddress, headers, headers['x-api-key'], headers['user-agent'], any, now)) {
      res.writeHead(403, FORBIDDEN_HEADERS);
      res.end(FORBIDDEN_BODY);
      return;
    }
    res.writeHead(200, any ? okHeadersFor(Buffer.byteLength(body)) : NULL_HEADERS);
    res.end(body);
  });
}
