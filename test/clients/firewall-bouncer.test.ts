/**
 * The Debian crowdsec-firewall-bouncer (0.0.25), unmodified, against Palisade's Local API
 * (issue 5 item 6; spec §7.4 stream, §7.9 how bouncers consume it).
 *
 * Layout (support/netns.ts): in the server namespace, `palisade lapi` on 127.0.0.1:8080, the
 * bouncer (mode nftables, update_frequency 1s, key from `palisade bouncers add`) and a TCP/UDP
 * echo listener; the client namespace sends probes from two addresses. A decision on one
 * client address must land in the bouncer's nft set and make probes from it time out (only a
 * timeout counts as dropped), while the other address still gets answers; deleting the
 * decision must take the address out of the set and let traffic through again. The drop
 * rule's packet counter must grow while the address is banned, and the bouncer's own log must
 * show the decisions and no error. The same tests pass against CrowdSec 1.4.6's LAPI
 * (PALISADE_CLIENTS_LAPI=crowdsec), which also re-sends a deleted decision on ~3 consecutive
 * 1 s pulls (the stream's 2 s overlap, spec §7.4), as Palisade does.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { debianReference } from '../support/debian.js';
import { createNetnsPair, netnsUnavailable, probe, skipReason, run, startDaemon, startEchoListener, waitFor, type Daemon, type Listener, type NetnsPair, type ProbeResult } from './support/netns.js';
import { startLapiUnderTest, type LapiUnderTest } from './support/palisade-lapi.js';

const PORT = 7070;
/** Poll every 1 s, so a change must show within a few seconds (API reflects the store in ≤1 s). */
const APPLY_MS = 10_000;

let pair: NetnsPair | undefined;
let lapi: LapiUnderTest | undefined;
let bouncer: Daemon | undefined;
let listener: Listener | undefined;
let work: string | undefined;
let ready = false;

/** Elements of the bouncer's named sets, per set name, read with `nft -j list ruleset`. */
async function nftSets(): Promise<Map<string, string[]>> {
  const r = await run('nft', ['-j', 'list', 'ruleset'], { netns: pair!.server.netns, timeoutMs: 10_000 });
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { nftables: Record<string, unknown>[] };
  const sets = new Map<string, string[]>();
  for (const item of j.nftables) {
    const set = item.set as { name: string; elem?: unknown[] } | undefined;
    if (!set) continue;
    // An element is a bare address, {prefix:{addr,len}}, or {elem:{val, timeout, expires}}.
    const addr = (e: unknown): string => {
      if (typeof e === 'string') return e;
      const o = e as { elem?: { val: unknown }; prefix?: { addr: string; len: number } };
      if (o.elem) return addr(o.elem.val);
      if (o.prefix) return `${o.prefix.addr}/${o.prefix.len}`;
      return JSON.stringify(e);
    };
    sets.set(set.name, (set.elem ?? []).map(addr));
  }
  return sets;
}

/** Packets counted by the bouncer's drop rule(s) in one table (`counter` expression). */
async function dropCount(family: 'ip' | 'ip6', table: string): Promise<number> {
  const r = await run('nft', ['-j', 'list', 'table', family, table], { netns: pair!.server.netns, timeoutMs: 10_000 });
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { nftables: { rule?: { expr: Record<string, unknown>[] } }[] };
  let n = 0;
  for (const i of j.nftables) {
    const expr = i.rule?.expr ?? [];
    if (!expr.some((e) => 'drop' in e)) continue;
    for (const e of expr) if (e.counter) n += (e.counter as { packets: number }).packets;
  }
  return n;
}

async function tables(): Promise<string[]> {
  const r = await run('nft', ['-j', 'list', 'tables'], { netns: pair!.server.netns, timeoutMs: 10_000 });
  const j = JSON.parse(r.stdout) as { nftables: { table?: { family: string; name: string } }[] };
  return j.nftables.flatMap((i) => (i.table ? [`${i.table.family} ${i.table.name}`] : []));
}

function diag(): string {
  const logs = work ? readdirSync(work).filter((f) => f.endsWith('.log')).map((f) => `--- ${f} ---\n${readFileSync(join(work!, f), 'utf8').slice(-3000)}`) : [];
  return [`--- bouncer stdout/stderr ---\n${bouncer?.output().slice(-3000) ?? ''}`, ...logs, `--- LAPI ---\n${lapi?.output().slice(-3000) ?? ''}`].join('\n');
}

async function probeFrom(from: string, proto: 'tcp' | 'udp' = 'tcp'): Promise<ProbeResult> {
  const to = from.includes(':') ? pair!.server.v6[0]! : pair!.server.v4[0]!;
  return probe(pair!.client.netns, proto, to, PORT, from);
}

