/**
 * The connection-level fast path (src/api/raw-lookup.ts) against node:http + fastify's route:
 * two servers on one store, one with the raw front (and the request-level fast path behind
 * it), one with neither; the same bytes are sent to both on fresh connections (whole,
 * pipelined, split, followed by requests only node can answer) and everything each sends
 * back, up to its close, must be byte-identical (Date aside). The raw front's counters show
 * which requests it answered and which connections it handed over. Also: backpressure,
 * keep-alive idle timeout, Keep-Alive header variants and close with raw connections open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApiServer, type ApiServer } from '../../src/api/server.js';
import { alertFor, decisionFor } from '../decisions/support.js';
import { harness, waitFor, type Harness } from './support.js';

const withoutDate = (raw: string) => raw.replace(/\r\nDate: [^\r]*/g, '');

/** Complete responses at the start of `raw` (framed by content-length; none means no body). */
function countResponses(raw: string): number {
  let n = 0;
  let pos = 0;
  for (;;) {
    const end = raw.indexOf('\r\n\r\n', pos);
    if (end < 0) return n;
    const m = /\r\ncontent-length: *(\d+)/i.exec(raw.slice(pos, end));
    const next = end + 4 + (m ? Number(m[1]) : 0);
    if (next > raw.length) return n;
    n++;
    pos = next;
  }
}

interface Exchange {
  /** Bytes sent, in separate writes `gapMs` apart. */
  parts: (string | Buffer)[];
  gapMs?: number;
  /** Responses to wait for (the exchange also ends when the server closes). */
  expect: number;
  /** Half-close after the last part. */
  end?: boolean;
  /** Connect with TLS, trusting this CA (https servers). */
  ca?: string;
  /**
   * Send the parts after the first only once an answer came back. For a valid request
   * followed by a bad one: node's parser fails on the bad one and fastify's client-error
   * handler closes the connection, so if both reach it in one read, fastify's asynchronous
   * answer to the first is never written (the raw front, like the request-level fast path,
   * has written it already): waiting keeps the comparison about bytes, not timing.
   */
  waitFirst?: boolean;
  /** The server is expected to close the connection: wait for that (else 30 ms for stray bytes). */
  closes?: boolean;
}

/** Sends the parts on a fresh connection and returns what came back (latin1) and whether the server closed. */
async function exchange(url: string, x: Exchange): Promise<{ raw: string; closed: boolean }> {
  const u = new URL(url);
  const sock: Socket = await new Promise((resolve, reject) => {
    const s: Socket = x.ca !== undefined
      ? tlsConnect({ port: Number(u.port), host: u.hostname, ca: x.ca, servername: 'localhost' }, () => resolve(s.setNoDelay(true)))
      : connect({ port: Number(u.port), host: u.hostname, noDelay: true }, () => resolve(s));
    s.once('error', reject);
  });
  let raw = '';
  let closed = false;
  let wake: (() => void) | null = null;
  sock.on('data', (d: Buffer) => {
    raw += d.toString('latin1');
    wake?.();
  });
  sock.on('error', () => {});
  sock.on('close', () => {
    closed = true;
    wake?.();
  });
  for (let i = 0; i < x.parts.length; i++) {
    if (i > 0 && x.gapMs !== undefined) await sleep(x.gapMs);
    if (i > 0 && x.waitFirst) {
      const until = Date.now() + 5000;
      while (!closed && countResponses(raw) < 1 && Date.now() < until) await Promise.race([new Promise<void>((r) => (wake = r)), sleep(50)]);
    }
    sock.write(x.parts[i]!);
  }
  if (x.end) sock.end();
  const deadline = Date.now() + 5000;
  while (!closed && countResponses(raw) < x.expect && Date.now() < deadline) {
    await Promise.race([new Promise<void>((r) => (wake = r)), sleep(50)]);
  }
  if (x.closes) {
    while (!closed && Date.now() < deadline) await Promise.race([new Promise<void>((r) => (wake = r)), sleep(50)]);
  }
  // Anything more than expected would show here.
  await sleep(30);
  sock.destroy();
  return { raw, closed };
}

