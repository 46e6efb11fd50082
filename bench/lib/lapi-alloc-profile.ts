/**
 * Where the Local API's fast `GET /v1/decisions?ip=X` allocates: the API server (as
 * bench/lapi-load.ts builds it, fast path on) and a raw keep-alive client in this process,
 * with V8's sampling heap profiler keeping the samples of objects the scavenger already
 * collected, so per-request garbage shows up (`--heap-prof` drops those). Prints bytes per
 * request by allocating function (self) and by call path under the request listener; the
 * client's own allocations show under its functions and are left out of the listener's.
 * Not a timing: the client shares the event loop.
 *
 *   node --import tsx bench/lib/lapi-alloc-profile.ts [--requests 20000] [--decisions 20000]
 *        [--interval 128] [--top 30] [--bare] [--depth 12]
 *
 * `--bare`: a bare node:http server answering `null` instead of the API, for the floor.
 * `--cpu`: no heap profiler; prints this process's CPU time per request (server and client
 * together, one request in flight: no batching), for quick A/B runs of server-side changes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Session } from 'node:inspector/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiServer } from '../../src/api/server.js';
import { Store } from '../../src/decisions/store.js';
import type { AlertInput, DecisionInput } from '../../src/decisions/records.js';

const argv = process.argv.slice(2);
const opt = (name: string, d: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : d;
};
const requests = opt('requests', 20_000);
const decisions = opt('decisions', 20_000);
const interval = opt('interval', 128);
const top = opt('top', 30);
const depth = opt('depth', 12);
const bare = argv.includes('--bare');
const cpuOnly = argv.includes('--cpu');

/** The client's functions: what they allocate is not the server's. */
const CLIENT_FRAMES = new Set(['onClientData', 'clientSend', 'runClient']);

interface Frame { functionName: string; url: string; lineNumber: number }
interface HeapNode { callFrame: Frame; selfSize: number; id: number; children: HeapNode[] }
interface Sample { size: number; nodeId: number }