function assertOpen(r: ProbeResult, from: string, msg: string): void {
  assert.equal(r.outcome, 'open', `${msg}: probe from ${from} got ${r.outcome} (${r.detail})\n${diag()}`);
  assert.equal(r.detail, `pong ${from}`, 'the listener saw the probe come from its own source address');
}

const ref = debianReference();
const bouncerBin = ref ? join(dirname(ref.crowdsecBin), 'crowdsec-firewall-bouncer') : '';
const skip = skipReason(
  netnsUnavailable(),
  ref && existsSync(bouncerBin) ? null : 'crowdsec-firewall-bouncer not unpacked (scripts/setup-reference.sh crowdsec crowdsec-firewall-bouncer)',
);

before(async () => {
  if (skip || !ref) return;
  pair = await createNetnsPair('fw');
  lapi = await startLapiUnderTest({ netns: pair.server.netns });
  listener = await startEchoListener(pair.server.netns, PORT);
  const key = await lapi.addBouncer('fw-test');
  work = mkdtempSync(join(tmpdir(), 'palisade-fw-bouncer-'));
  const config = join(work, 'crowdsec-firewall-bouncer.yaml');
  writeFileSync(config, [
    'mode: nftables',
    `pid_dir: ${work}/`,
    'update_frequency: 1s',
    'daemonize: false',
    'log_mode: file',
    `log_dir: ${work}/`,
    'log_level: debug',
    'log_compression: false',
    `api_url: ${lapi.url}/`,
    `api_key: ${key}`,
    'insecure_skip_verify: false',
    'disable_ipv6: false',
    'deny_action: DROP',
    'deny_log: false',
    'supported_decisions_types:',
    '  - ban',
    'blacklists_ipv4: crowdsec-blacklists',
    'blacklists_ipv6: crowdsec6-blacklists',
    'nftables:',
    '  ipv4:',
    '    enabled: true',
    '    set-only: false',
    '    table: crowdsec',
    '    chain: crowdsec-chain',
    '  ipv6:',
    '    enabled: true',
    '    set-only: false',
    '    table: crowdsec6',
    '    chain: crowdsec6-chain',
    'prometheus:',
    '  enabled: false',
    '',
  ].join('\n'));
  bouncer = startDaemon('crowdsec-firewall-bouncer', bouncerBin, ['-c', config], { netns: pair.server.netns, cwd: work, env: { PATH: process.env.PATH, TZ: 'UTC' } });
  // Up = its table and set exist (it creates them before the first pull) and it is still running
  // after the first pull (a failed first pull makes it remove its tables and exit 0).
  await waitFor('the bouncer to create its nftables set', 15_000, async () => {
    if (bouncer!.exited()) throw new Error(`bouncer exited:\n${diag()}`);
    return (await nftSets()).has('crowdsec-blacklists') ? true : undefined;
  }).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${diag()}`);
  });
  await new Promise((r) => setTimeout(r, 2500));
  assert.ok(!bouncer.exited(), `the bouncer stopped after its first pull:\n${diag()}`);
  ready = true;
}, { timeout: 120_000 });

/** Removes the bouncer's tables (it leaves them behind on SIGTERM); returns the crowdsec tables left. */
async function removeBouncerTables(): Promise<string[]> {
  for (const t of ['ip crowdsec', 'ip6 crowdsec6']) await run('nft', ['delete', 'table', ...t.split(' ')], { netns: pair!.server.netns, timeoutMs: 10_000 });
  return (await tables()).filter((t) => /crowdsec/.test(t));
}

after(async () => {
  // Idempotent with the last test, which does the same and asserts it; this covers failures.
  await bouncer?.stop();
  if (pair) await removeBouncerTables();
  await listener?.daemon.stop();
  await lapi?.stop();
  await pair?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
}, { timeout: 60_000 });

test('firewall bouncer: a decision drops the banned address, others pass, delete restores', { timeout: 120_000, skip }, async (t) => {
  assert.ok(ready, 'setup completed');
  const p = pair!;
  const banned = p.client.v4[0]!;
  const other = p.client.v4[1]!;

  // Before any decision: both client addresses reach the listener over TCP and UDP.
  for (const from of [banned, other]) for (const proto of ['tcp', 'udp'] as const) assertOpen(await probeFrom(from, proto), from, `${proto} before any decision`);
  assert.deepEqual((await nftSets()).get('crowdsec-blacklists'), [], 'set empty before any decision');

  // The bouncer's rule drops saddr in its set on the input hook.
  const rules = (await run('nft', ['list', 'table', 'ip', 'crowdsec'], { netns: p.server.netns, timeoutMs: 10_000 })).stdout;
  assert.match(rules, /hook input/);
  assert.match(rules, /ip saddr @crowdsec-blacklists (counter packets \d+ bytes \d+ )?drop/);

  // Timed from the start of the CLI call (its ~1 s start-up included) to the set holding it.
  const t0 = Date.now();
  await lapi!.addDecision(banned, '4h');
  await waitFor(`${banned} in the nft set`, APPLY_MS, async () => ((await nftSets()).get('crowdsec-blacklists')?.includes(banned) ? true : undefined)).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${diag()}`);
  });
  t.diagnostic(`decision reached nftables in ${Date.now() - t0} ms`);
  const listed = await lapi!.listDecisions();
  assert.ok(listed.some((d) => d.value === banned && d.type === 'ban' && d.scope === 'Ip'), `decision listed: ${JSON.stringify(listed)}`);
  const set = (await nftSets()).get('crowdsec-blacklists')!;
  assert.deepEqual(set, [banned], 'only the banned address is in the set');

  const droppedBefore = await dropCount('ip', 'crowdsec');
  for (const proto of ['tcp', 'udp'] as const) {
    const r = await probeFrom(banned, proto);
    assert.equal(r.outcome, 'timeout', `${proto} from the banned ${banned} must be dropped (a timeout), got ${r.outcome}: ${r.detail}`);
    assertOpen(await probeFrom(other, proto), other, `${proto} from ${other} while ${banned} is banned`);
  }
  // The kernel counted the drops: at least the TCP SYN and the UDP datagram.
  assert.ok((await dropCount('ip', 'crowdsec')) >= droppedBefore + 2, 'the drop rule counted the blocked packets');

  assert.equal(await lapi!.deleteDecision(banned), 1, 'one decision deleted');
  await waitFor(`${banned} to leave the nft set`, APPLY_MS, async () => ((await nftSets()).get('crowdsec-blacklists')?.includes(banned) ? undefined : true)).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${diag()}`);
  });
  for (const proto of ['tcp', 'udp'] as const) for (const from of [banned, other]) assertOpen(await probeFrom(from, proto), from, `${proto} after the decision was deleted`);
});

test('firewall bouncer: an IPv6 decision goes to the ip6 set and drops that address only', { timeout: 90_000, skip }, async () => {
  assert.ok(ready, 'setup completed');
  const p = pair!;
  const banned = p.client.v6[0]!;
  const other = p.client.v6[1]!;
  assertOpen(await probeFrom(banned), banned, 'tcp over IPv6 before the decision');

  await lapi!.addDecision(banned, '1h');
  await waitFor(`${banned} in the ip6 set`, APPLY_MS, async () => ((await nftSets()).get('crowdsec6-blacklists')?.includes(banned) ? true : undefined)).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${diag()}`);
  });
  assert.deepEqual((await nftSets()).get('crowdsec-blacklists'), [], 'an IPv6 decision does not touch the IPv4 set');
  const droppedBefore = await dropCount('ip6', 'crowdsec6');
  const r = await probeFrom(banned);
  assert.equal(r.outcome, 'timeout', `tcp from the banned ${banned}: ${r.outcome} ${r.detail}`);
  assert.ok((await dropCount('ip6', 'crowdsec6')) > droppedBefore, 'the ip6 drop rule counted the blocked SYN');
  assertOpen(await probeFrom(other), other, `tcp from ${other} while ${banned} is banned`);

  assert.equal(await lapi!.deleteDecision(banned), 1);
  await waitFor(`${banned} to leave the ip6 set`, APPLY_MS, async () => ((await nftSets()).get('crowdsec6-blacklists')?.includes(banned) ? undefined : true));
  assertOpen(await probeFrom(banned), banned, 'tcp over IPv6 after the delete');
});

