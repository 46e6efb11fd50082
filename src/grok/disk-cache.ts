/**
 * Disk cache of compiled grok data. Compiling the hub's groks (expansion, RE2 parse, JS
 * emission, gate relaxation, literal and first-character analysis) costs ~0.4 s of CPU in
 * every thread that loads the rules — each pool worker does it again; reading the results
 * back costs a few milliseconds.
 *
 * One JSON file per grok, named by its key: a hash of the pattern text and of every
 * definition it reaches (compile.ts grokKey), in a directory named after GROK_COMPILER_VERSION,
 * the V8 version and a fingerprint of the compiler's own modules, so that changed code never
 * reads an older compiler's output. The entry repeats its key and pattern and is checked on
 * read: a corrupt, truncated, foreign or stale entry is ignored (and rewritten), never trusted.
 * Files are written under a temporary name and renamed, so concurrent workers never see half
 * a file. When the directory cannot be written the groks are compiled at every start, with
 * one warning per thread that saw the failure (the main thread and the first worker at most).
 *
 * Directory: <cache dir>/grok-*, the cache dir as for the ASN table (core/cache-dir.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, threadId } from 'node:worker_threads';
import { defaultCacheDir, pruneCacheDirs, writeCacheFile } from '../core/cache-dir.js';

/** Bump when the compiled data's format or meaning changes (the module fingerprint catches the rest). */
export const GROK_COMPILER_VERSION = 1;

/** What compile.ts needs to build a Grok without compiling: plain, JSON-safe data. */
export interface CompiledGrokData {
  /** Semantic names in emission order. */
  semantics: string[];
  /** Capture index in `js` per semantic; 0 = none (always ""). */
  groups: number[];
  /** The translated regex source (only the groups a semantic reads capture). */
  js: string;
  /** Source of the linear-eligible gate, or null when `js` is eligible itself (or no semantic). */
  gateJs: string | null;
  /** Required literal substrings, in pattern order. */
  literals: string[];
  /** First-character set of an anchored pattern (4 uint32 words + non-ASCII flag), or null. */
  firstChar: { ascii: number[]; nonAscii: boolean } | null;
}

/** The modules whose code decides the compiled data; their text is part of the directory name. */
const COMPILER_MODULES = ['compile', 're2', 'regexp-guard', 'literals', 'first-char', 'builtins'];
/** grok-* directories kept (other versions or installs), newest first. */
const KEEP = 3;

export interface GrokDiskCacheOptions {
  /** Cache directory (the grok-* subdirectory goes inside); null disables the cache. Default: defaultCacheDir(). */
  dir?: string | null;
  warn?: (m: string) => void;
}

export class GrokDiskCache {
  readonly dir: string;
  /** Entries read (valid), looked up but absent or invalid, and written; for tests and diagnostics. */
  readonly stats = { hits: 0, misses: 0, writes: 0 };
  private disabled = false;
  private pruned = false;

  constructor(root: string, private readonly warn: (m: string) => void) {
    this.dir = join(root, `grok-v${GROK_COMPILER_VERSION}-${compilerFingerprint()}`);
  }

  /** The cached data for `key`, or null when absent or not valid for exactly this pattern. */
  read(key: string, pattern: string): CompiledGrokData | null {
    let data: CompiledGrokData | null = null;
    try {
      data = validEntry(JSON.parse(readFileSync(this.pathOf(key), 'utf8')), key, pattern);
    } catch {
      data = null; // absent, unreadable or not JSON
    }
    if (data === null) this.stats.misses++;
    else this.stats.hits++;
    return data;
  }

  write(key: string, pattern: string, data: CompiledGrokData): void {
    if (this.disabled) return;
    try {
      writeCacheFile(this.dir, this.pathOf(key), JSON.stringify({ v: GROK_COMPILER_VERSION, key, pattern, ...data }));
      this.stats.writes++;
    } catch (e) {
      this.disabled = true;
      if (isMainThread || threadId === 1) {
        this.warn(`cannot write the compiled grok cache in ${this.dir} (${(e as Error).message}); ` +
          'groks are compiled again at every start. Set PALISADE_CACHE_DIR to a writable directory.');
      }
      return;
    }
    if (!this.pruned) {
      this.pruned = true;
      pruneCacheDirs(dirname(this.dir), 'grok-v', this.dir, KEEP);
    }
  }