interface Pair {
  h: Harness;
  slow: ApiServer;
  fastUrl: string;
  slowUrl: string;
  key: string;
}

async function pair(): Promise<Pair> {
  const h = await harness();
  const now = h.clock.t;
  await h.store.addAlerts([
    { alert: alertFor('10.1.0.0/16', { scope: 'Range', stopAt: now }), decisions: [decisionFor('10.1.0.0/16', { scope: 'Range', durationMs: 3_600_000 })] },
    { alert: alertFor('10.1.2.3', { stopAt: now }), decisions: [decisionFor('10.1.2.3', { scenario: 'odd "quoted" é 中文 😀 \u2028', durationMs: 7_200_500 })] },
    { alert: alertFor('2001:db8::9', { stopAt: now }), decisions: [decisionFor('2001:db8::9')] },
  ], now);
  const slow = createApiServer({ store: h.store, profiles: [], listen: '127.0.0.1:0', jwtSecret: Buffer.alloc(64, 7), now: h.clock.now, fastLookup: false });
  const fastUrl = (await h.server.listen()).url;
  const slowUrl = (await slow.listen()).url;
  const key = (await h.server.ctx.creds.addBouncer('fw')).key;
  return { h, slow, fastUrl, slowUrl, key };
}

const req = (target: string, headers: string) => `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`;

