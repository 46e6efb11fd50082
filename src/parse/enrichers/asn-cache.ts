/**
 * The disk cache of the ASN table image (asn-table.ts): converting the ~500k CSV rows of
 * @ip-location-db/asn costs ~0.5 s of CPU and ~100 MB of transient heap, reading the
 * converted image back costs a few milliseconds.
 *
 * The file is named after the package version and a hash of what the image depends on (image
 * format, version, size and mtime of both CSV files); the same hash is stamped in the image
 * header and checked on open, so a stale, foreign or damaged file is rebuilt, never used.
 * Files are written to a temporary name and renamed, so readers never see half a file. When
 * the directory is not writable the image is built in memory at every start, with a warning
 * saying so once per process.
 *
 * Directory: $PALISADE_CACHE_DIR, else $XDG_CACHE_HOME/palisade, else ~/.cache/palisade.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ASN_TABLE_FORMAT, AsnTable, buildAsnTable } from './asn-table.js';

export const ASN_V4_CSV = 'asn-ipv4-num.csv';
export const ASN_V6_CSV = 'asn-ipv6.csv';
/** Cache files kept per directory (other versions or installs), newest first. */
const KEEP = 3;

export { defaultCacheDir } from '../../core/cache-dir.js';

export interface AsnTableLoad {
  table: AsnTable;
  /** 'cache': read from `path`; 'built': converted and written to `path`; 'memory': converted, not cached. */
  from: 'cache' | 'built' | 'memory';
  path: string | null;
}

/**
 * The ASN table of the package in `asnDir` (its two CSV files and package.json). `cacheDir`
 * null disables the disk cache. Throws when the CSV files cannot be read.
 */
export function loadAsnTable(asnDir: string, cacheDir: string | null, warn: (m: string) => void): AsnTableLoad {
  const v4Path = join(asnDir, ASN_V4_CSV), v6Path = join(asnDir, ASN_V6_CSV);
  const key = sourceKey(asnDir, v4Path, v6Path);
  const path = cacheDir === null ? null : join(cacheDir, `asn-${key.version.replace(/[^\w.-]/g, '_')}-${key.hex}.bin`);
  if (path !== null) {
    const cached = readCached(path, key.words);
    if (cached) return { table: cached, from: 'cache', path };
  }
  const sab = buildAsnTable(readFileSync(v4Path), readFileSync(v6Path, 'utf8'), key.words);
  const table = new AsnTable(sab);
  if (path === null) return { table, from: 'memory', path: null };
  try {
    writeAtomically(cacheDir!, path, new Uint8Array(sab));
  } catch (e) {
    warnOnce(warn, `GeoIpASN: cannot write the ASN table cache ${path} (${(e as Error).message}); ` +
      'the CSV files are converted again at every start (~0.5 s). Set PALISADE_CACHE_DIR to a writable directory.');
    return { table, from: 'memory', path: null };
  }
  prune(cacheDir!, path);
  return { table, from: 'built', path };
}

interface SourceKey { version: string; hex: string; words: [number, number] }

function sourceKey(asnDir: string, v4Path: string, v6Path: string): SourceKey {
  let version = 'unknown';
  try {
    const v = (JSON.parse(readFileSync(join(asnDir, 'package.json'), 'utf8')) as { version?: unknown }).version;
    if (typeof v === 'string' && v !== '') version = v;
  } catch {
    // no package.json (a plain directory of CSV files): size and mtime still identify the data
  }
  const files = [v4Path, v6Path].map((p) => {
    const s = statSync(p);
    return [s.size, s.mtimeMs];
  });
  const digest = createHash('sha256').update(JSON.stringify({ format: ASN_TABLE_FORMAT, version, files })).digest();
  return { version, hex: digest.subarray(0, 8).toString('hex'), words: [digest.readUInt32LE(0), digest.readUInt32LE(4)] };
}

/** The cached image when it exists, is whole, and was built from these sources; else null. */
function readCached(path: string, key: [number, number]): AsnTable | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const sab = new SharedArrayBuffer(size);
    const view = new Uint8Array(sab);
    for (let at = 0; at < size;) {
      const n = readSync(fd, view, at, size - at, at);
      if (n === 0) return null;
      at += n;
    }
    const table = new AsnTable(sab);
    return table.keyLo === key[0] && table.keyHi === key[1] ? table : null;
  } catch {
    return null; // damaged or of another format: rebuilt and replaced
  } finally {
    closeSync(fd);
  }
}

function writeAtomically(dir: string, path: string, bytes: Uint8Array): void {
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/** Best effort: keeps the KEEP newest images, drops temporary files older than an hour. */
function prune(dir: string, current: string): void {
  try {
    const now = Date.now();
    const images: { path: string; mtime: number }[] = [];
    for (const name of readdirSync(dir)) {
      if (!name.startsWith('asn-')) continue;
      const p = join(dir, name);
      const mtime = statSync(p).mtimeMs;
      if (name.endsWith('.tmp')) {
        if (now - mtime > 3_600_000) unlinkSync(p);
      } else if (name.endsWith('.bin') && p !== current) {
        images.push({ path: p, mtime });
      }
    }
    images.sort((a, b) => b.mtime - a.mtime);
    for (const old of images.slice(KEEP - 1)) unlinkSync(old.path);
  } catch {
    // another process pruning at the same time, or a read-only entry: nothing to do
  }
}

const warned = new Set<string>();
function warnOnce(warn: (m: string) => void, m: string): void {
  if (warned.has(m)) return;
  warned.add(m);
  warn(m);
}