  private pathOf(key: string): string {
    return join(this.dir, `${key}.json`);
  }
}

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((s) => typeof s === 'string');
}

function isIntArray(x: unknown, min: number, max: number): x is number[] {
  return Array.isArray(x) && x.every((n) => Number.isInteger(n) && n >= min && n <= max);
}

/** The entry as CompiledGrokData when every field has the right shape and it is for this key and pattern. */
function validEntry(e: unknown, key: string, pattern: string): CompiledGrokData | null {
  if (typeof e !== 'object' || e === null) return null;
  const o = e as Record<string, unknown>;
  if (o.v !== GROK_COMPILER_VERSION || o.key !== key || o.pattern !== pattern) return null;
  const { semantics, groups, js, gateJs, literals, firstChar } = o;
  if (!isStringArray(semantics) || !isStringArray(literals) || typeof js !== 'string') return null;
  if (gateJs !== null && typeof gateJs !== 'string') return null;
  // A group index the regex does not have would read `undefined` for ever: reject it.
  const captures = countCaptures(js);
  if (!isIntArray(groups, 0, captures) || groups.length !== semantics.length) return null;
  let fc: CompiledGrokData['firstChar'] = null;
  if (firstChar !== null) {
    if (typeof firstChar !== 'object') return null;
    const f = firstChar as Record<string, unknown>;
    if (!isIntArray(f.ascii, 0, 0xffffffff) || f.ascii.length !== 4 || typeof f.nonAscii !== 'boolean') return null;
    fc = { ascii: f.ascii, nonAscii: f.nonAscii };
  }
  return { semantics, groups, js, gateJs, literals, firstChar: fc };
}

/**
 * Capturing groups in a JS regex source, by a scan (compiling the regex to ask V8 would cost
 * as much as the cache saves): '(' not followed by '?' outside classes and escapes, plus
 * named groups. A source V8 rejects fails later, in instantiateGrok, and is recompiled.
 */
export function countCaptures(js: string): number {
  let n = 0;
  let inClass = false;
  for (let i = 0; i < js.length; i++) {
    const c = js.charCodeAt(i);
    if (c === 0x5c /* \\ */) i++;
    else if (inClass) inClass = c !== 0x5d; /* ] */
    else if (c === 0x5b /* [ */) inClass = true;
    else if (c === 0x28 /* ( */) {
      if (js.charCodeAt(i + 1) !== 0x3f /* ? */) n++;
      else if (js.charCodeAt(i + 2) === 0x3c /* < */ && js[i + 3] !== '=' && js[i + 3] !== '!') n++;
    }
  }
  return n;
}

let fingerprint: string | null = null;

/** Hash of the compiler modules' text (dist .js or, under tsx, .ts) and the V8 version. */
function compilerFingerprint(): string {
  if (fingerprint !== null) return fingerprint;
  const hash = createHash('sha256').update(process.versions.v8);
  try {
    const self = fileURLToPath(import.meta.url);
    const ext = extname(self);
    for (const m of COMPILER_MODULES) hash.update(readFileSync(join(dirname(self), m + ext)));
  } catch {
    hash.update('unreadable'); // bundled or moved: the version constant alone then
  }
  return (fingerprint = hash.digest('hex').slice(0, 12));
}

let shared: GrokDiskCache | null | undefined;

/** This thread's cache (null = disabled); created on first use from the environment. */
export function grokDiskCache(): GrokDiskCache | null {
  if (shared === undefined) configureGrokDiskCache();
  return shared!;
}

/** Sets this thread's cache; for tests and embedders. `PALISADE_GROK_CACHE=off` disables it. */
export function configureGrokDiskCache(o: GrokDiskCacheOptions = {}): GrokDiskCache | null {
  const root = o.dir !== undefined ? o.dir : process.env.PALISADE_GROK_CACHE === 'off' ? null : defaultCacheDir();
  shared = root === null ? null : new GrokDiskCache(root, o.warn ?? ((m) => process.stderr.write(`warning: ${m}\n`)));
  return shared;
}
