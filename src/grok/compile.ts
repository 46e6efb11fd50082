/**
 * Grok compilation (spec §3.2–3.3): expand `%{NAME}` / `%{NAME:SEM}` references into one RE2
 * source, decide which capture group each semantic reads, translate to V8 and precompute
 * everything match() needs.
 *
 * Group indices are found exactly rather than by counting parentheses in text (grokky's
 * sloppy count): expansion records the offset of the '(' it inserts for each reference, and
 * the RE2 parser reports the offset of every capturing group it sees.
 */
import { createHash } from 'node:crypto';
import { LoadError } from '../core/errors.js';
import { internKey } from '../core/event.js';
import type { PatternLibrary } from './library.js';
import { requiredLiterals } from './literals.js';
import { anchoredFirstChar, mayStart, type FirstChar } from './first-char.js';
import { emitJs, parseRe2, type Re2Node, type Re2Parse } from './re2.js';
import { linearEligible, linearRegExp, relaxForGate } from './regexp-guard.js';
import { grokDiskCache, type CompiledGrokData } from './disk-cache.js';

export interface Grok {
  readonly pattern: string;           // the grok text as written
  readonly regex: RegExp;             // expanded + translated (no 'g'/'y' flags); only the groups semantics read capture
  readonly semantics: readonly string[];  // output names in emission order
  /** Unanchored first match. Returns null on no match. Otherwise every semantic name -> captured text ("" for non-participating groups), with the precedence rules of spec §3.3. */
  match(input: string): Map<string, string> | null;
  /**
   * The same match, but the captures are written straight into `out` (in `semantics` order,
   * the order match() returns them); nothing is allocated besides the regex result. Returns
   * false, leaving `out` untouched, exactly when match() would return null.
   */
  matchInto(input: string, out: Map<string, string>): boolean;
  /**
   * A cheap necessary condition: false means match() returns null for this input (no
   * semantic, a first character an anchored match cannot start with, a required literal
   * missing). True says nothing. Side-effect free, like match().
   */
  mayMatch(input: string): boolean;
  /**
   * mayMatch without the required-literal test: for callers whose prefilter already found
   * every literal in a text that contains `input` (src/parse/prefilter-sites.ts).
   */
  mayStart(input: string): boolean;
  /**
   * matchInto without the required-literal test (same result: the regex decides; the test
   * only saves its run). For callers whose prefilter already did that test.
   */
  matchIntoPrefiltered(input: string, out: Map<string, string>): boolean;
  /** True when mayMatch/mayStart test the first character (an anchored pattern). */
  readonly hasFirstCharTest: boolean;
  /** Literal substrings every match must contain (for a prefilter later); may be empty. */
  readonly requiredLiterals: readonly string[];
}

/** A grok reference: exactly %{NAME} or %{NAME:SEM}, both \w+ (ASCII in Go and JS). */
const REFERENCE = /%\{(\w+)(?::(\w+))?\}/g;

interface Expansion {
  /** Expanded RE2 source. */
  src: string;
  /** Semantic -> offset in `src` of the '(' of the group it reads; insertion order = emission order. */
  sems: Map<string, number>;
}

/** Per-library caches; valid forever because a library never redefines a name. */
const expansionCache = new WeakMap<PatternLibrary, Map<string, Expansion>>();
const grokCache = new WeakMap<PatternLibrary, Map<string, Grok>>();

function cacheFor<V>(m: WeakMap<PatternLibrary, Map<string, V>>, lib: PatternLibrary): Map<string, V> {
  let c = m.get(lib);
  if (!c) m.set(lib, (c = new Map()));
  return c;
}

function expandText(text: string, lib: PatternLibrary, stack: string[]): Expansion {
  const refs = [...text.matchAll(REFERENCE)];
  if (refs.length === 0) return { src: text, sems: new Map() };
  // Names written at this level beat the same names coming from inside references.
  const outer = new Set<string>();
  for (const r of refs) if (r[2] !== undefined) outer.add(r[2]);
  const sems = new Map<string, number>();
  let src = '';
  let last = 0;
  for (const r of refs) {
    src += text.slice(last, r.index);
    const sub = expandName(r[1]!, lib, stack);
    const open = src.length;
    src += '(' + sub.src + ')';
    // Map.set keeps the first insertion position and takes the last value: the last
    // outer duplicate wins, and a later sibling's nested name beats an earlier one's.
    if (r[2] !== undefined) sems.set(r[2], open);
    for (const [name, off] of sub.sems) if (!outer.has(name)) sems.set(name, open + 1 + off);
    last = r.index + r[0].length;
  }
  src += text.slice(last);
  return { src, sems };
}

