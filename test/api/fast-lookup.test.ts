/**
 * The `GET /v1/decisions?ip=` fast path (src/api/fast-lookup.ts) against fastify's route:
 * two servers on one store, one with the fast path and one without, asked the same table of
 * raw HTTP requests on keep-alive sockets; status line, headers (Date aside) and body must
 * be byte-identical, the fast path must have answered exactly the plain cases, and the
 * metrics and bouncer bookkeeping must come out the same. Also: a write through the API is
 * visible to the very next fast lookup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { createApiServer, type ApiServer } from '../../src/api/server.js';
import { decodeQueryValue, plainIpQuery } from '../../src/api/fast-lookup.js';
import { alertFor, decisionFor } from '../decisions/support.js';
import { harness, machineToken, manualAlert, UA, waitFor } from './support.js';

/** One keep-alive connection: sends a raw request, reads one response (by content-length). */
class RawClient {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private constructor(private readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
  }
  static open(url: string): Promise<RawClient> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const s = connect(Number(u.port), u.hostname, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }
  async ask(head: string, hasBody: boolean): Promise<string> {
    this.sock.write(head);
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const headers = this.buf.subarray(0, end).toString('latin1');
        const m = /\r\ncontent-length: (\d+)/i.exec(headers);
        const len = hasBody && m ? Number(m[1]) : 0;
        if (this.buf.length >= end + 4 + len) {
          const out = this.buf.subarray(0, end + 4 + len).toString('utf8');
          this.buf = this.buf.subarray(end + 4 + len);
          return out;
        }
      }
      await new Promise<void>((r) => (this.wake = r));
    }
  }
  close(): void {
    this.sock.destroy();
  }
}

const withoutDate = (raw: string) => raw.replace(/\r\nDate: [^\r]*/, '');

interface Case { name: string; target: string; headers?: Record<string, string>; method?: string; fast: boolean; /** Raw header lines added after `headers` (repeated names). */ extra?: string }

test('plainIpQuery: only a literal `?ip=X` alone, decoded as the query parser does', () => {
  assert.equal(plainIpQuery('/v1/decisions?ip=1.2.3.4'), '1.2.3.4');
  assert.equal(plainIpQuery('/v1/decisions?ip=2001%3Adb8%3A%3A1'), '2001:db8::1');
  assert.equal(plainIpQuery('/v1/decisions?ip=a+b%20c'), 'a b c');
  for (const u of ['/v1/decisions?ip=', '/v1/decisions?ip=1&ip=2', '/v1/decisions?ip=1.2.3.4&contains=true', '/v1/decisions?ip=a=b',
    '/v1/decisions?ip=%zz', '/v1/decisions?ip=%E0%A4%A', '/v1/decisions/?ip=1.2.3.4', '/v1/decisions?IP=1.2.3.4', '/v1/decisions?ip=1#x',
    '/v1/decisions', '/v1/decisions/stream?ip=1.2.3.4', '/v1/decisions?i%70=1.2.3.4']) {
    assert.equal(plainIpQuery(u), null, u);
  }
});

test('decodeQueryValue: what decodeURIComponent (after + to space) gives, null where it throws', () => {
  const reference = (raw: string): string | null => {
    try {
      return decodeURIComponent(raw.replace(/\+/g, ' '));
    } catch {
      return null;
    }
  };
  const cases = ['2001%3Adb8%3A%3A1', '2001%3adb8%3a%3a1', 'a+b%20c', '%2B1+', '1.2.3.4%2F24', '%7e%7E%41%61%30', '%00x', '%25', '%2', '%', '%%41', 'x%g1', '%1g',
    '%C3%A9', '%c3%a9%3A', '%E4%B8%AD', '%F0%9F%98%80', '%80', '%C3', '%C3%28', '%ED%A0%80', '+%2b+', 'plain'];
  for (const raw of cases) assert.equal(decodeQueryValue(raw), reference(raw), raw);
  // Every two-hex-digit escape, both cases, alone and between characters.
  for (let c = 0; c < 256; c++) {
    for (const hex of [c.toString(16).padStart(2, '0'), c.toString(16).padStart(2, '0').toUpperCase()]) {
      const raw = `a%${hex}b`;
      assert.equal(decodeQueryValue(raw), reference(raw), raw);
    }
  }
});

