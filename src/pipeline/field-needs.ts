/**
 * Which fields of a worker-parsed event the main thread can read after routing, decided once
 * from the rules, so pour records carry no more than that (decoding them is the main
 * thread's largest cost in pool mode; Line.Raw, Parsed and Enriched are most of their bytes).
 *
 * After route(), main-thread code reads an event through: the alert builder (Meta,
 * MarshaledTime, Time, and the Enriched keys of SOURCE_ENRICHED_KEYS), the scenario
 * expressions that run at overflow time or on the bucket (overflow_filter, conditional /
 * bayesian conditions, scope), and postoverflow parsers. `distinct` and `cancel_on` are not
 * among them: the worker evaluates them (pour records carry the outcomes). The test is on
 * expression text and errs towards sending: a field is left out only when no such
 * expression names it, and everything is sent when an expression could reach a whole event
 * (bare `evt`, `queue`, `leaky`).
 */
import type { ScenarioSpec } from '../config/scenario.js';
import type { CompiledExpr } from '../expr/index.js';
import type { ParserNode, ParserSet } from '../parse/types.js';
import { SOURCE_ENRICHED_KEYS } from '../scenarios/overflow.js';

export interface FieldNeeds {
  /** evt.Line.Raw */
  raw: boolean;
  /** evt.Parsed */
  parsed: boolean;
  /** every key of evt.Enriched (false: only SOURCE_ENRICHED_KEYS, what alerts read) */
  enriched: boolean;
  /** An expression may reach a whole event (it then gets plain PEvents, nothing lazy). */
  wholeEvents?: boolean;
}

export const ALL_FIELDS: FieldNeeds = Object.freeze({ raw: true, parsed: true, enriched: true, wholeEvents: true });

export { SOURCE_ENRICHED_KEYS };

/** `evt` not followed by a field access: the whole event goes somewhere (a helper, a map). */
const WHOLE_EVENT = /\bevt\b(?!\s*\.\s*[A-Za-z_])/;
const WHOLE_BUCKET = /\b(?:queue|leaky)\b/;

export function fieldNeeds(scenarios: readonly ScenarioSpec[], postoverflows: ParserSet): FieldNeeds {
  const sources: string[] = [];
  const add = (e: CompiledExpr | null | undefined): void => {
    if (e) sources.push(e.source);
  };
  for (const s of scenarios) {
    add(s.overflowFilter);
    add(s.condition);
    add(s.scope.expression);
    for (const c of s.bayesianConditions) add(c.condition);
  }
  const visit = (n: ParserNode): void => {
    add(n.filter);
    for (const st of [...n.statics, ...(n.grok?.statics ?? [])]) add(st.expr);
    add(n.grok?.expression);
    if (n.grok?.applyOn) sources.push(`evt.Parsed.${n.grok.applyOn} evt.Line.Raw`);
    for (const e of n.whitelist?.exprs ?? []) add(e);
    n.children.forEach(visit);
  };
  for (const nodes of postoverflows.byStage.values()) nodes.forEach(visit);

  let raw = false;
  let parsed = false;
  let enriched = false;
  for (const src of sources) {
    if (WHOLE_EVENT.test(src) || WHOLE_BUCKET.test(src)) return ALL_FIELDS;
    if (src.includes('Line')) raw = true;
    if (src.includes('Parsed')) parsed = true;
    if (src.includes('Enriched')) enriched = true;
  }
  return { raw, parsed, enriched };
}
