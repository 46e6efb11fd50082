/**
 * The stage loop (spec §2.4): an event must be promoted out of every stage but the last, or
 * it is dropped. Pure with respect to the ParserSet: all state is in the event.
 */
import type { PEvent } from '../core/event.js';
import type { ParserNode, ParserSet } from './types.js';
import type { ParseRuntime } from './runtime.js';
import { nodeRunner, type NodeContext, type NodeRunner } from './node.js';
import { EventDropError } from './statics.js';

export interface NodeTrace { stage: string; name: string; success: boolean }

export type ParseOutcome = 'parsed' | 'unparsed' | 'dropped';

/** A ParserSet with its nodes compiled, as parallel arrays per stage. */
interface CompiledSet {
  stages: readonly string[];
  nodes: readonly (readonly ParserNode[])[];
  runners: readonly (readonly NodeRunner[])[];
  nextStage: readonly (readonly boolean[])[];
}

const compiledSets = new WeakMap<ParserSet, CompiledSet>();

/** The last NodeContext built (read-only for the runners; see parseEvent). */
let lastCtx: NodeContext | null = null;

/** Compiled once per set (sets are immutable once loaded). */
function compiledSet(set: ParserSet): CompiledSet {
  let c = compiledSets.get(set);
  if (c === undefined) {
    const nodes = set.stages.map((s) => set.byStage.get(s) ?? []);
    c = {
      stages: set.stages,
      nodes,
      runners: nodes.map((ns) => ns.map(nodeRunner)),
      nextStage: nodes.map((ns) => ns.map((n) => n.nextStage)),
    };
    compiledSets.set(set, c);
  }
  return c;
}

/**
 * Runs `evt` through the stages. Returns 'parsed' when it passed them all (it may still be
 * whitelisted), 'unparsed' when a stage did not accept it, 'dropped' when a static aborted it.
 * `trace`, when given, receives every top-level node evaluation (for explain).
 */
export function parseEvent(set: ParserSet, evt: PEvent, rt: ParseRuntime, trace?: NodeTrace[]): ParseOutcome {
  const stages = set.stages;
  if (stages.length === 0) return 'unparsed';
  const c = compiledSet(set);
  if (evt.Stage === '') evt.Stage = stages[0]!;
  evt.Process = false;
  if (evt.Time === null) evt.Time = rt.now();
  // The context only names the event, runtime and stages: the previous call's is reused when
  // they are the same (a pool worker's one event), so that a line allocates none.
  let ctx = lastCtx;
  if (ctx === null || ctx.env.evt !== evt || ctx.rt !== rt || ctx.stages !== stages) lastCtx = ctx = { rt, stages, env: { evt } };
  for (let si = 0; si < stages.length; si++) {
    const stage = stages[si]!;
    if (evt.Stage !== stage) {
      if (stages.indexOf(evt.Stage) > si) continue; // pre-advanced events (tests, postoverflows)
      return 'unparsed';
    }
    const runners = c.runners[si]!;
    const nextStage = c.nextStage[si]!;
    let stageOK = false;
    for (let ni = 0; ni < runners.length; ni++) {
      let ok: boolean;
      try {
        ok = runners[ni]!(evt, ctx);
      } catch (e) {
        if (e instanceof EventDropError) {
          rt.counters.dropped++;
          rt.warn(e.message);
          trace?.push({ stage, name: c.nodes[si]![ni]!.name, success: false });
          return 'dropped';
        }
        throw e;
      }
      if (trace) trace.push({ stage, name: c.nodes[si]![ni]!.name, success: ok });
      if (ok) {
        stageOK = true;
        if (nextStage[ni]) break;
      }
      if (evt.Stage !== stage) break;
    }
    if (!stageOK) return 'unparsed';
  }
  evt.Process = true;
  return 'parsed';
}
