/**
 * The compiled parser against its simple twin (reference-parse.ts): same outcome, stage,
 * whitelist flag, time strings, and Parsed / Meta / Enriched with the same entries in the
 * same insertion order, same counters and warnings, for the shipped rules and the Debian
 * hub parsers, over the golden case lines, the sample logs, and seeded mutations of them
 * (first character dropped or replaced, text inserted) that exercise the failing paths.
 * Also the pieces with their own fast paths: the IPv4 reader and the whitelist ranges.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { ExpectMode, newLogEvent, PEvent, EventType } from '../../src/core/event.js';
import { parseIPv4, parseIp, parseIpOrCidr, parseCidr } from '../../src/core/ip.js';
import { loadRulesDir, SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';
import { buildEnrichers } from '../../src/parse/enrichers/index.js';
import { newCounters, type ParseRuntime } from '../../src/parse/runtime.js';
import { parseEvent } from '../../src/parse/stages.js';
import { ipv4Value, processNode } from '../../src/parse/node.js';
import type { ParserNode, ParserSet, Static } from '../../src/parse/types.js';
import { compileExpr } from '../../src/expr/index.js';
import { repoRoot, requireDebianReference } from '../support/debian.js';
import { makeRulesDir, RAW_STAGE } from '../support/rules-fixture.js';
import { createExplainer } from '../../src/parse/explain.js';
import { referenceNode, referenceParse } from './reference-parse.js';
import { mulberry32 as rng } from '../../fixtures/seeded.js';
import { BatchParser } from '../../src/parse/batch.js';
import { sitePlan } from '../../src/parse/prefilter-sites.js';
import type { LineHint } from '../../src/parse/line-hint.js';

const NOW = new Date('2026-02-01T12:00:00Z');

/** Golden case lines and sample log lines, each with its acquisition type. */
function corpus(): { line: string; type: string }[] {
  const out: { line: string; type: string }[] = [];
  const cases = join(repoRoot, 'fixtures/cases/parsers');
  for (const f of readdirSync(cases).filter((x) => x.endsWith('.yaml')).sort()) {
    const spec = parse(readFileSync(join(cases, f), 'utf8')) as { type: string; cases: { line: string }[] };
    for (const c of spec.cases) out.push({ line: c.line, type: spec.type });
  }
  const types: Record<string, string> = { 'sshd.log': 'syslog', 'postfix.log': 'syslog', 'nginx.log': 'nginx', 'apache2.log': 'apache2', 'mysql.log': 'mysql' };
  const samples = join(repoRoot, 'fixtures/samples');
  for (const f of readdirSync(samples).sort()) {
    if (!types[f]) continue;
    for (const line of readFileSync(join(samples, f), 'utf8').split('\n').filter(Boolean)) out.push({ line, type: types[f]! });
  }
  return out;
}

/** Seeded variants of a line that take other paths: shifted, prefixed, a character changed. */
function mutations(line: string, r: () => number): string[] {
  const pool = 'aZ9 :[]<>-."\'/';
  const c = pool[Math.floor(r() * pool.length)]!;
  const at = Math.floor(r() * line.length);
  const colon = line.indexOf(': ');
  const msgAt = colon >= 0 ? colon + 2 : 0;
  return [
    line.slice(1),
    c + line,
    line.slice(0, at) + c + line.slice(at + 1),
    line.slice(0, msgAt) + c + line.slice(msgAt), // the syslog message starts differently
    line.slice(0, msgAt) + line.slice(msgAt + 1),
    '',
  ];
}

interface Trace {
  outcome: string;
  fields: unknown[];
}

function snapshot(outcome: string, e: PEvent): Trace {
  return {
    outcome,
    fields: [e.Stage, e.Whitelisted, e.WhitelistReason, e.StrTime, e.StrTimeFormat, e.MarshaledTime, e.Process, [...e.Parsed], [...e.Meta], [...e.Enriched]],
  };
}

/** Two parse runtimes on the same enrichers and clock, each collecting its own warnings. */
async function twoRuntimes(): Promise<{ rtA: ParseRuntime; rtB: ParseRuntime; warnA: string[]; warnB: string[] }> {
  const enrichers = await buildEnrichers({ now: () => NOW, warn: () => {} });
  const warnA: string[] = [];
  const warnB: string[] = [];
  const rtA: ParseRuntime = { enrichers, counters: newCounters(), warn: (m) => warnA.push(m), now: () => NOW };
  const rtB: ParseRuntime = { enrichers, counters: newCounters(), warn: (m) => warnB.push(m), now: () => NOW };
  return { rtA, rtB, warnA, warnB };
}

