/**
 * Deferred statics (src/parse/deferred.ts): the load-time proof that a node's statics may run
 * after routing, and the run-time queue. The shipped rules defer geoip-enrich only; a rule
 * that reads what it writes (whitelist, later node, scenario filter), writes what it reads,
 * reads a whole map, or a static that could drop the event keeps it in place. With the
 * deferral on, every routed event ends up with exactly the fields of the plain path, the
 * counters are the same, and unrouted events skip the lookups.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DetectionEngine } from '../../src/pipeline/engine.js';
import { SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';
import { PreparedRoutes } from '../../src/scenarios/engine.js';
import { pendingDeferred, planDeferral, runDeferred } from '../../src/parse/deferred.js';
import { enableDeferral } from '../../src/parse/stages.js';
import type { PEvent } from '../../src/core/event.js';
import { generateNginx, generateSshd } from '../../fixtures/generate-bf-logs.js';

const GEO = 'palisade/geoip-enrich';

/** A copy of the shipped rules with extra files (path below the rules dir → content). */
function rulesWith(files: Record<string, string>, edit?: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-defer-'));
  cpSync(SHIPPED_RULES_DIR, dir, { recursive: true });
  for (const [p, text] of Object.entries(files)) writeFileSync(join(dir, p), text);
  edit?.(dir);
  return dir;
}

