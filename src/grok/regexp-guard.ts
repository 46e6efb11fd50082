/**
 * Guard against catastrophic backtracking (design.md §2, spec §3.4).
 *
 * V8 can abandon its backtracking engine after N backtracks (default 50,000) and rerun the
 * match on its breadth-first, linear-time "experimental" engine. Two limits (measured on
 * Node 20.20 / V8 11.3, see README.md):
 *  - the flag must be on when the RegExp is *compiled*; a RegExp created earlier keeps
 *    backtracking without bound;
 *  - only some patterns are eligible: no lookarounds or backreferences, and bounded
 *    repetition may not replicate its body more than 16 times (`x{17}`, `x{0,62}`, and
 *    `(x{2,9})+` are all refused, because `+` counts as 2 and nesting multiplies).
 *    Grok's HOSTNAME (`{0,62}`) and IPV6 (`{1,4}` inside `{7}`) make most hub patterns
 *    ineligible; compile.ts pairs those with an eligible, relaxed "gate" regex.
 */
import { setFlagsFromString } from 'node:v8';
import type { Re2Node } from './re2.js';

let enabled = false;

/** Turns on V8's linear-engine fallback for RegExps compiled from now on (idempotent). */
export function enableRegexpBacktrackGuard(): void {
  if (enabled) return;
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  enabled = true;
}

let linearFlag: boolean | null = null;

/**
 * The same source compiled for V8's linear engine only (the `l` flag, recognised once
 * `--enable-experimental-regexp-engine` is on; that flag changes nothing else). Returns
 * null when the pattern is not eligible or the flag cannot be set. Used for long lines,
 * where backtracking search is quadratic or worse even below the fallback threshold
 * (each start position stays under it): `(.*)\+` on 100 KB took 7.5 s with irregexp and
 * 20 ms here. On short lines irregexp is 10-100x faster, so it stays the default.
 */
export function linearRegExp(source: string): RegExp | null {
  if (linearFlag === null) {
    try {
      setFlagsFromString('--enable-experimental-regexp-engine');
      linearFlag = new RegExp('a', 'l').flags.includes('l');
    } catch {
      linearFlag = false;
    }
  }
  if (!linearFlag) return null;
  try {
    return new RegExp(source, 'l');
  } catch {
    return null;
  }
}

/** V8's limit on how often a bounded repetition may copy its body (kMaxReplicationFactor). */
const MAX_REPLICATION = 16;

/**
 * Whether V8's linear engine accepts the JS translation of this AST. Mirrors V8 11.3's
 * eligibility walk: lookarounds (our multi-line anchors) are refused; a quantifier
 * multiplies the ambient replication factor by max (or min + 1 when unbounded), and both
 * each bound and the product must stay <= 16.
 */
export function linearEligible(root: Re2Node): boolean {
  const visit = (n: Re2Node, factor: number): boolean => {
    switch (n.kind) {
      case 'assert':
        return n.what !== 'bol' && n.what !== 'eol';
      case 'group':
        return visit(n.body, factor);
      case 'cat':
        return n.items.every((x) => visit(x, factor));
      case 'alt':
        return n.alts.every((x) => visit(x, factor));
      case 'rep': {
        if (n.min > MAX_REPLICATION || n.max > MAX_REPLICATION) return false;
        const f = factor * (n.max === -1 ? n.min + 1 : n.max);
        if (f > MAX_REPLICATION) return false;
        return visit(n.body, f);
      }
      default:
        return true;
    }
  };
  return visit(root, 1);
}

/**
 * A superset of the pattern that the linear engine accepts, used as a gate: if it does not
 * match a line, the original cannot either. Captures and multi-line anchors are dropped and
 * counted repetitions widened: `x{n,m}` with n >= 1 becomes `x(?:x)*` (one required copy,
 * which keeps literals in the gate), with n = 0 becomes `(?:x)*`. `+` (factor 2) is kept
 * unless `aggressive`, for the rare pattern that nests five of them.
 */
export function relaxForGate(node: Re2Node, aggressive = false): Re2Node {
  const r = (n: Re2Node): Re2Node => relaxForGate(n, aggressive);
  switch (node.kind) {
    case 'assert':
      return node.what === 'bol' || node.what === 'eol' ? { kind: 'cat', items: [] } : node;
    case 'group':
      return { kind: 'group', capture: 0, offset: node.offset, body: r(node.body) };
    case 'cat':
      return { kind: 'cat', items: node.items.map(r) };
    case 'alt':
      return { kind: 'alt', alts: node.alts.map(r) };
    case 'rep': {
      const body = r(node.body);
      if (node.max === 0) return { kind: 'cat', items: [] };
      if (node.max === 1 || (node.min === 0 && node.max === -1)) return { ...node, body };
      if (node.min === 1 && node.max === -1 && !aggressive) return { ...node, body };
      const star: Re2Node = { kind: 'rep', min: 0, max: -1, greedy: node.greedy, body };
      if (node.min === 0) return star;
      return { kind: 'cat', items: [{ kind: 'group', capture: 0, offset: 0, body }, star] };
    }
    default:
      return node;
  }
}
