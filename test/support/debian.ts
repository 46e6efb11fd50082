/**
 * Locates the reference material from Debian 12's crowdsec 1.4.6 package: the hub snapshot,
 * the grok pattern files and the data files. The .deb is fetched with `apt-get download`
 * (no install, no network beyond Debian's mirror) and unpacked into `.cache/crowdsec-deb/root`
 * on first use; `.ci/run` does the same up front. Set PALISADE_DEBIAN_ROOT to use another tree.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const cacheDir = join(repoRoot, '.cache', 'crowdsec-deb');

export interface DebianReference {
  root: string;
  hub: string;
  patterns: string;
  data: string;
  /** The crowdsec binary from the package tree (runs as-is), when present. */
  crowdsecBin: string;
}

function layout(root: string): DebianReference {
  return {
    root,
    hub: join(root, 'usr/share/crowdsec/hub'),
    patterns: join(root, 'etc/crowdsec/patterns'),
    data: join(root, 'usr/share/crowdsec/data'),
    crowdsecBin: join(root, 'usr/bin/crowdsec'),
  };
}

/** Returns the unpacked reference tree, fetching it if needed; null when it cannot be had. */
export function debianReference(): DebianReference | null {
  const root = process.env.PALISADE_DEBIAN_ROOT ?? join(cacheDir, 'root');
  if (existsSync(join(root, 'usr/share/crowdsec/hub'))) return layout(root);
  if (process.env.PALISADE_DEBIAN_ROOT) return null;
  try {
    mkdirSync(cacheDir, { recursive: true });
    if (!readdirSync(cacheDir).some((f) => f.startsWith('crowdsec_') && f.endsWith('.deb'))) {
      execFileSync('apt-get', ['download', 'crowdsec'], { cwd: cacheDir, stdio: 'ignore', timeout: 120_000 });
    }
    const deb = readdirSync(cacheDir).find((f) => f.startsWith('crowdsec_') && f.endsWith('.deb'));
    if (!deb) return null;
    execFileSync('dpkg', ['-x', join(cacheDir, deb), root], { stdio: 'ignore', timeout: 120_000 });
  } catch {
    return null;
  }
  return existsSync(join(root, 'usr/share/crowdsec/hub')) ? layout(root) : null;
}

/**
 * In CI the reference must be there (`.ci/run` installs it), so a missing one fails the
 * test; on a developer machine without apt it is a skip with the reason.
 */
export function requireDebianReference(t: { skip: (msg: string) => void }): DebianReference | null {
  const ref = debianReference();
  if (ref) return ref;
  if (process.env.CI) throw new Error('Debian crowdsec reference tree is missing (apt-get download crowdsec failed)');
  t.skip('Debian crowdsec reference not available (apt-get download crowdsec)');
  return null;
}
