/**
 * Random strings from an RE2 syntax tree, for differential tests of the grok fast paths
 * (shared by the literal and first-character tests).
 */
import { caseVariants, type Re2Node } from '../../src/grok/re2.js';

export const POOL = 'abcxyzABCXYZ0123456789 .:-_/[]()"\'=,;@%+*?!#<>|\\\tμé';

/** A random string the node (usually) matches; assertions are ignored, so not always. */
export function sample(node: Re2Node, r: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  switch (node.kind) {
    case 'lit':
      return String.fromCodePoint(node.fold ? pick(caseVariants(node.cp)) : node.cp);
    case 'class': {
      const inClass = (cp: number): boolean => {
        for (let i = 0; i < node.ranges.length; i += 2) if (cp >= node.ranges[i]! && cp <= node.ranges[i + 1]!) return true;
        return false;
      };
      if (!node.negated && node.ranges.length > 0) {
        const i = 2 * Math.floor((r() * node.ranges.length) / 2);
        const lo = node.ranges[i]!;
        const hi = Math.min(node.ranges[i + 1]!, lo + 200);
        const cp = lo + Math.floor(r() * (hi - lo + 1));
        return cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(lo) : String.fromCharCode(cp);
      }
      const ok = [...POOL].filter((c) => inClass(c.charCodeAt(0)) !== node.negated);
      return ok.length ? pick(ok) : '';
    }
    case 'dot':
      return pick([...POOL]);
    case 'assert':
      return '';
    case 'group':
      return sample(node.body, r);
    case 'alt':
      return sample(pick(node.alts), r);
    case 'cat':
      return node.items.map((x) => sample(x, r)).join('');
    case 'rep': {
      const span = node.max === -1 ? 3 : Math.min(node.max - node.min, 3);
      const n = node.min + Math.floor(r() * (span + 1));
      let s = '';
      for (let i = 0; i < n; i++) s += sample(node.body, r);
      return s;
    }
  }
}
