/**
 * The Local API's per-request savings: bouncers authenticated from an in-memory cache
 * (still hashed and compared in constant time, refused from the next request once deleted,
 * even by another process), the `?ip=` hot path written without the schema serializer
 * (same bytes as the general path), and last-pull bookkeeping written at most once a
 * minute instead of once per request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BouncerKeyCache } from '../../src/api/auth/bouncer-cache.js';
import { hashApiKey, hexDigestsEqual } from '../../src/api/auth/api-keys.js';
import { Credentials } from '../../src/api/credentials.js';
import { alertFor, decisionFor } from '../decisions/support.js';
import { Store } from '../../src/decisions/store.js';
import { harness, waitFor, type Harness } from './support.js';

const root = new URL('../..', import.meta.url).pathname;

function cli(args: string[]): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((res, rej) => child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`palisade ${args.join(' ')}: exit ${code}: ${err}`)))));
}

test('cache: a valid key is re-read only when the credentials counter moves (or after maxAgeMs); wrong keys are never cached', async () => {
  const h = await harness();
  try {
    const creds = h.server.ctx.creds;
    const { key } = await creds.addBouncer('fw');
    let t = 0;
    let refreshes = 0;
    const cache = new BouncerKeyCache(creds, () => refreshes++, { clock: () => t });
    for (let i = 0; i < 100; i++) assert.equal(cache.find(key)?.name, 'fw');
    assert.equal(cache.storeReads, 1, 'one store read for 100 lookups');
    assert.equal(refreshes, 1, 'the store read is done on a fresh snapshot');
    // Writes that change no credential leave the counter and the cache alone: bookkeeping
    // (last pull, user agent, heartbeat, last push) and decisions.
    const c0 = creds.changeCursor();
    await creds.touchBouncer('fw', { lastPull: 1, type: 'x', version: 'y' });
    await creds.addMachine('agent', 'pw', { validated: false });
    const c1 = creds.changeCursor();
    assert.equal(c1, c0 + 1, 'adding a machine is a credential change');
    await creds.updateMachine('agent', { lastHeartbeat: 5, lastPush: 6, scenarios: 'a,b', ipAddress: '1.2.3.4', version: 'v1' });
    await h.store.addAlerts([{ alert: alertFor('192.0.2.1'), decisions: [decisionFor('192.0.2.1')] }]);
    assert.equal(creds.changeCursor(), c1, 'bookkeeping and decision writes do not move the counter');
    // Every credential write does: validation, password, deletion, bouncers added / deleted.
    await creds.validateMachine('agent');
    assert.equal(creds.changeCursor(), c1 + 1);
    await creds.addMachine('agent', 'pw2', { validated: true, force: true });
    await creds.deleteMachine('agent');
    assert.equal(await creds.deleteMachine('agent'), false);
    assert.equal(creds.changeCursor(), c1 + 3, 'a delete of nothing changes nothing');
    t = 59_999;
    cache.find(key);
    assert.equal(cache.storeReads, 2, 'the moved counter made the entry re-read its record once');
    for (let i = 0; i < 10; i++) cache.find(key);
    assert.equal(cache.storeReads, 2);
    t = 59_999 + 60_000;
    assert.equal(cache.find(key)?.name, 'fw');
    assert.equal(cache.storeReads, 3, 'revalidated after maxAgeMs (backstop) even with a still counter');
    // Wrong keys: refused, each asks the store, none is remembered.
    // Same length as the real key, never equal to it ('z' is not a hex digit).
    for (let i = 0; i < 50; i++) assert.equal(cache.find(key.slice(0, -3) + 'z' + String(i).padStart(2, '0')), undefined);
    assert.equal(cache.storeReads, 53);
    assert.equal(cache.size, 1);
    assert.equal(cache.find(''), undefined);
    // A TLS bouncer has no key hash: no key matches it.
    await creds.addBouncer('cert@127.0.0.1', { authType: 'tls' });
    assert.equal(cache.size, 1);
  } finally {
    await h.cleanup();
  }
});

test('cache: the credentials counter is checked at most once per cursorEveryMs (read only when LMDB\'s transaction id moved), and read after every write through this process', async () => {
  const h = await harness();
  const other = Store.open(h.dir, { noSync: true }); // stands for another process
  try {
    const creds = h.server.ctx.creds;
    const { key } = await creds.addBouncer('fw');
    let t = 1000;
    const cache = new BouncerKeyCache(creds, () => h.store.refresh(), { clock: () => t });
    assert.equal(cache.find(key)?.name, 'fw');
    const r0 = cache.cursorReads;
    for (let i = 0; i < 20; i++) assert.equal(cache.find(key)?.name, 'fw');
    assert.equal(cache.cursorReads, r0, 'no counter read within the same millisecond');
    t += 1;
    const c0 = cache.txnChecks;
    cache.find(key);
    assert.equal(cache.cursorReads, r0, 'once cursorEveryMs passed, no commit since: the transaction id alone answers');
    assert.equal(cache.txnChecks, c0 + 1);
    for (let i = 0; i < 20; i++) cache.find(key);
    assert.equal(cache.txnChecks, c0 + 1, 'no check within the same millisecond');
    // Another process commits something (not a credential): the id moved, the counter is read, the entry stands.
    await other.addAlerts([{ alert: alertFor('192.0.2.9'), decisions: [decisionFor('192.0.2.9')] }]);
    t += 1;
    assert.equal(cache.find(key)?.name, 'fw');
    assert.equal(cache.cursorReads, r0 + 1, 'read again once the transaction id moved');
    const s0 = cache.storeReads;
    t += 1;
    cache.find(key);
    assert.equal(cache.cursorReads, r0 + 1, 'and not again while it stands');
    assert.equal(cache.storeReads, s0, 'the counter did not move: no record re-read');
    // A write transaction through this process's store (even one that moves no credential) forces a read.
    await h.store.addAlerts([{ alert: alertFor('192.0.2.1'), decisions: [decisionFor('192.0.2.1')] }]);
    cache.find(key);
    assert.equal(cache.cursorReads, r0 + 2, 'read again after a local write, same millisecond');
    // Revoked through this process: refused on the very next lookup, clock unchanged.
    await creds.deleteBouncer('fw');
    await creds.addBouncer('fw', { key: 'another-key-0123456789abcdef0123' });
    assert.equal(cache.find(key), undefined, 'a local re-key is seen at once');
    const { key: k2 } = await creds.addBouncer('fw2');
    assert.equal(cache.find(k2)?.name, 'fw2');
    // Another process's deletion: seen as soon as the counter is read again (1 ms later at most).
    assert.equal(await new Credentials(other).deleteBouncer('fw2'), true);
    h.store.refresh();
    assert.equal(cache.find(k2)?.name, 'fw2', 'within the same millisecond the last counter read stands');
    t += 1;
    assert.equal(cache.find(k2), undefined, 'refused once the counter is read again');
    // cursorEveryMs 0: a read on every lookup.
    const { key: k3 } = await creds.addBouncer('fw3');
    const every = new BouncerKeyCache(creds, () => h.store.refresh(), { clock: () => t, cursorEveryMs: 0 });
    every.find(k3);
    const e0 = every.cursorReads;
    for (let i = 0; i < 5; i++) every.find(k3);
    assert.equal(every.cursorReads, e0 + 5);
  } finally {
    await other.close();
    await h.cleanup();
  }
});

test('cache: findOn remembers each connection\'s last key and hash, and never lets one key stand for another', async () => {
  const h = await harness();
  try {
    const creds = h.server.ctx.creds;
    const { key: a } = await creds.addBouncer('a');
    const { key: b } = await creds.addBouncer('b');
    const cache = new BouncerKeyCache(creds, () => h.store.refresh());
    const conn1 = {};
    const conn2 = {};
    for (let i = 0; i < 3; i++) {
      assert.equal(cache.findOn(conn1, a)?.name, 'a');
      assert.equal(cache.findOn(conn2, b)?.name, 'b');
    }
    // Same connection, other keys: a different valid key, a wrong key of the same length, a
    // prefix, an empty key, then the first key again.
    assert.equal(cache.findOn(conn1, b)?.name, 'b');
    assert.equal(cache.findOn(conn1, a.slice(0, -1) + (a.endsWith('0') ? '1' : '0')), undefined);
    assert.equal(cache.findOn(conn1, a.slice(0, 8)), undefined);
    assert.equal(cache.findOn(conn1, ''), undefined);
    assert.equal(cache.findOn(conn1, a)?.name, 'a');
    // Without a connection object the key is simply hashed.
    assert.equal(cache.findOn(undefined, b)?.name, 'b');
    assert.equal(cache.findOn(null, 'nope'), undefined);
    // A remembered key is still checked against the store's state: deleted, it is refused.
    await creds.deleteBouncer('a');
    assert.equal(cache.findOn(conn1, a), undefined);
    assert.equal(cache.findOn(conn2, b)?.name, 'b');
  } finally {
    await h.cleanup();
  }
});

test('hexDigestsEqual: equal only for identical strings, whatever the lengths', () => {
  const d = hashApiKey('k');
  assert.equal(hexDigestsEqual(d, d.slice()), true);
  assert.equal(hexDigestsEqual(d, hashApiKey('k2')), false);
  assert.equal(hexDigestsEqual(d, d.slice(0, -1) + (d.endsWith('0') ? '1' : '0')), false);
  assert.equal(hexDigestsEqual(d, d.slice(0, 64)), false, 'a prefix is not equal');
  assert.equal(hexDigestsEqual(d.slice(0, 64), d), false);
  assert.equal(hexDigestsEqual(d, d + d), false, 'a repetition is not equal');
  assert.equal(hexDigestsEqual(d, ''), false);
  assert.equal(hexDigestsEqual('', ''), true);
  assert.equal(hexDigestsEqual('', d), false);
});

test('cache: deleting through this process refuses the key at once; size is bounded', async () => {
  const h = await harness();
  try {
    const creds = h.server.ctx.creds;
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) keys.push((await creds.addBouncer(`fw${i}`)).key);
    const cache = new BouncerKeyCache(creds, () => {}, { maxAgeMs: 60_000, maxEntries: 2 });
    for (const k of keys) assert.ok(cache.find(k));
    assert.equal(cache.size, 2, 'the oldest entry was dropped');
    for (const k of keys) assert.ok(cache.find(k), 'an evicted bouncer still authenticates (from the store)');
    assert.ok(cache.find(keys[2]!));
    assert.equal(await creds.deleteBouncer('fw2'), true);
    assert.equal(cache.find(keys[2]!), undefined, 'refused at once despite the 60 s revalidation period');
    // Another Credentials instance on the same store (no notification): the counter tells.
    const other = new Credentials(h.store);
    const { key } = await other.addBouncer('late');
    assert.equal(cache.find(key)?.name, 'late');
    assert.ok(cache.find(keys[0]!));
    assert.equal(await other.deleteBouncer('fw0'), true);
    assert.equal(cache.find(keys[0]!), undefined, 'deleted through another Credentials: refused at once');
  } finally {
    await h.cleanup();
  }
});

test('a bouncer deleted through a second Store on the same directory is refused from the next request; a re-added one works', async () => {
  const h = await harness();
  const other = Store.open(h.dir, { noSync: true }); // stands for another process
  try {
    const creds = new Credentials(other);
    const { key } = await creds.addBouncer('fw');
    const ask = async (k: string) => (await h.server.app.inject({ url: '/v1/decisions?ip=1.2.3.4', headers: { 'x-api-key': k } })).statusCode;
    const reads = () => h.server.ctx.bouncers.storeReads;
    assert.equal(await ask(key), 200);
    const r0 = reads();
    for (let i = 0; i < 20; i++) assert.equal(await ask(key), 200);
    assert.equal(reads(), r0, 'answered from the cache');
    // Unrelated writes in the other store (bookkeeping, decisions) keep the cache.
    await creds.touchBouncer('fw', { lastPull: 1 });
    await other.addAlerts([{ alert: alertFor('192.0.2.1'), decisions: [decisionFor('192.0.2.1')] }]);
    await new Promise((r) => setTimeout(r, 1)); // one event-loop turn: lmdb-js renews its read snapshot
    assert.equal(await ask(key), 200);
    assert.equal(reads(), r0, 'no re-read after writes that change no credential');
    assert.equal(await creds.deleteBouncer('fw'), true);
    await new Promise((r) => setTimeout(r, 1));
    assert.equal(await ask(key), 403, 'the first request after the commit is refused');
    // Re-added under the same name with a new key: the new key works, the old one stays refused.
    const { key: key2 } = await creds.addBouncer('fw');
    await new Promise((r) => setTimeout(r, 1));
    assert.equal(await ask(key2), 200);
    assert.equal(await ask(key), 403);
    // Re-added with the old key: it works again.
    await creds.deleteBouncer('fw');
    await creds.addBouncer('fw', { key });
    await new Promise((r) => setTimeout(r, 1));
    assert.equal(await ask(key), 200);
    assert.equal(await ask(key2), 403);
  } finally {
    await other.close();
    await h.cleanup();
  }
});

test('a bouncer deleted by another process (palisade bouncers delete) is refused from its next request', { timeout: 60_000 }, async () => {
  const h = await harness({ realClock: true });
  try {
    const { url } = await h.server.listen();
    const { key } = await h.server.ctx.creds.addBouncer('fw');
    const status = async () => (await fetch(`${url}/v1/decisions?ip=1.2.3.4`, { headers: { 'X-Api-Key': key } })).status;
    // Warm the cache: these are answered from memory.
    const before = h.server.ctx.bouncers.storeReads;
    for (let i = 0; i < 50; i++) assert.equal(await status(), 200);
    assert.ok(h.server.ctx.bouncers.storeReads - before <= 3, `cached: ${h.server.ctx.bouncers.storeReads - before} store reads for 50 requests`);
    // Keep asking (so the cache stays warm) while the CLI deletes; note when the deletion is
    // visible in the store and when the API first refuses the key.
    const deletion = cli(['bouncers', 'delete', 'fw', '--data-dir', h.dir]);
    let cliDone = false;
    void deletion.then(() => (cliDone = true), () => (cliDone = true));
    let goneAt = -1, refusedAt = -1, acceptedWhileGone = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 30_000 && (refusedAt < 0 || !cliDone)) {
      const code = await status();
      const now = performance.now();
      h.store.refresh();
      if (goneAt < 0 && h.server.ctx.creds.getBouncer('fw') === undefined) goneAt = now;
      if (code === 200 && goneAt >= 0) acceptedWhileGone++;
      if (code === 403 && refusedAt < 0) refusedAt = now;
      await new Promise((r) => setTimeout(r, 10));
    }
    await deletion;
    assert.ok(goneAt >= 0 && refusedAt >= 0, `deletion seen: ${goneAt >= 0}, refused: ${refusedAt >= 0}`);
    // goneAt is noted after a request, so that request may have been answered before the
    // commit; every later one must be refused (the key cache checks the credentials counter
    // per request), which bounds the delay by one request, whatever the load.
    assert.ok(acceptedWhileGone <= 1, `${acceptedWhileGone} requests accepted after the deletion was seen (${(refusedAt - goneAt).toFixed(0)} ms)`);
    for (let i = 0; i < 5; i++) assert.equal(await status(), 403, 'and it stays refused');
  } finally {
    await h.cleanup();
  }
});

interface Answer { status: number; type: string | undefined; body: string }

test('GET /v1/decisions?ip= hot path writes the same bytes as the general path (hits, misses, errors, odd strings)', async () => {
  const h = await harness();
  try {
    const now = h.clock.t;
    const odd = 'odd "quoted" \\ back\tslash \u0001 ctrl </script> é ü 中文 😀 \u2028';
    await h.store.addAlerts([
      { alert: alertFor('10.1.0.0/16', { scope: 'Range', stopAt: now }), decisions: [decisionFor('10.1.0.0/16', { scope: 'Range', durationMs: 3_600_000 })] },
      { alert: alertFor('10.1.2.3', { stopAt: now }), decisions: [decisionFor('10.1.2.3', { scenario: odd, durationMs: 7_200_500 })] },
      { alert: alertFor('2001:db8::/64', { scope: 'Range', stopAt: now }), decisions: [decisionFor('2001:db8::/64', { scope: 'Range', type: 'captcha', origin: 'CAPI' })] },
      { alert: alertFor('2001:db8::9', { stopAt: now }), decisions: [decisionFor('2001:db8::9', { scenario: '\ud800 lone surrogate' })] },
      { alert: alertFor('10.9.9.9', { simulated: true, stopAt: now }), decisions: [decisionFor('10.9.9.9', { simulated: true })] },
    ], now);
    await h.server.listen(); // loads the active set: the hot path needs it
    assert.equal(h.server.ctx.activeSet?.ready, true);
    const key = (await h.server.ctx.creds.addBouncer('fw')).key;
    const get = async (q: string): Promise<Answer> => {
      const r = await h.server.app.inject({ url: `/v1/decisions?${q}`, headers: { 'x-api-key': key } });
      return { status: r.statusCode, type: r.headers['content-type'] as string | undefined, body: r.body };
    };
    const cases = ['10.1.2.3', '10.1.9.9', '10.2.0.1', '2001:db8::9', '2001:db8::1', '2001:db9::1', '::ffff:10.1.2.3', '10.1.2.0/24', '10.9.9.9',
      '10.1.2.300', '01.1.2.3', 'x', '2001:db8::zz', '1.2.3.0/33', '%20 10.1.2.3'];
    let hits = 0;
    for (const ip of cases) {
      const q = `ip=${encodeURIComponent(ip)}`;
      const hot = await get(q);
      // `contains=true` is the default: the same question through the general path and the schema serializer.
      const general = await get(`${q}&contains=true`);
      assert.deepEqual(hot, general, `ip=${ip}`);
      if (hot.status === 200 && hot.body !== 'null') hits++;
    }
    assert.equal(hits, 6, 'the cases cover hits, multi-decision answers, misses and a simulated-only address');
    // Later, every hit again: the memo of the text after the duration (listBody) is reused,
    // the duration is not.
    h.clock.advance(61_001);
    for (const ip of cases) {
      const q = `ip=${encodeURIComponent(ip)}`;
      assert.deepEqual(await get(q), await get(`${q}&contains=true`), `ip=${ip}, 61 s later`);
    }
    assert.equal((JSON.parse((await get('ip=10.1.2.3')).body) as { duration: string }[])[1]!.duration, '1h58m59.499s');
    h.clock.advance(-61_001);
    const two = JSON.parse((await get('ip=10.1.2.3')).body) as { value: string; scenario: string; duration: string }[];
    assert.deepEqual(two.map((d) => d.value), ['10.1.0.0/16', '10.1.2.3']);
    assert.equal(two[1]!.scenario, odd);
    assert.equal(two[1]!.duration, '2h0m0.5s');
    assert.equal((await get('ip=10.2.0.1')).body, 'null');
    assert.deepEqual(await get('ip=10.1.2.300'), { status: 500, type: 'application/json; charset=utf-8', body: `{"message":"invalid ip address / range '10.1.2.300'"}` });
  } finally {
    await h.cleanup();
  }
});

test('lookups write last_pull at most once a minute, and bouncer ip / user agent only when they change', async () => {
  const h: Harness = await harness();
  try {
    await h.server.listen();
    const creds = h.server.ctx.creds;
    const key = (await creds.addBouncer('fw')).key;
    const writes: Record<string, unknown>[] = [];
    const touch = creds.touchBouncer.bind(creds);
    creds.touchBouncer = (name, patch, now) => {
      writes.push({ ...patch });
      return touch(name, patch, now);
    };
    const ua = { 'x-api-key': key, 'user-agent': 'cs-firewall-bouncer/v0.0.25' };
    const t0 = h.clock.t;
    for (let i = 0; i < 50; i++) {
      const r = await h.server.app.inject({ url: '/v1/decisions?ip=1.2.3.4', headers: ua });
      assert.equal(r.statusCode, 200);
      h.clock.advance(100); // 5 s in all
    }
    assert.deepEqual(writes, [{ ipAddress: '127.0.0.1', type: 'cs-firewall-bouncer', version: 'v0.0.25' }, { lastPull: t0 }]);
    h.clock.advance(60_000);
    await h.server.app.inject({ url: '/v1/decisions?ip=1.2.3.4', headers: ua });
    await h.server.app.inject({ url: '/v1/decisions?ip=1.2.3.4', headers: { ...ua, 'user-agent': 'cs-firewall-bouncer/v0.0.26' } });
    assert.deepEqual(writes.slice(2), [{ lastPull: h.clock.t }, { ipAddress: '127.0.0.1', type: 'cs-firewall-bouncer', version: 'v0.0.26' }]);
    // The writes are not awaited by the route.
    const b = await waitFor('fw\'s last_pull and user agent', () => creds.getBouncer('fw')!, (x) => x.lastPull === h.clock.t && x.version === 'v0.0.26');
    assert.equal(b.lastPull, h.clock.t);
    assert.equal(b.version, 'v0.0.26');
    // A stream pull reads the bouncer's pull state fresh, then lookups do not re-write it.
    const s = await h.server.app.inject({ url: '/v1/decisions/stream?startup=true', headers: ua });
    assert.equal(s.statusCode, 200);
    const n = writes.length;
    await h.server.app.inject({ url: '/v1/decisions?ip=1.2.3.4', headers: ua });
    assert.equal(writes.length, n);
  } finally {
    await h.cleanup();
  }
});
