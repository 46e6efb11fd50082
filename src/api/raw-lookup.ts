/**
 * Connection-level fast path of a live bouncer's lookup, `GET /v1/decisions?ip=X`: the
 * server's connections are read here first, and the requests this module can
 * answer exactly are answered from the socket's bytes, without node:http's parser,
 * IncomingMessage / ServerResponse, header objects or outgoing-message write path (most of
 * a lookup's CPU and garbage once fastify was out of the way; bench/RESULTS-lapi.md).
 *
 * A connection starts in raw mode. A request is answered here only when it is, strictly,
 * `GET /v1/decisions?ip=X HTTP/1.1` (the target as plainIpQuery takes it, in a conservative
 * character set) with `Name: value` header lines (token names; visible ASCII, space and tab
 * in values, none ending in white space), exactly one Host, none of content-length,
 * transfer-encoding, content-encoding, expect, upgrade, proxy-connection, a Connection other
 * than `keep-alive`, no repeated X-Api-Key / User-Agent / X-Forwarded-For / X-Real-IP, the
 * active set loaded, the server not closing, node's settings at values whose behaviour this
 * module reproduces (no server.timeout, no maxRequestsPerSocket, maxHeadersCount unset or
 * ≥ 64), and the lookup returning a body (an invalid address is fastify's to answer). Anything
 * else hands the connection to node:http for good: reading stops, every byte not answered
 * yet (a partial request included) is put back with `socket.unshift`, and node's own
 * connection listener (taken off the server at install) is called, so its parser sees
 * exactly the bytes the client sent, after the answers already written. From there the
 * request-level fast path (fast-lookup.ts) and fastify serve the connection as before.
 *
 * The answer is what node:http + the route write, byte for byte (test/api/raw-lookup.test.ts
 * compares them over raw sockets): the side effects and their order are fast-lookup.ts's;
 * the head is the status line, `content-type`, `content-length`, `Date` (the IMF-fixdate,
 * renewed at each second as node's cache is), `Connection: keep-alive` and `Keep-Alive:
 * timeout=⌊keepAliveTimeout/1000⌋` (omitted when keepAliveTimeout is 0), as node's
 * _storeHeader writes them for a writeHead(status, {content-type, content-length}).
 *
 * Connection upkeep, as node does it for its own: an answered connection idle for
 * keepAliveTimeout + 1 s is destroyed (seen by a sweep every ≤ 1 s, so up to a sweep later);
 * a request left partial for headersTimeout is handed to node (which then applies its own
 * headersTimeout: such a client gets at most about twice the bound); a head reaching
 * server.maxHeaderSize (else http.maxHeaderSize) is handed over (node answers 431); a
 * half-close in the middle of a request is reported as node's parser would (a 'clientError'
 * on the server: fastify answers 400), otherwise ends the connection. When a write is
 * refused (socket.write false) parsing and reading stop until 'drain'. While a connection is
 * raw its bytes come through the socket's own `push`, which node's stream read callback calls
 * and which this module shadows on the socket (removed on hand-over): Readable's buffering,
 * 'data' event and per-chunk nextTick are skipped. Socket errors destroy the
 * socket quietly. No-delay is already set: node:http's net.Server (noDelay: true) sets it on
 * each accepted socket before 'connection'. The server's closeIdleConnections / closeAllConnections (called by
 * server.close(), hence by fastify's close) also end the raw connections: idle ones are
 * destroyed, ones holding unanswered bytes are handed to node (fastify answers 503).
 *
 * On https (without client-certificate auth, which stays with fastify's hooks) the same is
 * done on 'secureConnection', with the decrypted bytes. Not reproduced: node's
 * diagnostics_channel 'http.server.*' events, which raw answers do not publish.
 */