// Run twice: with the connection-level front (raw-lookup.ts) in front of the request-level
// fast path (the default), and with the request-level fast path alone (rawLookup: false).
for (const raw of [true, false]) test(`fast path${raw ? ' (raw front on)' : ' (request level only)'} and fastify route answer byte-identically (hits v4/v6/range, misses, bad ip, keys, extra params)`, async () => {
  // h.server: fast path on; slow: the same API without it, on the same store and clock.
  const h = await harness({ rawLookup: raw });
  let slow: ApiServer | null = null;
  const clients: RawClient[] = [];
  try {
    const now = h.clock.t;
    await h.store.addAlerts([
      { alert: alertFor('10.1.0.0/16', { scope: 'Range', stopAt: now }), decisions: [decisionFor('10.1.0.0/16', { scope: 'Range', durationMs: 3_600_000 })] },
      { alert: alertFor('10.1.2.3', { stopAt: now }), decisions: [decisionFor('10.1.2.3', { scenario: 'odd "quoted" é 中文 😀 \u2028', durationMs: 7_200_500 })] },
      { alert: alertFor('2001:db8::/64', { scope: 'Range', stopAt: now }), decisions: [decisionFor('2001:db8::/64', { scope: 'Range', type: 'captcha', origin: 'CAPI' })] },
      { alert: alertFor('2001:db8::9', { stopAt: now }), decisions: [decisionFor('2001:db8::9')] },
      { alert: alertFor('10.9.9.9', { simulated: true, stopAt: now }), decisions: [decisionFor('10.9.9.9', { simulated: true })] },
    ], now);
    slow = createApiServer({ store: h.store, profiles: [], listen: '127.0.0.1:0', jwtSecret: Buffer.alloc(64, 7), now: h.clock.now, fastLookup: false });
    // Requests that reach fastify on the fast server (the fast path hands them over).
    let reachedFastify = 0;
    h.server.app.addHook('onRequest', (_req, _reply, done) => {
      reachedFastify++;
      done();
    });
    const fastUrl = (await h.server.listen()).url;
    const slowUrl = (await slow.listen()).url;
    const key = (await h.server.ctx.creds.addBouncer('fw')).key;
    const key2 = (await h.server.ctx.creds.addBouncer('fw2')).key;
    const ua = { 'user-agent': 'cs-firewall-bouncer/v0.0.25' };
    const k = { 'x-api-key': key, ...ua };
    const enc = encodeURIComponent;
    const cases: Case[] = [
      { name: 'hit v4 /32 and its /16', target: '/v1/decisions?ip=10.1.2.3', headers: k, fast: true },
      { name: 'hit v4 range', target: '/v1/decisions?ip=10.1.9.9', headers: k, fast: true },
      { name: 'hit v6 /128 (escaped)', target: `/v1/decisions?ip=${enc('2001:db8::9')}`, headers: k, fast: true },
      { name: 'hit v6 /128 (raw colons)', target: '/v1/decisions?ip=2001:db8::9', headers: k, fast: true },
      { name: 'hit v6 range', target: `/v1/decisions?ip=${enc('2001:db8::1')}`, headers: k, fast: true },
      { name: 'v4-mapped v6', target: `/v1/decisions?ip=${enc('::ffff:10.1.2.3')}`, headers: k, fast: true },
      { name: 'miss v4', target: '/v1/decisions?ip=10.2.0.1', headers: k, fast: true },
      { name: 'miss v6', target: `/v1/decisions?ip=${enc('2001:db9::1')}`, headers: k, fast: true },
      { name: 'simulated only', target: '/v1/decisions?ip=10.9.9.9', headers: k, fast: true },
      { name: 'cidr as ip', target: `/v1/decisions?ip=${enc('10.1.2.0/24')}`, headers: k, fast: true },
      { name: 'escaped space', target: '/v1/decisions?ip=%2010.1.2.3', headers: k, fast: true },
      { name: 'plus', target: '/v1/decisions?ip=+10.1.2.3', headers: k, fast: true },
      { name: 'other user agent, other bouncer', target: '/v1/decisions?ip=10.1.2.3', headers: { 'x-api-key': key2, 'user-agent': 'cs-nginx-bouncer/v1.0.0' }, fast: true },
      { name: 'no user agent', target: '/v1/decisions?ip=10.1.2.3', headers: { 'x-api-key': key }, fast: true },
      { name: 'header names in other cases', target: '/v1/decisions?ip=10.1.2.3', headers: { 'X-API-KEY': key, 'User-Agent': 'cs-firewall-bouncer/v0.0.25' }, fast: true },
      { name: 'user agent twice (the first counts)', target: '/v1/decisions?ip=10.2.0.1', headers: { 'X-Api-Key': key, 'user-agent': 'cs-firewall-bouncer/v0.0.25' }, extra: 'User-Agent: other/v9\r\n', fast: true },
      { name: 'key twice (node joins the values: refused)', target: '/v1/decisions?ip=10.1.2.3', headers: { 'x-api-key': key, ...ua }, extra: `X-Api-Key: ${key}\r\n`, fast: true },
      { name: 'content-length 0', target: '/v1/decisions?ip=10.1.2.3', headers: { ...k, 'Content-Length': '0' }, fast: false },
      { name: 'missing key', target: '/v1/decisions?ip=10.1.2.3', headers: ua, fast: true },
      { name: 'wrong key', target: '/v1/decisions?ip=10.1.2.3', headers: { 'x-api-key': 'not-a-key', ...ua }, fast: true },
      { name: 'empty key', target: '/v1/decisions?ip=10.1.2.3', headers: { 'x-api-key': '', ...ua }, fast: true },
      { name: 'bad v4', target: '/v1/decisions?ip=10.1.2.300', headers: k, fast: false },
      { name: 'bad v6', target: `/v1/decisions?ip=${enc('2001:db8::zz')}`, headers: k, fast: false },
      { name: 'bad cidr', target: `/v1/decisions?ip=${enc('1.2.3.0/33')}`, headers: k, fast: false },
      { name: 'bad ip and wrong key', target: '/v1/decisions?ip=x', headers: { 'x-api-key': 'nope' }, fast: false },
      { name: 'bad escape', target: '/v1/decisions?ip=%zz', headers: k, fast: false },
      { name: 'extra param', target: '/v1/decisions?ip=10.1.2.3&contains=true', headers: k, fast: false },
      { name: 'extra param, miss', target: '/v1/decisions?ip=10.2.0.1&type=ban', headers: k, fast: false },
      { name: 'ip twice', target: '/v1/decisions?ip=10.1.2.3&ip=10.2.0.1', headers: k, fast: false },
      { name: 'empty ip', target: '/v1/decisions?ip=', headers: k, fast: false },
      { name: 'no query', target: '/v1/decisions', headers: k, fast: false },
      { name: 'HEAD', target: '/v1/decisions?ip=10.1.2.3', headers: k, method: 'HEAD', fast: false },
      { name: 'content-encoding', target: '/v1/decisions?ip=10.1.2.3', headers: { ...k, 'content-encoding': 'br' }, fast: false },
      { name: 'trailing slash', target: '/v1/decisions/?ip=10.1.2.3', headers: k, fast: false },
      { name: 'stream', target: '/v1/decisions/stream', headers: k, fast: false },
    ];
    const fastClient = await RawClient.open(fastUrl);
    const slowClient = await RawClient.open(slowUrl);
    clients.push(fastClient, slowClient);
    let fastAnswered = 0;
    for (const c of cases) {
      const method = c.method ?? 'GET';
      const head = `${method} ${c.target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(c.headers ?? {}).map(([n, v]) => `${n}: ${v}\r\n`).join('')}${c.extra ?? ''}\r\n`;
      const before = reachedFastify;
      const a = await fastClient.ask(head, method !== 'HEAD');
      const b = await slowClient.ask(head, method !== 'HEAD');
      assert.equal(withoutDate(a), withoutDate(b), c.name);
      assert.equal(reachedFastify === before, c.fast, `${c.name}: ${c.fast ? 'answered by the fast path' : 'handed to fastify'}`);
      if (c.fast) fastAnswered++;
    }
    assert.equal(fastAnswered, 20);
    // The raw front answered the plain cases up to the first with a repeated header (node's
    // parser joins or drops those): that one handed the connection to node:http for good.
    if (raw) assert.deepEqual([h.server.rawLookup!.answered, h.server.rawLookup!.handedOff], [15, 1]);
    else assert.equal(h.server.rawLookup, null);
    // The answers are what they should be, not just equal.
    const one = withoutDate(await fastClient.ask(`GET /v1/decisions?ip=10.1.2.3 HTTP/1.1\r\nHost: x\r\nx-api-key: ${key}\r\n\r\n`, true));
    const body = one.slice(one.indexOf('\r\n\r\n') + 4);
    assert.match(one, /^HTTP\/1\.1 200 OK\r\ncontent-type: application\/json; charset=utf-8\r\ncontent-length: \d+\r\nConnection: keep-alive\r\nKeep-Alive: timeout=\d+\r\n\r\n/);
    assert.deepEqual((JSON.parse(body) as { value: string }[]).map((d) => d.value), ['10.1.0.0/16', '10.1.2.3']);
    const denied = withoutDate(await fastClient.ask('GET /v1/decisions?ip=10.1.2.3 HTTP/1.1\r\nHost: x\r\n\r\n', true));
    assert.match(denied, /^HTTP\/1\.1 403 Forbidden\r\n[^]*\r\n\r\n\{"message":"access forbidden"\}$/);
    await slowClient.ask(`GET /v1/decisions?ip=10.1.2.3 HTTP/1.1\r\nHost: x\r\nx-api-key: ${key}\r\n\r\n`, true);
    await slowClient.ask('GET /v1/decisions?ip=10.1.2.3 HTTP/1.1\r\nHost: x\r\n\r\n', true);

    // Same counters (routes, bouncers, ok/ko) and the same bookkeeping on both servers.
    const text = async (s: ApiServer) => (await s.metrics!.registry.metrics()).split('\n').filter((l) => l.startsWith('cs_lapi_')).sort().join('\n');
    const fastMetrics = await text(h.server);
    assert.equal(fastMetrics, await text(slow));
    assert.match(fastMetrics, /cs_lapi_decisions_ok_total\{bouncer="fw"\} \d+/);
    assert.match(fastMetrics, /cs_lapi_bouncer_requests_total\{bouncer="fw2",route="\/v1\/decisions",method="GET"\} 1/);
    // Bookkeeping writes are not awaited.
    const fw2 = await waitFor('fw2\'s bookkeeping', () => (h.store.refresh(), h.server.ctx.creds.getBouncer('fw2')!), (b) => b.lastPull !== 0 && b.type !== '');
    assert.deepEqual([fw2.type, fw2.version, fw2.ipAddress, fw2.lastPull], ['cs-nginx-bouncer', 'v1.0.0', '127.0.0.1', now]);
  } finally {
    for (const c of clients) c.close();
    await slow?.close();
    await h.cleanup();
  }
});