function expandName(name: string, lib: PatternLibrary, stack: string[]): Expansion {
  const cache = cacheFor(expansionCache, lib);
  const hit = cache.get(name);
  if (hit) return hit;
  if (stack.includes(name)) {
    throw new LoadError('GROK_UNKNOWN_PATTERN', `grok pattern '${name}' refers to itself (${[...stack, name].join(' -> ')})`);
  }
  const def = lib.get(name);
  if (def === undefined) {
    const from = stack.length ? ` (referenced from %{${stack[stack.length - 1]}})` : '';
    throw new LoadError('GROK_UNKNOWN_PATTERN', `unknown grok pattern %{${name}}${from}`);
  }
  stack.push(name);
  const exp = expandText(def, lib, stack);
  stack.pop();
  // Validate each definition on its own, as grokky does when a pattern is added, so that a
  // syntax error names the pattern that has it.
  try {
    parseRe2(exp.src);
  } catch (e) {
    if (e instanceof LoadError) {
      const site = lib.siteOf(name);
      const at = site?.file ? ` (defined at ${site.file}:${site.line})` : '';
      throw new LoadError(e.code, `in grok pattern %{${name}}${at}: ${e.reason}`);
    }
    throw e;
  }
  cache.set(name, exp);
  return exp;
}

/**
 * Lines longer than this take the linear engine (when the pattern allows it): backtracking
 * search costs O(n^2) or worse on a failing line, the linear engine O(n * pattern size) but
 * with a large constant (~0.5 ms for a 200-char line against a 3 KB grok).
 */
export const LONG_LINE = 2048;

/**
 * How the regexes of a grok are used, cheapest rejection first:
 *   0. an anchored pattern: the first character must be one a match can start with;
 *   1. every required literal must occur (indexOf; rejects most lines, hostile ones included);
 *   2. short line: `gate` (if any) then `regex`, on irregexp with V8's backtrack fallback;
 *   3. long line: `linear` (`regex` on the linear engine) when eligible, else `linearGate`
 *      (or `gate`) first, then `regex`.
 */
export interface GrokEngines {
  /** Linear-engine-eligible superset of `regex`, or null when `regex` is eligible itself. */
  readonly gate: RegExp | null;
  /** `regex` compiled for the linear engine, or null (ineligible, or flag unavailable). */
  readonly linear: RegExp | null;
  /** `gate` compiled for the linear engine, or null. */
  readonly linearGate: RegExp | null;
}

class CompiledGrok implements Grok {
  constructor(
    readonly pattern: string,
    readonly regex: RegExp,
    readonly semantics: readonly string[],
    /** Capture index per semantic (same order); 0 = no group (always ""). */
    private readonly groups: Int32Array,
    readonly requiredLiterals: readonly string[],
    readonly engines: GrokEngines,
    /** First-character set of an anchored pattern, or null (no such check). */
    private readonly firstChar: FirstChar | null = null,
  ) {
    // Stable sort: equal lengths keep pattern order. Order never changes a result.
    this.checkLiterals = Object.freeze([...requiredLiterals].sort((a, b) => b.length - a.length));
  }

  /** Literals in the order they are checked: longest first (longer ones are rarer in logs). */
  private readonly checkLiterals: readonly string[];

  get hasFirstCharTest(): boolean {
    return this.firstChar !== null;
  }

  match(input: string): Map<string, string> | null {
    const m = this.exec(input);
    if (m === null) return null;
    const out = new Map<string, string>();
    this.copy(m, out);
    return out;
  }

  matchInto(input: string, out: Map<string, string>): boolean {
    const m = this.exec(input);
    if (m === null) return false;
    this.copy(m, out);
    return true;
  }

  mayMatch(input: string): boolean {
    if (!this.mayStart(input)) return false;
    const lits = this.checkLiterals;
    for (let i = 0; i < lits.length; i++) if (input.indexOf(lits[i]!) < 0) return false;
    return true;
  }

  mayStart(input: string): boolean {
    if (this.semantics.length === 0) return false; // no semantic: the grok never succeeds (spec §3.3)
    return this.firstChar === null || mayStart(this.firstChar, input);
  }

  matchIntoPrefiltered(input: string, out: Map<string, string>): boolean {
    if (!this.mayStart(input)) return false;
    const m = this.run(input);
    if (m === null) return false;
    this.copy(m, out);
    return true;
  }

  /** The regex result of a successful match, or null (cheap rejection, or no match). */
  private exec(input: string): RegExpExecArray | null {
    if (!this.mayMatch(input)) return null;
    return this.run(input);
  }

  /** The regexes proper (after the cheap tests). */
  private run(input: string): RegExpExecArray | null {
    const e = this.engines;
    if (input.length > LONG_LINE && e.linear !== null) return e.linear.exec(input);
    const gate = input.length > LONG_LINE ? (e.linearGate ?? e.gate) : e.gate;
    if (gate !== null && !gate.test(input)) return null;
    return this.regex.exec(input);
  }