import { maxHeaderSize as NODE_MAX_HEADER_SIZE, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { ApiContext } from './context.js';
import { decodeQueryValue, FORBIDDEN_BODY, serveLookup } from './fast-lookup.js';
import { hotLookupBody, JSON_TYPE } from './routes/bouncer-decisions.js';

const FORBIDDEN_LENGTH = Buffer.byteLength(FORBIDDEN_BODY);
/** Header lines accepted at most in a raw request (node's own limit is 2,000 pairs). */
const MAX_HEADER_LINES = 64;
/** node:http's margin over keepAliveTimeout before it destroys an idle connection. */
const KEEP_ALIVE_BUFFER_MS = 1000;

/** A response head up to content-length's value: node writes writeHead's headers first, in the object's order. */
const CONTENT_TYPE_START = '\r\ncontent-type: ' + JSON_TYPE + '\r\ncontent-length: ';
const OK_START = 'HTTP/1.1 200 OK' + CONTENT_TYPE_START;

/** `s` as one sequential string (not a tree of concatenations), so writing it copies it once. */
function flat(s: string): string {
  // V8 flattens a concatenation in place when a character of it is read.
  void s.charCodeAt(0);
  return s;
}

const REQUEST_START = Buffer.from('GET /v1/decisions?ip=', 'latin1');
const HTTP11_CRLF = Buffer.from(' HTTP/1.1\r\n', 'latin1');

type ConnectionListener = (this: Server, socket: Socket) => void;

/** What a raw front reports (tests, bench). */
export interface RawLookupFront {
  /** Requests answered here. */
  readonly answered: number;
  /** Connections handed to node:http. */
  readonly handedOff: number;
  /** Connections currently in raw mode. */
  readonly connections: number;
  /** Times a refused write held the parsing back until 'drain'. */
  readonly drainWaits: number;
}

// Header names this module looks at, by a small id (0: any other header).
const H_OTHER = 0, H_HOST = 1, H_KEY = 2, H_UA = 3, H_XFF = 4, H_XRI = 5, H_CONNECTION = 6, H_REFUSE = 7;
const NAMES: [string, number][] = [
  ['host', H_HOST], ['x-api-key', H_KEY], ['user-agent', H_UA], ['x-forwarded-for', H_XFF], ['x-real-ip', H_XRI], ['connection', H_CONNECTION],
  ['content-length', H_REFUSE], ['transfer-encoding', H_REFUSE], ['content-encoding', H_REFUSE], ['expect', H_REFUSE], ['upgrade', H_REFUSE],
  ['proxy-connection', H_REFUSE],
];

/** RFC 9110 tchar. */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TOKEN[c] = 1;
for (let c = 65; c <= 90; c++) TOKEN[c] = TOKEN[c + 32] = 1;
/** Characters of the `ip` value in a raw request-target: what addresses, CIDRs and their escapes need. */
const TARGET = new Uint8Array(256);
for (const c of '.:/%+-_~') TARGET[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TARGET[c] = 1;
for (let c = 65; c <= 90; c++) TARGET[c] = TARGET[c + 32] = 1;

/** The id of header name buf[s, e) (ASCII case-insensitive). */
function headerId(buf: Buffer, s: number, e: number): number {
  const len = e - s;
  for (let n = 0; n < NAMES.length; n++) {
    const [name, id] = NAMES[n]!;
    if (name.length !== len) continue;
    let i = 0;
    while (i < len && (buf[s + i]! | 0x20) === name.charCodeAt(i)) i++;
    // `| 0x20` folds letters only; '-' (0x2d) is unchanged, and no token char folds onto it.
    if (i === len) return id;
  }
  return H_OTHER;
}

/**
 * Date header value as node writes it (lib/internal/http.js utcDate): the IMF-fixdate, kept
 * until an unref'd timer clears it at the next second, so an answer reads no clock.
 */
let dateText = '';
function httpDate(): string {
  if (dateText === '') {
    const d = new Date();
    dateText = d.toUTCString();
    setTimeout(clearDate, 1000 - d.getMilliseconds()).unref();
  }
  return dateText;
}
function clearDate(): void {
  dateText = '';
}

/** One parsed raw request (fields reused: parsing is synchronous). */
interface Parsed {
  /** Offset just past the head's blank line. */
  end: number;
  /** The `ip` value, decoded as plainIpQuery decodes it; null: hand the request to node. */
  ip: string | null;
  key: string | undefined;
  userAgent: string | undefined;
  xff: string | undefined;
  xRealIp: string | undefined;
  /** The connection's previous key and user agent (in): the same bytes again reuse the string. */
  prevKey: string;
  prevUa: string;
}
const NEED_MORE = -1;
const HAND_OFF = -2;

/**
 * Parses the request head starting at `pos`: its end offset (fields in `out`), NEED_MORE
 * when the head is incomplete (and nothing seen so far rules it out), HAND_OFF otherwise.
 */
function parseHead(buf: Buffer, pos: number, out: Parsed): number {
  const len = buf.length;
  // Request line: the fixed start, the target's characters, ` HTTP/1.1\r\n`.
  const n0 = Math.min(len - pos, REQUEST_START.length);
  for (let i = 0; i < n0; i++) if (buf[pos + i] !== REQUEST_START[i]) return HAND_OFF;
  if (n0 < REQUEST_START.length) return NEED_MORE;
  let i = pos + REQUEST_START.length;
  while (i < len && TARGET[buf[i]!] === 1) i++;
  if (i === len) return NEED_MORE;
  if (buf[i] !== 0x20) return HAND_OFF;
  const targetEnd = i;
  const m = Math.min(len - i, HTTP11_CRLF.length);
  for (let j = 0; j < m; j++) if (buf[i + j] !== HTTP11_CRLF[j]) return HAND_OFF;
  if (m < HTTP11_CRLF.length) return NEED_MORE;
  i += HTTP11_CRLF.length;
  let hosts = 0, keys = 0, uas = 0, xffs = 0, xris = 0, lines = 0;
  let key: string | undefined, ua: string | undefined, xff: string | undefined, xri: string | undefined;
  for (;;) {
    if (i >= len) return NEED_MORE;
    if (buf[i] === 0x0d) {
      if (i + 1 >= len) return NEED_MORE;
      if (buf[i + 1] !== 0x0a) return HAND_OFF;
      i += 2;
      break;
    }
    if (++lines > MAX_HEADER_LINES) return HAND_OFF;
    const ns = i;
    while (i < len && TOKEN[buf[i]!] === 1) i++;
    if (i === len) return NEED_MORE;
    if (buf[i] !== 0x3a || i === ns) return HAND_OFF;
    const ne = i++;
    while (i < len && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
    const vs = i;
    // Visible ASCII, space and tab; the line ends with CRLF.
    for (;;) {
      if (i >= len) return NEED_MORE;
      const c = buf[i]!;
      if (c === 0x0d) break;
      if ((c < 0x20 && c !== 0x09) || c > 0x7e) return HAND_OFF;
      i++;
    }
    if (i + 1 >= len) return NEED_MORE;
    if (buf[i + 1] !== 0x0a) return HAND_OFF;
    const ve = i;
    i += 2;
    // Trailing white space: node's trimming is not reproduced here.
    if (ve > vs && (buf[ve - 1] === 0x20 || buf[ve - 1] === 0x09)) return HAND_OFF;
    switch (headerId(buf, ns, ne)) {
      case H_OTHER:
        break;
      case H_HOST:
        hosts++;
        break;
      case H_KEY:
        keys++;
        key = sameKey(buf, vs, ve, out.prevKey) ? out.prevKey : buf.toString('latin1', vs, ve);
        break;
      case H_UA:
        uas++;
        ua = sameText(buf, vs, ve, out.prevUa) ? out.prevUa : buf.toString('latin1', vs, ve);
        break;
      case H_XFF:
        xffs++;
        xff = buf.toString('latin1', vs, ve);
        break;
      case H_XRI:
        xris++;
        xri = buf.toString('latin1', vs, ve);
        break;
      case H_CONNECTION:
        if (!isKeepAlive(buf, vs, ve)) return HAND_OFF;
        break;
      default:
        return HAND_OFF;
    }
  }
  if (hosts !== 1 || keys > 1 || uas > 1 || xffs > 1 || xris > 1) return HAND_OFF;
  out.end = i;
  out.ip = ipValue(buf, pos + REQUEST_START.length, targetEnd);
  out.key = key;
  out.userAgent = ua;
  out.xff = xff;
  out.xRealIp = xri;
  return i;
}

/**
 * The `ip` value buf[s, e) of a raw target (TARGET characters only, so none of the `&`, `=`,
 * `#` plainIpQuery refuses), decoded as plainIpQuery decodes it; null when empty or refused.
 */
function ipValue(buf: Buffer, s: number, e: number): string | null {
  if (s === e) return null;
  const raw = buf.toString('latin1', s, e);
  for (let i = s; i < e; i++) if (buf[i] === 0x25 || buf[i] === 0x2b) return decodeQueryValue(raw);
  return raw;
}

/**
 * Whether buf[s, e) holds the connection's previous key, compared in constant time over its
 * length (as findOn compares keys; the length is not secret): a keep-alive bouncer's key is
 * then not copied into a new string on every request.
 */
function sameKey(buf: Buffer, s: number, e: number, prev: string): boolean {
  if (e - s !== prev.length || prev.length === 0) return false;
  let diff = 0;
  for (let i = 0; i < prev.length; i++) diff |= buf[s + i]! ^ prev.charCodeAt(i);
  return diff === 0;
}
/** Whether buf[s, e) holds `prev` (latin1). */
function sameText(buf: Buffer, s: number, e: number, prev: string): boolean {
  if (e - s !== prev.length) return false;
  for (let i = 0; i < prev.length; i++) if (buf[s + i] !== prev.charCodeAt(i)) return false;
  return true;
}

const KEEP_ALIVE = 'keep-alive';
function isKeepAlive(buf: Buffer, s: number, e: number): boolean {
  if (e - s !== KEEP_ALIVE.length) return false;
  for (let i = 0; i < KEEP_ALIVE.length; i++) if ((buf[s + i]! | 0x20) !== KEEP_ALIVE.charCodeAt(i)) return false;
  return true;
}

/** A connection in raw mode. */
interface Conn {
  socket: Socket;
  /** The peer's address, read once (node caches it on the socket anyway). */
  peer: string | undefined;
  /** Bytes received and not answered yet (a partial request, or requests held back by a full write buffer). */
  pending: Buffer | null;
  /** performance.now() when the current partial request started (0: none). */
  partialSince: number;
  /** Set on each read and answer, cleared by the sweep, which then notes the time in lastActive
   *  (no clock read per request). */
  active: boolean;
  /** performance.now() of the sweep that last saw the connection active. */
  lastActive: number;
  answered: boolean;
  waitingDrain: boolean;
  /** The socket's reading was stopped by onPush returning false (a write waits for 'drain'). */
  stopped: boolean;
  /** The last X-Api-Key and User-Agent values read on this connection. */
  lastKey: string;
  lastUa: string;
  /** Shadows the socket's Readable push while in raw mode (see accept). */
  onPush: (chunk: Buffer | null) => boolean;
  onEnd: () => void;
  onError: () => void;
  onClose: () => void;
  onDrain: () => void;
}

const noop = () => {};

/**
 * Puts the raw front on `server` (the node:http or https server fastify listens with): node's
 * connection listener ('connection', or 'secureConnection' on https, where the sockets are
 * TLS streams read the same way) is taken off and called on hand-off. `closing()` is true
 * once the app shuts down (fastify then answers 503, so every request is handed over).
 */
export function installRawLookup(server: Server, ctx: ApiContext, closing: () => boolean): RawLookupFront {
  const event = server instanceof TlsServer ? 'secureConnection' : 'connection';
  const listeners = server.listeners(event) as ConnectionListener[];
  if (listeners.length !== 1) throw new Error(`raw lookup: expected node:http's one ${event} listener, found ${listeners.length}`);
  const nodeListener = listeners[0]!;
  server.removeListener(event, nodeListener);
  const conns = new Set<Conn>();
  const parsed: Parsed = { end: 0, ip: null, key: undefined, userAgent: undefined, xff: undefined, xRealIp: undefined, prevKey: '', prevUa: '' };
  const clientHeaders: IncomingHttpHeaders = {};
  const stats = { answered: 0, handedOff: 0, drainWaits: 0, get connections() { return conns.size; } };
  let sweeper: NodeJS.Timeout | null = null;
  /** node's header size bound: the server's maxHeaderSize option, else http.maxHeaderSize (--max-http-header-size). */
  const maxHead = () => (server as Server & { maxHeaderSize?: number }).maxHeaderSize || NODE_MAX_HEADER_SIZE;

  /** node's settings this module reproduces; anything else is node's alone. */
  const rawPossible = () =>
    !closing() && ctx.tlsAuth === null && !server.timeout && !(server.maxRequestsPerSocket! > 0) &&
    (server.maxHeadersCount === null || server.maxHeadersCount >= MAX_HEADER_LINES);

  function handOff(c: Conn, rest: Buffer | null): void {
    const s = c.socket;
    const stopped = c.stopped;
    release(c);
    // Reading stopped for a drain: on again, as node's connection listener expects it.
    if (stopped && !s.destroyed) s._read(0);
    s.pause();
    if (rest !== null && rest.length > 0) s.unshift(rest);
    stats.handedOff++;
    nodeListener.call(server, s);
    // node's listener does not resume a paused socket; the bytes put back go to its parser first.
    s.resume();
  }

  function release(c: Conn): void {
    const s = c.socket;
    // Readable.prototype.push again.
    delete (s as unknown as { push?: unknown }).push;
    c.stopped = false;
    s.removeListener('end', c.onEnd);
    s.removeListener('error', c.onError);
    s.removeListener('close', c.onClose);
    s.removeListener('drain', c.onDrain);
    c.pending = null;
    conns.delete(c);
    if (conns.size === 0 && sweeper !== null) {
      clearInterval(sweeper);
      sweeper = null;
    }
  }

  /** Answers the requests in `buf` from offset 0, in order, until one needs node or more bytes. */
  function run(c: Conn, buf: Buffer): void {
    let pos = 0;
    while (pos < buf.length) {
      if (!rawPossible()) return handOff(c, buf.subarray(pos));
      parsed.prevKey = c.lastKey;
      parsed.prevUa = c.lastUa;
      const end = parseHead(buf, pos, parsed);
      if (end === HAND_OFF) return handOff(c, buf.subarray(pos));
      if (end === NEED_MORE) {
        const partial = buf.length - pos;
        if (partial >= maxHead()) return handOff(c, buf.subarray(pos));
        // Copied: a subarray would keep the whole chunk alive.
        c.pending = Buffer.from(buf.subarray(pos));
        if (c.partialSince === 0) c.partialSince = performance.now();
        return;
      }
      // node's parser limit (it counts a subset of these bytes, so a smaller head always passes it).
      if (end - pos >= maxHead()) return handOff(c, buf.subarray(pos));
      if (parsed.key !== undefined) c.lastKey = parsed.key;
      if (parsed.userAgent !== undefined) c.lastUa = parsed.userAgent;
      const ok = answer(c, parsed);
      if (ok === null) return handOff(c, buf.subarray(pos));
      c.partialSince = 0;
      c.answered = true;
      pos = end;
      if (!ok) {
        // The write buffer is full: the rest waits for 'drain' (and the socket stops reading).
        c.pending = pos < buf.length ? Buffer.from(buf.subarray(pos)) : null;
        c.waitingDrain = true;
        stats.drainWaits++;
        // The socket's reading stops when onPush returns false (or at its next chunk).
        c.socket.once('drain', c.onDrain);
        return;
      }
    }
    c.pending = null;
  }

  /**
   * The route's steps for one parsed request, in fast-lookup.ts's order: null when the
   * request must go to node (nothing done yet), else whether the socket took the write.
   */
  function answer(c: Conn, p: Parsed): boolean | null {
    const ip = p.ip;
    if (ip === null) return null;
    const now = ctx.now();
    let body: string | null;
    try {
      body = hotLookupBody(ctx, ip, now);
    } catch {
      return null; // an invalid address: fastify's error handler answers (and logs)
    }
    if (body === null) return null;
    const s = c.socket;
    clientHeaders['x-forwarded-for'] = p.xff;
    clientHeaders['x-real-ip'] = p.xRealIp;
    const any = body !== 'null';
    const served = serveLookup(ctx, s, c.peer, clientHeaders, p.key, p.userAgent, any, now);
    clientHeaders['x-forwarded-for'] = clientHeaders['x-real-ip'] = undefined;
    stats.answered++;
    c.active = true;
    // The fixed answers are ASCII: written as latin1, node copies them without UTF-8 encoding.
    if (!served) return s.write(forbiddenAnswer(), 'latin1');
    if (!any) return s.write(nullAnswer(), 'latin1');
    return s.write(okHead(Buffer.byteLength(body)) + body);
  }

  /**
   * The head after content-length's value, and the whole answers that do not depend on the
   * request ('null', 403), rebuilt when the second or keepAliveTimeout changes.
   */
  let tailDate = '';
  let tailKat = -1;
  let tail = '';
  let nullOut = '';
  let forbiddenOut = '';
  function renew(): void {
    const kat = server.keepAliveTimeout;
    const date = httpDate();
    if (date === tailDate && kat === tailKat) return;
    tailDate = date;
    tailKat = kat;
    tail = '\r\nDate: ' + date + '\r\nConnection: keep-alive\r\n' + (kat ? 'Keep-Alive: timeout=' + Math.floor(kat / 1000) + '\r\n\r\n' : '\r\n');
    nullOut = flat(OK_START + 4 + tail + 'null');
    forbiddenOut = flat('HTTP/1.1 403 Forbidden' + CONTENT_TYPE_START + FORBIDDEN_LENGTH + tail + FORBIDDEN_BODY);
  }
  function okHead(length: number): string {
    renew();
    return OK_START + length + tail;
  }
  function nullAnswer(): string {
    renew();
    return nullOut;
  }
  function forbiddenAnswer(): string {
    renew();
    return forbiddenOut;
  }

  function sweep(): void {
    const t = performance.now();
    const kat = server.keepAliveTimeout;
    const ht = server.headersTimeout;
    for (const c of conns) {
      if (c.active) {
        c.active = false;
        c.lastActive = t;
      }
      if (c.waitingDrain) continue;
      if (c.pending !== null) {
        if (ht > 0 && c.partialSince !== 0 && t - c.partialSince >= ht) handOff(c, c.pending);
      } else if (c.answered && kat > 0 && t - c.lastActive >= kat + KEEP_ALIVE_BUFFER_MS) {
        release(c);
        c.socket.destroy();
      }
    }
  }

  function accept(socket: Socket): void {
    // Bytes already buffered by the socket's stream (none on a plain accept): node reads them.
    if (!rawPossible() || socket.readableLength > 0) return void nodeListener.call(server, socket);
    const c: Conn = {
      socket, peer: socket.remoteAddress, pending: null, partialSince: 0, active: false, lastActive: performance.now(), answered: false, waitingDrain: false, stopped: false, lastKey: '', lastUa: '',
      onPush: (d: Buffer | null): boolean => {
        if (d === null) {
          // End of the stream: Readable's own push ends it ('end', then onEnd).
          delete (socket as unknown as { push?: unknown }).push;
          return socket.push(null);
        }
        c.active = true;
        if (c.waitingDrain) {
          // Read after the write was refused: keep it behind what is held back, read no more.
          c.pending = c.pending === null ? Buffer.from(d) : Buffer.concat([c.pending, d]);
          c.stopped = true;
          return false;
        }
        run(c, c.pending === null ? d : Buffer.concat([c.pending, d]));
        if (conns.has(c) && c.waitingDrain) {
          // false: node's stream code stops reading the socket until onDrain starts it again.
          c.stopped = true;
          return false;
        }
        return true;
      },
      onDrain: () => {
        c.waitingDrain = false;
        const rest = c.pending;
        c.pending = null;
        if (rest !== null) run(c, rest);
        if (conns.has(c) && !c.waitingDrain && c.stopped) {
          c.stopped = false;
          socket._read(0);
        }
      },
      onEnd: () => {
        const partial = c.pending !== null && !c.waitingDrain;
        release(c);
        if (partial) {
          // node's parser reports a request cut short by the client's FIN as a client error.
          socket.on('error', noop);
          const e = Object.assign(new Error('Parse Error: Invalid EOF state'), { code: 'HPE_INVALID_EOF_STATE' });
          if (!server.emit('clientError', e, socket)) socket.destroy();
        } else if (socket.writable) socket.end();
      },
      onError: () => {
        release(c);
        socket.on('error', noop);
        socket.destroy();
      },
      onClose: () => release(c),
    };
    conns.add(c);
    if (sweeper === null) {
      const every = Math.max(10, Math.min(1000, (server.keepAliveTimeout + KEEP_ALIVE_BUFFER_MS) / 4, (server.headersTimeout || 60_000) / 4));
      sweeper = setInterval(sweep, every);
      sweeper.unref();
    }
    // The socket's chunks come to onPush straight from node's stream read callback, which
    // calls the socket's push(): shadowing it skips Readable's buffering, 'data' event and the
    // nextTick it schedules per chunk (maybeReadMore), a sixth of a lookup's CPU and half of its
    // garbage (bench/RESULTS-lapi.md). release() removes the shadow before node reads again.
    (socket as unknown as { push: (chunk: Buffer | null) => boolean }).push = c.onPush;
    socket.on('end', c.onEnd);
    socket.on('error', c.onError);
    socket.on('close', c.onClose);
  }

  /** Idle raw connections end as node ends its idle ones; ones holding unanswered bytes go to node. */
  function closeIdle(): void {
    for (const c of [...conns]) {
      if (c.pending !== null) handOff(c, c.pending);
      else {
        release(c);
        if (c.socket.writableLength > 0) c.socket.end();
        else c.socket.destroy();
      }
    }
  }
  function closeAll(): void {
    for (const c of [...conns]) {
      release(c);
      c.socket.destroy();
    }
  }

  server.on(event, accept);
  // server.close() calls closeIdleConnections (node ≥ 19), fastify's close calls server.close().
  const idle = server.closeIdleConnections;
  const all = server.closeAllConnections;
  server.closeIdleConnections = function (this: Server) {
    idle.call(this);
    closeIdle();
  };
  server.closeAllConnections = function (this: Server) {
    all.call(this);
    closeAll();
  };
  return stats;
}
