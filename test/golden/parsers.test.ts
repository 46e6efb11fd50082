/**
 * Golden parser cases: every fixtures/cases/parsers/*.yaml runs through the shipped rules with
 * `explain` and must match its expectations (success, whitelisted, Parsed/Meta subsets,
 * absent Meta keys). One harness for all shipped parsers (design.md §5 item 2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createExplainer, type Explainer } from '../../src/parse/explain.js';
import { repoRoot } from '../support/debian.js';

interface Case {
  line: string;
  success: boolean;
  whitelisted?: boolean;
  parsed?: Record<string, string>;
  meta?: Record<string, string>;
  absent?: string[];
}
interface CaseFile { description?: string; type: string; cases: Case[] }

const dir = join(repoRoot, 'fixtures/cases/parsers');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
const explainers = new Map<string, Explainer>();
const quiet = () => {};

test('there are golden parser cases', () => {
  assert.ok(files.length >= 10, `expected golden case files, found ${files.length}`);
});

for (const f of files) {
  const spec = parse(readFileSync(join(dir, f), 'utf8')) as CaseFile;
  test(`golden parsers: ${f}`, async () => {
    assert.ok(spec.type, `${f}: missing type`);
    assert.ok(Array.isArray(spec.cases) && spec.cases.length > 0, `${f}: no cases`);
    let ex = explainers.get(spec.type);
    if (!ex) {
      ex = await createExplainer({ type: spec.type, src: `/var/log/${f}`, warn: quiet });
      explainers.set(spec.type, ex);
    }
    const problems: string[] = [];
    spec.cases.forEach((c, i) => {
      const r = ex!.explain(c.line);
      const where = `${f} case ${i + 1} (${c.line.slice(0, 90)})`;
      if (r.success !== c.success) problems.push(`${where}: success ${r.success}, expected ${c.success}`);
      if (c.whitelisted !== undefined && r.whitelisted !== c.whitelisted) problems.push(`${where}: whitelisted ${r.whitelisted}, expected ${c.whitelisted}`);
      for (const [k, v] of Object.entries(c.parsed ?? {})) {
        if (r.parsed[k] !== String(v)) problems.push(`${where}: parsed.${k} = ${JSON.stringify(r.parsed[k])}, expected ${JSON.stringify(String(v))}`);
      }
      for (const [k, v] of Object.entries(c.meta ?? {})) {
        if (r.meta[k] !== String(v)) problems.push(`${where}: meta.${k} = ${JSON.stringify(r.meta[k])}, expected ${JSON.stringify(String(v))}`);
      }
      for (const k of c.absent ?? []) {
        if (k in r.meta) problems.push(`${where}: meta.${k} should be absent, is ${JSON.stringify(r.meta[k])}`);
      }
    });
    assert.deepEqual(problems, [], problems.join('\n'));
  });
}
