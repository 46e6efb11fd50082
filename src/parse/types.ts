/**
 * Compiled parser nodes: what src/config/parser.ts produces from hub YAML and what
 * src/parse/node.ts executes. Everything here is built once at load time and frozen; the
 * per-event code only walks these objects.
 */
import type { CompiledExpr } from '../expr/index.js';
import type { Grok } from '../grok/compile.js';
import type { IpRange } from '../core/ip.js';

/** One `statics:` entry (spec §2.5). Exactly one target kind is set. */
export interface Static {
  kind: 'meta' | 'parsed' | 'enriched' | 'target' | 'method';
  /** Meta/Parsed/Enriched key, field path for `target`, or method name. */
  key: string;
  value: string | null;
  expr: CompiledExpr | null;
  /** For error messages. */
  where: string;
}

export interface GrokStep {
  grok: Grok;
  /** `Line.Raw`, a Parsed key, or null when `expression` gives the input. */
  applyOn: string | null;
  expression: CompiledExpr | null;
  statics: readonly Static[];
}

export interface Whitelist {
  reason: string;
  ips: readonly IpRange[];
  cidrs: readonly IpRange[];
  exprs: readonly CompiledExpr[];
}

export interface ParserNode {
  name: string;
  stage: string;
  file: string;
  /** `next_stage` promotes the event; anything else continues. */
  nextStage: boolean;
  filter: CompiledExpr | null;
  grok: GrokStep | null;
  children: readonly ParserNode[];
  statics: readonly Static[];
  whitelist: Whitelist | null;
  debug: boolean;
}

/** The loaded, ordered parser set of one config (or of the postoverflow stages). */
export interface ParserSet {
  /** Sorted stage names that have at least one node (spec §2.1). */
  stages: readonly string[];
  /** Top-level nodes per stage, in load order. */
  byStage: ReadonlyMap<string, readonly ParserNode[]>;
}