test('firewall bouncer: stopped, its tables removed, traffic flows without it', { timeout: 60_000, skip }, async () => {
  assert.ok(ready, 'setup completed');
  const p = pair!;
  // Leave a live decision behind so the tables are non-empty when the bouncer goes.
  await lapi!.addDecision(p.client.v4[0]!, '1h');
  await waitFor('the decision in the set', APPLY_MS, async () => ((await nftSets()).get('crowdsec-blacklists')?.includes(p.client.v4[0]!) ? true : undefined));
  // Its own account of the run: decisions added and deleted, no error from the API exchange.
  const log = readFileSync(join(work!, 'crowdsec-firewall-bouncer.log'), 'utf8');
  assert.match(log, /Using API key auth/);
  assert.match(log, /decision(s)? added/);
  assert.match(log, /decision(s)? deleted/);
  assert.deepEqual(log.split('\n').filter((l) => /level=(error|fatal|panic)/.test(l)), [], 'the bouncer logged no error');
  await bouncer!.stop();
  assert.ok(bouncer!.exited(), 'the bouncer process is gone');
  assert.deepEqual(await removeBouncerTables(), [], 'no crowdsec table left in the namespace');
  assertOpen(await probeFrom(p.client.v4[0]!), p.client.v4[0]!, 'no firewall left: the formerly banned address passes');
});
