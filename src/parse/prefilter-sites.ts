/**
 * Which grok sites of a parser set the batch prefilter may answer for, and the plan for them.
 *
 * The prefilter (src/bindings/prefilter-plan.ts) looks for each grok's required literals in
 * the raw line. That answers for the grok's input only when the input is a substring of the
 * line: `Line.Raw` itself, or a Parsed key whose every value comes from the line. Load-time
 * analysis over the whole set: a key is "from the line" unless something writes it a value
 * that may not be a substring of the line — a literal, an expression other than a copy of
 * the line or of such a key, a capture of a grok whose input is not from the line, or a
 * `target` path into Parsed. A `target` into Line disables the plan. (Grok captures are
 * substrings of their input; a missing key reads "", a substring of anything.)
 */
import { internKey } from '../core/event.js';
import { compilePrefilter, type PrefilterPlan } from '../bindings/prefilter-plan.js';
import { MAX_NODES } from '../bindings/abi.generated.js';
import type { ParserNode, ParserSet, Static } from './types.js';
import { grokSiteOf, nodeRunner } from './node.js';

export interface SitePlan {
  plan: PrefilterPlan;
  /** Per site id: its node number in `plan`, or -1. */
  bitOf: Int16Array;
  /** Sites in the plan (for tests and diagnostics). */
  sites: number;
}

function allNodes(set: ParserSet): ParserNode[] {
  const out: ParserNode[] = [];
  const walk = (n: ParserNode): void => {
    out.push(n);
    n.children.forEach(walk);
  };
  for (const s of set.stages) for (const n of set.byStage.get(s) ?? []) walk(n);
  return out;
}

interface Copy { from: string | null; to: string }

/** The Parsed keys whose values are always substrings of Line.Raw, or null when Line itself may change. */
export function keysFromLine(set: ParserSet): Set<string> | null {
  const nodes = allNodes(set);
  const written = new Set<string>();
  const bad = new Set<string>();
  // `from`: null = the raw line; a key = a copy of that key.
  const copies: Copy[] = [];
  let lineChanged = false;
  const staticWrite = (s: Static): void => {
    if (s.kind === 'parsed') {
      const key = internKey(s.key);
      if (s.value !== null) {
        if (s.value !== '') bad.add(key); // a literal "" writes nothing
        return;
      }
      const e = s.expr!;
      if (e.mapRead && e.mapRead.root === 'evt' && e.mapRead.field === 'Parsed') copies.push({ from: internKey(e.mapRead.key), to: key });
      else if (e.source.trim() === 'evt.Line.Raw') copies.push({ from: null, to: key });
      else bad.add(key);
    } else if (s.kind === 'target') {
      const parts = (s.key.startsWith('evt.') ? s.key.slice(4) : s.key).split('.');
      if (parts[0] === 'Parsed' && parts.length > 1) bad.add(internKey(parts[1]!));
      else if (parts[0] === 'Line') lineChanged = true;
    }
  };
  const groks: { input: string | null; fromLine: boolean; semantics: readonly string[] }[] = [];
  for (const n of nodes) {
    n.statics.forEach(staticWrite);
    const g = n.grok;
    if (g === null) continue;
    g.statics.forEach(staticWrite);
    const input = g.applyOn === 'Line.Raw' ? null : g.applyOn === null ? '' : internKey(g.applyOn);
    groks.push({ input, fromLine: g.applyOn !== null, semantics: g.grok.semantics });
    for (const k of g.grok.semantics) written.add(k);
  }
  if (lineChanged) return null;
  // Greatest fixed point: start with every key good, remove what a bad source reaches.
  for (let changed = true; changed;) {
    changed = false;
    const mark = (k: string): void => {
      if (!bad.has(k)) {
        bad.add(k);
        changed = true;
      }
    };
    for (const g of groks) {
      if (!g.fromLine || (g.input !== null && bad.has(g.input))) g.semantics.forEach(mark);
    }
    for (const c of copies) if (c.from !== null && bad.has(c.from)) mark(c.to);
  }
  const good = new Set<string>();
  for (const k of written) if (!bad.has(k)) good.add(k);
  for (const c of copies) if (!bad.has(c.to)) good.add(c.to);
  return good;
}

/** Below this many qualifying sites, 'auto' uses no plan (see sitePlan). */
export const AUTO_MIN_SITES = 32;

/**
 * The prefilter plan of a parser set: one plan node per grok site whose input comes from the
 * line and whose grok has required literals (at most MAX_NODES, in tree order); null when no
 * site qualifies. `'all'` takes every such site; `'auto'` only those with no first-character
 * test, and only when there are at least AUTO_MIN_SITES of them.
 *
 * Why not every site: an anchored grok is rejected by its first character at a few ns per
 * site, and on the lines that pass it its literals are usually there. The prefilter's cost
 * grows with the literal count instead (measured on 1 MB sshd batches, shipped rules: all
 * 94 sites / 134 literals 2.2-3.4 µs per line, more than every grok test it replaces, ~0.5 µs);
 * unanchored groks search their literals on every line that reaches them, which is where
 * one batched search can pay — but even there it did not on these rules (shipped: 19 such
 * sites, 15 literals, 0.25 µs per line, none reached by sshd lines; Debian hub sshd-logs: 10
 * unanchored groks cost 0.26-0.34 µs per line in mayMatch against 0.35 µs for their plan),
 * hence the threshold.
 */
export function sitePlan(set: ParserSet, which: 'all' | 'auto' = 'auto'): SitePlan | null {
  const good = keysFromLine(set);
  if (good === null) return null;
  const nodes = allNodes(set);
  for (const s of set.stages) for (const n of set.byStage.get(s) ?? []) nodeRunner(n); // assigns site ids
  const chosen: { site: number; lits: readonly string[] }[] = [];
  for (const n of nodes) {
    const g = n.grok;
    if (g === null || g.applyOn === null || chosen.length >= MAX_NODES) continue;
    if (g.applyOn !== 'Line.Raw' && !good.has(internKey(g.applyOn))) continue;
    if (g.grok.requiredLiterals.length === 0 || (which === 'auto' && g.grok.hasFirstCharTest)) continue;
    chosen.push({ site: grokSiteOf(n), lits: g.grok.requiredLiterals });
  }
  if (chosen.length === 0 || (which === 'auto' && chosen.length < AUTO_MIN_SITES)) return null;
  const plan = compilePrefilter(chosen.map((c) => c.lits));
  const max = Math.max(...chosen.map((c) => c.site));
  const bitOf = new Int16Array(max + 1).fill(-1);
  chosen.forEach((c, i) => { bitOf[c.site] = i; });
  return { plan, bitOf, sites: chosen.length };
}