async function compareOn(set: ParserSet, lines: { line: string; type: string }[], seed: number): Promise<{ runs: number; parsed: number }> {
  const { rtA, rtB, warnA, warnB } = await twoRuntimes();
  const r = rng(seed);
  let runs = 0;
  let parsed = 0;
  for (const { line, type } of lines) {
    for (const text of [line, ...mutations(line, r)]) {
      const mk = (): PEvent => newLogEvent(text, { src: '/var/log/x.log', labels: { type }, time: NOW, mode: ExpectMode.TIMEMACHINE });
      const a = mk();
      const b = mk();
      const oa = parseEvent(set, a, rtA);
      const ob = referenceParse(set, b, rtB);
      assert.deepEqual(snapshot(oa, a), snapshot(ob, b), `${type} line ${JSON.stringify(text.slice(0, 160))}`);
      runs++;
      if (oa === 'parsed') parsed++;
    }
  }
  assert.deepEqual(rtA.counters, rtB.counters);
  assert.deepEqual(warnA, warnB);
  return { runs, parsed };
}

/**
 * Syslog (and other) lines the scanners and the header reader must get right or leave to the
 * regex: RFC 5424, IPv6 / odd hosts, missing or odd pids, odd spacing, PRI forms, ISO zones,
 * tags with ':' or tabs, non-ASCII and invalid UTF-8 (written as U+FFFD), a huge line.
 */
