/**
 * Security points of issue 5: secrets never stored in clear (read the LMDB file itself),
 * body size limit (413, also after gzip inflation), hostile input handled as data, and a
 * brute force of bouncer keys that learns nothing from response times.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { hashApiKey } from '../../src/api/auth/api-keys.js';
import { bouncerKey, harness, machineToken, manualAlert, UA } from './support.js';

test('API keys and machine passwords are not stored in clear (LMDB file inspected)', async () => {
  const h = await harness();
  const key = 'Kx9-very-recognisable-api-key-000111';
  const password = 'Pw-very-recognisable-password-222333';
  await h.server.ctx.creds.addBouncer('fw', { key });
  const generated = await bouncerKey(h, 'fw2');
  await h.server.ctx.creds.addMachine('m-op', password, { validated: true });
  const reg = await h.server.app.inject({ method: 'POST', url: '/v1/watchers', payload: { machine_id: 'm-http', password: password + 'X' } });
  assert.equal(reg.statusCode, 201);
  // the stored forms work for authentication...
  assert.equal((await h.server.app.inject({ url: '/v1/decisions', headers: { 'x-api-key': key } })).statusCode, 200);
  assert.equal((await h.server.app.inject({ url: '/v1/decisions', headers: { 'x-api-key': generated } })).statusCode, 200);
  const login = await h.server.app.inject({ method: 'POST', url: '/v1/watchers/login', headers: UA, payload: { machine_id: 'm-op', password } });
  assert.equal(login.statusCode, 200);
  const dir = h.dir;
  await h.server.close();
  await h.store.close();
  // ...and the file holds only hashes.
  const db = readFileSync(join(dir, 'data.mdb'));
  const has = (s: string) => db.includes(Buffer.from(s, 'utf8'));
  assert.equal(has(hashApiKey(key)), true, 'the SHA-512 of the key is what is stored');
  assert.equal(has(hashApiKey(generated)), true);
  assert.equal(has('$scrypt$N=16384'), true);
  for (const secret of [key, generated, password, password + 'X']) {
    assert.equal(has(secret), false, `secret found in clear: ${secret}`);
    assert.equal(has(secret.slice(0, 16)), false);
  }
  await h.cleanup().catch(() => {});
});

test('request bodies are size-limited: 413 for raw and for inflated gzip bodies; gzip bodies accepted', async () => {
  const h = await harness({ bodyLimit: 64 * 1024 });
  try {
    const app = h.server.app;
    const auth = { authorization: `Bearer ${await machineToken(h)}` };
    const now = h.clock.t;
    const big = JSON.stringify([{ ...manualAlert('1.2.3.4', now), message: 'x'.repeat(70 * 1024) }]);
    const r = await app.inject({ method: 'POST', url: '/v1/alerts', headers: { ...auth, 'content-type': 'application/json' }, payload: big });
    assert.equal(r.statusCode, 413);
    assert.match(r.body, /^\{"message":"request body is too large/);
    const bomb = gzipSync(Buffer.from(big)); // ~ 100 bytes compressed, 70 KiB inflated
    assert.ok(bomb.length < 2048);
    const rb = await app.inject({ method: 'POST', url: '/v1/alerts', headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: bomb });
    assert.equal(rb.statusCode, 413);
    const small = gzipSync(Buffer.from(JSON.stringify([manualAlert('1.2.3.4', now)])));
    const ok = await app.inject({ method: 'POST', url: '/v1/alerts', headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: small });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.body, '["1"]');
    const br = await app.inject({ method: 'POST', url: '/v1/alerts', headers: { ...auth, 'content-encoding': 'br' }, payload: small });
    assert.equal(br.statusCode, 415);
    assert.equal(h.store.listAlerts({}).length, 1);
  } finally {
    await h.cleanup();
  }
});

test('hostile values are data: stored and returned verbatim, no prototype pollution, odd filters rejected', async () => {
  const h = await harness();
  try {
    const app = h.server.app;
    const auth = { authorization: `Bearer ${await machineToken(h)}` };
    const key = await bouncerKey(h);
    const now = h.clock.t;
    const evil = `'; DROP TABLE decisions; -- $(rm -rf /) \`id\` \u0000 "quoted" <script>`;
    const body = `[${JSON.stringify({ ...manualAlert(evil, now, { scope: 'Username' }) }).replace(/^\{/, '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},')}]`;
    const r = await app.inject({ method: 'POST', url: '/v1/alerts', headers: { ...auth, 'content-type': 'application/json' }, payload: body });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const list = JSON.parse((await app.inject({ url: `/v1/decisions?scopes=Username&value=${encodeURIComponent(evil)}`, headers: { 'x-api-key': key } })).body) as { value: string }[];
    assert.equal(list.length, 1);
    assert.equal(list[0]!.value, evil);
    for (const q of ['__proto__=1', 'constructor=x', 'toString=y']) {
      const a = await app.inject({ url: `/v1/alerts?${q}`, headers: auth });
      assert.equal(a.statusCode, 500);
      assert.match(a.body, /invalid filter/);
    }
    assert.equal((await app.inject({ url: '/v1/decisions?__proto__=1', headers: { 'x-api-key': key } })).statusCode, 200);
  } finally {
    await h.cleanup();
  }
});

/** Trimmed sample (drop the slowest and fastest 10%): scheduler hiccups are not the server. */
function trimmed(xs: number[]): number[] {
  const s = [...xs].sort((a, b) => a - b);
  const cut = Math.floor(s.length * 0.1);
  return s.slice(cut, s.length - cut);
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]) => {
  const m = mean(xs);
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
};

