/**
 * The first character of a match of a pattern anchored at the start of the text (`^...`
 * without (?m)). Such a match can only begin at offset 0, so a line whose first character
 * cannot begin one is rejected with one table lookup. Parser nodes try many anchored
 * shapes of the same message in turn (sshd's "Failed ...", "Accepted ...", "pam_..."), and
 * this rejects most of them before any literal search or regex run.
 *
 * Over-approximated by construction, so never wrong: every character that some path could
 * consume first is included (both cases and the Unicode fold orbit of (?i) letters), any
 * non-ASCII possibility is one flag, and a pattern that is not anchored on every path, or
 * that can match the empty string, gets no check at all.
 */
import { caseVariants, type Re2Node } from './re2.js';

export interface FirstChar {
  /** ASCII code units a match may start with: bit (c & 31) of ascii[c >> 5]. */
  readonly ascii: Uint32Array;
  /** Whether a match may start with a code unit >= 128 (UTF-16, as JS strings index). */
  readonly nonAscii: boolean;
}

class Acc {
  readonly ascii = new Uint32Array(4);
  nonAscii = false;

  unit(u: number): void {
    if (u < 128) this.ascii[u >> 5]! |= 1 << (u & 31);
    else this.nonAscii = true;
  }

  codePoint(cp: number): void {
    // An astral code point starts with its high surrogate, which is non-ASCII anyway.
    this.unit(cp > 0xffff ? 0xd800 : cp);
  }
}

/** Adds the possible first units of `node` to `acc`; returns whether it can match "". */
function first(node: Re2Node, acc: Acc): boolean {
  switch (node.kind) {
    case 'lit':
      if (node.fold) for (const v of caseVariants(node.cp)) acc.codePoint(v);
      else acc.codePoint(node.cp);
      return false;
    case 'class': {
      const r = node.ranges;
      if (node.negated) {
        // Everything outside the ranges: mark the ASCII units not covered, and non-ASCII.
        for (let u = 0; u < 128; u++) {
          let covered = false;
          for (let i = 0; i < r.length; i += 2) if (u >= r[i]! && u <= r[i + 1]!) { covered = true; break; }
          if (!covered) acc.unit(u);
        }
        acc.nonAscii = true;
      } else {
        for (let i = 0; i < r.length; i += 2) {
          const lo = r[i]!;
          const hi = r[i + 1]!;
          for (let u = lo; u <= Math.min(hi, 127); u++) acc.unit(u);
          if (hi >= 128) acc.nonAscii = true;
        }
      }
      return false;
    }
    case 'dot':
      for (let u = 0; u < 128; u++) acc.unit(u);
      acc.nonAscii = true;
      return false;
    case 'assert':
      return true; // zero width: what follows supplies the first character
    case 'group':
      return first(node.body, acc);
    case 'cat':
      for (const item of node.items) if (!first(item, acc)) return false;
      return true;
    case 'alt': {
      let nullable = false;
      for (const a of node.alts) if (first(a, acc)) nullable = true;
      return nullable;
    }
    case 'rep': {
      if (node.max === 0) return true;
      const nullable = first(node.body, acc);
      return node.min === 0 || nullable;
    }
  }
}

/** Whether every match must start at offset 0 (`^`, i.e. `\A`, first on every path). */
function anchored(node: Re2Node): boolean {
  switch (node.kind) {
    case 'assert':
      return node.what === 'bot';
    case 'group':
      return anchored(node.body);
    case 'cat':
      for (const item of node.items) {
        if (anchored(item)) return true;
        if (item.kind !== 'assert') return false; // other zero-width assertions may come first
      }
      return false;
    case 'alt':
      return node.alts.length > 0 && node.alts.every(anchored);
    default:
      return false;
  }
}

/** The first-character set of an anchored, non-nullable pattern; null when there is none to check. */
export function anchoredFirstChar(root: Re2Node): FirstChar | null {
  if (!anchored(root)) return null;
  const acc = new Acc();
  if (first(root, acc)) return null;
  if (acc.nonAscii && acc.ascii.every((w) => w === 0xffffffff)) return null; // anything goes
  return { ascii: acc.ascii, nonAscii: acc.nonAscii };
}

/** Whether `input` can begin a match (always false for "": the pattern is not nullable). */
export function mayStart(f: FirstChar, input: string): boolean {
  if (input.length === 0) return false;
  const c = input.charCodeAt(0);
  return c < 128 ? (f.ascii[c >> 5]! & (1 << (c & 31))) !== 0 : f.nonAscii;
}