function edgeLines(): { line: string; type: string }[] {
  const sys = [
    'Jan  5 00:00:00 bastion sshd[10917]: Accepted publickey for alice from 109.196.230.59 port 30013 ssh2',
    'Jan 15 00:00:00 bastion sshd[10917]: Failed password for root from 1.2.3.4 port 22 ssh2',
    'Jan 05 00:00:00 bastion sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2',
    'Jan   5 00:00:00 bastion sshd[1]: three spaces',
    'Jan 5  00:00:00 bastion sshd[1]: two spaces after the day',
    'Jan  5 00:00:00  bastion sshd[1]: two spaces before the host',
    'Jan  5 00:00:00 bastion  sshd[1]: two spaces before the tag',
    'Jan  5 00:00:00 bastion sshd[1]:  two spaces after the colon',
    'Jan  5 00:00:00 bastion sshd[1]:no space after the colon',
    'Jan  5 00:00:00 bastion sshd[1]:',
    'Jan  5 00:00:00 bastion sshd[1]: ',
    'Jan  5 00:00:00 bastion sshd: Failed password for root from 1.2.3.4 port 22 ssh2',
    'Jan  5 00:00:00 bastion sshd[]: empty pid',
    'Jan  5 00:00:00 bastion sshd[abc]: a name for a pid',
    'Jan  5 00:00:00 bastion sshd[12 34]: a space in the pid',
    'Jan  5 00:00:00 bastion sshd[12]x: junk after the pid',
    'Jan  5 00:00:00 bastion sshd[12: unclosed pid',
    'Jan  5 00:00:00 bastion postfix/smtpd[77]: connect from unknown[1.2.3.4]',
    'Jan  5 00:00:00 bastion foo:bar: a colon in the tag',
    'Jan  5 00:00:00 bastion foo\tbar[1]: a tab in the tag',
    'Jan  5 00:00:00 bastion CRON[4242]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)',
    'Jan  5 00:00:00 bastion last message repeated 3 times',
    'Jan  5 00:00:00 sshd[42]: no hostname',
    'Jan  5 00:00:00 bastion sshd[42]: message repeated 3 times: [ Failed password for root from 1.2.3.4 port 22 ssh2]',
    'Jan  5 00:00:00.123456 bastion sshd[42]: fraction',
    'Jan  5 00:00:00. bastion sshd[42]: empty fraction',
    'Jan  5 0:00:00 bastion sshd[42]: short hour',
    'Jan 123 00:00:00 bastion sshd[42]: three-digit day',
    'Jun  5 00:00:00 bastion sshd[42]: June',
    'Foo  5 00:00:00 bastion sshd[42]: not a month',
    'jan  5 00:00:00 bastion sshd[42]: lowercase month',
    '<13>Jan  5 00:00:00 bastion sshd[42]: with PRI',
    '<1234>Jan  5 00:00:00 bastion sshd[42]: four-digit PRI',
    '<>Jan  5 00:00:00 bastion sshd[42]: empty PRI',
    '<13> Jan  5 00:00:00 bastion sshd[42]: space after PRI',
    '2024-05-01T10:00:00Z bastion sshd[42]: ISO zulu',
    '2024-05-01T10:00:00.123456+02:00 bastion sshd[42]: ISO offset',
    '2024-05-01T10:00:00+0200 bastion sshd[42]: ISO offset without colon',
    '2024-05-01T10:00:00 bastion sshd[42]: ISO without zone',
    '2024-05-01T10:00:00+02 bastion sshd[42]: ISO short offset',
    '2024-05-01 10:00:00 bastion sshd[42]: ISO with a space',
    '<30>2024-05-01T10:00:00Z bastion sshd[42]: ISO with PRI',
    '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event',
    '<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - su root failed for lonvick on /dev/pts/8',
    '<34>1 - - - - - -',
    '<34>1 2003-10-11T22:14:15Z host sshd 42 - - Failed password for root from 1.2.3.4 port 22 ssh2',
    'Jan  5 00:00:00 2001:db8::1 sshd[42]: IPv6 host',
    'Jan  5 00:00:00 ::1 sshd[42]: IPv6 loopback host',
    'Jan  5 00:00:00 fe80::1%eth0 sshd[42]: IPv6 host with zone',
    'Jan  5 00:00:00 10.0.0.1 sshd[42]: IPv4 host',
    'Jan  5 00:00:00 -host sshd[42]: host starting with a dash',
    'Jan  5 00:00:00 ho/st sshd[42]: a slash in the host',
    'Jan  5 00:00:00 hôte sshd[42]: non-ASCII host',
    'Jan  5 00:00:00 bastion sshd[42]: Invalid user jösé from 1.2.3.4 port 22',
    'Jan  5 00:00:00 bastion sshd[42]: Invalid user \uFFFD\uFFFD from 1.2.3.4 port 22',
    'Jan  5 00:00:00 bastion sshd[42]: Invalid user 日本 from 1.2.3.4 port 22',
    'Jan  5 00:00:00 bastion prög[42]: non-ASCII tag',
    'Jan  5 00:00:00 bastion sshd[42]: carriage\rreturn inside',
    'Jan  5 00:00:00 bastion sshd[42]: Failed password for root from 1.2.3.4 port 22 ssh2' + ' x'.repeat(3000),
    'Jan  5 00:00:00 bastion sshd[42]: Failed password for ' + 'a'.repeat(70000) + ' from 1.2.3.4 port 22 ssh2',
    'Jan  5 00:00:00 bastion',
    'Jan  5 00:00:00 bastion ',
    'Jan  5 00:00:00',
    'Jan',
    '\uFEFFJan  5 00:00:00 bastion sshd[42]: BOM first',
  ];
  const web = [
    '176.131.149.39 - - [05/Jan/2026:00:00:00 +0000] "GET /docs/install HTTP/1.1" 200 31377 "https://www.example.org/" "Mozilla/5.0"',
    '2001:db8::1 - - [05/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 404 0 "-" "curl/8"',
    'example.org 1.2.3.4 - - [05/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "-" 100 0.01 [up] []',
    '1.2.3.4 - - [05/Jan/2026:00:00:00 +0000] "\x16\x03\x01" 400 150 "-" "-"',
    '1.2.3.4 - - [05/Jan/2026:00:00:00 +0000] "-" 400 0 "-" "-"',
    '1.2.3.4 - - [05/Jan/2026:00:00:00 +0000] "GET /a\"b HTTP/1.1" 200 5 "-" "é"',
    '1.2.3.4 - - [05/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 -',
  ];
  return [...sys.map((line) => ({ line, type: 'syslog' })), ...web.map((line) => ({ line, type: 'nginx' }))];
}

/**
 * The batch path (parse/batch.ts: scanner, prefilter bits, syslog header reader) against the
 * reference twin: every line of `lines` and its mutations, written into one byte batch,
 * parsed through BatchParser with the hints set, must give the same events.
 */
