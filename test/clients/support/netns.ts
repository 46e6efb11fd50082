/**
 * A pair of throw-away network namespaces joined by a veth pair, for tests that program a real
 * firewall (nftables) and need a second host to send traffic from.
 *
 *   netns <prefix>-srv                         netns <prefix>-cli
 *   lo up (127.0.0.1: the LAPI + bouncer)      lo up
 *   <veth>s  198.18.0.1/24  2001:db8:5e::1/64 ── <veth>c 198.18.0.2, .3 /24  2001:db8:5e::2, ::3 /64
 *
 * Addresses come from the benchmarking range 198.18.0.0/15 (RFC 2544) and the documentation
 * prefix 2001:db8::/32; they exist only inside the two namespaces, so nothing on the host can
 * collide with them. The client side has two addresses per family: one to ban, one that must
 * keep passing. IPv6 addresses are added with `nodad` so they are usable at once.
 *
 * Processes are started with `ip netns exec NS cmd`, which execs into cmd: the child's pid is
 * the command's own pid, so signals reach it directly.
 *
 * Without root or without `ip`, tests skip with the reason; with CI=true they fail instead,
 * because `.ci/run` runs as root and installs iproute2 + nftables.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  /** Run inside this network namespace (`ip netns exec`). */
  netns?: string;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
}

/** argv that runs `cmd args` in `netns` (or on the host when netns is undefined). */
export function nsArgv(netns: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, args];
}

