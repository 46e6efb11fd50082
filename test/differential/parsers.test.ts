/**
 * Differential test of the parser stages against the real crowdsec 1.4.6 binary (Debian 12
 * package, unpacked by scripts/setup-reference.sh). For each service sample in
 * fixtures/samples, both engines get the same Debian hub parser files, grok patterns and data
 * files; crowdsec replays the file with `-dump-data` (test/support/crowdsec-runner.ts) and
 * Palisade explains the same lines. Per line we compare:
 *   - success: passed every stage (whitelisted lines count as parsed: CrowdSec parses them
 *     fully and only then drops them; the dump shows them in the last stage with
 *     `Whitelisted: true`),
 *   - whitelisted, and the final Parsed, Meta and Enriched maps, for lines both engines parsed.
 * Agreement per service is printed and must be >= 99%; every differing line is listed.
 *
 * Known, documented differences (excluded from the comparison, never from the line count):
 *   - A date that no layout parses becomes "now" (spec §2.7 step 4), so `Meta.timestamp` of
 *     such lines (and `Enriched.MarshaledTime`) is the wall clock of each run. It is compared as
 *     "both near the run time"; Palisade is given the crowdsec run's start as its clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { requireDebianReference, repoRoot, type DebianReference } from '../support/debian.js';
import { readLogLines, replayLines, runCrowdsecReplay, type ReplayLine } from '../support/crowdsec-runner.js';
import { createExplainer, type ExplainLine } from '../../src/parse/explain.js';

interface Service {
  name: string;
  type: string;
  /** s01 parser files, relative to <hub>/parsers/s01-parse. */
  s01: string[];
  web?: boolean;
}

const SERVICES: Service[] = [
  { name: 'sshd', type: 'syslog', s01: ['crowdsecurity/sshd-logs.yaml'] },
  { name: 'nginx', type: 'nginx', s01: ['crowdsecurity/nginx-logs.yaml'], web: true },
  { name: 'apache2', type: 'apache2', s01: ['crowdsecurity/apache2-logs.yaml'], web: true },
  { name: 'postfix', type: 'syslog', s01: ['crowdsecurity/postfix-logs.yaml', 'crowdsecurity/postscreen-logs.yaml'] },
  { name: 'mysql', type: 'mysql', s01: ['crowdsecurity/mysql-logs.yaml'] },
];

const MIN_AGREEMENT = 0.99;

/** The parser chain CrowdSec's collections install for a service (spec §0.1, §2.8, §2.9). */
function parserFiles(s: Service): string[] {
  return [
    's00-raw/crowdsecurity/syslog-logs.yaml', // holds the non-syslog node too
    ...s.s01.map((f) => `s01-parse/${f}`),
    's02-enrich/crowdsecurity/dateparse-enrich.yaml',
    ...(s.web ? ['s02-enrich/crowdsecurity/http-logs.yaml'] : []),
    's02-enrich/crowdsecurity/whitelists.yaml',
  ];
}

/** A CrowdSec-style config dir for Palisade holding the same hub files (as symlinks). */
function palisadeConfigDir(ref: DebianReference, parsers: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-diff-'));
  for (const p of parsers) {
    const stage = p.split('/')[0];
    mkdirSync(join(dir, 'parsers', stage), { recursive: true });
    symlinkSync(join(ref.hub, 'parsers', p), join(dir, 'parsers', stage, basename(p)));
  }
  symlinkSync(ref.patterns, join(dir, 'patterns'));
  symlinkSync(ref.data, join(dir, 'data'));
  return dir;
}

interface Diff {
  key: string;
  crowdsec: string | undefined;
  palisade: string | undefined;
}

/** A ParseDate fallback to "now": within the run window (plus slack for slow machines). */
function nearRun(v: string | undefined, from: Date, to: Date): boolean {
  const t = v ? Date.parse(v) : NaN;
  return Number.isFinite(t) && t >= from.getTime() - 5_000 && t <= to.getTime() + 5_000;
}

function diffMaps(prefix: string, cs: Record<string, string> | undefined, ps: Record<string, string>, out: Diff[], equal: (k: string, a: string | undefined, b: string | undefined) => boolean): void {
  const a = cs ?? {};
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(ps)])].sort()) {
    if (!equal(k, a[k], ps[k])) out.push({ key: `${prefix}.${k}`, crowdsec: a[k], palisade: ps[k] });
  }
}

