/**
 * The file source's tail -F semantics (spec §1.1): start at the end, follow appends, rotation
 * by rename and by truncation, files that appear later (read from their start), resume from
 * saved positions after a restart, bounded long lines, cat mode, glob expansion.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTailer, type FileTailOptions } from '../../src/acquisition/file-tail.js';
import { PositionStore } from '../../src/acquisition/positions.js';
import { expandGlob, segmentRegExp } from '../../src/acquisition/glob.js';
import { waitFor, sleep } from './support.js';

const root = mkdtempSync(join(tmpdir(), 'palisade-tail-'));
const tailers: FileTailer[] = [];
after(async () => {
  for (const t of tailers) await t.stop();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
function fresh(): string {
  const d = join(root, `case${n++}`);
  mkdirSync(d);
  return d;
}

function tail(o: Partial<FileTailOptions> & { patterns: string[] }): { t: FileTailer; got: [string, string][] } {
  const got: [string, string][] = [];
  const t = new FileTailer({ pollMs: 100, onLine: (l, p) => got.push([l, p]), ...o });
  tailers.push(t);
  t.start();
  return { t, got };
}

const lines = (got: [string, string][]) => got.map(([l]) => l);

test('tail starts at the end of an existing file and follows appends; empty lines skipped, CR kept', async () => {
  const d = fresh();
  const f = join(d, 'auth.log');
  writeFileSync(f, 'old 1\nold 2\n');
  const { got } = tail({ patterns: [f] });
  await sleep(150);
  assert.deepEqual(got, []);
  appendFileSync(f, 'new 1\n\nnew 2\r\n');
  await waitFor(() => got.length >= 2, 'two appended lines');
  assert.deepEqual(got, [['new 1', f], ['new 2\r', f]]);
  appendFileSync(f, 'half');
  await sleep(250);
  assert.equal(got.length, 2, 'an unfinished line waits for its newline');
  appendFileSync(f, ' done\n');
  await waitFor(() => got.length === 3, 'completed line');
  assert.equal(got[2]![0], 'half done');
});

test('rotation by rename: the old file is read to its end, the new one from its start', async () => {
  const d = fresh();
  const f = join(d, 'syslog');
  writeFileSync(f, '');
  const { t, got } = tail({ patterns: [f], watch: false, pollMs: 60_000 });
  appendFileSync(f, 'before rotation\n');
  t.check();
  renameSync(f, `${f}.1`);
  appendFileSync(`${f}.1`, 'late write to the rotated file\n'); // a writer that has not reopened yet
  writeFileSync(f, 'first of new file\nsecond of new file\n');
  t.check();
  t.check();
  assert.deepEqual(lines(got), ['before rotation', 'late write to the rotated file', 'first of new file', 'second of new file']);
  assert.equal(t.stats.rotations, 1);
  appendFileSync(f, 'third\n');
  t.check();
  assert.equal(lines(got).at(-1), 'third');
});

test('rotation by rename is picked up through inotify/poll without explicit checks', async () => {
  const d = fresh();
  const f = join(d, 'app.log');
  writeFileSync(f, '');
  const { got } = tail({ patterns: [f] });
  await sleep(100);
  appendFileSync(f, 'a\n');
  await waitFor(() => got.length === 1, 'line a');
  renameSync(f, `${f}.1`);
  writeFileSync(f, 'b\n');
  await waitFor(() => got.length === 2, 'line b from the new file');
  assert.deepEqual(lines(got), ['a', 'b']);
});

test('truncation (copytruncate) restarts at offset 0', async () => {
  const d = fresh();
  const f = join(d, 'nginx.log');
  writeFileSync(f, 'x'.repeat(100) + '\n');
  const { t, got } = tail({ patterns: [f], watch: false, pollMs: 60_000 });
  appendFileSync(f, 'one\ntwo\n');
  t.check();
  truncateSync(f, 0);
  appendFileSync(f, 'after truncate\n');
  t.check();
  assert.deepEqual(lines(got), ['one', 'two', 'after truncate']);
  assert.equal(t.stats.truncations, 1);
});

test('a file that appears later and matches the glob is read from its start', async () => {
  const d = fresh();
  writeFileSync(join(d, 'a.log'), 'existing\n');
  writeFileSync(join(d, 'skip.txt'), '');
  const { t, got } = tail({ patterns: [join(d, '*.log')] });
  await sleep(100);
  writeFileSync(join(d, 'b.log'), 'b1\nb2\n');
  writeFileSync(join(d, 'c.txt'), 'not matched\n');
  await waitFor(() => got.length === 2, 'lines of b.log');
  assert.deepEqual(got, [['b1', join(d, 'b.log')], ['b2', join(d, 'b.log')]]);
  assert.deepEqual(t.files().sort(), [join(d, 'a.log'), join(d, 'b.log')]);
});

test('a directory created after start is found by the poll', async () => {
  const d = fresh();
  const sub = join(d, 'later');
  const { got } = tail({ patterns: [join(sub, '*.log')] });
  await sleep(50);
  mkdirSync(sub);
  writeFileSync(join(sub, 'x.log'), 'hello\n');
  await waitFor(() => got.length === 1, 'line in a late directory');
  assert.equal(got[0]![0], 'hello');
});

test('restart resumes from the saved position: nothing lost, nothing read twice', async () => {
  const d = fresh();
  const data = join(d, 'state');
  const f = join(d, 'auth.log');
  writeFileSync(f, 'history\n');
  const first = tail({ patterns: [f], positions: PositionStore.open(data), watch: false, pollMs: 60_000 });
  appendFileSync(f, 'seen 1\nseen 2\npart');
  first.t.check();
  await first.t.stop();
  assert.deepEqual(lines(first.got), ['seen 1', 'seen 2']);
  // Written while the daemon is down, including the end of the unfinished line.
  appendFileSync(f, 'ial\nwhile down\n');
  const second = tail({ patterns: [f], positions: PositionStore.open(data), watch: false, pollMs: 60_000 });
  second.t.check();
  assert.deepEqual(lines(second.got), ['partial', 'while down']);
  await second.t.stop();
  // Without saved positions, a restart starts at the end.
  const third = tail({ patterns: [f], positions: PositionStore.open(join(d, 'other-state')), watch: false, pollMs: 60_000 });
  appendFileSync(f, 'only this\n');
  third.t.check();
  assert.deepEqual(lines(third.got), ['only this']);
});

test('a file replaced while stopped is read from its start on restart', async () => {
  const d = fresh();
  const data = join(d, 'state');
  const f = join(d, 'auth.log');
  writeFileSync(f, 'a\n');
  const first = tail({ patterns: [f], positions: PositionStore.open(data), watch: false, pollMs: 60_000 });
  await first.t.stop();
  renameSync(f, `${f}.1`);
  writeFileSync(f, 'rotated while down\n');
  const second = tail({ patterns: [f], positions: PositionStore.open(data), watch: false, pollMs: 60_000 });
  second.t.check();
  assert.deepEqual(lines(second.got), ['rotated while down']);
});

test('a huge line is cut at maxLineBytes and the next line is intact', async () => {
  const d = fresh();
  const f = join(d, 'big.log');
  writeFileSync(f, '');
  const { t, got } = tail({ patterns: [f], maxLineBytes: 1000, watch: false, pollMs: 60_000 });
  appendFileSync(f, 'y'.repeat(3 * 1024 * 1024) + '\nnext\n');
  t.check();
  assert.equal(got.length, 2);
  assert.equal(got[0]![0], 'y'.repeat(1000));
  assert.equal(got[1]![0], 'next');
  assert.equal(t.stats.truncatedLines, 1);
});

test('cat mode reads every file once from the start and reports done', async () => {
  const d = fresh();
  writeFileSync(join(d, '1.log'), 'a\nb\n');
  writeFileSync(join(d, '2.log'), 'c');
  let done = false;
  const { got } = tail({ patterns: [join(d, '*.log')], mode: 'cat', onDone: () => { done = true; } });
  assert.equal(done, true);
  assert.deepEqual(lines(got), ['a', 'b', 'c']);
});

test('exclude_regexps keep matching files out', async () => {
  const d = fresh();
  const { got } = tail({ patterns: [join(d, '*')], exclude: [/\.gz$/] });
  await sleep(50);
  writeFileSync(join(d, 'x.log.gz'), 'compressed\n');
  writeFileSync(join(d, 'x.log'), 'plain\n');
  await waitFor(() => got.length >= 1, 'plain line');
  await sleep(200);
  assert.deepEqual(lines(got), ['plain']);
});

test('glob expansion follows Go filepath.Glob rules', () => {
  const d = fresh();
  mkdirSync(join(d, 'a1'));
  mkdirSync(join(d, 'b2'));
  writeFileSync(join(d, 'a1', 'x.log'), '');
  writeFileSync(join(d, 'b2', 'y.log'), '');
  writeFileSync(join(d, 'b2', '.hidden.log'), '');
  assert.deepEqual(expandGlob(join(d, '*', '*.log')), [join(d, 'a1', 'x.log'), join(d, 'b2', '.hidden.log'), join(d, 'b2', 'y.log')]);
  assert.deepEqual(expandGlob(join(d, '[a]?', '*.log')), [join(d, 'a1', 'x.log')]);
  assert.deepEqual(expandGlob(join(d, 'nope', '*.log')), []);
  assert.ok(segmentRegExp('[!a]*').test('b'));
  assert.ok(!segmentRegExp('[!a]*').test('a'));
  assert.throws(() => segmentRegExp('[abc'), /unterminated/);
});
