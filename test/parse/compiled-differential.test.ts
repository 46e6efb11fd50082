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

async function compareOn(set: ParserSet, lines: { line: string; type: string }[], seed: number): Promise<{ runs: number; parsed: number }> {
  const enrichers = await buildEnrichers({ now: () => NOW, warn: () => {} });
  const warnA: string[] = [];
  const warnB: string[] = [];
  const rtA: ParseRuntime = { enrichers, counters: newCounters(), warn: (m) => warnA.push(m), now: () => NOW };
  const rtB: ParseRuntime = { enrichers, counters: newCounters(), warn: (m) => warnB.push(m), now: () => NOW };
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

test('compiled parser = reference twin: shipped rules on golden, sample and mutated lines', async (t) => {
  const rules = loadRulesDir(SHIPPED_RULES_DIR, { strict: true, warn: () => {} });
  const { runs, parsed } = await compareOn(rules.parsers.set, corpus(), 0xc0ffee);
  t.diagnostic(`${runs} lines, ${parsed} parsed`);
  assert.ok(parsed > 1500, `too few parsed lines (${parsed}) for the comparison to mean much`);
});

test('compiled parser = reference twin: Debian hub parsers on the same lines', async (t) => {
  const ref = requireDebianReference(t);
  if (!ref) return;
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
  const rules = loadRulesDir(dir, { strict: true, warn: () => {} });
  const { runs, parsed } = await compareOn(rules.parsers.set, corpus(), 0xbadcafe);
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