async function compareBatchOn(set: ParserSet, lines: { line: string; type: string }[], seed: number, impl: 'wasm' | 'twin'): Promise<{ runs: number; parsed: number }> {
  const { rtA, rtB, warnA, warnB } = await twoRuntimes();
  const r = rng(seed);
  const texts: { text: string; type: string }[] = [];
  for (const { line, type } of lines) {
    for (const text of [line, ...mutations(line, r)]) {
      // Lines as a batch carries them: no '\n' inside, no trailing '\r', not empty.
      if (text !== '' && !text.includes('\n') && !text.endsWith('\r')) texts.push({ text, type });
    }
  }
  // Every site with literals, so the prefilter answers as often as it can ('auto' may skip it).
  const bp = BatchParser.create(set, impl, 'all');
  assert.equal(bp.scanner.impl, impl);
  assert.ok(bp.prefilterSites > 0);
  let runs = 0;
  let parsed = 0;
  // One batch per type (the label is per batch), in corpus order; '\r\n' endings on some lines.
  for (const type of [...new Set(texts.map((t) => t.type))]) {
    const mine = texts.filter((t) => t.type === type);
    const bytes = Buffer.from(mine.map((t, i) => t.text + (i % 5 === 0 ? '\r\n' : '\n')).join(''), 'utf8');
    let k = 0;
    let hinted = 0;
    bp.forEachLine(new Uint8Array(bytes), (text, hint: LineHint | undefined) => {
      const want = mine[k++]!;
      // Invalid UTF-8 never occurs here (the texts are strings), so the decoded line is the text.
      assert.equal(text, want.text);
      if (hint !== undefined) hinted++;
      const mk = (): PEvent => newLogEvent(text, { src: '/var/log/x.log', labels: { type }, time: NOW, mode: ExpectMode.TIMEMACHINE });
      const a = mk();
      const b = mk();
      rtA.hint = hint;
      const oa = parseEvent(set, a, rtA);
      rtA.hint = undefined;
      const ob = referenceParse(set, b, rtB);
      assert.deepEqual(snapshot(oa, a), snapshot(ob, b), `${impl} batch, ${type} line ${JSON.stringify(text.slice(0, 160))}`);
      runs++;
      if (oa === 'parsed') parsed++;
    });
    assert.equal(k, mine.length, 'every line of the batch was visited once');
    assert.ok(hinted > 0, 'lines got scanner hints');
  }
  assert.deepEqual(rtA.counters, rtB.counters);
  assert.deepEqual(warnA, warnB);
  return { runs, parsed };
}

test('compiled parser = reference twin: shipped rules on golden, sample and mutated lines', async (t) => {
  const rules = loadRulesDir(SHIPPED_RULES_DIR, { strict: true, warn: () => {} });
  const { runs, parsed } = await compareOn(rules.parsers.set, corpus(), 0xc0ffee);
  t.diagnostic(`${runs} lines, ${parsed} parsed`);
  assert.ok(parsed > 1500, `too few parsed lines (${parsed}) for the comparison to mean much`);
});

for (const impl of ['wasm', 'twin'] as const) {
  test(`batch path (${impl} scanner, prefilter, syslog header reader) = reference twin: shipped rules`, async (t) => {
    const rules = loadRulesDir(SHIPPED_RULES_DIR, { strict: true, warn: () => {} });
    const plan = sitePlan(rules.parsers.set, 'all');
    assert.ok(plan !== null && plan.sites > 50, 'the shipped sshd/nginx groks are prefiltered');
    const { runs, parsed } = await compareBatchOn(rules.parsers.set, [...corpus(), ...edgeLines()], 0xc0ffee, impl);
    t.diagnostic(`${runs} lines, ${parsed} parsed`);
    assert.ok(parsed > 1500, `too few parsed lines (${parsed})`);
  });
}