  private copy(m: RegExpExecArray, out: Map<string, string>): void {
    const names = this.semantics;
    const groups = this.groups;
    for (let i = 0; i < names.length; i++) {
      const g = groups[i]!;
      out.set(names[i]!, g > 0 ? (m[g] ?? '') : '');
    }
  }
}

function toRegExp(js: string, pattern: string): RegExp {
  try {
    return new RegExp(js);
  } catch (e) {
    throw new LoadError('REGEX_COMPILE', `grok ${JSON.stringify(pattern)}: V8 rejected the translation: ${(e as Error).message}`);
  }
}

/**
 * The linear engine's cost grows with pattern size: on a 100 KB line it took 20 ms for a
 * 24-char source but 290-490 ms for 1-5 KB ones (IPV6 alone expands to 1.1 KB), where
 * irregexp is often faster. Larger patterns therefore stay on irregexp for long lines too.
 */
const LINEAR_MAX_SOURCE = 1024;

/** The gate source of `root` (a linear-eligible relaxation), or null when `root` is eligible itself. */
function gateSource(root: Re2Node): string | null {
  if (linearEligible(root)) return null;
  let relaxed = relaxForGate(root);
  if (!linearEligible(relaxed)) relaxed = relaxForGate(root, true);
  return emitJs(relaxed);
}

/** The engines of a grok from its sources; fresh and cached compiles both build them here. */
function buildEngines(js: string, gateJs: string | null, pattern: string): GrokEngines {
  const lin = (src: string): RegExp | null => (src.length <= LINEAR_MAX_SOURCE ? linearRegExp(src) : null);
  if (gateJs === null) return { gate: null, linear: lin(js), linearGate: null };
  return { gate: toRegExp(gateJs, pattern), linear: null, linearGate: lin(gateJs) };
}

const NO_ENGINES: GrokEngines = Object.freeze({ gate: null, linear: null, linearGate: null });

/**
 * The same tree with only the capturing groups in `keep` still capturing. Captures never
 * change which text a JS regex matches (RE2 has no backreferences, so none are emitted);
 * each one costs registers that irregexp saves and restores while backtracking, and a
 * string in every result. Grok wraps every reference in a group, and IPV6 alone has dozens:
 * the nginx access grok has 184 groups for 16 semantics, and dropping the other 168 makes
 * it about 4x faster.
 */
function keepCaptures(node: Re2Node, keep: ReadonlySet<number>): Re2Node {
  switch (node.kind) {
    case 'group':
      return { ...node, capture: keep.has(node.capture) ? node.capture : 0, body: keepCaptures(node.body, keep) };
    case 'cat':
      return { kind: 'cat', items: node.items.map((x) => keepCaptures(x, keep)) };
    case 'alt':
      return { kind: 'alt', alts: node.alts.map((x) => keepCaptures(x, keep)) };
    case 'rep':
      return { ...node, body: keepCaptures(node.body, keep) };
    default:
      return node;
  }
}

interface Expanded {
  exp: Expansion;
  parsed: Re2Parse;
  semantics: string[];
  /** Capture index of each semantic in the full translation (every group capturing); 0 = none. */
  fullGroups: Int32Array;
}

function expandAndParse(pattern: string, lib: PatternLibrary): Expanded {
  const exp = expandText(pattern, lib, []);
  let parsed;
  try {
    parsed = parseRe2(exp.src);
  } catch (e) {
    if (e instanceof LoadError) throw new LoadError(e.code, `grok ${JSON.stringify(pattern)}: ${e.reason}`);
    throw e;
  }
  const groupAt = new Map<number, number>();
  for (let i = 1; i <= parsed.captureCount; i++) groupAt.set(parsed.captureOffsets[i]!, i);
  const semantics = [...exp.sems.keys()].map(internKey);
  // A reference written inside a character class or \Q...\E inserts no group: always "".
  const fullGroups = Int32Array.from(semantics, (s) => groupAt.get(exp.sems.get(s)!) ?? 0);
  return { exp, parsed, semantics, fullGroups };
}

/**
 * The expensive part of a compile (expansion, RE2 parse, translation, gate relaxation,
 * literal and first-character analysis), as plain data that the disk cache can hold.
 */
export function compileGrokData(pattern: string, lib: PatternLibrary): CompiledGrokData {
  const { parsed, semantics, fullGroups } = expandAndParse(pattern, lib);
  // Only the groups a semantic reads keep capturing. JS numbers capturing groups in source
  // order, which is the order of the original numbers, so a kept group's new number is its
  // rank among the kept ones.
  const kept = [...new Set(fullGroups)].filter((g) => g > 0).sort((a, b) => a - b);
  const rank = new Map(kept.map((g, i) => [g, i + 1]));
  const groups = Array.from(fullGroups, (g) => (g > 0 ? rank.get(g)! : 0));
  const root = keepCaptures(parsed.root, new Set(kept));
  const fc = anchoredFirstChar(root);
  return {
    semantics,
    groups,
    js: emitJs(root),
    gateJs: semantics.length > 0 ? gateSource(root) : null,
    literals: requiredLiterals(root),
    firstChar: fc === null ? null : { ascii: Array.from(fc.ascii), nonAscii: fc.nonAscii },
  };
}

