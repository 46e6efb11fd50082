/**
 * RE2 (Go `regexp/syntax`, Perl flags) -> V8 RegExp source, done once at load time.
 *
 * The source is parsed into a small AST (so capture indices, literal extraction and the
 * linear-engine eligibility check all work on the same structure), then re-emitted in a form
 * whose meaning is the same under V8 without any flag:
 *  - inline flags `(?i)`, `(?m)`, `(?s)`, `(?U)` and `(?flags:...)` are applied while parsing
 *    (Node 20 has no `(?i:...)` modifiers): case-insensitive letters become classes such as
 *    `[Ll]`, `^`/`$` under `m` become line assertions, `.` under `s` becomes `[\s\S]`, and `U`
 *    swaps greedy and lazy quantifiers;
 *  - named groups `(?P<n>` / `(?<n>` become plain capturing groups (Go allows duplicate
 *    names, JS does not, and grok ignores native names anyway), so group numbering is kept;
 *  - Go's `.` excludes only `\n`; Go's `\s` is `[\t\n\f\r ]` (JS `\s` also has `\v` and
 *    Unicode spaces); `\A`, `\z`, `\Q...\E`, POSIX classes, octal and `\x{...}` escapes and
 *    `\pL` / `\p{Greek}` (BMP part) are rewritten into plain JS syntax;
 *  - every literal is re-escaped canonically (Go accepts `\%`, a lone `{`, `]`, `}`).
 * Non-`u` JS works on UTF-16 units while Go works on code points: astral characters are
 * emitted as surrogate pairs outside classes and rejected inside classes.
 */
import { LoadError } from '../core/errors.js';

export type Re2Assert = 'bot' | 'eot' | 'bol' | 'eol' | 'wordb' | 'nwordb';

export type Re2Node =
  /** One code point; `fold` = matched case-insensitively. */
  | { kind: 'lit'; cp: number; fold: boolean }
  /** Sorted, merged [lo, hi, lo, hi, ...] over U+0000..U+FFFF (already case-folded). */
  | { kind: 'class'; ranges: number[]; negated: boolean }
  | { kind: 'dot'; matchNl: boolean }
  | { kind: 'assert'; what: Re2Assert }
  /** capture = group number (1-based), or 0 for a non-capturing group. */
  | { kind: 'group'; capture: number; offset: number; body: Re2Node }
  | { kind: 'alt'; alts: Re2Node[] }
  | { kind: 'cat'; items: Re2Node[] }
  /** max = -1 for unbounded. */
  | { kind: 'rep'; min: number; max: number; greedy: boolean; body: Re2Node };

export interface Re2Parse {
  root: Re2Node;
  /** Number of capturing groups. */
  captureCount: number;
  /** captureOffsets[i] = offset (UTF-16 index) of the '(' of group i in the source; [0] unused. */
  captureOffsets: number[];
}

const FLAG_I = 1;
const FLAG_M = 2;
const FLAG_S = 4;
const FLAG_U = 8;
/** Go rejects repeat counts above 1000. */
const MAX_REPEAT = 1000;
const BMP_MAX = 0xffff;

export const DIGIT_RANGES: readonly number[] = [0x30, 0x39];
export const WORD_RANGES: readonly number[] = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
/** Go's `\s`: [\t\n\f\r ] (no \v). */
export const SPACE_RANGES: readonly number[] = [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20];

const POSIX: Record<string, readonly number[]> = {
  alnum: [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a],
  alpha: [0x41, 0x5a, 0x61, 0x7a],
  ascii: [0x00, 0x7f],
  blank: [0x09, 0x09, 0x20, 0x20],
  cntrl: [0x00, 0x1f, 0x7f, 0x7f],
  digit: [0x30, 0x39],
  graph: [0x21, 0x7e],
  lower: [0x61, 0x7a],
  print: [0x20, 0x7e],
  punct: [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e],
  space: [0x09, 0x0d, 0x20, 0x20],
  upper: [0x41, 0x5a],
  word: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
  xdigit: [0x30, 0x39, 0x41, 0x46, 0x61, 0x66],
};

