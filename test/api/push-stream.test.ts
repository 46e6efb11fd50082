/**
 * The push stream (GET /v1/decisions/push, server-sent events) over loopback against the
 * real API server: auth, a decision added by another process arriving within a second,
 * resume with Last-Event-ID, startup snapshot, and a client that stops reading being
 * dropped with a final `resync` while a reading client gets everything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { createApiServer, type ApiServer } from '../../src/api/server.js';
import { Store } from '../../src/decisions/store.js';
import { parseDecisionQuery } from '../../src/decisions/filters.js';
import { alertFor, decisionFor, tempDir } from '../decisions/support.js';

const root = new URL('../..', import.meta.url).pathname;
const FAR = 4_000_000_000_000;

interface SseEvent { event: string; id?: string; data: string }

/** A minimal EventSource: collects parsed events; `next(pred)` waits for a matching one. */
class SseClient {
  events: SseEvent[] = [];
  status = 0;
  body = '';
  ended = false;
  res!: IncomingMessage;
  private buf = '';
  private waiters: (() => void)[] = [];
  private constructor() {}

  static open(url: string, headers: Record<string, string>, opts: { paused?: boolean } = {}): Promise<SseClient> {
    const c = new SseClient();
    return new Promise((resolve, reject) => {
      const req = request(url, { headers }, (res) => {
        c.res = res;
        c.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        if (opts.paused) res.pause();
        res.on('data', (d: string) => c.feed(d));
        res.on('end', () => { c.ended = true; c.wake(); });
        res.on('error', () => { c.ended = true; c.wake(); });
        resolve(c);
      });
      req.on('error', reject);
      req.end();
    });
  }

  private feed(d: string): void {
    if (this.status !== 200) { this.body += d; return; }
    this.buf += d;
    let i: number;
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const ev: SseEvent = { event: 'message', data: '' };
      let any = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':') || line.startsWith('retry:')) continue;
        const [k, ...rest] = line.split(': ');
        const v = rest.join(': ');
        if (k === 'event') ev.event = v;
        else if (k === 'id') ev.id = v;
        else if (k === 'data') ev.data = v;
        any = true;
      }
      if (any) this.events.push(ev);
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async until(pred: (c: SseClient) => boolean, ms = 5000, what = 'event'): Promise<void> {
    const t0 = Date.now();
    while (!pred(this)) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.events.slice(-3))}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
  }

  find(event: string, value?: string): SseEvent | undefined {
    return this.events.find((e) => e.event === event && (value === undefined || (JSON.parse(e.data) as { value: string }).value === value));
  }

  close(): void {
    this.res?.destroy();
  }
}

async function setup(pushOpts = {}): Promise<{ api: ApiServer; url: string; key: string; path: string; store: Store; done: () => Promise<void> }> {
  const { dir, cleanup } = tempDir('push');
  const path = join(dir, 's');
  const store = Store.open(path, { noSync: true });
  const api = createApiServer({ store, profiles: [], listen: '127.0.0.1:0', push: { heartbeatMs: 300, ...pushOpts } });
  const { url } = await api.listen();
  const { key } = await api.ctx.creds.addBouncer('push-test');
  return { api, url, key, path, store, done: async () => { await api.close(); await store.close(); cleanup(); } };
}

function cli(args: string[]): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((res, rej) => child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`palisade ${args.join(' ')}: exit ${code}: ${err}`)))));
}

test('auth and query errors answer like the other bouncer routes', async () => {
  const s = await setup();
  try {
    const none = await SseClient.open(`${s.url}/v1/decisions/push`, {});
    await none.until((c) => c.ended, 2000, 'end');
    assert.equal(none.status, 403);
    assert.deepEqual(JSON.parse(none.body), { message: 'access forbidden' });
    const wrong = await SseClient.open(`${s.url}/v1/decisions/push`, { 'X-Api-Key': 'f'.repeat(32) });
    await wrong.until((c) => c.ended, 2000, 'end');
    assert.equal(wrong.status, 403);
    const bad = await SseClient.open(`${s.url}/v1/decisions/push?cursor=abc`, { 'X-Api-Key': s.key });
    await bad.until((c) => c.ended, 2000, 'end');
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).message, /cursor must be a non-negative integer, got 'abc'/);
  } finally {
    await s.done();
  }
});