test('brute force of bouncer keys: refused, and response time does not depend on shared prefix length', async () => {
  const h = await harness({ realClock: true, metrics: false });
  const { url } = await h.server.listen();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const real = await bouncerKey(h);
    const hex = '0123456789abcdef';
    const flip = (c: string) => hex[(hex.indexOf(c) + 1 + Math.floor(Math.random() * 15)) % 16]!;
    const randomKey = (shared: number) => {
      let k = real.slice(0, shared) + flip(real[shared]!);
      while (k.length < real.length) k += hex[Math.floor(Math.random() * 16)]!;
      return k;
    };
    const once = (key: string) =>
      new Promise<number>((resolve, reject) => {
        const t = process.hrtime.bigint();
        const req = request(`${url}/v1/decisions?ip=1.2.3.4`, { agent, headers: { 'x-api-key': key } }, (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== 403) reject(new Error(`expected 403, got ${res.statusCode}`));
            else resolve(Number(process.hrtime.bigint() - t) / 1000);
          });
        });
        req.on('error', reject);
        req.end();
      });
    // sanity: the real key works over the same connection
    const ok = await new Promise<number>((resolve) => request(`${url}/v1/decisions`, { agent, headers: { 'x-api-key': real } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).end());
    assert.equal(ok, 200);

    const measure = async (rounds: number) => {
      const far: number[] = [], near: number[] = [];
      for (let i = 0; i < 100; i++) await once(randomKey(i % 32)); // warm-up
      for (let i = 0; i < rounds; i++) {
        // interleaved, in random order, so drift and load bursts hit both groups alike
        if (Math.random() < 0.5) { far.push(await once(randomKey(0))); near.push(await once(randomKey(31))); }
        else { near.push(await once(randomKey(31))); far.push(await once(randomKey(0))); }
      }
      const a = trimmed(far), b = trimmed(near);
      const diff = mean(b) - mean(a);
      const se = Math.sqrt(variance(a) / a.length + variance(b) / b.length);
      return { diff, se, meanFar: mean(a), meanNear: mean(b) };
    };
    // Bound: |difference of trimmed means| within 4 standard errors (two-sided p ~ 6e-5 under
    // "no leak") or below 1% of a request's time, whichever is larger. Two independent runs
    // must both exceed it to fail: a burst of load from other processes is not a leak.
    let last;
    for (let attempt = 0; attempt < 2; attempt++) {
      last = await measure(600);
      const bound = Math.max(4 * last.se, 0.01 * last.meanFar);
      if (Math.abs(last.diff) <= bound) break;
      if (attempt === 1) assert.fail(`timing differs by ${last.diff.toFixed(2)}µs (bound ${bound.toFixed(2)}µs): ${JSON.stringify(last)}`);
    }
    assert.ok(last && last.meanFar > 0);
  } finally {
    agent.destroy();
    await h.cleanup();
  }
});
