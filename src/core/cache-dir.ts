/** The user cache directory shared by Palisade's disk caches (ASN table image, compiled groks). */
import { homedir } from 'node:os';
import { join } from 'node:path';

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
