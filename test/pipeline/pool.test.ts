/**
 * The worker pool against its simple twin, inline parsing on the main thread: the same seeded
 * sshd and nginx logs give identical alerts (with their decisions), in the same order, and
 * identical line counts, for 1 and 2 workers and batches small enough that every log spans
 * many of them (so ordering across batches and workers is exercised); and the pool's bound on
 * batches read ahead of the consumer (what keeps its memory flat whatever the input size).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runReplay, type ReplaySummary } from '../../src/pipeline/replay.js';
import type { SinkedAlert } from '../../src/pipeline/sink.js';
import { ParsePool, POOL_IN_FLIGHT_EXTRA } from '../../src/pipeline/pool.js';
import { batchLines, type Batch } from '../../src/pipeline/batcher.js';
import { generateNginx, generateSshd } from '../../fixtures/generate-bf-logs.js';

async function replay(file: string, type: string, workers: number): Promise<{ summary: ReplaySummary; alerts: SinkedAlert[] }> {
  const alerts: SinkedAlert[] = [];
  const summary = await runReplay({ files: [file], type, dataDir: null, workers, batchBytes: 64 * 1024, onAlert: (a) => alerts.push(a), warn: () => {} });
  return { summary, alerts };
}

const counts = (s: ReplaySummary) => ({ lines: s.lines, parsed: s.parsed, unparsed: s.unparsed, whitelisted: s.whitelisted, dropped: s.dropped, alerts: s.alerts, decisions: s.decisions, truncated: s.truncatedLines });

for (const [type, gen, lines] of [['syslog', generateSshd, 30_000], ['nginx', generateNginx, 20_000]] as const) {
  test(`pool = inline: seeded ${type} log of ${lines} lines, 1 and 2 workers`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-pool-'));
    try {
      const file = join(dir, `${type}.log`);
      writeFileSync(file, gen(lines, 4242));
      const inline = await replay(file, type, 0);
      assert.equal(inline.summary.workers, 0);
      assert.equal(inline.summary.lines, lines);
      assert.ok(inline.alerts.length >= 20, `the log must produce alerts (${inline.alerts.length})`);
      for (const workers of [1, 2]) {
        const pooled = await replay(file, type, workers);
        assert.equal(pooled.summary.workers, workers);
        assert.deepEqual(counts(pooled.summary), counts(inline.summary), `${workers} worker(s): counts`);
        assert.equal(pooled.alerts.length, inline.alerts.length);
        // JSON form: what `--json` prints and the store keeps.
        assert.deepEqual(JSON.parse(JSON.stringify(pooled.alerts)), JSON.parse(JSON.stringify(inline.alerts)), `${workers} worker(s): alerts`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('pool: stdin-less edge cases: empty file and a file without a final line end', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-pool-'));
  try {
    const empty = join(dir, 'empty.log');
    writeFileSync(empty, '');
    const r = await replay(empty, 'syslog', 1);
    assert.equal(r.summary.lines, 0);
    assert.deepEqual(r.alerts, []);
    const partial = join(dir, 'partial.log');
    writeFileSync(partial, 'Feb 12 14:10:21 host sshd[1]: Failed password for root from 8.8.8.8 port 22 ssh2\r\n\nno newline at the end');
    const a = await replay(partial, 'syslog', 0);
    const b = await replay(partial, 'syslog', 2);
    assert.equal(b.summary.lines, 2);
    assert.deepEqual(counts(b.summary), counts(a.summary));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('palisade replay --workers: bad values are usage errors (exit 2), a good one replays through the pool', () => {
  const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'palisade-pool-'));
  try {
    const file = join(dir, 'auth.log');
    writeFileSync(file, generateSshd(3000, 11));
    for (const bad of ['x', '-1', '1.5', '']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'replay', file, '--type', 'syslog', '--no-decisions', '--workers', bad], { encoding: 'utf8' });
      assert.equal(r.status, 2, `--workers ${JSON.stringify(bad)}: ${r.stderr}`);
      assert.match(r.stderr, /--workers/);
    }
    const ok = spawnSync(process.execPath, ['--import', 'tsx', main, 'replay', file, '--type', 'syslog', '--no-decisions', '--workers', '1', '--json'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /^lines 3000, /m);
    const inline = spawnSync(process.execPath, ['--import', 'tsx', main, 'replay', file, '--type', 'syslog', '--no-decisions', '--workers', '0', '--json'], { encoding: 'utf8' });
    // Same alerts; decision durations count from the wall clock at print time, so compare without them.
    const norm = (out: string) => out.replace(/"duration":"[^"]*"/g, '');
    assert.equal(norm(ok.stdout), norm(inline.stdout));
    assert.ok(ok.stdout.length > 0, 'the log produces alerts');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pool: at most maxInFlight batches are read ahead of the consumer (default: one per worker + 1), results in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-pool-'));
  const pool = await ParsePool.create({ workers: 2, geo: false, warn: () => {} });
  try {
    assert.equal(pool.maxInFlight, 2 + POOL_IN_FLIGHT_EXTRA);
    const file = join(dir, 'auth.log');
    const lines = 20_000;
    writeFileSync(file, generateSshd(lines, 77));
    let read = 0;
    const sizes: number[] = [];
    async function* counted(): AsyncGenerator<Batch> {
      for await (const b of batchLines(createReadStream(file), { batchBytes: 16 * 1024 })) {
        read++;
        sizes.push(b.bytes.byteLength);
        yield b;
      }
    }
    let consumed = 0;
    let ahead = 0;
    let total = 0;
    for await (const batch of pool.parse(counted(), file, new Map([['type', 'syslog']]))) {
      consumed++;
      ahead = Math.max(ahead, read - consumed + 1);
      // In order: batch k holds the lines of the k-th batch read.
      assert.equal(batch.counts.lines, lineCount(sizes, consumed - 1, file), `batch ${consumed - 1}`);
      total += batch.counts.lines;
    }
    assert.ok(read > 3 * pool.maxInFlight, `enough batches to fill the pool (${read})`);
    assert.equal(consumed, read);
    assert.equal(ahead, pool.maxInFlight, 'the read-ahead reaches the bound and never passes it');
    assert.equal(total, lines);
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Lines in the `k`-th batch of `file`, from the batch sizes (every batch holds whole lines). */
function lineCount(sizes: number[], k: number, file: string): number {
  const text = readFileSync(file);
  let at = 0;
  for (let i = 0; i < k; i++) at += sizes[i]!;
  let n = 0;
  for (let i = at; i < at + sizes[k]!; i++) if (text[i] === 10) n++;
  return n;
}