test('raw front answers byte-identically to node:http + fastify (whole, pipelined, split, handed over)', async () => {
  const p = await pair();
  try {
    const raw = p.h.server.rawLookup!;
    assert.ok(raw, 'the raw front is on by default on plain HTTP');
    const k = `X-Api-Key: ${p.key}\r\nUser-Agent: cs-firewall-bouncer/v0.0.25\r\n`;
    const hit = req('/v1/decisions?ip=10.1.2.3', k);
    const miss = req('/v1/decisions?ip=10.2.0.1', k);
    const v6 = req('/v1/decisions?ip=2001%3Adb8%3A%3A9', k);
    const denied = req('/v1/decisions?ip=10.1.2.3', 'User-Agent: x/y\r\n');
    const wrongKey = req('/v1/decisions?ip=10.1.2.3', 'X-Api-Key: nope\r\n');
    const stream = req('/v1/decisions/stream?startup=true', k);
    const post = `POST /v1/watchers/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"bad":"body"}`.replace('13', String('{"bad":"body"}'.length));
    const big = req('/v1/decisions?ip=10.1.2.3', k + `X-Filler: ${'a'.repeat(20_000)}\r\n`);
    const cases: { name: string; x: Exchange; answered: number; handedOff: boolean }[] = [
      { name: 'hit', x: { parts: [hit], expect: 1 }, answered: 1, handedOff: false },
      { name: 'miss', x: { parts: [miss], expect: 1 }, answered: 1, handedOff: false },
      { name: 'v6 escaped', x: { parts: [v6], expect: 1 }, answered: 1, handedOff: false },
      { name: 'missing key: 403', x: { parts: [denied], expect: 1 }, answered: 1, handedOff: false },
      { name: 'wrong key: 403', x: { parts: [wrongKey], expect: 1 }, answered: 1, handedOff: false },
      { name: 'empty key: 403', x: { parts: [req('/v1/decisions?ip=10.1.2.3', 'X-Api-Key: \r\n')], expect: 1 }, answered: 1, handedOff: false },
      { name: 'no space after the colon, tab before the value', x: { parts: [req('/v1/decisions?ip=10.1.2.3', `x-api-key:${p.key}\r\nuser-agent:\tcs-firewall-bouncer/v0.0.25\r\n`)], expect: 1 }, answered: 1, handedOff: false },
      { name: 'Connection: keep-alive', x: { parts: [req('/v1/decisions?ip=10.1.2.3', k + 'Connection: Keep-Alive\r\n')], expect: 1 }, answered: 1, handedOff: false },
      { name: 'pipelined in one chunk', x: { parts: [hit + miss + denied + v6], expect: 4 }, answered: 4, handedOff: false },
      { name: 'one request in 1-byte chunks', x: { parts: [...hit].map((ch) => Buffer.from(ch, 'latin1')), gapMs: 1, expect: 1 }, answered: 1, handedOff: false },
      { name: 'split inside the second of two', x: { parts: [hit + miss.slice(0, 30), miss.slice(30) + v6.slice(0, 3), v6.slice(3)], gapMs: 20, expect: 3 }, answered: 3, handedOff: false },
      { name: 'fast then stream then fast (one chunk)', x: { parts: [hit + stream + miss], expect: 3 }, answered: 1, handedOff: true },
      { name: 'fast then stream (separate writes)', x: { parts: [hit, stream, hit], gapMs: 20, waitFirst: true, expect: 3 }, answered: 1, handedOff: true },
      { name: 'fast then POST with a body then fast', x: { parts: [miss + post + hit], expect: 3 }, answered: 1, handedOff: true },
      { name: 'fast then a malformed request', x: { closes: true, parts: [hit, 'GET / HTTP/1.1\r\nBad Header\r\n\r\n'], waitFirst: true, expect: 2 }, answered: 1, handedOff: true },
      { name: 'fast then garbage', x: { closes: true, parts: [hit, '\x00\x01garbage\r\n\r\n'], waitFirst: true, expect: 2 }, answered: 1, handedOff: true },
      { name: 'HTTP/1.0', x: { closes: true, parts: [hit.replace('HTTP/1.1', 'HTTP/1.0')], expect: 1 }, answered: 0, handedOff: true },
      { name: 'Connection: close', x: { closes: true, parts: [req('/v1/decisions?ip=10.1.2.3', k + 'Connection: close\r\n')], expect: 1 }, answered: 0, handedOff: true },
      { name: 'fast then Connection: close', x: { closes: true, parts: [hit + req('/v1/decisions?ip=10.2.0.1', k + 'connection: close\r\n')], expect: 2 }, answered: 1, handedOff: true },
      { name: 'missing Host', x: { closes: true, parts: [`GET /v1/decisions?ip=10.1.2.3 HTTP/1.1\r\n${k}\r\n`], expect: 1 }, answered: 0, handedOff: true },
      { name: 'two Hosts', x: { parts: [req('/v1/decisions?ip=10.1.2.3', k + 'Host: other\r\n')], expect: 1 }, answered: 0, handedOff: true },
      { name: 'oversized header (431)', x: { closes: true, parts: [big], expect: 1 }, answered: 0, handedOff: true },
      { name: 'fast then oversized header in chunks', x: { closes: true, parts: [hit + big.slice(0, 5000), big.slice(5000, 12000), big.slice(12000)], gapMs: 20, waitFirst: true, expect: 2 }, answered: 1, handedOff: true },
      { name: 'bad ip (fastify error)', x: { parts: [req('/v1/decisions?ip=10.1.2.300', k)], expect: 1 }, answered: 0, handedOff: true },
      { name: 'extra parameter', x: { parts: [req('/v1/decisions?ip=10.1.2.3&type=ban', k)], expect: 1 }, answered: 0, handedOff: true },
      { name: 'key twice', x: { parts: [req('/v1/decisions?ip=10.1.2.3', k + `x-api-key: ${p.key}\r\n`)], expect: 1 }, answered: 0, handedOff: true },
      { name: 'user agent twice', x: { parts: [req('/v1/decisions?ip=10.1.2.3', k + 'User-Agent: other/v9\r\n')], expect: 1 }, answered: 0, handedOff: true },
      { name: 'content-length 0', x: { parts: [req('/v1/decisions?ip=10.1.2.3', k + 'Content-Length: 0\r\n')], expect: 1 }, answered: 0, handedOff: true },
      { name: 'expect', x: { parts: [req('/v1/decisions?ip=10.1.2.3', k + 'Expect: 100-continue\r\n')], expect: 1 }, answered: 0, handedOff: true },
      { name: 'trailing space in a value', x: { parts: [req('/v1/decisions?ip=10.1.2.3', `X-Api-Key: ${p.key} \r\n`)], expect: 1 }, answered: 0, handedOff: true },
      { name: 'bare LF', x: { closes: true, parts: [hit.replace(/\r\n/g, '\n')], expect: 1 }, answered: 0, handedOff: true },
      { name: 'HEAD', x: { parts: [hit.replace('GET', 'HEAD')], expect: 1 }, answered: 0, handedOff: true },
      { name: 'partial request then half-close (400)', x: { closes: true, parts: [hit.slice(0, 40)], end: true, expect: 1 }, answered: 0, handedOff: false },
      { name: 'fast then half-close', x: { closes: true, parts: [hit], end: true, expect: 1 }, answered: 1, handedOff: false },
    ];
    for (const c of cases) {
      const before = { answered: raw.answered, handedOff: raw.handedOff };
      const a = await exchange(p.fastUrl, c.x);
      const b = await exchange(p.slowUrl, c.x);
      assert.equal(withoutDate(a.raw), withoutDate(b.raw), c.name);
      assert.equal(a.closed, b.closed, `${c.name}: closed by the server on both or neither`);
      assert.equal(a.closed, c.x.closes === true, `${c.name}: ${c.x.closes ? 'closed' : 'kept open'}`);
      assert.ok(countResponses(a.raw) >= Math.min(1, c.x.expect), `${c.name}: answered`);
      assert.equal(raw.answered - before.answered, c.answered, `${c.name}: answered raw`);
      assert.equal(raw.handedOff - before.handedOff, c.handedOff ? 1 : 0, `${c.name}: handed to node:http`);
    }
    // Garbage pipelined behind a lookup in one chunk: node's parser fails on it before fastify's
    // asynchronous answer to the lookup is written, so fastify alone sends only its 400; the
    // raw front (as the request-level fast path did) has answered the lookup first.
    const both = await exchange(p.fastUrl, { parts: [hit + '\x00garbage\r\n\r\n'], expect: 2 });
    const first = await exchange(p.slowUrl, { parts: [hit], expect: 1 });
    const second = await exchange(p.slowUrl, { parts: ['\x00garbage\r\n\r\n'], expect: 1 });
    assert.equal(withoutDate(both.raw), withoutDate(first.raw + second.raw));
    // The answers are what they should be, not just equal.
    const one = withoutDate((await exchange(p.fastUrl, { parts: [hit + denied], expect: 2 })).raw);
    assert.match(one, /^HTTP\/1\.1 200 OK\r\ncontent-type: application\/json; charset=utf-8\r\ncontent-length: \d+\r\nConnection: keep-alive\r\nKeep-Alive: timeout=72\r\n\r\n\[\{"duration":/);
    assert.match(one, /\]HTTP\/1\.1 403 Forbidden\r\n[^]*\r\n\r\n\{"message":"access forbidden"\}$/);
    const dated = (await exchange(p.fastUrl, { parts: [hit], expect: 1 })).raw;
    assert.match(dated, /\r\nDate: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT\r\n/);
    // Same counters on both servers (every request above went to both).
    const text = async (s: ApiServer) => (await s.metrics!.registry.metrics()).split('\n').filter((l) => l.startsWith('cs_lapi_')).sort().join('\n');
    await exchange(p.slowUrl, { parts: [hit + denied], expect: 2 });
    await exchange(p.slowUrl, { parts: [hit], expect: 1 });
    assert.equal(await text(p.h.server), await text(p.slow));
  } finally {
    await p.slow.close();
    await p.h.cleanup();
  }
});

test('raw front: chunks come through the socket\'s own push (no data listener), which is given back on hand-over', async () => {
  const p = await pair();
  try {
    const sockets: Socket[] = [];
    p.h.server.app.server.on('connection', (s: Socket) => sockets.push(s));
    const k = `X-Api-Key: ${p.key}\r\n`;
    const u = new URL(p.fastUrl);
    const client = connect({ port: Number(u.port), host: u.hostname });
    let raw = '';
    client.on('data', (d: Buffer) => (raw += d.toString('latin1')));
    client.write(req('/v1/decisions?ip=10.1.2.3', k) + req('/v1/decisions?ip=10.9.9.9', k));
    await waitUntil(() => countResponses(raw) >= 2, 5000);
    assert.equal(sockets.length, 1);
    const s = sockets[0]!;
    assert.ok(Object.hasOwn(s, 'push'), 'push shadowed in raw mode');
    assert.equal(s.listenerCount('data'), 0);
    assert.equal(s.readableLength, 0, 'nothing buffered by the Readable');
    assert.equal(p.h.server.rawLookup!.answered, 2);
    // A request only node answers: the connection is handed over and push is Readable's again.
    client.write(req('/v1/decisions/stream', k));
    await waitUntil(() => countResponses(raw) >= 3, 5000);
    assert.equal(p.h.server.rawLookup!.handedOff, 1);
    assert.equal(Object.hasOwn(s, 'push'), false);
    assert.match(raw, /^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\n\[\{"duration"[\s\S]*\r\n\r\nnull[\s\S]*HTTP\/1\.1 200 OK/);
    // Node reads the connection from then on: one more request is answered by node:http.
    client.write(req('/v1/decisions?ip=10.9.9.9', k));
    await waitUntil(() => countResponses(raw) >= 4, 5000);
    assert.equal(p.h.server.rawLookup!.answered, 2);
    client.destroy();
  } finally {
    await p.slow.close();
    await p.h.cleanup();
  }
});

test('raw front: a full write buffer stops parsing until drain; answers stay in order', async () => {
  const p = await pair();
  try {
    // 40 decisions on one address: ~6 KB answers, so the socket buffers fill quickly.
    const now = p.h.clock.t;
    await p.h.store.addAlerts(Array.from({ length: 40 }, (_, i) => ({ alert: alertFor('10.5.5.5', { stopAt: now }), decisions: [decisionFor('10.5.5.5', { scenario: `s${i}` })] })), now);
    const k = `X-Api-Key: ${p.key}\r\n`;
    const ok = req('/v1/decisions?ip=10.5.5.5', k);
    const no = req('/v1/decisions?ip=10.5.5.5', '');
    const n = 8000;
    let sent = '';
    for (let i = 0; i < n; i++) sent += i % 3 === 2 ? no : ok;
    const raw = await sendHeldBack(p.fastUrl, sent, n);
    const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    assert.equal(statuses.length, n);
    for (let i = 0; i < n; i++) assert.equal(statuses[i], i % 3 === 2 ? '403' : '200', `answer ${i}`);
    assert.equal(p.h.server.rawLookup!.answered, n);
    assert.equal(p.h.server.rawLookup!.handedOff, 0);
    assert.ok(p.h.server.rawLookup!.drainWaits > 0, 'the server waited for drain at least once');
  } finally {
    await p.slow.close();
    await p.h.cleanup();
  }
});

/**
 * Sends `sent` (pipelined requests) on one connection and does not read for 300 ms, so the
 * server's writes back up; then reads until `responses` answers arrived (10 s at most).
 */
async function sendHeldBack(url: string, sent: string, responses: number): Promise<string> {
  const u = new URL(url);
  const sock = connect({ port: Number(u.port), host: u.hostname });
  await new Promise((r) => sock.once('connect', r));
  sock.pause();
  sock.write(sent);
  await sleep(300);
  let raw = '';
  sock.on('data', (d: Buffer) => (raw += d.toString('latin1')));
  sock.resume();
  await waitUntil(() => countResponses(raw) >= responses, 10_000);
  sock.destroy();
  return raw;
}

async function waitUntil(ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(10);
  }
}

test('raw front: Keep-Alive header follows keepAliveTimeout; idle connections close as node closes its own', async () => {
  const p = await pair();
  try {
    const hit = req('/v1/decisions?ip=10.1.2.3', `X-Api-Key: ${p.key}\r\n`);
    for (const kat of [0, 500, 1500]) {
      p.h.server.app.server.keepAliveTimeout = kat;
      p.slow.app.server.keepAliveTimeout = kat;
      const a = await exchange(p.fastUrl, { parts: [hit], expect: 1 });
      const b = await exchange(p.slowUrl, { parts: [hit], expect: 1 });
      assert.equal(withoutDate(a.raw), withoutDate(b.raw), `keepAliveTimeout ${kat}`);
      assert.equal(/Keep-Alive: timeout=(\d+)/.exec(a.raw)?.[1], kat ? String(Math.floor(kat / 1000)) : undefined);
    }
    // keepAliveTimeout 500: node destroys an idle connection after 500 + 1000 ms; so does the raw front.
    p.h.server.app.server.keepAliveTimeout = 500;
    p.slow.app.server.keepAliveTimeout = 500;
    const idleClose = async (url: string) => {
      const u = new URL(url);
      const sock = connect({ port: Number(u.port), host: u.hostname });
      sock.on('data', () => {});
      sock.write(hit);
      const t0 = Date.now();
      await new Promise((r) => sock.once('close', r));
      return Date.now() - t0;
    };
    const [rawMs, nodeMs] = await Promise.all([idleClose(p.fastUrl), idleClose(p.slowUrl)]);
    assert.ok(nodeMs >= 1400 && nodeMs < 4000, `node closed after ${nodeMs} ms`);
    assert.ok(rawMs >= 1400 && rawMs < 4000, `raw front closed after ${rawMs} ms`);
    assert.equal(p.h.server.rawLookup!.connections, 0);
  } finally {
    await p.slow.close();
    await p.h.cleanup();
  }
});

test('raw front: close ends idle raw connections; a partial request is handed over and answered 503', async () => {
  const p = await pair();
  try {
    const hit = req('/v1/decisions?ip=10.1.2.3', `X-Api-Key: ${p.key}\r\n`);
    const u = new URL(p.fastUrl);
    const open = async (name: string) => {
      const s = connect({ port: Number(u.port), host: u.hostname });
      s.on('error', (e) => console.log('client socket error', name, e.message));
      await new Promise((r) => s.once('connect', r));
      let raw = '';
      s.on('data', (d: Buffer) => (raw += d.toString('latin1')));
      const closed = new Promise<void>((r) => s.once('close', () => r()));
      return { s, closed, raw: () => raw };
    };
    const idle = await open('idle');
    idle.s.write(hit);
    await waitUntil(() => countResponses(idle.raw()) === 1, 2000);
    const fresh = await open('fresh'); // connected, nothing sent yet
    const partial = await open('partial');
    partial.s.write(hit.slice(0, 25));
    await waitUntil(() => p.h.server.rawLookup!.connections === 3, 2000);
    // Let the server read the partial request (unread bytes would make the connection idle to node too).
    await sleep(100);
    const t0 = Date.now();
    const closing = p.h.server.close();
    await idle.closed;
    await fresh.closed;
    // The partial request is node's now: its end gets fastify's 503 and the connection closes.
    partial.s.write(hit.slice(25));
    await partial.closed;
    await closing;
    assert.ok(Date.now() - t0 < 2000, 'close did not wait for the raw connections');
    assert.match(partial.raw(), /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.equal(p.h.server.rawLookup!.connections, 0);
  } finally {
    await p.slow.close();
    await p.h.cleanup();
  }
});

test('raw front off: rawLookup false keeps the request-level path only', async () => {
  const h = await harness({ rawLookup: false });
  try {
    assert.equal(h.server.rawLookup, null);
    const url = (await h.server.listen()).url;
    const key = (await h.server.ctx.creds.addBouncer('fw')).key;
    const r = await exchange(url, { parts: [req('/v1/decisions?ip=10.1.2.3', `X-Api-Key: ${key}\r\n`)], expect: 1 });
    assert.match(r.raw, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nnull$/);
  } finally {
    await h.cleanup();
  }
});

test('raw front: a request left partial for headersTimeout is handed to node:http', async () => {
  const h = await harness();
  try {
    const url = (await h.server.listen()).url;
    h.server.app.server.headersTimeout = 200;
    const u = new URL(url);
    const s = connect({ port: Number(u.port), host: u.hostname });
    s.on('error', () => {});
    await new Promise((r) => s.once('connect', r));
    s.write('GET /v1/decisions?ip=10.1.2.3 HTTP/1.1\r\nHost: x\r\n');
    await waitUntil(() => h.server.rawLookup!.connections === 1, 2000);
    const t0 = Date.now();
    await waitUntil(() => h.server.rawLookup!.handedOff === 1, 3000);
    assert.ok(Date.now() - t0 >= 100, 'not before the timeout');
    assert.equal(h.server.rawLookup!.connections, 0);
    s.destroy();
  } finally {
    await h.cleanup();
  }
});

test('raw front: forwarded-for headers from a trusted proxy give the bouncer address, as the route does', async () => {
  const h = await harness({ useForwardedFor: true, trustedProxies: ['127.0.0.1'] });
  try {
    const url = (await h.server.listen()).url;
    const key = (await h.server.ctx.creds.addBouncer('fw')).key;
    const r = await exchange(url, { parts: [req('/v1/decisions?ip=10.1.2.3', `X-Api-Key: ${key}\r\nX-Forwarded-For: 192.0.2.7, 127.0.0.1\r\nUser-Agent: cs-firewall-bouncer/v0.0.25\r\n`)], expect: 1 });
    assert.match(r.raw, /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(h.server.rawLookup!.answered, 1);
    const b = await waitFor('bookkeeping', () => (h.store.refresh(), h.server.ctx.creds.getBouncer('fw')!), (v) => v.ipAddress !== '');
    assert.deepEqual([b.ipAddress, b.type, b.version], ['192.0.2.7', 'cs-firewall-bouncer', 'v0.0.25']);
    // Two X-Real-IP lines (node would join them): handed over, same answer through node.
    const two = await exchange(url, { parts: [req('/v1/decisions?ip=10.1.2.3', `X-Api-Key: ${key}\r\nX-Real-IP: 192.0.2.8\r\nX-Real-IP: 192.0.2.9\r\n`)], expect: 1 });
    assert.match(two.raw, /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(h.server.rawLookup!.answered, 1);
    assert.equal(h.server.rawLookup!.handedOff, 1);
  } finally {
    await h.cleanup();
  }
});

/** A self-signed certificate for localhost / 127.0.0.1, or null without openssl. */
function selfSigned(): { cert: string; key: string } | null {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-raw-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { cwd: dir, stdio: 'pipe' });
    return { cert: readFileSync(join(dir, 'c.pem'), 'utf8'), key: readFileSync(join(dir, 'k.pem'), 'utf8') };
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('raw front on https (no client-cert auth): same bytes as fastify over TLS; client-cert auth leaves it off', async (t) => {
  const pem = selfSigned();
  if (pem === null) return t.skip('openssl not available');
  const h = await harness({ tls: pem });
  const slow = createApiServer({ store: h.store, profiles: [], listen: '127.0.0.1:0', jwtSecret: Buffer.alloc(64, 7), now: h.clock.now, fastLookup: false, tls: pem });
  try {
    const now = h.clock.t;
    await h.store.addAlerts([{ alert: alertFor('10.1.2.3', { stopAt: now }), decisions: [decisionFor('10.1.2.3')] }], now);
    const fastUrl = (await h.server.listen()).url;
    const slowUrl = (await slow.listen()).url;
    assert.match(fastUrl, /^https:/);
    const key = (await h.server.ctx.creds.addBouncer('fw')).key;
    const k = `X-Api-Key: ${key}\r\n`;
    const hit = req('/v1/decisions?ip=10.1.2.3', k);
    const miss = req('/v1/decisions?ip=10.2.0.1', k);
    const raw = h.server.rawLookup!;
    const cases: { name: string; x: Exchange; answered: number; handedOff: boolean }[] = [
      { name: 'hit', x: { parts: [hit], expect: 1, ca: pem.cert }, answered: 1, handedOff: false },
      { name: 'pipelined + denied', x: { parts: [hit + miss + req('/v1/decisions?ip=10.1.2.3', '')], expect: 3, ca: pem.cert }, answered: 3, handedOff: false },
      { name: 'split', x: { parts: [hit.slice(0, 30), hit.slice(30) + miss.slice(0, 10), miss.slice(10)], gapMs: 20, expect: 2, ca: pem.cert }, answered: 2, handedOff: false },
      { name: 'fast then stream then fast', x: { parts: [hit, req('/v1/decisions/stream?startup=true', k), hit], gapMs: 20, expect: 3, ca: pem.cert }, answered: 1, handedOff: true },
      { name: 'HTTP/1.0', x: { parts: [hit.replace('HTTP/1.1', 'HTTP/1.0')], expect: 1, ca: pem.cert }, answered: 0, handedOff: true },
    ];
    for (const c of cases) {
      const before = { answered: raw.answered, handedOff: raw.handedOff };
      const a = await exchange(fastUrl, c.x);
      const b = await exchange(slowUrl, c.x);
      assert.equal(withoutDate(a.raw), withoutDate(b.raw), c.name);
      assert.ok(countResponses(a.raw) >= 1, `${c.name}: answered`);
      assert.equal(raw.answered - before.answered, c.answered, `${c.name}: answered raw`);
      assert.equal(raw.handedOff - before.handedOff, c.handedOff ? 1 : 0, `${c.name}: handed to node:http`);
    }
  } finally {
    await slow.close();
    await h.cleanup();
  }
  // With a CA (client-certificate auth), bouncers may authenticate by certificate: fastify's hooks do that.
  const withCa = await harness({ tls: { ...pem, ca: pem.cert } });
  try {
    assert.equal(withCa.server.rawLookup, null);
  } finally {
    await withCa.cleanup();
  }
});

test('raw front: a hand-over in the middle of a long pipeline held back by a full write buffer keeps every answer in order', async () => {
  const p = await pair();
  try {
    const now = p.h.clock.t;
    await p.h.store.addAlerts(Array.from({ length: 40 }, (_, i) => ({ alert: alertFor('10.5.5.5', { stopAt: now }), decisions: [decisionFor('10.5.5.5', { scenario: `s${i}` })] })), now);
    const k = `X-Api-Key: ${p.key}\r\n`;
    const big = req('/v1/decisions?ip=10.5.5.5', k);
    const small = req('/v1/decisions?ip=10.2.0.1', k);
    const n = 3000;
    const sent = big.repeat(n) + req('/v1/decisions/stream', k) + small.repeat(100);
    const raw = await sendHeldBack(p.fastUrl, sent, n + 101);
    // Bodies in order: n lists of 40, the stream's object, then 100 'null'.
    const bodies = [...raw.matchAll(/\r\n\r\n(\[|\{|null)/g)].map((m) => m[1]);
    assert.equal(bodies.length, n + 101);
    assert.ok(bodies.slice(0, n).every((b) => b === '['));
    assert.equal(bodies[n], '{');
    assert.ok(bodies.slice(n + 1).every((b) => b === 'null'));
    assert.equal(p.h.server.rawLookup!.answered, n);
    assert.equal(p.h.server.rawLookup!.handedOff, 1);
    assert.ok(p.h.server.rawLookup!.drainWaits > 0);
  } finally {
    await p.slow.close();
    await p.h.cleanup();
  }
});