function debianSet(t: import('node:test').TestContext): ParserSet | null {
  const ref = requireDebianReference(t);
  if (!ref) return null;
  const files = [
    's00-raw/crowdsecurity/syslog-logs.yaml',
    's01-parse/crowdsecurity/sshd-logs.yaml',
    's01-parse/crowdsecurity/nginx-logs.yaml',
    's01-parse/crowdsecurity/apache2-logs.yaml',
    's01-parse/crowdsecurity/postfix-logs.yaml',
    's01-parse/crowdsecurity/postscreen-logs.yaml',
    's01-parse/crowdsecurity/mysql-logs.yaml',
    's02-enrich/crowdsecurity/dateparse-enrich.yaml',
    's02-enrich/crowdsecurity/http-logs.yaml',
    's02-enrich/crowdsecurity/whitelists.yaml',
  ];
  const dir = mkdtempSync(join(tmpdir(), 'palisade-compiled-'));
  for (const p of files) {
    mkdirSync(join(dir, 'parsers', p.split('/')[0]!), { recursive: true });
    symlinkSync(join(ref.hub, 'parsers', p), join(dir, 'parsers', p.split('/')[0]!, basename(p)));
  }
  symlinkSync(ref.patterns, join(dir, 'patterns'));
  symlinkSync(ref.data, join(dir, 'data'));
  return loadRulesDir(dir, { strict: true, warn: () => {} }).parsers.set;
}

test('batch path (wasm scanner) = reference twin: Debian hub parsers', async (t) => {
  const set = debianSet(t);
  if (!set) return;
  const { runs, parsed } = await compareBatchOn(set, [...corpus(), ...edgeLines()], 0xbadcafe, 'wasm');
  t.diagnostic(`${runs} lines, ${parsed} parsed`);
  assert.ok(parsed > 1000, `too few parsed lines (${parsed})`);
});

test('compiled parser = reference twin: Debian hub parsers on the same lines', async (t) => {
  const set = debianSet(t);
  if (!set) return;
  const { runs, parsed } = await compareOn(set, corpus(), 0xbadcafe);
  t.diagnostic(`${runs} lines, ${parsed} parsed`);
  assert.ok(parsed > 1000, `too few parsed lines (${parsed})`);
});

