/**
 * Loads a CrowdSec-style rules directory (design.md §3): parsers/<stage>/*.yaml,
 * postoverflows/<stage>/*.yaml, scenarios/*.yaml, patterns/, data/. The same walker serves a
 * hub tree (parsers/<stage>/<author>/*.yaml), so `hub check` and `--config-dir` share it.
 * Files may be symlinks, as cscli installs them.
 */
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PatternLibrary } from '../grok/library.js';
import { LoadError } from '../core/errors.js';
import type { HelperContext } from '../expr/index.js';
import { DataFiles } from './data-files.js';
import { parseYamlDocs, readYamlDocs } from './yaml-source.js';
import { compileParserDocs } from './parser.js';
import type { ParserNode, ParserSet } from '../parse/types.js';

/** The shipped rules: <package>/rules (same relative place from src/ and dist/). */
export const SHIPPED_RULES_DIR = fileURLToPath(new URL('../../rules', import.meta.url));

export interface LoadFailure { kind: 'parser' | 'scenario' | 'postoverflow' | 'patterns'; file: string; name: string; error: string }

export interface RuleFile { file: string; stage: string }

/** Every .yaml/.yml file below `dir` (recursively, following symlinks), sorted by full path in byte order. */
export function listYamlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number): void => {
    if (depth > 8) return;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      if (n.startsWith('.')) continue;
      const p = join(d, n);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue; // dangling symlink
      }
      if (st.isDirectory()) walk(p, depth + 1);
      else if (n.endsWith('.yaml') || n.endsWith('.yml')) out.push(p);
    }
  };
  walk(dir, 0);
  return out.sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
}

/** Parser-like files under `root` (parsers/ or postoverflows/): the stage is the first directory below it. */
export function listStagedFiles(root: string): RuleFile[] {
  return listYamlFiles(root).flatMap((file) => {
    const rel = relative(root, file).split(sep);
    return rel.length >= 2 ? [{ file, stage: rel[0]! }] : [];
  });
}

export interface ParserLoadResult {
  set: ParserSet;
  loaded: { file: string; name: string; stage: string }[];
  failures: LoadFailure[];
}

export interface LoadOptions {
  /** Throw the first load error (daemon / explain behaviour) instead of collecting it. */
  strict: boolean;
  patterns: PatternLibrary;
  data: DataFiles;
  helpers: HelperContext;
}

/** Loads parser files into a ParserSet; `kind` only labels failures. */
export function loadParserFiles(files: RuleFile[], opts: LoadOptions, kind: 'parser' | 'postoverflow' = 'parser'): ParserLoadResult {
  const byStage = new Map<string, ParserNode[]>();
  const loaded: ParserLoadResult['loaded'] = [];
  const failures: LoadFailure[] = [];
  for (const { file, stage } of files) {
    try {
      const docs = compileParserDocs(readYamlDocs(file), file, stage, { patterns: opts.patterns, data: opts.data, helpers: opts.helpers });
      for (const d of docs) {
        const list = byStage.get(stage) ?? [];
        list.push(d.node);
        byStage.set(stage, list);
      }
      loaded.push({ file, stage, name: docs[0]?.node.name ?? '' });
    } catch (e) {
      if (opts.strict || !(e instanceof LoadError)) throw e;
      failures.push({ kind, file, name: nameGuess(file), error: e.message });
    }
  }
  const stages = [...byStage.keys()].sort();
  return { set: { stages, byStage }, loaded, failures };
}

/** Names of every `method:` static used by a parser set (to skip loading unused enricher data). */
export function usedMethods(...sets: ParserSet[]): Set<string> {
  const out = new Set<string>();
  const visit = (n: ParserNode): void => {
    for (const s of [...n.statics, ...(n.grok?.statics ?? [])]) if (s.kind === 'method') out.add(s.key);
    n.children.forEach(visit);
  };
  for (const set of sets) for (const nodes of set.byStage.values()) nodes.forEach(visit);
  return out;
}

/**
 * What the rest of a load needs from parser files without compiling them: the names of
 * their `method:` statics (the same names usedMethods gives for the compiled files) and
 * their `pattern_syntax` entries, added to `patterns` in load order so postoverflows see
 * the library a full load would have built. Files that mention neither key are not parsed
 * as YAML.
 */
