/**
 * Disk cache of parsed YAML documents. Parsing the shipped rules' YAML costs ~100 ms of CPU in
 * a fresh isolate (the `yaml` package runs cold, in the lower tiers while rules load); reading
 * the same documents back as JSON costs ~2 ms. yaml-source.ts parseYamlDocs consults it.
 *
 * One JSON file per distinct text, named by the SHA-256 of the text, in a directory named after
 * YAML_CACHE_VERSION and a fingerprint of the converter (yaml-source's module text and the
 * `yaml` package version), so changed code never reads an older converter's output. An entry
 * repeats its key and is checked when read (yaml-source.ts unpackDocs): a corrupt, truncated
 * or foreign entry is ignored and rewritten, never trusted. Only documents whose values survive
 * JSON exactly are written (no `.inf`, `-0`, dates, bytes). Files are written under a temporary
 * name and renamed, so concurrent threads never read half a file. A cache that cannot be
 * written is silently skipped: the YAML is then parsed at every start, as without a cache.
 *
 * Directory: <cache dir>/yaml-*, the cache dir as for compiled groks (core/cache-dir.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCacheDir, pruneCacheDirs, writeCacheFile } from '../core/cache-dir.js';

/** Bump when an entry's format or meaning changes (the fingerprint catches code changes). */
export const YAML_CACHE_VERSION = 1;
/** yaml-* directories kept (other versions or installs), newest first. */
const KEEP = 3;

export class YamlDiskCache {
  readonly dir: string;
  /** Entries read (parsed as JSON), absent or unreadable, and written; for tests and diagnostics. */
  readonly stats = { hits: 0, misses: 0, writes: 0 };
  private disabled = false;
  private pruned = false;

  constructor(root: string) {
    this.dir = join(root, `yaml-v${YAML_CACHE_VERSION}-${converterFingerprint()}`);
  }

  /** The key of a text: its SHA-256. */
  keyOf(text: string): string {
    return createHash('sha256').update(text).digest('hex');
  }

  /** The JSON stored under `key`, or null (absent, unreadable, not JSON). The caller checks it. */
  read(key: string): unknown {
    try {
      const v: unknown = JSON.parse(readFileSync(this.pathOf(key), 'utf8'));
      this.stats.hits++;
      return v;
    } catch {
      this.stats.misses++;
      return null;
    }
  }

  write(key: string, entry: unknown): void {
    if (this.disabled) return;
    try {
      writeCacheFile(this.dir, this.pathOf(key), JSON.stringify(entry));
      this.stats.writes++;
      if (!this.pruned) {
        this.pruned = true;
        pruneCacheDirs(dirname(this.dir), 'yaml-v', this.dir, KEEP);
      }
    } catch {
      // Not writable: parse at every start, as without a cache.
      this.disabled = true;
    }
  }

  private pathOf(key: string): string {
    return join(this.dir, `${key}.json`);
  }
}

/** Hash of yaml-source's module text (dist .js or, under tsx, .ts) and of the `yaml` package version. */
function converterFingerprint(): string {
  const hash = createHash('sha256');
  try {
    const self = fileURLToPath(import.meta.url);
    hash.update(readFileSync(join(dirname(self), `yaml-source${extname(self)}`)));
    const main = createRequire(import.meta.url).resolve('yaml');
    const pkg = JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { version?: unknown };
    hash.update(String(pkg.version));
  } catch {
    hash.update('unreadable'); // bundled or moved: the version constant alone then
  }
  return hash.digest('hex').slice(0, 12);
}

let shared: YamlDiskCache | null | undefined;

/** This thread's cache (null = disabled); created on first use from the environment. */
export function yamlDiskCache(): YamlDiskCache | null {
  if (shared === undefined) configureYamlDiskCache();
  return shared!;
}

/** Sets this thread's cache; for tests and embedders. `PALISADE_YAML_CACHE=off` disables it. */
export function configureYamlDiskCache(o: { dir?: string | null } = {}): YamlDiskCache | null {
  const root = o.dir !== undefined ? o.dir : process.env.PALISADE_YAML_CACHE === 'off' ? null : defaultCacheDir();
  shared = root === null ? null : new YamlDiskCache(root);
  return shared;
}
