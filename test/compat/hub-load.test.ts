/**
 * Loads the whole Debian 12 crowdsec 1.4.6 hub snapshot with `palisade hub check --json`
 * (design.md §3) as a child process and checks the compatibility contract (design.md §2):
 * every parser and postoverflow loads, and at least 98% of the scenario documents do.
 * Expected totals are counted from the snapshot itself (spec §0.1: parsers s00 5 files,
 * s01 75, s02 5; 4 postoverflows; 112 scenario files holding 148 documents).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot, requireDebianReference } from '../support/debian.js';
import { yamlFiles } from '../support/yaml-files.js';

interface Count {
  loaded: number;
  failed: number;
}
interface HubCheckJson {
  parsers: Count;
  scenarios: Count;
  postoverflows: Count;
  failures: { kind: string; file: string; name: string; error: string }[];
}


/** Files and non-empty YAML documents under `dir`. */
function census(dir: string): { files: number; docs: number } {
  const files = yamlFiles(dir);
  let docs = 0;
  for (const f of files) {
    for (const d of parseAllDocuments(readFileSync(f, 'utf8'))) {
      const v: unknown = d.toJS();
      if (v !== null && v !== undefined) docs++;
    }
  }
  return { files: files.length, docs };
}

function isCount(v: unknown): v is Count {
  return !!v && typeof v === 'object' && Number.isInteger((v as Count).loaded) && Number.isInteger((v as Count).failed);
}

test('palisade hub check loads the Debian crowdsec 1.4.6 hub', { timeout: 240_000 }, (t) => {
  const ref = requireDebianReference(t);
  if (!ref) return;
  const stagesPresent = readdirSync(join(ref.hub, 'parsers')).sort();
  assert.deepEqual(stagesPresent, ['s00-raw', 's01-parse', 's02-enrich']);
  const parserFiles = stagesPresent.map((s) => census(join(ref.hub, 'parsers', s)));
  // The snapshot this test is written against (spec §0.1).
  assert.deepEqual(
    parserFiles.map((c) => c.files),
    [5, 75, 5],
  );
  const parsers = { files: parserFiles.reduce((s, c) => s + c.files, 0), docs: parserFiles.reduce((s, c) => s + c.docs, 0) };
  const scenarios = census(join(ref.hub, 'scenarios'));
  const postoverflows = census(join(ref.hub, 'postoverflows'));
  assert.equal(scenarios.docs, 148);
  assert.equal(postoverflows.files, 4);

  const r = spawnSync(
    process.execPath,
    ['--enable-experimental-regexp-engine-on-excessive-backtracks', '--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'hub', 'check', ref.hub, '--patterns', ref.patterns, '--data', ref.data, '--json'],
    { cwd: repoRoot, encoding: 'utf8', timeout: 200_000, maxBuffer: 64 * 1024 * 1024 },
  );
  assert.equal(r.error, undefined, `hub check could not run: ${String(r.error)}`);
  // Exit 1 just means "something failed to load"; anything else is a crash or bad usage.
  assert.ok(r.status === 0 || r.status === 1, `hub check exited with ${r.status} ${r.signal ?? ''}: ${r.stderr}`);
  const out = r.stdout.trim();
  assert.ok(out.length > 0, `hub check printed nothing (status ${r.status}); stderr:\n${r.stderr.slice(0, 3000)}`);
  assert.equal(out.split('\n').length, 1, `--json must print exactly one line, got:\n${out.slice(0, 2000)}`);
  const report = JSON.parse(out) as HubCheckJson;
  assert.ok(isCount(report.parsers) && isCount(report.scenarios) && isCount(report.postoverflows) && Array.isArray(report.failures), `unexpected JSON shape: ${out.slice(0, 500)}`);
  assert.equal(r.status, report.failures.length > 0 ? 1 : 0, 'exit status must say whether anything failed');

  const pct = (c: Count) => (100 * c.loaded) / Math.max(1, c.loaded + c.failed);
  console.log(
    `hub check: parsers ${report.parsers.loaded}/${report.parsers.loaded + report.parsers.failed} (${pct(report.parsers).toFixed(1)}%), ` +
      `scenarios ${report.scenarios.loaded}/${report.scenarios.loaded + report.scenarios.failed} (${pct(report.scenarios).toFixed(1)}%), ` +
      `postoverflows ${report.postoverflows.loaded}/${report.postoverflows.loaded + report.postoverflows.failed}`,
  );
  for (const f of report.failures) console.log(`  FAILED ${f.kind} ${f.name} (${f.file}): ${f.error}`);
  for (const f of report.failures) {
    assert.ok(typeof f.error === 'string' && f.error.length > 0, `failure without a reason: ${JSON.stringify(f)}`);
    assert.ok(typeof f.file === 'string' && f.file.length > 0, `failure without a file: ${JSON.stringify(f)}`);
  }

  // Parsers: every one. The command may count files or documents; both totals are known.
  const parserTotal = report.parsers.loaded + report.parsers.failed;
  assert.ok(parserTotal === parsers.docs || parserTotal === parsers.files, `parsers counted ${parserTotal}, expected ${parsers.docs} documents (${parsers.files} files)`);
  assert.equal(report.parsers.failed, 0, 'every Debian hub parser must load');
  assert.equal(report.failures.filter((f) => f.kind === 'patterns').length, 0, 'the Debian grok pattern files must load');

  // Scenarios: counted as documents (design.md §3); >= 98% of 148 must load.
  assert.equal(report.scenarios.loaded + report.scenarios.failed, scenarios.docs, 'scenario documents counted');
  assert.ok(report.scenarios.loaded >= Math.ceil(0.98 * scenarios.docs), `only ${report.scenarios.loaded}/${scenarios.docs} scenario documents loaded (need >= 98%)`);

  // Postoverflows: every one.
  const postTotal = report.postoverflows.loaded + report.postoverflows.failed;
  assert.ok(postTotal === postoverflows.docs || postTotal === postoverflows.files, `postoverflows counted ${postTotal}, expected ${postoverflows.docs}`);
  assert.equal(report.postoverflows.failed, 0, 'every Debian hub postoverflow must load');
});
