/** The user cache directory shared by Palisade's disk caches (ASN table image, compiled groks, parsed YAML). */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

/** $PALISADE_CACHE_DIR, else $XDG_CACHE_HOME/palisade, else ~/.cache/palisade; null when none can be named. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.PALISADE_CACHE_DIR) return env.PALISADE_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'palisade');
  try {
    const home = homedir();
    return home ? join(home, '.cache', 'palisade') : null;
  } catch {
    return null;
  }
}

/**
 * Writes `text` to `path` (in `dir`, created if needed) under a temporary name, then renames
 * it: concurrent processes and threads never read half a file. Throws when it cannot write
 * (the temporary file is removed).
 */
export function writeCacheFile(dir: string, path: string, text: string): void {
  const tmp = `${path}.${process.pid}.${threadId}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* never created */ }
    throw e;
  }
}

/**
 * Best effort: of the directories in `root` named `prefix`* other than `current` (older
 * versions or other installs of one cache), keeps the `keep - 1` newest and removes the rest.
 */
export function pruneCacheDirs(root: string, prefix: string, current: string, keep: number): void {
  try {
    const dirs: { path: string; mtime: number }[] = [];
    for (const name of readdirSync(root)) {
      if (!name.startsWith(prefix)) continue;
      const p = join(root, name);
      if (p !== current) dirs.push({ path: p, mtime: statSync(p).mtimeMs });
    }
    dirs.sort((a, b) => b.mtime - a.mtime);
    for (const old of dirs.slice(keep - 1)) rmSync(old.path, { recursive: true, force: true });
  } catch {
    // another process pruning at the same time: nothing to do
  }
}