function compareLine(cs: ReplayLine, ps: ExplainLine, window: { from: Date; to: Date }, now: Date): Diff[] {
  const diffs: Diff[] = [];
  if (cs.success !== ps.success) {
    diffs.push({ key: 'success', crowdsec: `${cs.success}${cs.failedStage ? ` (dropped in ${cs.failedStage})` : ''}`, palisade: `${ps.success}${ps.error ? ` (${ps.error})` : ''}` });
    return diffs;
  }
  if (!cs.success) return diffs;
  if (cs.whitelisted !== ps.whitelisted) diffs.push({ key: 'whitelisted', crowdsec: String(cs.whitelisted), palisade: String(ps.whitelisted) });
  const exact = (_k: string, a: string | undefined, b: string | undefined) => a === b;
  diffMaps('Parsed', cs.final?.Parsed, ps.parsed, diffs, exact);
  const dateOrNow = (field: string) => (k: string, a: string | undefined, b: string | undefined) => a === b || (k === field && nearRun(a, window.from, window.to) && nearRun(b, now, now));
  diffMaps('Meta', cs.final?.Meta, ps.meta, diffs, dateOrNow('timestamp'));
  diffMaps('Enriched', cs.final?.Enriched, ps.enriched, diffs, dateOrNow('MarshaledTime'));
  return diffs;
}

const show = (v: string | undefined) => (v === undefined ? '<absent>' : JSON.stringify(v));

for (const svc of SERVICES) {
  test(`parsers agree with crowdsec 1.4.6 on fixtures/samples/${svc.name}.log (type ${svc.type})`, { timeout: 180_000 }, async (t) => {
    const ref = requireDebianReference(t);
    if (!ref) return;
    const logFile = join(repoRoot, 'fixtures', 'samples', `${svc.name}.log`);
    const lines = readLogLines(logFile);
    const parsers = parserFiles(svc);

    const cs = await runCrowdsecReplay({
      logFile,
      type: svc.type,
      parsers,
      patternsDir: ref.patterns,
      dataDir: ref.data,
      crowdsecBin: ref.crowdsecBin,
      hubDir: ref.hub,
      timeoutMs: 120_000,
    });
    // Every line must have entered s00 exactly once, or the per-line recovery is meaningless.
    const firstNodeEntries = cs.parserDump['s00-raw']?.[cs.nodeOrder[0].nodes[0]]?.length ?? 0;
    assert.equal(firstNodeEntries, lines.length, `crowdsec dump holds ${firstNodeEntries} s00 entries for ${lines.length} lines`);
    const reference = replayLines(cs, lines);
    const lost = reference.filter((l) => l.final === null).map((l) => JSON.stringify(l.raw));
    assert.deepEqual(lost, [], 'lines missing from the crowdsec dump (raw text mismatch?)');

    // The sample must exercise both outcomes, or agreement would prove little.
    const csParsed = reference.filter((l) => l.success).length;
    assert.ok(csParsed >= lines.length * 0.2, `${svc.name}: crowdsec parsed only ${csParsed}/${lines.length} lines`);
    assert.ok(csParsed < lines.length, `${svc.name}: crowdsec parsed every line; the sample lacks unparsable shapes`);

    const configDir = palisadeConfigDir(ref, parsers);
    try {
      const warnings: string[] = [];
      const explainer = await createExplainer({ type: svc.type, configDir, src: logFile, now: cs.startedAt, geoipDir: null, warn: (m) => warnings.push(m) });
      const window = { from: cs.startedAt, to: cs.finishedAt };
      const differing: { n: number; raw: string; diffs: Diff[] }[] = [];
      let whitelisted = 0;
      let compared = 0;
      reference.forEach((line, i) => {
        const ps = explainer.explain(line.raw);
        if (line.success) {
          // The recovered final event must be the whole parsed event, not an early stage's.
          assert.equal(line.final?.Meta?.datasource_path, logFile, `${svc.name}.log:${i + 1}: recovered event lacks s00 metas`);
          assert.equal(line.final?.Stage, cs.nodeOrder[cs.nodeOrder.length - 1].stage, `${svc.name}.log:${i + 1}: recovered event is not from the last stage`);
          compared += Object.keys(line.final?.Parsed ?? {}).length + Object.keys(line.final?.Meta ?? {}).length + Object.keys(line.final?.Enriched ?? {}).length;
        }
        if (line.success && line.whitelisted) whitelisted++;
        const diffs = compareLine(line, ps, window, cs.startedAt);
        if (diffs.length) differing.push({ n: i + 1, raw: line.raw, diffs });
      });
      const agree = lines.length - differing.length;
      const pct = (100 * agree) / lines.length;
      console.log(
        `${svc.name}: ${agree}/${lines.length} lines agree (${pct.toFixed(2)}%); crowdsec parsed ${csParsed} (${whitelisted} whitelisted), ${lines.length - csParsed} unparsed; ${compared} Parsed/Meta/Enriched values compared`,
      );
      for (const w of warnings.slice(0, 5)) console.log(`  palisade warning: ${w}`);
      for (const d of differing) {
        console.log(`  ${svc.name}.log:${d.n}: ${d.raw}`);
        for (const x of d.diffs) console.log(`    ${x.key}: crowdsec=${show(x.crowdsec)} palisade=${show(x.palisade)}`);
      }
      assert.ok(whitelisted > 0, `${svc.name}: the sample has no whitelisted (private source) line`);
      assert.ok(pct >= MIN_AGREEMENT * 100, `${svc.name}: agreement ${pct.toFixed(2)}% < ${MIN_AGREEMENT * 100}% (${differing.length} differing lines listed above)`);
    } finally {
      rmSync(configDir, { recursive: true, force: true });
    }
  });
}

