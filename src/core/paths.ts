/** Default state directory (design.md §3): $XDG_STATE_HOME/palisade, /var/lib/palisade for root. */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PALISADE_DATA_DIR) return env.PALISADE_DATA_DIR;
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'palisade');
  if (typeof process.getuid === 'function' && process.getuid() === 0) return '/var/lib/palisade';
  return join(homedir(), '.local', 'state', 'palisade');
}