export function scanParserFiles(files: readonly RuleFile[], patterns: PatternLibrary | null): Set<string> {
  const out = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) { v.forEach(visit); return; }
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    const ps = o.pattern_syntax;
    if (patterns !== null && typeof ps === 'object' && ps !== null && !Array.isArray(ps)) {
      for (const [k, p] of Object.entries(ps)) patterns.add(k, String(p));
    }
    const statics = o.statics;
    if (Array.isArray(statics)) {
      for (const s of statics) {
        const m = typeof s === 'object' && s !== null ? (s as Record<string, unknown>).method : undefined;
        // The compiler takes numbers and booleans as their text too.
        if (typeof m === 'string' || typeof m === 'number' || typeof m === 'boolean') out.add(String(m));
      }
    }
    for (const k in o) if (k !== 'pattern_syntax') visit(o[k]);
  };
  for (const { file } of files) {
    const text = readFileSync(file, 'utf8');
    if (!MENTIONS_SCANNED_KEY.test(text)) continue;
    for (const d of parseYamlDocs(text, file)) visit(d.value);
  }
  return out;
}
const MENTIONS_SCANNED_KEY = /\b(?:method|pattern_syntax)["']?\s*:/;

function nameGuess(file: string): string {
  const base = file.split(sep).slice(-2).join('/');
  return base.replace(/\.ya?ml$/, '');
}

export interface RulesDirOptions {
  strict: boolean;
  /** Override `<dir>/patterns`. */
  patternsDir?: string;
  /** Override `<dir>/data`. */
  dataDir?: string;
  helpers?: HelperContext;
  warn?: (m: string) => void;
  /**
   * Compile parsers/ (default true). false: `parsers` is an empty set and only their
   * `method:` names are read (parserMethods), for an engine whose lines are parsed in other
   * threads (the pool's pouring side). Postoverflows are always compiled.
   */
  compileParsers?: boolean;
}

export interface RulesDir {
  dir: string;
  patterns: PatternLibrary;
  data: DataFiles;
  helpers: HelperContext;
  parsers: ParserLoadResult;
  postoverflows: ParserLoadResult;
  /** `method:` names used by parsers/ (compiled or, with compileParsers false, scanned). */
  parserMethods: ReadonlySet<string>;
  scenarioFiles: string[];
}

/** Loads patterns, data and parsers/postoverflows of a rules directory. Scenarios are listed, loaded by the caller. */
export function loadRulesDir(dir: string, opts: RulesDirOptions): RulesDir {
  if (!existsSync(dir)) throw new LoadError('IO', `rules directory not found`, { file: dir });
  const warn = opts.warn ?? (() => {});
  const patterns = PatternLibrary.withBuiltins();
  const patternsDir = opts.patternsDir ?? join(dir, 'patterns');
  if (existsSync(patternsDir)) patterns.loadDir(patternsDir);
  const dataDir = opts.dataDir ?? join(dir, 'data');
  const data = new DataFiles(existsSync(dataDir) ? dataDir : null, warn);
  const helpers: HelperContext = { warn, ...opts.helpers, data };
  const lo: LoadOptions = { strict: opts.strict, patterns, data, helpers };
  const parserFiles = listStagedFiles(join(dir, 'parsers'));
  let parsers: ParserLoadResult;
  let parserMethods: Set<string>;
  if (opts.compileParsers ?? true) {
    parsers = loadParserFiles(parserFiles, lo, 'parser');
    parserMethods = usedMethods(parsers.set);
  } else {
    parsers = { set: { stages: [], byStage: new Map() }, loaded: [], failures: [] };
    parserMethods = scanParserFiles(parserFiles, patterns);
  }
  const postoverflows = loadParserFiles(listStagedFiles(join(dir, 'postoverflows')), lo, 'postoverflow');
  const scenarioFiles = listYamlFiles(join(dir, 'scenarios'));
  return { dir, patterns, data, helpers, parsers, postoverflows, parserMethods, scenarioFiles };
}