/** Runs a command to completion with a hard timeout (SIGKILL); never throws. */
export function run(cmd: string, args: string[], o: RunOptions): Promise<RunResult> {
  const [bin, argv] = nsArgv(o.netns, cmd, args);
  return new Promise((resolve) => {
    const child = spawn(bin, argv, { env: o.env ?? process.env, cwd: o.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // a child that exits early closes its stdin
    child.stdin.end(o.input ?? '');
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    const done = (code: number | null, signal: NodeJS.Signals | null, extra = ''): void => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') + extra, timedOut });
    };
    child.on('error', (e) => done(null, null, String(e)));
    child.on('close', (code, signal) => done(code, signal));
  });
}

/** Throws with the command's output unless it exited 0. */
export async function runOk(cmd: string, args: string[], o: RunOptions): Promise<RunResult> {
  const r = await run(cmd, args, o);
  if (r.code !== 0) {
    const where = o.netns ? ` (netns ${o.netns})` : '';
    throw new Error(`${cmd} ${args.join(' ')}${where} ${r.timedOut ? `timed out after ${o.timeoutMs} ms` : `exited ${r.code ?? r.signal}`}\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-2000)}`);
  }
  return r;
}

/** A long-running child whose output is kept for diagnostics. */
export interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** stdout + stderr so far. */
  output(): string;
  exited(): boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export function startDaemon(name: string, cmd: string, args: string[], o: { netns?: string; env?: NodeJS.ProcessEnv; cwd?: string }): Daemon {
  const [bin, argv] = nsArgv(o.netns, cmd, args);
  const child = spawn(bin, argv, { env: o.env ?? process.env, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let size = 0;
  const keep = (b: Buffer): void => {
    chunks.push(b);
    size += b.length;
    // Keep the last ~1 MB: enough for a report, bounded for a chatty daemon.
    while (size > 1 << 20 && chunks.length > 1) size -= chunks.shift()!.length;
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let gone = false;
  const closed = new Promise<void>((resolve) => {
    child.on('close', () => {
      gone = true;
      resolve();
    });
    child.on('error', (e) => {
      keep(Buffer.from(`\nspawn error: ${String(e)}\n`));
      gone = true;
      resolve();
    });
  });
  return {
    name,
    child,
    pid: child.pid ?? -1,
    output: () => Buffer.concat(chunks).toString('utf8'),
    exited: () => gone,
    async stop(graceMs = 3000) {
      if (gone) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await closed;
      clearTimeout(t);
    },
  };
}

/** Why namespace tests cannot run here, or null when they can. */
export function netnsUnavailable(): string | null {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'network namespace tests need root';
  for (const tool of ['ip', 'nft']) {
    const r = spawnSync(tool, ['-V'], { stdio: 'ignore' });
    if (r.error) return `'${tool}' is not installed (apt-get install ${tool === 'ip' ? 'iproute2' : 'nftables'})`;
  }
  return null;
}

/**
 * The `skip` option for a client test: the first reason it cannot run here, or false. In CI
 * (CI=true) a missing prerequisite is a failure instead: this throws, failing the file.
 */
export function skipReason(...reasons: (string | null)[]): string | false {
  const why = reasons.find((r): r is string => r !== null);
  if (!why) return false;
  if (process.env.CI === 'true') throw new Error(`CI=true but ${why}`);
  return why;
}

export interface NsEnd {
  /** Namespace name (for `ip netns exec`). */
  netns: string;
  /** The veth interface inside this namespace. */
  ifname: string;
  /** IPv4 addresses on the veth, first = primary. */
  v4: string[];
  /** IPv6 addresses on the veth, first = primary. */
  v6: string[];
}

export interface NetnsPair {
  server: NsEnd;
  client: NsEnd;
  /** Deletes both namespaces (and so the veth pair and every nft table in them). Idempotent. */
  destroy(): Promise<void>;
}

let counter = 0;
const PREFIX = 'palisade-';

/** Kills what still runs in a namespace of ours (only our tests start processes there), then deletes it. */
async function deleteNetns(ns: string): Promise<void> {
  const o = { timeoutMs: 10_000 };
  const pids = (await run('ip', ['netns', 'pids', ns], o)).stdout.split('\n').map(Number).filter((n) => n > 0);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await run('ip', ['netns', 'del', ns], o);
}

/** Namespaces left by a test process that died before its `after` hook (named with its pid). */
async function removeStaleNamespaces(): Promise<void> {
  const list = (await run('ip', ['netns', 'list'], { timeoutMs: 10_000 })).stdout;
  for (const line of list.split('\n')) {
    const m = new RegExp(`^(${PREFIX}(\\d+)-\\S+)`).exec(line);
    if (!m) continue;
    let alive = true;
    try {
      process.kill(Number(m[2]), 0);
    } catch {
      alive = false;
    }
    if (!alive) await deleteNetns(m[1]!);
  }
}

/** Creates the two namespaces described in the header. Cleans up what it made if a step fails. */
export async function createNetnsPair(label = 't'): Promise<NetnsPair> {
  await removeStaleNamespaces();
  const n = counter++;
  const tag = `${process.pid}-${label}${n}`;
  // Interface names are limited to 15 characters: pid in base 36 keeps them short and unique.
  const short = `pv${process.pid.toString(36)}${label.slice(0, 1)}${n}`;
  const server: NsEnd = { netns: `${PREFIX}${tag}-srv`, ifname: `${short}s`, v4: ['198.18.0.1'], v6: ['2001:db8:5e::1'] };
  const client: NsEnd = { netns: `${PREFIX}${tag}-cli`, ifname: `${short}c`, v4: ['198.18.0.2', '198.18.0.3'], v6: ['2001:db8:5e::2', '2001:db8:5e::3'] };
  const o = { timeoutMs: 10_000 };
  let destroyed = false;
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    for (const ns of [server.netns, client.netns]) if (existsSync(`/run/netns/${ns}`)) await deleteNetns(ns);
  };
  try {
    await runOk('ip', ['netns', 'add', server.netns], o);
    await runOk('ip', ['netns', 'add', client.netns], o);
    // Both ends are created directly inside their namespaces: never visible on the host.
    await runOk('ip', ['link', 'add', server.ifname, 'netns', server.netns, 'type', 'veth', 'peer', 'name', client.ifname, 'netns', client.netns], o);
    for (const end of [server, client]) {
      const ns = { ...o, netns: end.netns };
      await runOk('ip', ['link', 'set', 'lo', 'up'], ns);
      for (const a of end.v4) await runOk('ip', ['addr', 'add', `${a}/24`, 'dev', end.ifname], ns);
      for (const a of end.v6) await runOk('ip', ['-6', 'addr', 'add', `${a}/64`, 'dev', end.ifname, 'nodad'], ns);
      await runOk('ip', ['link', 'set', end.ifname, 'up'], ns);
    }
  } catch (e) {
    await destroy();
    throw e;
  }
  return { server, client, destroy };
}

// ---- traffic: an echo listener and a probe that tells a drop from every other failure ----

/** TCP + UDP echo on every address of its namespace; answers `pong <peer address>`. */
const LISTENER_JS = `
const net = require('node:net'), dgram = require('node:dgram');
const port = Number(process.argv[1]);
const peer = (a) => a.replace(/^::ffff:/, '');
let up = 0;
const ready = () => { if (++up === 3) process.stdout.write('ready\\n'); };
net.createServer((s) => { s.on('error', () => {}); s.once('data', () => s.end('pong ' + peer(s.remoteAddress) + '\\n')); })
  .listen({ port, host: '::', ipv6Only: false }, ready);
for (const type of ['udp4', 'udp6']) {
  const u = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  u.on('message', (m, r) => u.send('pong ' + peer(r.address) + '\\n', r.port, r.address));
  u.bind(port, type === 'udp4' ? '0.0.0.0' : '::', ready);
}
process.on('SIGTERM', () => process.exit(0));
`;

export interface Listener {
  port: number;
  daemon: Daemon;
}

export async function startEchoListener(netns: string, port: number, timeoutMs = 10_000): Promise<Listener> {
  const daemon = startDaemon(`echo:${port}`, process.execPath, ['-e', LISTENER_JS, String(port)], { netns });
  const deadline = Date.now() + timeoutMs;
  while (!daemon.output().includes('ready')) {
    if (daemon.exited()) throw new Error(`echo listener in ${netns} exited:\n${daemon.output()}`);
    if (Date.now() > deadline) {
      await daemon.stop();
      throw new Error(`echo listener in ${netns} not ready after ${timeoutMs} ms:\n${daemon.output()}`);
    }
    await sleep(50);
  }
  return { port, daemon };
}

/** What one probe saw. Only `timeout` counts as "dropped": a refusal or error is something else. */
export type ProbeOutcome = 'open' | 'timeout' | 'refused' | 'error';
export interface ProbeResult {
  outcome: ProbeOutcome;
  /** The listener's reply (`pong <address it saw>`) when open; the error otherwise. */
  detail: string;
}

const PROBE_JS = `
const [proto, host, port, local, ms] = process.argv.slice(1);
const done = (outcome, detail) => { process.stdout.write(JSON.stringify({ outcome, detail: String(detail).trim() })); process.exit(0); };
const fail = (e) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'error', e.code || e.message);
setTimeout(() => done('timeout', 'no answer in ' + ms + ' ms'), Number(ms));
if (proto === 'tcp') {
  const s = require('node:net').connect({ host, port: Number(port), localAddress: local });
  s.on('connect', () => s.write('ping\\n'));
  s.on('data', (b) => done('open', b));
  s.on('error', fail);
} else {
  const u = require('node:dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
  u.on('error', fail);
  u.on('message', (b) => done('open', b));
  u.bind({ address: local, port: 0 }, () => u.connect(Number(port), host, () => u.send('ping\\n')));
}
`;

/** Sends one TCP connection or UDP datagram from `from` (an address of netns) to host:port. */
export async function probe(netns: string, proto: 'tcp' | 'udp', host: string, port: number, from: string, timeoutMs = 3000): Promise<ProbeResult> {
  const r = await run(process.execPath, ['-e', PROBE_JS, proto, host, String(port), from, String(timeoutMs)], { netns, timeoutMs: timeoutMs + 10_000 });
  try {
    return JSON.parse(r.stdout) as ProbeResult;
  } catch {
    return { outcome: 'error', detail: `probe produced no result (exit ${r.code ?? r.signal}): ${r.stderr.slice(-500)}` };
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a value other than undefined, or throws after timeoutMs. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}
