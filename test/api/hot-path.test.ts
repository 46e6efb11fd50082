/**
 * Pieces of the `?ip=` hot path that keep per-request allocation down, and the LAPI
 * benchmark's load generator that measures it (bench/lib/paced-client.ts):
 * - splitUserAgent remembers its last answer; alternating and malformed agents still get
 *   their own answers.
 * - the paced client frames answers of every shape (split anywhere across reads, with and
 *   without bodies, any header case) and counts statuses, requests and errors exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer, type Socket } from 'node:net';
import { splitUserAgent } from '../../src/api/auth/hooks.js';
import { pacedLoad } from '../../bench/lib/paced-client.js';

test('splitUserAgent: the memo answers each agent as a fresh split would', () => {
  const seq = ['crowdsec-firewall-bouncer/v0.0.25', 'crowdsec-firewall-bouncer/v0.0.25', 'a/b/c', 'cs-nginx/1.0', undefined, '', 'cs-nginx/1.0', 'noslash', 'crowdsec-firewall-bouncer/v0.0.25'];
  for (const ua of seq) {
    const parts = ua ? ua.split('/') : [];
    const want = ua && parts.length === 2 ? { type: parts[0], version: parts[1] } : null;
    assert.deepEqual(splitUserAgent(ua), want, String(ua));
  }
  const a = splitUserAgent('x/1');
  assert.equal(splitUserAgent('x/1'), a, 'same agent twice: the remembered answer');
  assert.ok(Object.isFrozen(a), 'the shared answer cannot be changed by a caller');
});

test('paced client: frames answers split across reads, counts statuses and requests', async () => {
  // A raw server answering each request with a varying shape, written in small pieces.
  let served = 0;
  const answers = [
    'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4\r\n\r\nnull',
    'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nDate: x\r\n\r\n',
    'HTTP/1.1 403 Forbidden\r\nCONTENT-LENGTH: 25\r\n\r\n{"message":"access forb"}',
    `HTTP/1.1 200 OK\r\nx-content-length: 7\r\ncontent-length: 3000\r\n\r\n${'a'.repeat(3000)}`,
  ];
  const socks: Socket[] = [];
  const srv = createNetServer((s) => {
    socks.push(s);
    s.setNoDelay(true); // the pieces must leave at once (Nagle would hold them for an ACK)
    let pending = '';
    s.on('data', (d) => {
      pending += d.toString('latin1');
      let end;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        pending = pending.slice(end + 4);
        const a = Buffer.from(answers[served++ % answers.length]!, 'latin1');
        // Written in 3 pieces cut at odd places, so the client sees partial heads and bodies.
        const cut1 = 1 + (served % 17), cut2 = Math.min(a.length, cut1 + 40 + (served % 29));
        s.write(a.subarray(0, cut1));
        setImmediate(() => { s.write(a.subarray(cut1, cut2)); setImmediate(() => s.write(a.subarray(cut2))); });
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  try {
    const req = Buffer.from('GET /x HTTP/1.1\r\nHost: t\r\n\r\n', 'latin1');
    const r = await pacedLoad('127.0.0.1', port, [req], { rate: 2000, durationS: 0.5, warmupS: 0.1, connections: 4, dispatch: 'timer', graceMs: 2000 });
    assert.equal(r.errors, 0);
    assert.equal(r.sent, 1200);
    assert.equal(served, 1200, 'one request per answer');
    assert.equal(r.recorded, 1000, 'warm-up requests are not recorded');
    // Every 4th answer (all of them, warm-up included) is a 403.
    assert.equal(r.non2xx, 300);
    for (let i = 0; i < r.recorded; i++) {
      assert.ok(r.fromSend[i]! >= 0 && r.fromSched[i]! >= r.fromSend[i]! - 1e-9, `sample ${i}: due ≤ sent ≤ answered`);
      assert.ok(Math.abs(r.fromSched[i]! - r.lateness[i]! - r.fromSend[i]!) < 1e-6, `sample ${i}: schedule→answer = lateness + send→answer`);
    }
    assert.ok(r.measuredMs > 400 && r.measuredMs < 3000, `measured ${r.measuredMs} ms`);
  } finally {
    for (const s of socks) s.destroy();
    await new Promise((r) => srv.close(r));
  }
});
