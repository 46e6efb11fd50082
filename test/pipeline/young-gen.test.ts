/**
 * YoungGenCap (src/pipeline/young-gen.ts): once capped, this thread's new space stops growing
 * under an allocation load whose objects survive scavenges (what makes V8 grow it), also after
 * a worker thread was started (its heap set-up resets the growth factor: check() sets it
 * again); release() lets it grow again. V8 flags are process-wide, so each case runs in a
 * child process. Also: the semi-space size the pool's workers start with.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WORKER_SEMI_SPACE_MB, WORKER_YOUNG_GENERATION_MB } from '../../src/pipeline/pool.js';

const youngGen = fileURLToPath(new URL('../../src/pipeline/young-gen.ts', import.meta.url));

/** Runs `body` (an async function body with YoungGenCap, newSpaceBytes, grow, Worker in scope) in a child; returns its JSON output. */
function child(body: string): Record<string, number | boolean> {
  const script = `
    import { YoungGenCap, newSpaceBytes } from ${JSON.stringify(youngGen)};
    import { Worker } from 'node:worker_threads';
    let keep = [];
    // Objects of which a third survive a while: V8 grows the new space under this load.
    const grow = (rounds) => {
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < 20000; i++) { const o = { a: i, b: 'x' + i }; if (i % 3 === 0) keep.push(o); }
        if (keep.length > 300000) keep = [];
      }
    };
    const out = await (async () => { ${body} })();
    process.stdout.write(JSON.stringify(out));
    process.exit(0);
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, number | boolean>;
}

test('uncapped, the new space grows under the load (the premise of the cap)', () => {
  const r = child(`const before = newSpaceBytes(); grow(300); return { before, after: newSpaceBytes() };`);
  assert.ok(r.after! > r.before!, `new space ${r.before} -> ${r.after}`);
});

test('capped, the new space keeps its size; released, it grows again', () => {
  const r = child(`
    const cap = new YoungGenCap(0, 1);
    const capped = cap.isCapped;
    const at = newSpaceBytes();
    grow(300);
    const held = newSpaceBytes();
    cap.release();
    grow(300);
    return { capped, at, held, released: newSpaceBytes(), stillCapped: cap.isCapped };
  `);
  assert.equal(r.capped, true);
  assert.equal(r.held, r.at, 'no growth while capped');
  assert.ok(r.released! > r.held!, `grows after release: ${r.held} -> ${r.released}`);
  assert.equal(r.stillCapped, false);
});

test('a cap waits until the new space reaches its size', () => {
  const r = child(`
    const cap = new YoungGenCap(1 << 30, 1);
    grow(50);
    cap.check();
    return { capped: cap.isCapped };
  `);
  assert.equal(r.capped, false);
});

test('a worker started under the cap resets it; check() once the worker is online restores it', () => {
  const r = child(`
    const cap = new YoungGenCap(0, 1);
    const at = newSpaceBytes();
    const w = new Worker('setTimeout(() => {}, 5000)', { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 12 } });
    await new Promise((res) => w.once('online', res));
    cap.check();
    grow(300);
    const held = newSpaceBytes();
    await w.terminate();
    return { at, held };
  `);
  assert.equal(r.held, r.at, 'no growth after the worker started');
});

test('pool workers start at their semi-space cap: a third of the young generation, a power of two', () => {
  assert.equal(WORKER_YOUNG_GENERATION_MB, 12);
  assert.equal(WORKER_SEMI_SPACE_MB, 4);
});