/** A Grok from its compiled data (RegExp construction only). LoadError REGEX_COMPILE. */
export function instantiateGrok(pattern: string, d: CompiledGrokData): Grok {
  const regex = toRegExp(d.js, pattern);
  const semantics = d.semantics.map(internKey);
  return new CompiledGrok(
    pattern,
    regex,
    Object.freeze(semantics),
    Int32Array.from(d.groups),
    Object.freeze([...d.literals]),
    semantics.length > 0 ? buildEngines(d.js, d.gateJs, pattern) : NO_ENGINES,
    d.firstChar === null ? null : { ascii: Uint32Array.from(d.firstChar.ascii), nonAscii: d.firstChar.nonAscii },
  );
}

/**
 * LoadError: GROK_UNKNOWN_PATTERN (names the pattern), GROK_TRANSLATE, REGEX_COMPILE.
 * The compiled data comes from the disk cache (disk-cache.ts) when an entry for this pattern
 * and the definitions it reaches exists and is valid; errors are never cached, so a bad
 * pattern always takes the fresh path and reports the same error.
 */
export function compileGrok(pattern: string, lib: PatternLibrary): Grok {
  const cache = cacheFor(grokCache, lib);
  const hit = cache.get(pattern);
  if (hit) return hit;
  const disk = grokDiskCache();
  const key = disk === null ? null : grokKey(pattern, lib);
  let grok: Grok | null = null;
  if (key !== null) {
    const data = disk!.read(key, pattern);
    if (data !== null) {
      try {
        grok = instantiateGrok(pattern, data);
      } catch {
        grok = null; // an entry V8 rejects is as good as damaged: compile afresh
      }
    }
  }
  if (grok === null) {
    const data = compileGrokData(pattern, lib);
    grok = instantiateGrok(pattern, data);
    if (key !== null) disk!.write(key, pattern, data);
  }
  cache.set(pattern, grok);
  return grok;
}

/**
 * Digest of a definition and everything it references (a Merkle hash over the reference
 * graph), memoised per library: names are never redefined. Null for an unknown or cyclic
 * name — such a pattern does not compile, so it is never cached.
 */
const digestCache = new WeakMap<PatternLibrary, Map<string, string>>();

function nameDigest(name: string, lib: PatternLibrary, stack: string[]): string | null {
  const memo = cacheFor(digestCache, lib);
  const hit = memo.get(name);
  if (hit !== undefined) return hit;
  const def = lib.get(name);
  if (def === undefined || stack.includes(name)) return null;
  stack.push(name);
  const h = textDigest(name + '\0' + def, def, lib, stack);
  stack.pop();
  if (h !== null) memo.set(name, h);
  return h;
}

function textDigest(head: string, text: string, lib: PatternLibrary, stack: string[]): string | null {
  const hash = createHash('sha256').update(head);
  for (const r of text.matchAll(REFERENCE)) {
    const d = nameDigest(r[1]!, lib, stack);
    if (d === null) return null;
    hash.update('\0' + r[1]! + '=' + d);
  }
  return hash.digest('hex');
}

/** Cache key of a pattern: its text and the content of every definition it reaches; null = do not cache. */
export function grokKey(pattern: string, lib: PatternLibrary): string | null {
  return textDigest(pattern, pattern, lib, []);
}

/**
 * The simple twin of a compiled grok's regex, for tests: the translation with every group
 * capturing, and the capture index each semantic reads in it. match() must give, for every
 * semantic, exactly `m[fullGroups[i]] ?? ""` of `regex.exec`.
 */
export function fullCaptureTwin(pattern: string, lib: PatternLibrary): { regex: RegExp; semantics: readonly string[]; groups: Int32Array } {
  const { parsed, semantics, fullGroups } = expandAndParse(pattern, lib);
  return { regex: toRegExp(emitJs(parsed.root), pattern), semantics, groups: fullGroups };
}

/** `grok.name: NAME`: compiles the library definition itself, as CrowdSec does (not `%{NAME}`). */
export function compileGrokByName(name: string, lib: PatternLibrary): Grok {
  const def = lib.get(name);
  if (def === undefined) throw new LoadError('GROK_UNKNOWN_PATTERN', `unknown grok pattern '${name}'`);
  return compileGrok(def, lib);
}

/** The expanded RE2 source of a grok (before translation); for diagnostics and tests. */
export function expandGrok(pattern: string, lib: PatternLibrary): string {
  return expandText(pattern, lib, []).src;
}
