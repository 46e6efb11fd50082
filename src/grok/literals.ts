/**
 * Literal substrings that every match of a pattern must contain, for a prefilter that skips
 * the regex on lines lacking one of them. Conservative by construction: only text on the
 * required path counts — the top-level concatenation, descending into plain groups (grok
 * wraps every reference in one) and into the body of a repetition that runs at least once.
 * Anything under a multi-way alternation, an optional or a `*` is skipped, and a
 * case-insensitive letter ends a run. A wrong literal would silently drop matches, so
 * precision wins over coverage.
 */
import type { Re2Node } from './re2.js';

class Runs {
  readonly done: string[] = [];
  private cur = '';
  add(s: string): void {
    this.cur += s;
  }
  cut(): void {
    if (this.cur) this.done.push(this.cur);
    this.cur = '';
  }
}

function walk(node: Re2Node, runs: Runs): void {
  switch (node.kind) {
    case 'lit':
      if (node.fold) runs.cut();
      else runs.add(String.fromCodePoint(node.cp));
      return;
    case 'class':
      // A one-character class such as `[.]` is still a literal.
      if (!node.negated && node.ranges.length === 2 && node.ranges[0] === node.ranges[1]) {
        runs.add(String.fromCharCode(node.ranges[0]!));
      } else runs.cut();
      return;
    case 'dot':
      runs.cut();
      return;
    case 'assert':
      // Zero-width: text on both sides is still adjacent in any match.
      return;
    case 'group':
      walk(node.body, runs);
      return;
    case 'cat':
      for (const item of node.items) walk(item, runs);
      return;
    case 'alt':
      runs.cut();
      return;
    case 'rep':
      runs.cut();
      if (node.min >= 1) {
        // One full iteration of the body is in every match, but not adjacent to what
        // surrounds the repetition (the count may vary), so it forms runs of its own.
        walk(node.body, runs);
        runs.cut();
      }
      return;
  }
}

/**
 * Required literals of an RE2 AST, in pattern order, without duplicates or strings that
 * are substrings of another returned literal.
 */
export function requiredLiterals(root: Re2Node): string[] {
  const runs = new Runs();
  walk(root, runs);
  runs.cut();
  const uniq = [...new Set(runs.done)];
  return uniq.filter((s) => !uniq.some((o) => o !== s && o.includes(s)));
}