async function planOf(dir?: string): Promise<string[]> {
  const e = await DetectionEngine.create({ mode: 'replay', configDir: dir, warn: () => {} });
  try {
    return planDeferral(e.rules.parsers.set, e.scenarios, e.rules.postoverflows.set).map((n) => n.name);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

test('shipped rules: geoip-enrich is deferred, nothing else', async () => {
  assert.deepEqual(await planOf(), [GEO]);
});

test('a whitelist after it that reads an enriched field keeps it in place', async () => {
  const wl = `name: test/geo-whitelist
whitelist:
  reason: "by country"
  expression:
    - "evt.Meta.IsoCode == 'ZZ'"
`;
  assert.deepEqual(await planOf(rulesWith({ 'parsers/s02-enrich/zz-geo-whitelist.yaml': wl })), []);
  const wl2 = wl.replace("evt.Meta.IsoCode == 'ZZ'", "evt.Enriched.ASNOrg contains 'Example'");
  assert.deepEqual(await planOf(rulesWith({ 'parsers/s02-enrich/zz-geo-whitelist.yaml': wl2 })), []);
});

test('a node before it may read the fields (it ran before them anyway)', async () => {
  const early = `filter: "evt.Enriched.IsoCode == 'ZZ'"
name: test/early
statics:
  - meta: early
    value: "x"
`;
  // (Its own literal static, which nothing reads, is deferred too.)
  assert.deepEqual(await planOf(rulesWith({ 'parsers/s02-enrich/aa-early.yaml': early })), ['test/early', GEO]);
});

test('a whole-map read after it, in a parser, a scenario or a postoverflow, keeps it in place', async () => {
  const dump = `filter: "evt.Meta.source_ip != ''"
name: test/dump
statics:
  - parsed: dump
    expression: "ToJsonString(evt.Meta)"
`;
  assert.deepEqual(await planOf(rulesWith({ 'parsers/s02-enrich/zz-dump.yaml': dump })), []);
  const distinct = (dir: string): void => {
    const p = join(dir, 'scenarios/ssh-bf.yaml');
    writeFileSync(p, readFileSync(p, 'utf8').replace('distinct: evt.Meta.target_user', 'distinct: ToJsonString(evt.Enriched)'));
  };
  assert.deepEqual(await planOf(rulesWith({}, distinct)), []);
  const bare = (dir: string): void => {
    const p = join(dir, 'scenarios/ssh-bf.yaml');
    writeFileSync(p, readFileSync(p, 'utf8').replace('distinct: evt.Meta.target_user', 'distinct: "evt == nil ? \'\' : \'x\'"'));
  };
  assert.deepEqual(await planOf(rulesWith({}, bare)), []);
});

test('a scenario filter or groupby reading what it writes keeps it in place', async () => {
  const byCountry = (dir: string): void => {
    const p = join(dir, 'scenarios/ssh-bf.yaml');
    writeFileSync(p, readFileSync(p, 'utf8').replace("filter: \"evt.Meta.log_type == 'ssh_failed-auth'\"", "filter: \"evt.Meta.log_type == 'ssh_failed-auth' && evt.Meta.IsoCode != 'ZZ'\""));
  };
  assert.deepEqual(await planOf(rulesWith({}, byCountry)), []);
  const byRange = (dir: string): void => {
    const p = join(dir, 'scenarios/ssh-bf.yaml');
    writeFileSync(p, readFileSync(p, 'utf8').replace('groupby: evt.Meta.source_ip', 'groupby: evt.Meta.SourceRange'));
  };
  assert.deepEqual(await planOf(rulesWith({}, byRange)), []);
});

test('a later node writing its input keeps it in place', async () => {
  const rewrite = `filter: "evt.Meta.source_ip != ''"
name: test/rewrite
statics:
  - meta: source_ip
    expression: "evt.Meta.source_ip"
`;
  assert.deepEqual(await planOf(rulesWith({ 'parsers/s02-enrich/zz-rewrite.yaml': rewrite })), []);
});

test('a static that could drop the event or warn is never deferred', async () => {
  const boolStatic = (dir: string): void => {
    const p = join(dir, 'parsers/s02-enrich/geoip-enrich.yaml');
    writeFileSync(p, `${readFileSync(p, 'utf8')}  - meta: eu
    expression: "evt.Enriched.IsInEU == 'true'"
`);
  };
  assert.deepEqual(await planOf(rulesWith({}, boolStatic)), []);
});

/** Sorted entries of the event's string maps and string fields after parsing. */
function snapshot(evt: PEvent): string {
  const m = (x: Map<string, string>): [string, string][] => [...x.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify([m(evt.Meta), m(evt.Enriched), m(evt.Parsed), evt.MarshaledTime, evt.StrTime, evt.Stage, evt.Whitelisted]);
}

/** Every routed event's snapshot and the routes, as a pool worker would send them; plus counters. */
async function workerRun(text: string, type: string, defer: boolean, dir?: string): Promise<{ routed: string[]; skipped: number; counters: unknown }> {
  const e = await DetectionEngine.create({ mode: 'replay', configDir: dir, warn: () => {} });
  if (defer) {
    const set = e.rules.parsers.set;
    enableDeferral(set, planDeferral(set, e.scenarios, e.rules.postoverflows.set));
  }
  const routes = new PreparedRoutes();
  const routed: string[] = [];
  let skipped = 0;
  e.parseBatch(new TextEncoder().encode(text), 'test.log', new Map([['type', type]]), (evt) => {
    const r = e.buckets.routeInto(evt, routes);
    if (r.count > 0) {
      runDeferred(evt);
      assert.equal(pendingDeferred(), 0);
      const keys = Array.from({ length: r.count }, (_, j) => `${r.index[j]}:${r.key[j]}`).join(',');
      routed.push(`${keys} ${snapshot(evt)}`);
    } else if (evt.Meta.get('source_ip') && !evt.Enriched.has('ASNOrg')) {
      skipped++;
    }
  }, 'file', true);
  return { routed, skipped, counters: { ...e.counters } };
}

for (const [name, type, make] of [['sshd', 'syslog', generateSshd], ['nginx', 'nginx', generateNginx]] as const) {
  test(`${name}: routed events get exactly the plain path's fields; unrouted ones skip the lookups`, async () => {
    const text = make(4000, 7);
    const plain = await workerRun(text, type, false);
    const deferred = await workerRun(text, type, true);
    assert.ok(plain.routed.length > 100, `routed events: ${plain.routed.length}`);
    // GeoIP data is there, so the comparison covers the deferred fields.
    assert.ok(plain.routed.some((s) => s.includes('"ASNOrg"')), 'no enriched event in the sample');
    assert.deepEqual(deferred.counters, plain.counters);
    assert.equal(deferred.routed.length, plain.routed.length);
    for (let i = 0; i < plain.routed.length; i++) assert.equal(deferred.routed[i], plain.routed[i], `routed event ${i}`);
    assert.equal(plain.skipped, 0);
    if (name === 'sshd') assert.ok(deferred.skipped > 0, 'no unrouted event skipped the enrichment');
  });
}

test('a whitelist reading an enriched field still gets it (same whitelisted count, deferral on)', async () => {
  const wl = `name: test/geo-whitelist
whitelist:
  reason: "has a country"
  expression:
    - "evt.Meta.IsoCode != '' && evt.Meta.log_type == 'ssh_failed-auth'"
`;
  const text = generateSshd(2000, 11);
  const dirA = rulesWith({ 'parsers/s02-enrich/zz-geo-whitelist.yaml': wl });
  const dirB = rulesWith({ 'parsers/s02-enrich/zz-geo-whitelist.yaml': wl });
  try {
    const plain = await workerRun(text, 'syslog', false, dirA);
    const deferred = await workerRun(text, 'syslog', true, dirB);
    assert.ok((plain.counters as { whitelisted: number }).whitelisted > 0);
    assert.deepEqual(deferred.counters, plain.counters);
    assert.deepEqual(deferred.routed, plain.routed);
  } finally {
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
  }
});