test('a decision written or deleted through the API shows on the very next fast lookup', async () => {
  const h = await harness();
  try {
    const url = (await h.server.listen()).url;
    const key = (await h.server.ctx.creds.addBouncer('fw')).key;
    const auth = { authorization: `Bearer ${await machineToken(h)}`, ...UA };
    const ask = async () => (await (await fetch(`${url}/v1/decisions?ip=198.51.100.7`, { headers: { 'X-Api-Key': key } })).json()) as { value: string }[] | null;
    assert.equal(await ask(), null);
    for (let round = 0; round < 3; round++) {
      const add = await fetch(`${url}/v1/alerts`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify([manualAlert('198.51.100.7', h.clock.t)]) });
      assert.equal(add.status, 201);
      assert.deepEqual((await ask())?.map((d) => d.value), ['198.51.100.7'], `round ${round}: visible at once`);
      const del = await fetch(`${url}/v1/decisions?ip=198.51.100.7`, { method: 'DELETE', headers: auth });
      assert.equal(await del.text(), '{"nbDeleted":"1"}');
      assert.equal(await ask(), null, `round ${round}: gone at once`);
    }
    // fetch's requests (undici: keep-alive, its usual headers) were answered by the raw front.
    assert.equal(h.server.rawLookup!.answered, 7);
  } finally {
    await h.cleanup();
  }
});