test('a decision added and deleted by `palisade decisions` in another process is pushed within a second; resume with Last-Event-ID', { timeout: 60_000 }, async () => {
  const s = await setup();
  try {
    const c = await SseClient.open(`${s.url}/v1/decisions/push`, { 'X-Api-Key': s.key });
    assert.equal(c.status, 200);
    assert.match(c.res.headers['content-type'] ?? '', /^text\/event-stream/);
    await c.until((x) => !!x.find('ready'));
    assert.equal(c.find('ready')!.id, '0');

    await cli(['decisions', 'add', '--ip', '203.0.113.9', '--duration', '4h', '--reason', 'push-me', '--data-dir', s.path]);
    const t0 = Date.now();
    await c.until((x) => !!x.find('new', '203.0.113.9'), 1000, 'the new decision within 1 s');
    const latency = Date.now() - t0;
    const ev = c.find('new', '203.0.113.9')!;
    const d = JSON.parse(ev.data) as Record<string, unknown>;
    assert.equal(d.scope, 'Ip');
    assert.equal(d.type, 'ban');
    assert.equal(d.origin, 'cscli');
    assert.equal(d.scenario, 'push-me');
    assert.match(String(d.duration), /^3h59m\d+(\.\d+)?s$/);
    assert.equal(typeof d.id, 'number');
    assert.ok(Number(ev.id) > 0, 'event id is the change cursor');
    assert.ok(latency < 1000, `pushed in ${latency} ms`);

    // Heartbeats keep the connection alive; not events.
    await new Promise((r) => setTimeout(r, 400));
    const firstId = ev.id!;
    c.close();

    // While disconnected: a delete (another process) and a new range (this process).
    await cli(['decisions', 'delete', '--ip', '203.0.113.9', '--data-dir', s.path]);
    await s.store.addAlerts([{ alert: alertFor('198.51.100.0/24', { scope: 'Range' }), decisions: [decisionFor('198.51.100.0/24', { scope: 'Range', until: FAR, durationMs: undefined })] }]);
    await s.store.addAlerts([{ alert: alertFor('bob', { scope: 'username' }), decisions: [decisionFor('bob', { scope: 'username', until: FAR, durationMs: undefined })] }]);

    const r = await SseClient.open(`${s.url}/v1/decisions/push?cursor=0`, { 'X-Api-Key': s.key, 'Last-Event-ID': firstId });
    await r.until((x) => !!x.find('ready'));
    const kinds = r.events.map((e) => `${e.event}:${e.event === 'ready' ? '' : (JSON.parse(e.data) as { value: string }).value}`);
    // Only what followed firstId (the header wins over ?cursor=0); scopes default to ip,range.
    assert.deepEqual(kinds, ['deleted:203.0.113.9', 'new:198.51.100.0/24', 'ready:']);
    const ids = r.events.map((e) => Number(e.id));
    assert.ok(ids[0]! > Number(firstId) && ids[1]! > ids[0]!, 'ids increase');
    assert.match((JSON.parse(r.events[0]!.data) as { duration: string }).duration, /^-/, 'deleted: negative duration');
    assert.equal(r.find('ready')!.id, String(s.store.changeCursor()));
    r.close();

    // startup=true: the active decisions as `new`, then ready; scopes honoured.
    const st = await SseClient.open(`${s.url}/v1/decisions/push?startup=true&scopes=ip,range,username`, { 'X-Api-Key': s.key });
    await st.until((x) => !!x.find('ready'));
    assert.deepEqual(st.events.filter((e) => e.event === 'new').map((e) => (JSON.parse(e.data) as { value: string }).value).sort(), ['198.51.100.0/24', 'bob']);
    // A cursor the store never reached: told to resync.
    const ahead = await SseClient.open(`${s.url}/v1/decisions/push?cursor=999999`, { 'X-Api-Key': s.key });
    await ahead.until((x) => x.ended, 3000, 'end');
    assert.equal(ahead.events.at(-1)!.event, 'resync');
    st.close();
  } finally {
    await s.done();
  }
});

