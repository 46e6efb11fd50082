/**
 * The stage loop (spec §2.4): an event must be promoted out of every stage but the last, or
 * it is dropped. Pure with respect to the ParserSet: all state is in the event.
 */
import type { PEvent } from '../core/event.js';
import type { ParserSet } from './types.js';
import type { ParseRuntime } from './runtime.js';
import { processNode } from './node.js';
import { EventDropError } from './statics.js';

export interface NodeTrace { stage: string; name: string; success: boolean }

export type ParseOutcome = 'parsed' | 'unparsed' | 'dropped';

/**
 * Runs `evt` through the stages. Returns 'parsed' when it passed them all (it may still be
 * whitelisted), 'unparsed' when a stage did not accept it, 'dropped' when a static aborted it.
 * `trace`, when given, receives every top-level node evaluation (for explain).
 */
export function parseEvent(set: ParserSet, evt: PEvent, rt: ParseRuntime, trace?: NodeTrace[]): ParseOutcome {
  const stages = set.stages;
  if (stages.length === 0) return 'unparsed';
  if (evt.Stage === '') evt.Stage = stages[0]!;
  evt.Process = false;
  if (evt.Time === null) evt.Time = rt.now();
  const ctx = { rt, stages, env: { evt } };
  for (let si = 0; si < stages.length; si++) {
    const stage = stages[si]!;
    const cur = stages.indexOf(evt.Stage);
    if (cur > si) continue; // pre-advanced events (tests, postoverflows)
    if (evt.Stage !== stage) return 'unparsed';
    let stageOK = false;
    for (const node of set.byStage.get(stage) ?? []) {
      let ok: boolean;
      try {
        ok = processNode(node, evt, ctx);
      } catch (e) {
        if (e instanceof EventDropError) {
          rt.counters.dropped++;
          rt.warn(e.message);
          trace?.push({ stage, name: node.name, success: false });
          return 'dropped';
        }
        throw e;
      }
      trace?.push({ stage, name: node.name, success: ok });
      if (ok) stageOK = true;
      if (ok && node.nextStage) break;
      if (evt.Stage !== stage) break;
    }
    if (!stageOK) return 'unparsed';
  }
  evt.Process = true;
  return 'parsed';
}
