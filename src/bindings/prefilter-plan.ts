/**
 * Compiles the literal sets of parser nodes (grok `requiredLiterals`, one set per node, in
 * node order) into a prefilter plan: distinct literals as UTF-8 bytes plus, per node, the
 * mask of literals it needs. Built once at load time; both scanners run the same plan.
 *
 * Every simplification is conservative (it can only add candidates, never drop a match):
 *  - a literal longer than MAX_LITERAL_LEN bytes keeps its first MAX_LITERAL_LEN bytes;
 *  - a literal containing U+FFFD or a lone surrogate is ignored: invalid UTF-8 in a line
 *    decodes to U+FFFD, which has no fixed byte form to search for;
 *  - past MAX_LITERALS distinct literals, further ones are ignored;
 *  - a node with no usable literal is a candidate on every line.
 * Browser-safe: no Node imports.
 */
import { LIT_WORDS_MAX, MAX_LITERALS, MAX_LITERAL_LEN, MAX_NODES } from './abi.generated.js';

export interface PrefilterPlan {
  /** Unique per plan, so a scanner reloads its literal table only when the plan changes. */
  readonly id: number;
  readonly nodeCount: number;
  /** Distinct literals as searched (UTF-8, possibly truncated). */
  readonly literals: readonly Uint8Array[];
  /** Per literal: the two byte positions the SIMD search pre-tests, a | b << 16. */
  readonly probes: Uint32Array;
  /** LIT_WORDS_MAX u32 per node: bit k = node needs literal k. */
  readonly need: Uint32Array;
}

let nextId = 1;

function usable(lit: string): boolean {
  if (lit.length === 0 || lit.includes('\uFFFD')) return false;
  // A lone surrogate would also encode as U+FFFD.
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(lit);
}

/**
 * How rare a byte looks in logs (higher = rarer). A crude static table is enough: the point
 * is to avoid pre-testing on ' ' or lowercase letters when the literal has better bytes.
 */
function rarity(b: number): number {
  if (b === 0x20) return 0;
  if (b >= 0x61 && b <= 0x7a) return 'etaoinsr'.includes(String.fromCharCode(b)) ? 1 : 2;
  if (b >= 0x30 && b <= 0x39) return 2;
  if (b >= 0x41 && b <= 0x5a) return 3;
  return b === 0x2e || b === 0x2d || b === 0x3a || b === 0x2f ? 2 : 4;
}

/** Two distinct positions (when the literal has 2+ bytes) of its rarest bytes, a < b. */
export function pickProbe(bytes: Uint8Array): number {
  if (bytes.length === 1) return 0;
  const order = Array.from(bytes.keys()).sort((x, y) => rarity(bytes[y]!) - rarity(bytes[x]!) || x - y);
  let a = order[0]!;
  // Among the next rarest, prefer one far from `a`: neighbouring bytes are correlated.
  const best = rarity(bytes[order[1]!]!);
  let b = order.slice(1).filter((i) => rarity(bytes[i]!) === best).sort((x, y) => Math.abs(y - a) - Math.abs(x - a))[0]!;
  if (a > b) [a, b] = [b, a];
  return a | (b << 16);
}

export function compilePrefilter(nodes: readonly (readonly string[])[]): PrefilterPlan {
  if (nodes.length > MAX_NODES) {
    throw new RangeError(
      `prefilter: ${nodes.length} parser nodes, at most ${MAX_NODES} per plan (split them into several plans)`,
    );
  }
  const enc = new TextEncoder();
  const index = new Map<string, number>(); // key: bytes as latin1 (after truncation)
  const literals: Uint8Array[] = [];
  const need = new Uint32Array(nodes.length * LIT_WORDS_MAX);
  nodes.forEach((set, n) => {
    for (const lit of set) {
      if (!usable(lit)) continue;
      let bytes = enc.encode(lit);
      if (bytes.length > MAX_LITERAL_LEN) bytes = bytes.slice(0, MAX_LITERAL_LEN);
      const key = String.fromCharCode(...bytes);
      let k = index.get(key);
      if (k === undefined) {
        if (literals.length >= MAX_LITERALS) continue;
        k = literals.length;
        index.set(key, k);
        literals.push(bytes);
      }
      need[n * LIT_WORDS_MAX + (k >>> 5)] |= 1 << (k & 31);
    }
  });
  const probes = Uint32Array.from(literals, pickProbe);
  return Object.freeze({ id: nextId++, nodeCount: nodes.length, literals: Object.freeze(literals), probes, need });
}