const iso = (ms: number) => new Date(ms).toISOString();
const v4 = (i: number) => `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;

async function fill(store: Store): Promise<void> {
  const now = Date.now();
  for (let base = 0; base < decisions; base += 1000) {
    const ds: DecisionInput[] = [];
    for (let i = base; i < Math.min(decisions, base + 1000); i++) ds.push({ origin: 'crowdsec', type: 'ban', scope: 'Ip', value: v4(i), scenario: 'bench/lapi', durationMs: 24 * 3600_000 });
    const alert: AlertInput = {
      scenario: 'bench/lapi', scenario_hash: '', scenario_version: '', message: 'bench', events_count: 1,
      start_at: iso(now), stop_at: iso(now), capacity: 0, leakspeed: '0', simulated: false,
      source: { scope: 'Ip', value: v4(base) }, events: [], machine_id: 'bench',
    };
    await store.addAlerts([{ alert, decisions: ds }], now);
  }
}

/** Sequential requests on one keep-alive connection; answers framed by Content-Length. */
function runClient(port: number, heads: Buffer[], n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(port, '127.0.0.1');
    let sent = 0;
    let pending: Buffer = Buffer.alloc(0);
    const send = function clientSend() {
      sock.write(heads[sent++ % heads.length]!);
    };
    sock.on('connect', send);
    sock.on('error', reject);
    sock.on('data', function onClientData(d: Buffer) {
      pending = pending.length ? Buffer.concat([pending, d]) : (d as Buffer<ArrayBuffer>);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const m = /content-length: (\d+)/i.exec(pending.subarray(0, end).toString('latin1'));
        const total = end + 4 + (m ? Number(m[1]) : 0);
        if (pending.length < total) return;
        pending = pending.subarray(total);
        if (sent >= n) {
          sock.destroy();
          resolve();
          return;
        }
        send();
      }
    });
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-alloc-'));
  let server: Server;
  let stop: () => Promise<void>;
  let key = '';
  let cacheReads = (): string => '';
  if (bare) {
    server = createServer(function bareHandler(_req, res) {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': '4' });
      res.end('null');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    stop = () => new Promise((r) => server.close(() => r()));
  } else {
    const store = Store.open(dir, { noSync: true });
    await fill(store);
    const api = createApiServer({ store, profiles: [], listen: '127.0.0.1:0', maintenance: true });
    await api.listen();
    key = (await api.ctx.creds.addBouncer('bench')).key;
    server = api.app.server;
    const cache = api.ctx.bouncers;
    const r0 = { cursor: cache.cursorReads, store: cache.storeReads };
    cacheReads = () => `; key cache: ${cache.cursorReads - r0.cursor} counter reads, ${cache.storeReads - r0.store} store reads`;
    stop = async () => {
      await api.close();
      await store.close();
    };
  }
  const port = (server.address() as { port: number }).port;
  // Half hits, half misses, as the load bench asks.
  const heads: Buffer[] = [];
  for (let i = 0; i < 256; i++) {
    const ip = i % 2 === 0 ? v4((i * 7919) % decisions) : `203.0.113.${i & 255}`;
    heads.push(Buffer.from(`GET /v1/decisions?ip=${ip} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: ${key}\r\nUser-Agent: palisade-bench/1\r\n\r\n`, 'latin1'));
  }
  await runClient(port, heads, 2000); // warm-up (JIT, caches)
  if (cpuOnly) {
    const c0 = process.cpuUsage();
    await runClient(port, heads, requests);
    const c = process.cpuUsage(c0);
    const reads = cacheReads();
    await stop();
    rmSync(dir, { recursive: true, force: true });
    console.log(`${bare ? 'bare node:http' : 'API fast path'}: ${requests} requests, CPU ${((c.user + c.system) / requests).toFixed(1)} µs/request (server + client, sys ${Math.round((100 * c.system) / (c.user + c.system))}%)${reads}`);
    return;
  }

  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: interval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
  await runClient(port, heads, requests);
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: HeapNode; samples: Sample[] } };
  session.disconnect();
  await stop();
  rmSync(dir, { recursive: true, force: true });

  // Sizes from the samples (each stands for `size` bytes), by node.
  const bytes = new Map<number, number>();
  for (const s of profile.samples) bytes.set(s.nodeId, (bytes.get(s.nodeId) ?? 0) + s.size);
  const short = (u: string) => u.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'nm/').replace(/^.*\/(src|bench)\//, '$1/');
  const label = (f: Frame) => `${f.functionName || '(anon)'} ${short(f.url)}${f.url ? ':' + (f.lineNumber + 1) : ''}`;
  const perReq = (b: number) => `${(b / requests).toFixed(0).padStart(6)} B/req`;

  // Client-side frames (this file) are excluded from the server's share.
  const isClient = (f: Frame) => CLIENT_FRAMES.has(f.functionName) && f.url.endsWith('lapi-alloc-profile.ts');
  const selfBy = new Map<string, number>();
  let serverTotal = 0;
  let clientTotal = 0;
  const listener = new Map<string, number>();
  const walk = (n: HeapNode, path: string[], client: boolean) => {
    const c = client || isClient(n.callFrame);
    const b = bytes.get(n.id) ?? 0;
    if (c) clientTotal += b;
    else if (b > 0) {
      serverTotal += b;
      const k = label(n.callFrame);
      selfBy.set(k, (selfBy.get(k) ?? 0) + b);
      // Path from the outermost frame below the event loop, trimmed to `depth` innermost frames.
      const p = [...path, k].slice(-depth).join(' > ');
      listener.set(p, (listener.get(p) ?? 0) + b);
    }
    for (const ch of n.children) walk(ch, [...path, label(n.callFrame)], c);
  };
  walk(profile.head, [], false);

  // Top-down under the request listener (the fast path's, or the bare handler): inclusive bytes by callee.
  interface Agg { b: number; kids: Map<string, Agg> }
  const root: Agg = { b: 0, kids: new Map() };
  const inclusive = (n: HeapNode): number => (bytes.get(n.id) ?? 0) + n.children.reduce((a, c) => a + inclusive(c), 0);
  const addUnder = (agg: Agg, n: HeapNode, d: number) => {
    for (const c of n.children) {
      const k = label(c.callFrame);
      let a = agg.kids.get(k);
      if (!a) agg.kids.set(k, (a = { b: 0, kids: new Map() }));
      a.b += inclusive(c);
      if (d < 4) addUnder(a, c, d + 1);
    }
    const own = bytes.get(n.id) ?? 0;
    if (own > 0) {
      let a = agg.kids.get('(self)');
      if (!a) agg.kids.set('(self)', (a = { b: 0, kids: new Map() }));
      a.b += own;
    }
  };
  const isListener = (f: Frame) => (f.url.endsWith('fast-lookup.ts') && f.functionName === '') || f.functionName === 'bareHandler';
  const find = (n: HeapNode) => {
    if (isListener(n.callFrame)) {
      root.b += inclusive(n);
      addUnder(root, n, 1);
      return;
    }
    for (const c of n.children) find(c);
  };
  find(profile.head);
  console.log(`${bare ? 'bare node:http' : 'API fast path'}: ${requests} requests, sampling every ${interval} B (collected objects kept)`);
  console.log(`server ${perReq(serverTotal)}, client (excluded) ${perReq(clientTotal)}`);
  console.log(`\nunder the request listener: ${perReq(root.b)}`);
  const print = (a: Agg, indent: string) => {
    for (const [k, v] of [...a.kids].sort((x, y) => y[1].b - x[1].b)) {
      if (v.b / requests < 8) continue;
      console.log(`${perReq(v.b)}  ${indent}${k}`);
      print(v, indent + '  ');
    }
  };
  print(root, '');
  console.log('\nby allocating function (self)');
  for (const [k, v] of [...selfBy].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${perReq(v)}  ${k}`);
  console.log(`\nby call path (innermost ${depth} frames)`);
  for (const [k, v] of [...listener].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${perReq(v)}  ${k}`);
}

await main();