// ---------------------------------------------------------------------------------------
// Range-set helpers (flat sorted [lo, hi] pairs).

function normalize(ranges: number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i]!, ranges[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n > 0 && lo <= out[n - 1]! + 1) out[n - 1] = Math.max(out[n - 1]!, hi);
    else out.push(lo, hi);
  }
  return out;
}

function complement(ranges: readonly number[]): number[] {
  const r = normalize([...ranges]);
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i]! > next) out.push(next, r[i]! - 1);
    next = r[i + 1]! + 1;
  }
  if (next <= BMP_MAX) out.push(next, BMP_MAX);
  return out;
}

function sameRanges(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

// ---------------------------------------------------------------------------------------
// Case folding for (?i): orbits of simple case mappings over the BMP, built once on demand.
// Go folds with Unicode simple case folding (k/K/U+212A, s/S/U+017F, ...); JS's
// toLowerCase/toUpperCase give the same orbits once the Turkish dotted/dotless i, which
// have no simple folding, are left out.

let foldOrbits: Map<number, number[]> | null = null;

function orbits(): Map<number, number[]> {
  if (foldOrbits) return foldOrbits;
  const adj = new Map<number, Set<number>>();
  const link = (a: number, b: number): void => {
    if (a === b || a === 0x130 || a === 0x131 || b === 0x130 || b === 0x131) return;
    let s = adj.get(a);
    if (!s) adj.set(a, (s = new Set()));
    s.add(b);
    let t = adj.get(b);
    if (!t) adj.set(b, (t = new Set()));
    t.add(a);
  };
  for (let cp = 0; cp <= BMP_MAX; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const s = String.fromCharCode(cp);
    const lo = s.toLowerCase();
    const up = s.toUpperCase();
    if (lo.length === 1) link(cp, lo.charCodeAt(0));
    if (up.length === 1) link(cp, up.charCodeAt(0));
  }
  const out = new Map<number, number[]>();
  for (const start of adj.keys()) {
    if (out.has(start)) continue;
    const seen = new Set<number>([start]);
    const todo = [start];
    while (todo.length) for (const n of adj.get(todo.pop()!) ?? []) if (!seen.has(n)) (seen.add(n), todo.push(n));
    const members = [...seen].sort((a, b) => a - b);
    for (const m of members) out.set(m, members);
  }
  foldOrbits = out;
  return out;
}

/** Code points equal to cp under case folding (cp first), or [cp] when it has no case. */
export function caseVariants(cp: number): number[] {
  // ASCII fast path: no orbit table needed except for k and s (Kelvin sign, long s).
  if (cp < 0x80 && !/[ksKS]/.test(String.fromCharCode(cp))) {
    const c = String.fromCharCode(cp);
    const l = c.toLowerCase().charCodeAt(0);
    const u = c.toUpperCase().charCodeAt(0);
    return l === u ? [cp] : [cp, l === cp ? u : l];
  }
  const o = orbits().get(cp);
  return o ? [cp, ...o.filter((x) => x !== cp)] : [cp];
}

function foldRanges(ranges: number[]): number[] {
  const table = orbits();
  const extra: number[] = [];
  for (let i = 0; i < ranges.length; i += 2) {
    const lo = ranges[i]!;
    const hi = Math.min(ranges[i + 1]!, BMP_MAX);
    if (hi - lo > 0x3000) {
      // Wide ranges: walk the table instead of the range.
      for (const [cp, orbit] of table) if (cp >= lo && cp <= hi) for (const o of orbit) extra.push(o, o);
    } else {
      for (let cp = lo; cp <= hi; cp++) {
        const orbit = table.get(cp);
        if (orbit) for (const o of orbit) extra.push(o, o);
      }
    }
  }
  return normalize([...ranges, ...extra]);
}

// ---------------------------------------------------------------------------------------
// Unicode classes (\pL, \p{Greek}): the BMP members, computed with V8's own tables.

const unicodeClassCache = new Map<string, number[]>();

function unicodeClass(name: string): number[] | null {
  const hit = unicodeClassCache.get(name);
  if (hit) return hit;
  let probe: RegExp;
  if (name === 'Any') {
    const all = [0, BMP_MAX];
    unicodeClassCache.set(name, all);
    return all;
  }
  try {
    // Go's category names are one or two letters (L, Lu, Nd); anything else is a script.
    probe = /^[A-Z][a-z]?$/.test(name) ? new RegExp(`^\\p{gc=${name}}$`, 'u') : new RegExp(`^\\p{sc=${name}}$`, 'u');
  } catch {
    return null;
  }
  const out: number[] = [];
  let start = -1;
  for (let cp = 0; cp <= BMP_MAX + 1; cp++) {
    const inside = cp <= BMP_MAX && probe.test(String.fromCharCode(cp));
    if (inside && start < 0) start = cp;
    else if (!inside && start >= 0) (out.push(start, cp - 1), (start = -1));
  }
  unicodeClassCache.set(name, out);
  return out;
}

// ---------------------------------------------------------------------------------------
// Parser.

class Re2Error extends Error {
  constructor(
    readonly why: string,
    readonly at: number,
  ) {
    super(why);
  }
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isAlnum(cp: number): boolean {
  return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
}

class Parser {
  private pos = 0;
  private flags = 0;
  private captures = 0;
  readonly offsets: number[] = [0];

  constructor(private readonly src: string) {}

  parse(): Re2Node {
    const node = this.parseAlt();
    if (this.pos < this.src.length) throw new Re2Error('unexpected )', this.pos);
    return node;
  }

  get captureCount(): number {
    return this.captures;
  }

  private fail(why: string, at = this.pos): never {
    throw new Re2Error(why, at);
  }

  private cpAt(i: number): number {
    return this.src.codePointAt(i)!;
  }

  private nextCp(): number {
    const cp = this.cpAt(this.pos);
    this.pos += cp > BMP_MAX ? 2 : 1;
    return cp;
  }

  /** Alternation up to ')' or end; flags set inside last until the caller restores them. */
  private parseAlt(): Re2Node {
    const alts: Re2Node[] = [];
    let items: Re2Node[] = [];
    let lastRepeat = false;
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (c === ')') break;
      if (c === '|') {
        alts.push(cat(items));
        items = [];
        lastRepeat = false;
        this.pos++;
        continue;
      }
      if (c === '*' || c === '+' || c === '?' || c === '{') {
        const start = this.pos;
        const q = this.parseQuantifier();
        if (q) {
          if (items.length === 0) this.fail(`missing argument to repetition operator '${this.src.slice(start, this.pos)}'`, start);
          if (lastRepeat) this.fail(`invalid nested repetition operator '${this.src.slice(start, this.pos)}'`, start);
          const body = items.pop()!;
          items.push({ kind: 'rep', min: q.min, max: q.max, greedy: q.greedy, body });
          lastRepeat = true;
          continue;
        }
        // '{' that is not a repeat count is a literal (Go).
        this.pos++;
        items.push(this.lit(0x7b));
        lastRepeat = false;
        continue;
      }
      lastRepeat = false;
      this.parseAtom(items);
    }
    alts.push(cat(items));
    return alts.length === 1 ? alts[0]! : { kind: 'alt', alts };
  }

  private parseQuantifier(): { min: number; max: number; greedy: boolean } | null {
    const c = this.src[this.pos]!;
    let min: number;
    let max: number;
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos, this.pos + 24));
      // Go: leading zeros ("{01}") or a missing lower bound ("{,3}") make it a literal.
      if (!m || (m[1]!.length > 1 && m[1]![0] === '0') || (m[3] && m[3].length > 1 && m[3][0] === '0')) return null;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
      if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) this.fail(`invalid repeat count '${m[0]}'`);
      this.pos += m[0].length;
    } else {
      this.pos++;
      [min, max] = c === '*' ? [0, -1] : c === '+' ? [1, -1] : [0, 1];
    }
    let greedy = true;
    if (this.src[this.pos] === '?') {
      greedy = false;
      this.pos++;
    }
    if (this.flags & FLAG_U) greedy = !greedy;
    return { min, max, greedy };
  }

  private lit(cp: number): Re2Node {
    return { kind: 'lit', cp, fold: (this.flags & FLAG_I) !== 0 && caseVariants(cp).length > 1 };
  }

  private parseAtom(items: Re2Node[]): void {
    const c = this.src[this.pos]!;
    switch (c) {
      case '(':
        this.parseGroup(items);
        return;
      case '[':
        items.push(this.parseClass());
        return;
      case '.':
        this.pos++;
        items.push({ kind: 'dot', matchNl: (this.flags & FLAG_S) !== 0 });
        return;
      case '^':
        this.pos++;
        items.push({ kind: 'assert', what: this.flags & FLAG_M ? 'bol' : 'bot' });
        return;
      case '$':
        this.pos++;
        items.push({ kind: 'assert', what: this.flags & FLAG_M ? 'eol' : 'eot' });
        return;
      case '\\':
        this.parseBackslash(items);
        return;
      default:
        items.push(this.lit(this.nextCp()));
    }
  }

  private parseGroup(items: Re2Node[]): void {
    const open = this.pos;
    const saved = this.flags;
    let capture = 0;
    if (this.src[this.pos + 1] === '?') {
      const rest = this.src.slice(this.pos + 2);
      const named = /^P?<(?![=!])/.exec(rest);
      if (named) {
        const m = /^P?<([^>]*)>/.exec(rest);
        if (!m) this.fail(`invalid named capture: missing '>'`, open);
        if (!/^\w+$/.test(m[1]!)) this.fail(`invalid named capture '(?${m[0]}'`, open);
        this.pos += 2 + m[0].length;
        capture = ++this.captures;
        this.offsets[capture] = open;
      } else {
        const m = /^([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
        if (!m || (m[2] !== undefined && m[2] === '') || (m[1] === '' && m[2] === undefined && m[3] === ')')) {
          const what = rest.startsWith('=') || rest.startsWith('!') || rest.startsWith('<=') || rest.startsWith('<!')
            ? 'lookaround assertions are not supported by RE2'
            : rest.startsWith('P=') ? 'backreferences are not supported by RE2'
            : 'invalid or unsupported Perl syntax';
          this.fail(`${what}: '(?${rest.slice(0, 3)}'`, open);
        }
        let f = this.flags;
        for (const ch of m[1]!) f |= flagBit(ch);
        for (const ch of m[2] ?? '') f &= ~flagBit(ch);
        this.pos += 2 + m[0].length;
        if (m[3] === ')') {
          // (?flags): applies to the rest of the enclosing group.
          this.flags = f;
          return;
        }
        this.flags = f;
      }
    } else {
      this.pos++;
      capture = ++this.captures;
      this.offsets[capture] = open;
    }
    const body = this.parseAlt();
    if (this.src[this.pos] !== ')') this.fail('missing closing )', open);
    this.pos++;
    this.flags = saved;
    items.push({ kind: 'group', capture, offset: open, body });
  }

  private parseBackslash(items: Re2Node[]): void {
    const start = this.pos;
    if (this.pos + 1 >= this.src.length) this.fail('trailing backslash at end of expression');
    const c = this.src[this.pos + 1]!;
    switch (c) {
      case 'A':
        this.pos += 2;
        items.push({ kind: 'assert', what: 'bot' });
        return;
      case 'z':
        this.pos += 2;
        items.push({ kind: 'assert', what: 'eot' });
        return;
      case 'b':
        this.pos += 2;
        items.push({ kind: 'assert', what: 'wordb' });
        return;
      case 'B':
        this.pos += 2;
        items.push({ kind: 'assert', what: 'nwordb' });
        return;
      case 'Q': {
        this.pos += 2;
        const end = this.src.indexOf('\\E', this.pos);
        const text = end < 0 ? this.src.slice(this.pos) : this.src.slice(this.pos, end);
        this.pos = end < 0 ? this.src.length : end + 2;
        for (const ch of text) items.push(this.lit(ch.codePointAt(0)!));
        return;
      }
      case 'C':
        return this.fail('\\C (any byte) is not supported', start);
      case 'd': case 'D': case 's': case 'S': case 'w': case 'W': case 'p': case 'P': {
        const set = this.parseClassEscape();
        items.push({ kind: 'class', ranges: set.ranges, negated: set.negated });
        return;
      }
      default:
        items.push(this.lit(this.parseEscape()));
    }
  }

  /** \d \s \w (and negations), \pX, \p{Name}, \p{^Name}, \PX at pos. */
  private parseClassEscape(): { ranges: number[]; negated: boolean } {
    const start = this.pos;
    const c = this.src[this.pos + 1]!;
    this.pos += 2;
    switch (c) {
      case 'd': return { ranges: [...DIGIT_RANGES], negated: false };
      case 'D': return { ranges: [...DIGIT_RANGES], negated: true };
      case 's': return { ranges: [...SPACE_RANGES], negated: false };
      case 'S': return { ranges: [...SPACE_RANGES], negated: true };
      case 'w': return { ranges: [...WORD_RANGES], negated: false };
      case 'W': return { ranges: [...WORD_RANGES], negated: true };
    }
    let negated = c === 'P';
    let name: string;
    if (this.src[this.pos] === '{') {
      const end = this.src.indexOf('}', this.pos);
      if (end < 0) this.fail('invalid character class range: missing }', start);
      name = this.src.slice(this.pos + 1, end);
      this.pos = end + 1;
      if (name.startsWith('^')) {
        negated = !negated;
        name = name.slice(1);
      }
    } else {
      if (this.pos >= this.src.length) this.fail(`invalid character class range '\\${c}'`, start);
      name = String.fromCodePoint(this.nextCp());
    }
    const set = unicodeClass(name);
    if (!set) this.fail(`unknown Unicode class '\\${c}{${name}}'`, start);
    const ranges = this.flags & FLAG_I ? foldRanges([...set]) : [...set];
    return { ranges, negated };
  }

  /** A single-character escape (after the backslash at pos) -> code point; Go's rules. */
  private parseEscape(): number {
    const start = this.pos;
    this.pos++; // the backslash
    if (this.pos >= this.src.length) this.fail('trailing backslash at end of expression', start);
    const c = this.src[this.pos]!;
    // Octal: \0 plus up to two digits, or \1-\7 followed by another octal digit
    // (a single \1-\9 would be a backreference, which RE2 rejects).
    if (c >= '0' && c <= '7') {
      if (c !== '0' && !(this.src[this.pos + 1]! >= '0' && this.src[this.pos + 1]! <= '7')) {
        this.fail(`backreferences are not supported: '\\${c}'`, start);
      }
      let v = 0;
      let n = 0;
      while (n < 3 && this.src[this.pos]! >= '0' && this.src[this.pos]! <= '7') {
        v = v * 8 + (this.src.charCodeAt(this.pos) - 0x30);
        this.pos++;
        n++;
      }
      return v;
    }
    if (c === '8' || c === '9') this.fail(`invalid escape sequence '\\${c}'`, start);
    if (c === 'x') {
      this.pos++;
      if (this.src[this.pos] === '{') {
        const m = /^\{([0-9A-Fa-f]+)\}/.exec(this.src.slice(this.pos, this.pos + 16));
        if (!m) this.fail('invalid escape sequence: bad \\x{...}', start);
        const v = parseInt(m[1]!, 16);
        if (v > 0x10ffff) this.fail(`invalid escape sequence '\\x${m[0]}': beyond U+10FFFF`, start);
        this.pos += m[0].length;
        return v;
      }
      const h = this.src.slice(this.pos, this.pos + 2);
      if (!/^[0-9A-Fa-f]{2}$/.test(h)) this.fail('invalid escape sequence: \\x needs two hex digits', start);
      this.pos += 2;
      return parseInt(h, 16);
    }
    const simple: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    if (simple[c] !== undefined) {
      this.pos++;
      return simple[c]!;
    }
    const cp = this.cpAt(this.pos);
    // Go: any ASCII punctuation may be escaped; letters, digits and non-ASCII may not.
    if (cp < 0x80 && !isAlnum(cp)) {
      this.pos++;
      return cp;
    }
    this.fail(`invalid escape sequence '\\${String.fromCodePoint(cp)}'`, start);
  }

  private parseClass(): Re2Node {
    const open = this.pos;
    this.pos++;
    let negated = false;
    if (this.src[this.pos] === '^') {
      negated = true;
      this.pos++;
    }
    const foldable: number[] = [];
    const fixed: number[] = [];
    let first = true;
    for (;;) {
      if (this.pos >= this.src.length) this.fail('missing closing ]', open);
      const c = this.src[this.pos]!;
      if (c === ']' && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (c === '[' && this.src[this.pos + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(this.src.slice(this.pos, this.pos + 16));
        if (m) {
          const set = POSIX[m[2]!];
          if (!set) this.fail(`invalid character class range '${m[0]}'`);
          foldable.push(...(m[1] ? complement(set) : set));
          this.pos += m[0].length;
          continue;
        }
      }
      if (c === '\\' && this.pos + 1 < this.src.length && 'dDsSwWpP'.includes(this.src[this.pos + 1]!)) {
        const set = this.parseClassEscape();
        fixed.push(...(set.negated ? complement(set.ranges) : set.ranges));
        continue;
      }
      const lo = this.classChar();
      let hi = lo;
      if (this.src[this.pos] === '-' && this.pos + 1 < this.src.length && this.src[this.pos + 1] !== ']') {
        this.pos++;
        hi = this.classChar();
        if (hi < lo) this.fail(`invalid character class range '${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)}'`);
      }
      foldable.push(lo, hi);
    }
    let ranges = normalize(foldable);
    if (this.flags & FLAG_I) ranges = foldRanges(ranges);
    ranges = normalize([...ranges, ...fixed]);
    if (ranges.length > 0 && ranges[ranges.length - 1]! > BMP_MAX) {
      this.fail('character class with code points above U+FFFF is not supported (V8 without the u flag matches UTF-16 units)', open);
    }
    return { kind: 'class', ranges, negated };
  }

  private classChar(): number {
    if (this.src[this.pos] === '\\') return this.parseEscape();
    return this.nextCp();
  }
}

function flagBit(ch: string): number {
  return ch === 'i' ? FLAG_I : ch === 'm' ? FLAG_M : ch === 's' ? FLAG_S : FLAG_U;
}

function cat(items: Re2Node[]): Re2Node {
  return items.length === 1 ? items[0]! : { kind: 'cat', items };
}

/** Parses RE2 syntax; throws LoadError('GROK_TRANSLATE') naming the offset and reason. */
export function parseRe2(source: string): Re2Parse {
  const p = new Parser(source);
  try {
    const root = p.parse();
    return { root, captureCount: p.captureCount, captureOffsets: p.offsets };
  } catch (e) {
    if (e instanceof Re2Error) {
      throw new LoadError('GROK_TRANSLATE', `${e.why} (at offset ${e.at} of ${JSON.stringify(clip(source, e.at))})`);
    }
    throw e;
  }
}

function clip(s: string, at: number): string {
  if (s.length <= 120) return s;
  const from = Math.max(0, at - 50);
  return (from > 0 ? '…' : '') + s.slice(from, from + 100) + (from + 100 < s.length ? '…' : '');
}

// ---------------------------------------------------------------------------------------
// Emitter.

const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/');
const CONTROL_ESCAPES: Record<number, string> = { 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r' };


function hex(cp: number): string {
  return cp < 0x100 ? '\\x' + cp.toString(16).padStart(2, '0') : '\\u' + cp.toString(16).padStart(4, '0');
}

function emitChar(cp: number): string {
  if (cp > BMP_MAX) {
    const v = cp - 0x10000;
    return hex(0xd800 + (v >> 10)) + hex(0xdc00 + (v & 0x3ff));
  }
  if (cp >= 0x20 && cp < 0x7f) {
    const c = String.fromCharCode(cp);
    return JS_SYNTAX.has(c) ? '\\' + c : c;
  }
  return CONTROL_ESCAPES[cp] ?? hex(cp);
}

function emitClassChar(cp: number): string {
  const ctl = CONTROL_ESCAPES[cp];
  if (ctl !== undefined) return ctl;
  if (cp >= 0x20 && cp < 0x7f) {
    const c = String.fromCharCode(cp);
    return c === '\\' || c === ']' || c === '[' || c === '^' || c === '-' ? '\\' + c : c;
  }
  return hex(cp);
}

function emitRanges(ranges: readonly number[]): string {
  let s = '';
  for (let i = 0; i < ranges.length; i += 2) {
    const lo = ranges[i]!;
    const hi = ranges[i + 1]!;
    s += emitClassChar(lo);
    if (hi === lo + 1) s += emitClassChar(hi);
    else if (hi > lo) s += '-' + emitClassChar(hi);
  }
  return s;
}

function emitClass(ranges: readonly number[], negated: boolean): string {
  if (sameRanges(ranges, DIGIT_RANGES)) return negated ? '\\D' : '\\d';
  if (sameRanges(ranges, WORD_RANGES)) return negated ? '\\W' : '\\w';
  if (ranges.length === 0) return negated ? '[\\s\\S]' : '[]';
  return (negated ? '[^' : '[') + emitRanges(ranges) + ']';
}

function emitLit(cp: number, fold: boolean): string {
  if (!fold) return emitChar(cp);
  const vs = caseVariants(cp).sort((a, b) => a - b);
  return '[' + vs.map(emitClassChar).join('') + ']';
}

const ASSERT_JS: Record<Re2Assert, string> = {
  bot: '^',
  eot: '$',
  // Multi-line anchors need lookarounds; they make the pattern ineligible for V8's linear
  // engine (see regexp-guard.ts), so they are only emitted where (?m) actually reaches one.
  bol: '(?:^|(?<=\\n))',
  eol: '(?:$|(?=\\n))',
  wordb: '\\b',
  nwordb: '\\B',
};

/** True when `emit(node)` is one JS atom a quantifier may follow directly. */
function isAtom(node: Re2Node): boolean {
  switch (node.kind) {
    case 'lit':
      return node.cp <= BMP_MAX;
    case 'class':
    case 'dot':
    case 'group':
      return true;
    default:
      return false;
  }
}

function quantifier(min: number, max: number, greedy: boolean): string {
  let q: string;
  if (min === 0 && max === -1) q = '*';
  else if (min === 1 && max === -1) q = '+';
  else if (min === 0 && max === 1) q = '?';
  else if (max === -1) q = `{${min},}`;
  else if (min === max) q = `{${min}}`;
  else q = `{${min},${max}}`;
  return greedy ? q : q + '?';
}

/** Emits V8 RegExp source (for use without flags) for an RE2 AST. */
export function emitJs(node: Re2Node): string {
  switch (node.kind) {
    case 'lit':
      return emitLit(node.cp, node.fold);
    case 'class':
      return emitClass(node.ranges, node.negated);
    case 'dot':
      return node.matchNl ? '[\\s\\S]' : '[^\\n]';
    case 'assert':
      return ASSERT_JS[node.what];
    case 'group':
      return (node.capture > 0 ? '(' : '(?:') + emitJs(node.body) + ')';
    case 'alt':
      return node.alts.map(emitJs).join('|');
    case 'cat':
      return node.items.map(emitJs).join('');
    case 'rep': {
      const body = emitJs(node.body);
      return (isAtom(node.body) ? body : `(?:${body})`) + quantifier(node.min, node.max, node.greedy);
    }
  }
}

/** RE2 syntax -> V8 RegExp source (to be used without the `u` flag). */
export function translateRe2(source: string): string {
  return emitJs(parseRe2(source).root);
}

/** translateRe2 + new RegExp; LoadError 'GROK_TRANSLATE' or 'REGEX_COMPILE'. */
export function compileRe2(source: string): RegExp {
  const js = translateRe2(source);
  try {
    return new RegExp(js);
  } catch (e) {
    throw new LoadError('REGEX_COMPILE', `V8 rejected the translation of ${JSON.stringify(clip(source, 0))}: ${(e as Error).message}`);
  }
}
