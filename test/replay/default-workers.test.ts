/**
 * The replay's default worker count: one parse worker per core (issue 4), except for inputs
 * known to be too small for the pool's start-up to pay off, which parse inline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultReplayWorkers, POOL_MIN_BYTES } from '../../src/pipeline/replay.js';

test('defaultReplayWorkers: one per core from 8 MiB of input (and for stdin), inline below', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-workers-'));
  try {
    const cores = Math.max(1, availableParallelism());
    const small = join(dir, 'small.log');
    writeFileSync(small, 'x\n'.repeat(1000));
    const big = join(dir, 'big.log');
    writeFileSync(big, '');
    truncateSync(big, POOL_MIN_BYTES); // sparse: the size is what counts
    assert.equal(POOL_MIN_BYTES, 8 * 1024 * 1024);
    assert.equal(defaultReplayWorkers([small]), 0);
    assert.equal(defaultReplayWorkers([big]), cores);
    assert.equal(defaultReplayWorkers([small, big]), cores);
    assert.equal(defaultReplayWorkers(['-']), cores);
    assert.equal(defaultReplayWorkers([join(dir, 'missing.log')]), 0);
    assert.equal(defaultReplayWorkers(), cores);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