test('a burst reaches a reading client through backpressure; a client that stops reading is dropped with a final resync', { timeout: 60_000 }, async () => {
  const s = await setup({ stallMs: 1000, dropGraceMs: 10_000 });
  try {
    const fast = await SseClient.open(`${s.url}/v1/decisions/push`, { 'X-Api-Key': s.key });
    const slow = await SseClient.open(`${s.url}/v1/decisions/push`, { 'X-Api-Key': s.key }, { paused: true });
    await fast.until((x) => !!x.find('ready'));
    const N = 30_000;
    const values = Array.from({ length: N }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    await s.store.addAlerts([{ alert: alertFor('10.0.0.0'), decisions: values.map((v) => decisionFor(v, { until: FAR, durationMs: undefined })) }]);
    await fast.until((x) => x.events.filter((e) => e.event === 'new').length === N, 30_000, `${N} events on the reading client`);
    const got = fast.events.filter((e) => e.event === 'new').map((e) => Number(e.id));
    assert.equal(new Set(got).size, N, 'no duplicates');
    assert.ok(got.every((id, i) => i === 0 || id > got[i - 1]!), 'in change order');
    const t0 = Date.now();
    while (s.api.push!.stats.dropped === 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.api.push!.stats.dropped, 1, 'exactly the stalled client was dropped');
    assert.equal(s.api.push!.size, 1);
    slow.res.resume();
    await slow.until((x) => x.ended, 10_000, 'the slow client to reach the end');
    const last = slow.events.at(-1)!;
    assert.equal(last.event, 'resync');
    assert.deepEqual(JSON.parse(last.data), { reason: 'client too slow' });
    assert.ok(slow.events.filter((e) => e.event === 'new').length < N, 'the slow client did not get everything');
    assert.equal(fast.ended, false);
    fast.close();
  } finally {
    await s.done();
  }
});

test('GET /v1/decisions?ip= is answered by the active set, with the same result as the store', { timeout: 60_000 }, async () => {
  const s = await setup();
  try {
    const set = s.api.ctx.activeSet!;
    assert.ok(set.ready, 'loaded at listen');
    let calls = 0;
    const orig = set.lookup.bind(set);
    set.lookup = (f, now) => { const r = orig(f, now); if (r) calls++; return r; };
    // Plain `?ip=` lookups take the set's address lookup (which uses lookup only for a CIDR or an invalid address).
    const origAddr = set.lookupAddress.bind(set);
    set.lookupAddress = (ip, now, ex) => { const r = origAddr(ip, now, ex); if (r && !ip.includes('/')) calls++; return r; };
    await s.store.addAlerts([
      { alert: alertFor('192.0.2.0/24', { scope: 'Range' }), decisions: [decisionFor('192.0.2.0/24', { scope: 'Range', until: FAR, durationMs: undefined })] },
      { alert: alertFor('192.0.2.5'), decisions: [decisionFor('192.0.2.5', { until: FAR, durationMs: undefined, type: 'captcha' })] },
      { alert: alertFor('2001:db8::1'), decisions: [decisionFor('2001:db8::1', { until: FAR, durationMs: undefined })] },
    ]);
    const ask = async (q: string) => {
      const res = await fetch(`${s.url}/v1/decisions?${q}`, { headers: { 'X-Api-Key': s.key } });
      assert.equal(res.status, 200);
      return (await res.json()) as { value: string; type: string }[] | null;
    };
    // Written just now in this process and announced as the API's write routes do: visible at
    // once (the lookup catches up with the change log). Unannounced, within the set's checkMs.
    set.invalidate();
    assert.deepEqual((await ask('ip=192.0.2.5'))!.map((d) => `${d.type}:${d.value}`), ['ban:192.0.2.0/24', 'captcha:192.0.2.5']);
    assert.deepEqual((await ask('ip=192.0.2.5&type=captcha'))!.map((d) => d.value), ['192.0.2.5']);
    assert.deepEqual((await ask('ip=2001:db8::1'))!.map((d) => d.value), ['2001:db8::1']);
    assert.equal(await ask('ip=198.51.100.1'), null);
    assert.deepEqual((await ask('range=192.0.2.0/24&contains=false'))!.map((d) => d.value), ['192.0.2.0/24', '192.0.2.5']);
    assert.equal(calls, 5, 'every address query went through the set');
    for (const q of ['ip=192.0.2.5', 'ip=192.0.2.5&type=captcha', 'ip=2001:db8::1', 'range=192.0.2.0/24&contains=false']) {
      const store = s.store.listDecisions(parseDecisionQuery(new URLSearchParams(q))).map((d) => d.value);
      assert.deepEqual((await ask(q))!.map((d) => d.value), store.length ? store : null, q);
    }
    const bad = await fetch(`${s.url}/v1/decisions?ip=999.1.1.1`, { headers: { 'X-Api-Key': s.key } });
    assert.equal(bad.status, 500);
    assert.deepEqual(await bad.json(), { message: "invalid ip address / range '999.1.1.1'" });
    // Deleted through the store (as DELETE /v1/decisions does): gone from the next lookup.
    await s.store.deleteDecisions({ ip: '192.0.2.5', type: 'captcha' });
    set.invalidate();
    assert.deepEqual((await ask('ip=192.0.2.5'))!.map((d) => d.value), ['192.0.2.0/24']);
  } finally {
    await s.done();
  }
});
