/**
 * Deferred children tails (src/parse/deferred.ts planTails): the last children of a node
 * whose result does not depend on them run after routing, for routed events only. The
 * shipped rules defer http-logs' request splits (children 1-3 of 4); a routing read, a later
 * node's read, a filter on a tail child, a last child that may fail or a static that may throw
 * shortens or cancels the tail. With the tails on, every routed event ends up with exactly
 * the plain path's fields and the counters are the same; unrouted events skip the splits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DetectionEngine } from '../../src/pipeline/engine.js';
import { SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';
import { PreparedRoutes } from '../../src/scenarios/engine.js';
import { pendingDeferred, planDeferral, planTails, runDeferred } from '../../src/parse/deferred.js';
import { enableDeferral } from '../../src/parse/stages.js';
import { alwaysScalar } from '../../src/expr/field-reads.js';
import type { PEvent } from '../../src/core/event.js';
import { generateNginx } from '../../fixtures/generate-bf-logs.js';

const HTTP = 'palisade/http-logs';
const HTTP_LOGS = 'parsers/s02-enrich/http-logs.yaml';

/** A copy of the shipped rules, edited. */
function rulesWith(edit: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-tails-'));
  cpSync(SHIPPED_RULES_DIR, dir, { recursive: true });
  edit(dir);
  return dir;
}

function replaceIn(dir: string, file: string, from: string, to: string): void {
  const p = join(dir, file);
  const text = readFileSync(p, 'utf8');
  assert.ok(text.includes(from), `${file} has no ${from}`);
  writeFileSync(p, text.replace(from, to));
}

