/**
 * The file source (spec §1.1) with `tail -F` semantics:
 * - tail mode: files present at start are read from their END (or from the saved position
 *   when they are the same file as last time); files that appear later are read from their start;
 * - rotation by rename (or delete + create): the old file is read to its end through the open
 *   descriptor, then the new file at the path is read from its start;
 * - truncation (copytruncate): reading restarts at offset 0;
 * - cat mode: each matching file is read once from the start, then dropped.
 * Change detection: fs.watch (inotify) on the pattern directories wakes a check at once; a
 * poll timer re-expands the globs and re-checks every file, for file systems where inotify
 * says nothing (NFS, overlay quirks) and for directories that do not exist yet.
 * Lines: split on '\n', kept verbatim otherwise (no '\r' trimming on Linux, as CrowdSec's
 * tail), empty lines skipped. A line longer than `maxLineBytes` is cut there and the rest
 * skipped, so one runaway line cannot grow memory without bound.
 */
import { closeSync, fstatSync, openSync, readSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { expandGlob, hasMagic } from './glob.js';
import type { PositionStore } from './positions.js';

export interface FileTailOptions {
  /** Paths or globs (Go filepath.Glob syntax). Relative ones are resolved against the cwd. */
  patterns: string[];
  mode?: 'tail' | 'cat';
  /** Files whose path matches one of these are ignored (acquis `exclude_regexps`). */
  exclude?: RegExp[];
  positions?: PositionStore | null;
  /** Re-glob / re-stat period; inotify events trigger a check sooner. */
  pollMs?: number;
  /** Set false to rely on polling only (tests, file systems without inotify). */
  watch?: boolean;
  maxLineBytes?: number;
  onLine: (line: string, path: string) => void;
  /** Called once in cat mode when every file present has been read. */
  onDone?: () => void;
  warn?: (m: string) => void;
}

export interface TailStats { lines: number; truncatedLines: number; rotations: number; truncations: number; files: number }

interface Tracked {
  path: string;
  fd: number;
  dev: number;
  ino: number;
  /** Next byte to read. */
  pos: number;
  /** Bytes of the unfinished line (at most maxLineBytes), and how many of its bytes were read. */
  carry: Buffer[];
  carryLen: number;
  lineBytes: number;
}

const CHUNK = 256 * 1024;
/** Per file and per check, so one huge backlog does not starve the event loop. */
const MAX_BYTES_PER_CHECK = 8 * 1024 * 1024;

export class FileTailer {
  readonly stats: TailStats = { lines: 0, truncatedLines: 0, rotations: 0, truncations: 0, files: 0 };
  private readonly patterns: string[];
  private readonly tracked = new Map<string, Tracked>();
  /** Paths read to the end in cat mode; not re-read. */
  private readonly finished = new Set<string>();
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  private readonly maxLine: number;
  private timer: NodeJS.Timeout | null = null;
  private pending: NodeJS.Immediate | null = null;
  private started = false;
  private stopped = false;
  private lastSave = 0;

  constructor(private readonly o: FileTailOptions) {
    this.patterns = o.patterns.map((p) => resolve(p));
    this.maxLine = o.maxLineBytes ?? 1024 * 1024;
  }

  get mode(): 'tail' | 'cat' {
    return this.o.mode ?? 'tail';
  }

  /** Opens the files present now (at their end in tail mode) and starts following them. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.scan(true);
    if (this.mode === 'cat') {
      this.drainAll();
      for (const t of [...this.tracked.values()]) this.release(t, true);
      this.o.onDone?.();
      return;
    }
    if (this.o.watch !== false) this.watchDirs();
    const poll = this.o.pollMs ?? 1000;
    this.timer = setInterval(() => this.check(), poll);
    this.timer.unref?.();
  }

  /** One full pass: new files, rotation, truncation, new data. Also called on inotify events. */
  check(): void {
    if (this.stopped) return;
    this.scan(false);
    for (const t of [...this.tracked.values()]) this.checkFile(t);
    if (this.o.watch !== false) this.watchDirs();
    this.savePositions(false);
  }

  /** Stops following; reads what is already written, saves positions, closes descriptors. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    if (this.started && this.mode === 'tail') this.check();
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.pending) clearImmediate(this.pending);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    this.savePositions(true);
    for (const t of this.tracked.values()) closeSync(t.fd);
    this.tracked.clear();
  }

  /** Paths currently followed (for status and tests). */
  files(): string[] {
    return [...this.tracked.keys()];
  }

  private excluded(path: string): boolean {
    return (this.o.exclude ?? []).some((re) => re.test(path));
  }

  private scan(initial: boolean): void {
    for (const pattern of this.patterns) {
      for (const path of expandGlob(pattern)) {
        if (this.tracked.has(path) || this.finished.has(path) || this.excluded(path)) continue;
        let st: Stats;
        try {
          st = statSync(path);
        } catch {
          continue;
        }
        if (!st.isFile()) continue;
        this.open(path, initial);
      }
    }
  }

  private open(path: string, initial: boolean): void {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      this.o.warn?.(`${path}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      return;
    }
    // The descriptor is what we read; stat it, not the path, in case the file moved meanwhile.
    const fst = fstatSync(fd);
    let pos = 0;
    if (this.mode === 'tail' && initial) {
      const saved = this.o.positions?.get(path);
      if (saved && saved.dev === fst.dev && saved.ino === fst.ino) pos = saved.pos <= fst.size ? saved.pos : 0;
      else if (saved) pos = 0; // replaced while we were down: all of it is new
      else pos = fst.size;
    }
    this.tracked.set(path, { path, fd, dev: fst.dev, ino: fst.ino, pos, carry: [], carryLen: 0, lineBytes: 0 });
    this.stats.files++;
  }

  private checkFile(t: Tracked): void {
    let st: Stats | undefined;
    try {
      st = statSync(t.path);
    } catch {
      st = undefined;
    }
    // Whatever happened to the path, first read what was written to the file we hold.
    this.drain(t);
    if (!st || st.ino !== t.ino || st.dev !== t.dev) {
      this.stats.rotations++;
      this.release(t, false);
      if (st && st.isFile() && !this.excluded(t.path)) this.open(t.path, false);
      return;
    }
    const size = fstatSync(t.fd).size;
    if (size < t.pos) {
      this.stats.truncations++;
      t.pos = 0;
      t.carry = [];
      t.carryLen = 0;
      t.lineBytes = 0;
      this.drain(t);
    }
  }

  /** Reads from t.pos to the current end (bounded per call; the next check continues). */
  private drain(t: Tracked): void {
    let budget = MAX_BYTES_PER_CHECK;
    while (budget > 0) {
      let n: number;
      try {
        n = readSync(t.fd, this.buf, 0, CHUNK, t.pos);
      } catch (e) {
        this.o.warn?.(`${t.path}: read failed (${(e as Error).message})`);
        return;
      }
      if (n === 0) return;
      t.pos += n;
      budget -= n;
      this.split(t, this.buf.subarray(0, n));
    }
    this.schedule(); // backlog left: continue soon, after other sources had their turn
  }

  private split(t: Tracked, chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(10, start);
      const end = nl < 0 ? chunk.length : nl;
      const room = this.maxLine - t.carryLen;
      if (room > 0 && end > start) {
        // Copy: the chunk buffer is reused by the next read.
        const part = chunk.subarray(start, Math.min(end, start + room));
        t.carry.push(nl < 0 || t.carry.length > 0 ? Buffer.from(part) : part);
        t.carryLen += part.length;
      }
      t.lineBytes += end - start;
      if (nl < 0) return;
      this.emit(t);
      start = nl + 1;
    }
  }

  private emit(t: Tracked): void {
    const truncated = t.lineBytes > t.carryLen;
    const bytes = t.carry.length === 1 ? t.carry[0]! : Buffer.concat(t.carry, t.carryLen);
    t.carry = [];
    t.carryLen = 0;
    t.lineBytes = 0;
    if (bytes.length === 0) return;
    if (truncated) this.stats.truncatedLines++;
    this.stats.lines++;
    this.o.onLine(bytes.toString('utf8'), t.path);
  }

  /** Closes a file we are done with; an unfinished last line of a rotated-away file is still a line. */
  private release(t: Tracked, finished: boolean): void {
    if (t.lineBytes > 0) this.emit(t);
    closeSync(t.fd);
    this.tracked.delete(t.path);
    if (finished) this.finished.add(t.path);
    else this.o.positions?.delete(t.path);
  }

  private drainAll(): void {
    for (const t of this.tracked.values()) {
      // Cat mode reads everything now; drain's per-call budget only applies to tailing.
      let before = -1;
      while (before !== t.pos) {
        before = t.pos;
        this.drain(t);
      }
    }
  }

  private schedule(): void {
    if (this.pending || this.stopped || this.mode === 'cat') return;
    this.pending = setImmediate(() => {
      this.pending = null;
      this.check();
    });
  }

  /** Watches the deepest wildcard-free directory of each pattern; failures fall back to polling. */
  private watchDirs(): void {
    for (const pattern of this.patterns) {
      let dir = dirname(pattern);
      while (hasMagic(dir)) dir = dirname(dir);
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, () => this.schedule());
        w.on('error', () => {
          w.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, w);
      } catch {
        // directory absent or not watchable: the poll timer covers it
      }
    }
  }

  /** At most once a second (inotify can wake us far more often), and always on stop. */
  private savePositions(force: boolean): void {
    const ps = this.o.positions;
    if (!ps || this.mode === 'cat') return;
    const now = Date.now();
    if (!force && now - this.lastSave < 1000) return;
    this.lastSave = now;
    for (const t of this.tracked.values()) ps.set(t.path, { dev: t.dev, ino: t.ino, pos: t.pos - t.lineBytes });
    try {
      ps.save();
    } catch (e) {
      this.o.warn?.(`cannot save read positions: ${(e as Error).message}`);
    }
  }
}
