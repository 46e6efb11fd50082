/**
 * Pour records with statics blocks (parse/enrichers/statics-block.ts): a routed event's
 * geoip-enrich entries travel as a reference to a block sent once per writer, and the main
 * thread rebuilds the same Meta / Enriched entries, in the same order, as from the form
 * where every entry is written per event (blocks copied into the maps in the worker).
 */
import { test } from 'node:test';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';
import assert from 'node:assert/strict';
import { DetectionEngine } from '../../src/pipeline/engine.js';
import { PourBatch, PourRecordWriter } from '../../src/pipeline/pour-records.js';
import { ALL_FIELDS, fieldNeeds, type FieldNeeds } from '../../src/pipeline/field-needs.js';
import { PreparedRoutes } from '../../src/scenarios/engine.js';
import { planDeferral, planTails, runDeferred } from '../../src/parse/deferred.js';
import { enableDeferral } from '../../src/parse/stages.js';
import { acceptBlocks, blockOf } from '../../src/parse/enrichers/statics-block.js';
import type { FlatMeta } from '../../src/scenarios/overflow.js';
import type { PEvent } from '../../src/core/event.js';
import { generateNginx, generateSshd } from '../../fixtures/generate-bf-logs.js';

interface Run {
  batches: Uint8Array[];
  blocked: number;
}

/** The pour records of `text` in `parts` batches, as a pool worker writes them; `blocks` false: entries per event. */
async function records(text: string, type: string, all: boolean, blocks: boolean, parts: number, configDir?: string): Promise<Run> {
  const e = await DetectionEngine.create({ mode: 'replay', configDir, warn: () => {} });
  const set = e.rules.parsers.set, post = e.rules.postoverflows.set;
  enableDeferral(set, planDeferral(set, e.scenarios, post), planTails(set, e.scenarios, post));
  const needs: FieldNeeds = all ? ALL_FIELDS : fieldNeeds(e.scenarios, post);
  const writer = new PourRecordWriter(needs, e.scenarios);
  acceptBlocks(blocks);
  const routes = new PreparedRoutes();
  const lines = text.split('\n').filter((l) => l !== '');
  const per = Math.ceil(lines.length / parts);
  const batches: Uint8Array[] = [];
  let blocked = 0;
  try {
    for (let p = 0; p < parts; p++) {
      const chunk = lines.slice(p * per, (p + 1) * per).join('\n') + '\n';
      e.parseBatch(new TextEncoder().encode(chunk), 'test.log', new Map([['type', type]]), (evt) => {
        const r = e.buckets.routeInto(evt, routes);
        if (r.count > 0) {
          runDeferred(evt);
          if (blockOf(evt) !== null) blocked++;
        }
        writer.add(evt, r);
      }, 'file', true);
      batches.push(writer.finish({ lines: 0, parsed: 0, unparsed: 0, whitelisted: 0, dropped: 0 }));
    }
  } finally {
    acceptBlocks(true);
  }
  return { batches, blocked };
}

/** What the main thread sees of each routed event's maps: entries in order, flat Meta, GetMeta. */
function seen(batches: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const b of batches) {
    PourBatch.read(b).forEach('test.log', new Map(), 1, (evt: PEvent | null) => {
      if (evt === null) return;
      const flat = evt as Partial<FlatMeta>;
      // Read the flat form first (before the maps are built), then the maps.
      const n = flat.metaCount?.() ?? -1;
      const kv = n >= 0 ? flat.metaEntries!().slice(0, 2 * n) : null;
      const iso = evt.GetMeta('IsoCode') + '|' + evt.GetMeta('source_ip') + '|' + evt.GetMeta('SourceRange');
      out.push(JSON.stringify([kv, iso, [...evt.Meta], [...evt.Enriched], [...evt.Parsed]]));
    });
  }
  return out;
}

for (const [name, type, make] of [['sshd', 'syslog', generateSshd], ['nginx', 'nginx', generateNginx]] as const) {
  for (const all of [false, true]) {
    test(`${name}${all ? ', every field' : ''}: blocks give the same Meta / Enriched entries in order as entries per event`, async () => {
      const text = make(3000, 5);
      const plain = await records(text, type, all, false, 3);
      const blocked = await records(text, type, all, true, 3);
      assert.equal(plain.blocked, 0);
      assert.ok(blocked.blocked > 100, `events with a block: ${blocked.blocked}`);
      const a = seen(plain.batches);
      const b = seen(blocked.batches);
      assert.ok(a.length > 100 && a.some((s) => s.includes('"ASNOrg"')), 'no enriched routed event in the sample');
      assert.equal(b.length, a.length);
      for (let i = 0; i < a.length; i++) assert.equal(b[i], a[i], `routed event ${i}`);
      // Blocks are sent once: the later batches are smaller.
      const size = (r: Run): number => r.batches.reduce((s, x) => s + x.byteLength, 0);
      assert.ok(size(blocked) < size(plain), `${size(blocked)} >= ${size(plain)} bytes`);
    });
  }
}

test('a batch whose blocks were sent in an unread batch fails clearly', async () => {
  const { batches } = await records(generateSshd(2000, 3), 'syslog', false, true, 2);
  assert.throws(() => PourBatch.read(batches[1]!).forEach('x', new Map(), 1, () => {}), /block \d+ of writer -?\d+ not received/);
});

/** A copy of the shipped rules, edited. */
function rulesWith(edit: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-blocks-'));
  cpSync(SHIPPED_RULES_DIR, dir, { recursive: true });
  edit(dir);
  return dir;
}

test('no block when the worker reads a block field after routing, or another node writes one of its keys', async () => {
  const text = generateSshd(1500, 9);
  const edits: [string, (dir: string) => void][] = [
    ['distinct reads Meta.IsoCode', (dir) => {
      const p = join(dir, 'scenarios/ssh-bf.yaml');
      writeFileSync(p, readFileSync(p, 'utf8').replace('distinct: evt.Meta.target_user', "distinct: evt.Meta.target_user + evt.Meta.IsoCode"));
    }],
    ['an s01 node sets Meta.ASNOrg', (dir) => {
      writeFileSync(join(dir, 'parsers/s01-parse/zz-asn.yaml'), `filter: "evt.Meta.source_ip == '0.0.0.1'"
name: test/asn
statics:
  - meta: ASNOrg
    value: nobody
`);
    }],
  ];
  for (const [what, edit] of edits) {
    const dir = rulesWith(edit);
    try {
      const plain = await records(text, 'syslog', false, false, 1, dir);
      const run = await records(text, 'syslog', false, true, 1, dir);
      assert.equal(run.blocked, 0, what);
      assert.deepEqual(seen(run.batches), seen(plain.batches), what);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // The shipped rules on the same text do use blocks.
  assert.ok((await records(text, 'syslog', false, true, 1)).blocked > 0);
});