async function tailsOf(dir?: string): Promise<string[]> {
  const e = await DetectionEngine.create({ mode: 'replay', configDir: dir, warn: () => {} });
  try {
    return planTails(e.rules.parsers.set, e.scenarios, e.rules.postoverflows.set).map((t) => `${t.node.name} ${t.from}/${t.node.children.length}`);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

test('alwaysScalar: strings, case mapping, membership in literal lists, len of a string', () => {
  assert.equal(alwaysScalar('len(evt.Parsed.http_args)'), true);
  assert.equal(alwaysScalar("Upper(evt.Parsed.file_ext) in ['.JPG', '.CSS'] ? 'true' : 'false'"), true);
  assert.equal(alwaysScalar('evt.Parsed.file_frag + evt.Parsed.file_ext'), true);
  assert.equal(alwaysScalar('Lower(evt.Meta.x)'), true);
  // Not provably quiet: a list with a non-literal, a map's len, conversions that may fail.
  assert.equal(alwaysScalar("evt.Parsed.x in ['a', evt.Parsed.y] ? 'a' : 'b'"), false);
  assert.equal(alwaysScalar('len(evt.Parsed)'), false);
  assert.equal(alwaysScalar('PathUnescape(evt.Parsed.x)'), false);
  assert.equal(alwaysScalar('int(evt.Parsed.x)'), false);
  assert.equal(alwaysScalar('len(evt.Parsed.x) + 1'), false);
});

test('shipped rules: http-logs children 1-3 are deferred, nothing else', async () => {
  assert.deepEqual(await tailsOf(), [`${HTTP} 1/4`]);
});

test('a scenario filter reading a field of the file split keeps that split in place', async () => {
  const dir = rulesWith((d) => replaceIn(d, 'scenarios/http-crawl-non_statics.yaml',
    "evt.Meta.log_type == 'http_access-log' &&", "evt.Meta.log_type == 'http_access-log' && evt.Parsed.static_ressource == 'false' &&"));
  assert.deepEqual(await tailsOf(dir), [`${HTTP} 3/4`]);
});

test('a later node reading what the tail writes keeps it in place', async () => {
  const later = `filter: "evt.Parsed.file_ext == '.php'"
name: test/php
statics:
  - meta: php
    value: "yes"
`;
  const dir = rulesWith((d) => writeFileSync(join(d, 'parsers/s02-enrich/zz-php.yaml'), later));
  assert.deepEqual(await tailsOf(dir), [`${HTTP} 3/4`]);
  const reader = `filter: "evt.Meta.http_args_len != ''"
name: test/args
statics:
  - meta: args
    value: "yes"
`;
  const dir2 = rulesWith((d) => writeFileSync(join(d, 'parsers/s02-enrich/zz-args.yaml'), reader));
  assert.deepEqual(await tailsOf(dir2), []);
});

test('a last child that may fail, a filtered child or a static that may throw stops the tail', async () => {
  // A filter on the last child: the node's result would depend on it.
  const filtered = rulesWith((d) => replaceIn(d, HTTP_LOGS, '  - statics:\n      - parsed: http_path', '  - filter: "evt.Parsed.request != \'\'"\n    statics:\n      - parsed: http_path'));
  assert.deepEqual(await tailsOf(filtered), []);
  // A static that may fail on the file split: only the last child is deferred.
  const throwing = rulesWith((d) => replaceIn(d, HTTP_LOGS, 'expression: evt.Parsed.file_frag + evt.Parsed.file_ext', 'expression: "PathUnescape(evt.Parsed.file_frag)"'));
  assert.deepEqual(await tailsOf(throwing), [`${HTTP} 3/4`]);
  // next_stage on the node: a child's success would end the loop.
  const next = rulesWith((d) => replaceIn(d, HTTP_LOGS, 'author: palisade\n', 'author: palisade\nonsuccess: next_stage\n'));
  assert.deepEqual(await tailsOf(next), []);
});

/** Sorted entries of the event's string maps and string fields after parsing. */
function snapshot(evt: PEvent): string {
  const m = (x: Map<string, string>): [string, string][] => [...x.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify([m(evt.Meta), m(evt.Enriched), m(evt.Parsed), evt.MarshaledTime, evt.StrTime, evt.Stage, evt.Whitelisted]);
}

/** Routed events' snapshots and routes as a pool worker sends them; unrouted access events without the tail's fields; counters. */
async function workerRun(text: string, mode: 'plain' | 'statics' | 'tails'): Promise<{ routed: string[]; unsplit: number; counters: unknown }> {
  const e = await DetectionEngine.create({ mode: 'replay', warn: () => {} });
  const set = e.rules.parsers.set;
  const post = e.rules.postoverflows.set;
  if (mode !== 'plain') enableDeferral(set, planDeferral(set, e.scenarios, post), mode === 'tails' ? planTails(set, e.scenarios, post) : []);
  const routes = new PreparedRoutes();
  const routed: string[] = [];
  let unsplit = 0;
  e.parseBatch(new TextEncoder().encode(text), 'test.log', new Map([['type', 'nginx']]), (evt) => {
    const r = e.buckets.routeInto(evt, routes);
    if (r.count > 0) {
      runDeferred(evt);
      assert.equal(pendingDeferred(), 0);
      const keys = Array.from({ length: r.count }, (_, j) => `${r.index[j]}:${r.key[j]}`).join(',');
      routed.push(`${keys} ${snapshot(evt)}`);
    } else if (evt.Meta.get('log_type') === 'http_access-log' && !evt.Meta.has('http_args_len')) {
      unsplit++;
    }
  }, 'file', true);
  return { routed, unsplit, counters: { ...e.counters } };
}

test('nginx: routed events get exactly the plain path\'s fields; unrouted ones skip the splits', async () => {
  const text = generateNginx(4000, 13);
  const plain = await workerRun(text, 'plain');
  const statics = await workerRun(text, 'statics');
  const tails = await workerRun(text, 'tails');
  assert.ok(plain.routed.length > 100, `routed events: ${plain.routed.length}`);
  // The sample exercises the split fields the tail writes.
  assert.ok(plain.routed.some((s) => s.includes('"file_ext"') && s.includes('"http_args_len"')), 'no split event in the sample');
  for (const run of [statics, tails]) {
    assert.deepEqual(run.counters, plain.counters);
    assert.equal(run.routed.length, plain.routed.length);
    for (let i = 0; i < plain.routed.length; i++) assert.equal(run.routed[i], plain.routed[i], `routed event ${i}`);
  }
  assert.equal(plain.unsplit, 0);
  assert.equal(statics.unsplit, 0);
  assert.ok(tails.unsplit > 0, 'no unrouted event skipped the splits');
});
