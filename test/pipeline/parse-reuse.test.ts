/**
 * parseBatch(reuse): parsing every line into one event (the pool worker's way) must give
 * byte-identical pour records and the same counters as a fresh event per line, over the
 * golden parser cases (parsed, unparsed and whitelisted lines mixed, so that a field left
 * over from a previous line would show).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DetectionEngine } from '../../src/pipeline/engine.js';
import { PourRecordWriter } from '../../src/pipeline/pour-records.js';
import { ALL_FIELDS } from '../../src/pipeline/field-needs.js';
import { PreparedRoutes } from '../../src/scenarios/engine.js';
import type { PEvent } from '../../src/core/event.js';
import { repoRoot } from '../support/debian.js';

const dir = join(repoRoot, 'fixtures/cases/parsers');
const byType = new Map<string, string[]>();
for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml')).sort()) {
  const spec = parse(readFileSync(join(dir, f), 'utf8')) as { type: string; cases: { line: string }[] };
  const lines = byType.get(spec.type) ?? [];
  for (const c of spec.cases) lines.push(c.line);
  byType.set(spec.type, lines);
}
const NOW = new Date('2026-01-05T10:00:00Z');

async function records(type: string, lines: string[], reuse: boolean): Promise<{ bytes: Uint8Array; events: PEvent[]; counters: object }> {
  const engine = await DetectionEngine.create({ mode: 'replay', warn: () => {}, now: () => NOW });
  const writer = new PourRecordWriter(ALL_FIELDS, engine.scenarios);
  const routes = new PreparedRoutes();
  const events: PEvent[] = [];
  const text = new TextEncoder().encode(lines.join('\n') + '\n');
  // Twice, so that the second pass meets an event (and memos) left by the first.
  for (let pass = 0; pass < 2; pass++) {
    engine.parseBatch(text, `/var/log/${type}.log`, new Map([['type', type]]), (evt) => {
      events.push(evt);
      writer.add(evt, engine.buckets.routeInto(evt, routes));
    }, 'file', reuse);
  }
  const c = engine.counters;
  return { bytes: writer.finish({ lines: c.lines, parsed: c.parsed, unparsed: c.unparsed, whitelisted: c.whitelisted, dropped: c.dropped }), events, counters: { ...c } };
}

test('golden cases exist for several types', () => {
  assert.ok(byType.size >= 2, `types: ${[...byType.keys()].join(', ')}`);
});

for (const [type, lines] of byType) {
  test(`parseBatch reuse: same pour records as a fresh event per line (${type}, ${lines.length} lines)`, async () => {
    const fresh = await records(type, lines, false);
    const reused = await records(type, lines, true);
    assert.ok(fresh.events.length > 0, 'some lines reach the scenarios');
    assert.equal(reused.events.length, fresh.events.length);
    assert.deepEqual(reused.counters, fresh.counters);
    assert.equal(new Set(reused.events).size, 1, 'one event object for every line');
    assert.equal(new Set(fresh.events).size, fresh.events.length, 'without reuse, one event per line');
    // Header word 12 is the writer's random id (pour-records.ts): the rest must match byte for byte.
    for (const b of [reused.bytes, fresh.bytes]) new Int32Array(b.buffer, b.byteOffset, 13)[12] = 0;
    assert.deepEqual(reused.bytes, fresh.bytes);
  });
}