// The comparator itself: it must see every kind of difference, and tolerate only the
// documented "date fell back to now" case.
test('line comparison flags success, whitelist, Parsed, Meta and Enriched differences', () => {
  const from = new Date('2026-11-27T10:00:00Z');
  const to = new Date('2026-11-27T10:00:03Z');
  const cs: ReplayLine = {
    raw: 'x',
    success: true,
    whitelisted: false,
    final: { Stage: 's02-enrich', Parsed: { a: '1', empty: '' }, Meta: { source_ip: '192.0.2.1', timestamp: '2026-11-27T10:00:01.5Z' } },
  };
  const ps: ExplainLine = { line: 'x', success: true, parsers: [], parsed: { a: '1', empty: '' }, meta: { source_ip: '192.0.2.1', timestamp: '2026-11-27T10:00:00Z' }, enriched: {}, whitelisted: false, scenarios: [] };
  const window = { from, to };
  assert.deepEqual(compareLine(cs, ps, window, from), []);
  assert.deepEqual(compareLine(cs, { ...ps, parsed: { a: '2', empty: '' } }, window, from), [{ key: 'Parsed.a', crowdsec: '1', palisade: '2' }]);
  assert.deepEqual(compareLine(cs, { ...ps, parsed: { a: '1' } }, window, from), [{ key: 'Parsed.empty', crowdsec: '', palisade: undefined }]);
  assert.deepEqual(compareLine(cs, { ...ps, whitelisted: true }, window, from).map((d) => d.key), ['whitelisted']);
  assert.deepEqual(compareLine(cs, { ...ps, success: false }, window, from).map((d) => d.key), ['success']);
  // Two failed lines agree whatever their partial state.
  assert.deepEqual(compareLine({ ...cs, success: false }, { ...ps, success: false, parsed: {} }, window, from), []);
  assert.deepEqual(compareLine(cs, { ...ps, enriched: { MarshaledTime: '2023-03-08T23:20:05Z' } }, window, from), [{ key: 'Enriched.MarshaledTime', crowdsec: undefined, palisade: '2023-03-08T23:20:05Z' }]);
  // A real log date must match exactly, even though both are valid times.
  const dated = { ...cs, final: { ...cs.final, Meta: { ...cs.final!.Meta, timestamp: '2023-03-08T23:20:05Z' } } };
  assert.deepEqual(compareLine(dated, ps, window, from).map((d) => d.key), ['Meta.timestamp']);
});
