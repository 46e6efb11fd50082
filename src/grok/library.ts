/**
 * The grok pattern library: NAME -> grok expression, shared by every parser node (spec §3.1).
 * Built-ins first, then the pattern files, then each node's `pattern_syntax` in load order.
 * Definitions are never replaced once added, which is what lets compile.ts cache expansions
 * per library: an expansion that resolved once stays valid however many names are added.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LoadError } from '../core/errors.js';
import { BUILTIN_PATTERNS } from './builtins.js';

/** Where a definition came from, for error messages. */
export interface DefinitionSite {
  file?: string;
  line?: number;
  builtin?: boolean;
}

/** Go's bufio line + `^(\w+)\s+(.+)$` with Go's `\s` ([\t\n\f\r ]) and `.` (not \n). */
const LINE = /^(\w+)[\t\n\f\r ]+([^\n]+)$/;

export class PatternLibrary {
  private readonly defs = new Map<string, string>();
  private readonly sites = new Map<string, DefinitionSite>();

  static withBuiltins(): PatternLibrary {
    const lib = new PatternLibrary();
    for (const [name, expr] of BUILTIN_PATTERNS) {
      lib.defs.set(name, expr);
      lib.sites.set(name, { builtin: true });
    }
    return lib;
  }

  clone(): PatternLibrary {
    const lib = new PatternLibrary();
    for (const [k, v] of this.defs) lib.defs.set(k, v);
    for (const [k, v] of this.sites) lib.sites.set(k, v);
    return lib;
  }

  /** Add a definition. Returns false (and leaves the old one) when the name exists — "first definition wins" for pattern_syntax. */
  add(name: string, expr: string): boolean {
    return this.define(name, expr, {});
  }

  has(name: string): boolean {
    return this.defs.has(name);
  }

  get(name: string): string | undefined {
    return this.defs.get(name);
  }

  /** Where `name` was defined (undefined when it is not). */
  siteOf(name: string): DefinitionSite | undefined {
    return this.sites.get(name);
  }

  /** All names, in definition order. */
  names(): IterableIterator<string> {
    return this.defs.keys();
  }

  get size(): number {
    return this.defs.size;
  }

  /** Pattern files: every file in dir whose name contains no '.', sorted; lines matching ^(\w+)\s+(.+)$ ; a name already defined is a LoadError naming file:line. */
  loadDir(dir: string): void {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (e) {
      throw new LoadError('IO', `cannot read pattern directory: ${(e as Error).message}`, { file: dir });
    }
    // Go's os.ReadDir sorts by byte order; for the ASCII names used here that is JS's order.
    for (const name of names.sort()) {
      if (name.includes('.')) continue;
      const path = join(dir, name);
      let isFile: boolean;
      try {
        isFile = statSync(path).isFile(); // follows symlinks, as CrowdSec's installs use them
      } catch (e) {
        throw new LoadError('IO', `cannot stat pattern file: ${(e as Error).message}`, { file: path });
      }
      if (isFile) this.loadFile(path);
    }
  }

  loadFile(path: string): void {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new LoadError('IO', `cannot read pattern file: ${(e as Error).message}`, { file: path });
    }
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i]!;
      if (line.endsWith('\r')) line = line.slice(0, -1); // bufio.ScanLines drops one trailing \r
      const m = LINE.exec(line);
      if (!m) continue;
      const name = m[1]!;
      if (!this.define(name, m[2]!, { file: path, line: i + 1 })) {
        const first = this.sites.get(name);
        const prev = first?.builtin ? 'a built-in pattern' : first?.file ? `at ${first.file}:${first.line}` : 'earlier';
        throw new LoadError('SCHEMA', `grok pattern '${name}' is already defined (${prev})`, {
          file: path,
          line: i + 1,
          col: 1,
        });
      }
    }
  }

  private define(name: string, expr: string, site: DefinitionSite): boolean {
    if (this.defs.has(name)) return false;
    this.defs.set(name, expr);
    this.sites.set(name, site);
    return true;
  }
}