test('ipv4Value accepts exactly what parseIPv4 accepts, with the same value', () => {
  const r = rng(0x1b4);
  const pieces = ['0', '1', '9', '10', '01', '00', '255', '256', '999', '1000', '127', '', '+1', '-1', ' 1', '1 ', 'a', '٣'];
  const cases = ['1.2.3.4', '0.0.0.0', '255.255.255.255', '1.2.3', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.', '01.2.3.4', '1.2.3.04', '1.2.3.256', ''];
  for (let i = 0; i < 20000; i++) {
    const n = 1 + Math.floor(r() * 5);
    const parts: string[] = [];
    for (let k = 0; k < n; k++) parts.push(r() < 0.7 ? String(Math.floor(r() * 300)) : pieces[Math.floor(r() * pieces.length)]!);
    cases.push(parts.join(r() < 0.95 ? '.' : ','));
  }
  let valid = 0;
  for (const s of cases) {
    const want = parseIPv4(s);
    assert.equal(ipv4Value(s), want === null ? -1 : want, JSON.stringify(s));
    if (want !== null) valid++;
  }
  assert.ok(valid > 500, `too few valid addresses generated (${valid})`);
});

/** A whitelist node with one static that runs when the node succeeds (see spec §2.3 step 3). */
function whitelistNode(ips: string[], cidrs: string[]): ParserNode {
  const mark: Static = { kind: 'meta', key: 'mark', value: 'ran', expr: null, where: 'test' };
  return {
    name: 'wl', stage: 's02', file: 'test', nextStage: false, filter: null, grok: null, children: [], debug: false,
    statics: [mark],
    whitelist: { reason: 'r', ips: ips.map((s) => parseIpOrCidr(s)!), cidrs: cidrs.map((s) => parseCidr(s)!), exprs: [] },
  };
}

test('whitelist ranges: v4 candidates against v4 and v6-written ranges, v6 candidates, overflows', async () => {
  const enrichers = await buildEnrichers({ geoipDir: null, now: () => NOW });
  const rt: ParseRuntime = { enrichers, counters: newCounters(), warn: () => {}, now: () => NOW };
  const nodes = [
    whitelistNode(['192.0.2.7', '::1', '::ffff:198.51.100.9'], ['10.0.0.0/8', '172.16.0.0/12', 'fc00::/7', '::ffff:100.64.0.0/106']),
    whitelistNode([], ['::/0']), // every address, v4 included (mapped space)
    whitelistNode([], ['0.0.0.0/0']),
    whitelistNode(['2001:db8::1'], ['::ffff:0:0/96']),
  ];
  const r = rng(0x1f);
  const cands = ['192.0.2.7', '192.0.2.8', '198.51.100.9', '::ffff:192.0.2.7', '::1', '10.255.255.255', '11.0.0.0', '172.31.0.1', '172.32.0.1',
    '100.64.0.1', '100.127.255.255', '100.128.0.0', 'fd00::1', 'fe80::1', '2001:db8::1', '1.2.3', '01.2.3.4', 'x', '', '::ffff:10.1.2.3'];
  for (let i = 0; i < 3000; i++) {
    const v4 = [0, 0, 0, 0].map(() => Math.floor(r() * 256)).join('.');
    cands.push(r() < 0.2 ? `::ffff:${v4}` : v4);
  }
  for (const node of nodes) {
    for (const c of cands) {
      const run = (f: typeof processNode, overflow: boolean): unknown[] => {
        const evt = new PEvent({ Raw: '', Src: '', Time: NOW, Labels: new Map(), Module: 'file', Process: true });
        if (overflow) {
          evt.Type = EventType.OVFLW;
          evt.Overflow = { Mapkey: '', BucketId: '', Whitelisted: false, Reprocess: false, Sources: new Map([[c, {}], ['203.0.113.1', {}]]), Alert: null, APIAlerts: [], GetSources: () => [] };
        } else evt.Meta.set('source_ip', c);
        const ok = f(node, evt, { rt, stages: ['s02'], env: { evt } });
        return [ok, evt.Whitelisted, evt.Meta.get('mark'), evt.Overflow?.Whitelisted];
      };
      for (const overflow of [false, true]) {
        assert.deepEqual(run(processNode, overflow), run(referenceNode, overflow), `${c} (overflow ${overflow}) against ${node.whitelist!.cidrs.length} cidrs`);
      }
    }
  }
  // Sanity: the v6-written v4-mapped range does cover its v4 addresses.
  const ip = parseIp('100.64.0.1')!;
  assert.ok(nodes[0]!.whitelist!.cidrs.some((x) => ip.value >= x.start && ip.value <= x.end));
});

test('bare grok children: a sibling that changed the input is seen by the next ones', async () => {
  const ex = await createExplainer({
    type: 't',
    warn: () => {},
    configDir: makeRulesDir({
      'parsers/s00-raw/raw.yaml': RAW_STAGE,
      'parsers/s01-parse/p.yaml': `
name: p
description: d
nodes:
  - grok:
      pattern: '^a %{WORD:w}'
      apply_on: message
      statics:
        - parsed: message
          value: b next
  - grok:
      pattern: '^b %{WORD:v}'
      apply_on: message
  - filter: "evt.Parsed.v == 'next'"
    statics:
      - parsed: message
        value: c rest
  - grok:
      pattern: '^c %{WORD:u}'
      apply_on: message
  - grok:
      pattern: '^d %{WORD:t}'
      apply_on: missing_key
`,
    }),
  });
  const r = ex.explain('a one');
  assert.equal(r.parsed.w, 'one');
  assert.equal(r.parsed.v, 'next', 'the second child saw the message the first one wrote');
  assert.equal(r.parsed.u, 'rest', 'the fourth child saw the message the third one wrote');
  assert.equal(r.parsed.t, undefined);
  // A continue node takes its last child's result: the apply_on of a missing key fails it.
  assert.equal(r.success, false);
  const r2 = ex.explain('z zz');
  assert.equal(r2.parsed.w, undefined);
  assert.equal(r2.success, false);
});

test('statics: direct map copies, specialised targets and error messages match the expression path', async () => {
  const where = { file: 'test' };
  const e = (src: string) => compileExpr(src, { env: ['evt'], where });
  const statics: Static[] = [
    { kind: 'meta', key: 'copy', value: null, expr: e('evt.Parsed.a'), where: 's0' },
    { kind: 'meta', key: 'absent', value: null, expr: e('evt.Parsed.nope'), where: 's1' },
    { kind: 'target', key: 'evt.StrTime', value: null, expr: e('evt.Parsed.a'), where: 's2' },
    { kind: 'target', key: 'StrTimeFormat', value: 'layout', expr: null, where: 's3' },
    { kind: 'target', key: 'evt.Line.Labels.extra', value: 'lbl', expr: null, where: 's4' },
    { kind: 'target', key: 'evt.Nope', value: 'x', expr: null, where: 's5' },
    { kind: 'target', key: 'evt.Whitelisted', value: 'x', expr: null, where: 's6' },
    { kind: 'enriched', key: 'n', value: null, expr: e('len(evt.Parsed.a)'), where: 's7' },
    { kind: 'parsed', key: 'err', value: null, expr: e('evt.Parsed.a[10]'), where: 's8' },
    { kind: 'meta', key: 'empty', value: '', expr: null, where: 's9' },
    { kind: 'method', key: 'ParseDate', value: null, expr: e('evt.Parsed.nope'), where: 's10' },
  ];
  const node: ParserNode = { name: 'n', stage: 's', file: 'f', nextStage: false, filter: null, grok: null, children: [], whitelist: null, debug: false, statics };
  const enrichers = await buildEnrichers({ geoipDir: null, now: () => NOW });
  const results = [processNode, referenceNode].map((f) => {
    const warns: string[] = [];
    const rt: ParseRuntime = { enrichers, counters: newCounters(), warn: (m) => warns.push(m), now: () => NOW };
    const evt = newLogEvent('x', { labels: { type: 't' }, time: NOW });
    evt.Parsed.set('a', 'abc');
    const ok = f(node, evt, { rt, stages: ['s'], env: { evt } });
    return { ok, warns, counters: rt.counters, fields: [evt.StrTime, evt.StrTimeFormat, [...evt.Line.Labels], [...evt.Parsed], [...evt.Meta], [...evt.Enriched]] };
  });
  assert.deepEqual(results[0], results[1]);
  assert.equal(results[0]!.counters.staticErrors, 1);
  assert.ok(results[0]!.warns.some((w) => w.startsWith('s8: ')));
});

test('runs of bare grok children (first-character table): rewrites of the input, last-child result, next_stage', async () => {
  const child = (p: string, extra = '') => `
  - grok:
      pattern: '${p}'
      apply_on: message${extra}`;
  const rewrite = (v: string) => `
      statics:
        - parsed: message
          value: ${v}`;
  const nodes = (onsuccess: string) => `
name: p
description: d
${onsuccess}
nodes:${child('^a %{WORD:w1}', rewrite('"b next"'))}${child('^b %{WORD:w2}')}${child('^c %{WORD:w3}', rewrite('"a again"'))}${child('^a %{WORD:w4}')}${child('%{WORD:w5} z$')}${child('^[0-9]+ %{WORD:w6}')}${child('^é%{WORD:w7}')}${child('^d %{WORD:w8}')}
`;
  for (const onsuccess of ['onsuccess: next_stage', '']) {
    const dir = makeRulesDir({ 'parsers/s00-raw/raw.yaml': RAW_STAGE, 'parsers/s01-parse/p.yaml': nodes(onsuccess), 'parsers/s02-enrich/e.yaml': 'name: e\ndescription: d\nfilter: "1 == 1"\nstatics:\n  - meta: seen\n    value: yes\n' });
    const set = loadRulesDir(dir, { strict: true, warn: () => {} }).parsers.set;
    const enrichers = await buildEnrichers({ geoipDir: null, now: () => NOW });
    const rt = (): ParseRuntime => ({ enrichers, counters: newCounters(), warn: () => {}, now: () => NOW });
    const [rtA, rtB] = [rt(), rt()];
    let parsed = 0;
    for (const text of ['a one', 'b two', 'c three', 'd four', 'x y z', '42 n', 'éabc', 'é', '', ' a one', 'a', 'c 3', 'zz']) {
      const mk = (): PEvent => newLogEvent(text, { labels: { type: 't' }, time: NOW });
      const [a, b] = [mk(), mk()];
      const oa = parseEvent(set, a, rtA);
      assert.deepEqual(snapshot(oa, a), snapshot(referenceParse(set, b, rtB), b), `${onsuccess || 'continue'}: ${JSON.stringify(text)}`);
      if (oa === 'parsed') parsed++;
    }
    // A continue node never promotes the event; next_stage ones parse the lines a child takes.
    if (onsuccess) assert.ok(parsed >= 3, `${parsed} parsed`);
    else assert.ok(rtA.counters.filterErrors === 0);
  }
});
