/**
 * Read positions of tailed files, persisted in the data directory so a restart resumes where
 * the last one stopped: no line lost, none read twice. A position is the offset just past
 * the last complete line handed to the engine, tied to the file's (dev, inode), so a file
 * replaced while the daemon was down is recognised as new.
 *
 * File: `<dataDir>/acquisition-positions.json`, `{"version":1,"files":{"<path>":{"dev","ino","pos"}}}`,
 * written to a temporary name and renamed, so a crash leaves the old or the new file, never half.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FilePosition { dev: number; ino: number; pos: number }

export class PositionStore {
  private readonly files = new Map<string, FilePosition>();
  private dirty = false;
  readonly file: string;

  private constructor(dir: string) {
    this.file = join(dir, 'acquisition-positions.json');
  }

  /** Loads the saved positions; a missing or corrupt file starts empty (with a warning for corrupt). */
  static open(dataDir: string, warn: (m: string) => void = () => {}): PositionStore {
    mkdirSync(dataDir, { recursive: true });
    const s = new PositionStore(dataDir);
    let text: string;
    try {
      text = readFileSync(s.file, 'utf8');
    } catch {
      return s;
    }
    try {
      const doc = JSON.parse(text) as { files?: Record<string, Partial<FilePosition>> };
      for (const [path, p] of Object.entries(doc.files ?? {})) {
        if (typeof p.dev === 'number' && typeof p.ino === 'number' && typeof p.pos === 'number' && p.pos >= 0) s.files.set(path, { dev: p.dev, ino: p.ino, pos: p.pos });
      }
    } catch (e) {
      warn(`${s.file}: unreadable read positions (${(e as Error).message}); tailing from the end`);
    }
    return s;
  }

  get(path: string): FilePosition | undefined {
    return this.files.get(path);
  }

  set(path: string, p: FilePosition): void {
    const old = this.files.get(path);
    if (old && old.dev === p.dev && old.ino === p.ino && old.pos === p.pos) return;
    this.files.set(path, { ...p });
    this.dirty = true;
  }

  delete(path: string): void {
    if (this.files.delete(path)) this.dirty = true;
  }

  /** Writes the file if anything changed since the last save. */
  save(): void {
    if (!this.dirty) return;
    const doc = { version: 1, files: Object.fromEntries(this.files) };
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(doc));
    renameSync(tmp, this.file);
    this.dirty = false;
  }
}
