/**
 * The stage loop (spec §2.4): an event must be promoted out of every stage but the last, or
 * it is dropped. Pure with respect to the ParserSet: all state is in the event (and in
 * memos of pure filter results, which change no outcome).
 *
 * Shared filter evaluations: the top-level nodes of a stage often filter on one field
 * (`evt.Parsed.program == 'x'`, `... startsWith 'y'`, `in [...]`): s01 has one such node per
 * program, and a line used to evaluate 5-9 of them. A filter that is a pure function of one
 * string map entry (expr/pure-inputs.ts: literals, operators, reads, pure helpers) is
 * looked up instead, in a row of results per value of that entry, filled on first use. The
 * entry is read once per stage and again only after a node has run (a node, or another
 * filter, may write it); a node whose filter failed or errored ran nothing. Errors are
 * remembered as such and counted at every lookup, as each evaluation would.
 */
import { internKey, type PEvent } from '../core/event.js';
import type { ParserNode, ParserSet } from './types.js';
import type { ParseRuntime } from './runtime.js';
import { filterOutcome, forgetCompiled, nodeBodyRunner, nodeRunner, type NodeContext, type NodeRunner } from './node.js';
import { markDeferred, markTails, resetDeferred, type DeferredTail } from './deferred.js';
import { EventDropError } from './statics.js';
import { pureInputs } from '../expr/pure-inputs.js';

export interface NodeTrace { stage: string; name: string; success: boolean }

export type ParseOutcome = 'parsed' | 'unparsed' | 'dropped';

/** A ParserSet with its nodes compiled, as parallel arrays per stage. */
interface CompiledSet {
  stages: readonly string[];
  nodes: readonly (readonly ParserNode[])[];
  runners: readonly (readonly NodeRunner[])[];
  nextStage: readonly (readonly boolean[])[];
  /** Per stage, per node: its shared-filter slot in `slots`, or -1 (the runner evaluates its filter). */
  slotOf: readonly Int32Array[];
  /** Per stage, per node: the runner without its filter step, for slot nodes (else null). */
  bodies: readonly (readonly (NodeRunner | null)[])[];
  slots: readonly (readonly FilterSlot[])[];
}

/** Filter results per node of the stage: -1 not evaluated, else filterOutcome's 0 / 1 / 2. */
type Row = Int8Array;

/** The nodes of a stage whose filters read the same single map entry. */
interface FilterSlot {
  map: 'Parsed' | 'Meta' | 'Enriched' | 'Labels';
  key: string;
  /** Per stage node (-1 for the others): its filter outcome on the current event. */
  filters: readonly (((env: { evt: PEvent }) => 0 | 1 | 2) | null)[];
  rows: Map<string, Row>;
  /** The row of a missing entry (kept apart: a filter cannot tell it from "", but no matter). */
  missing: Row | null;
  /** The row of the current event, or null when the entry must be read again. */
  current: Row | null;
}

/** Distinct values remembered per slot before its rows are dropped (log text is unbounded). */
const MAX_ROWS = 4096;

/**
 * The single map entry a node's filter reads when it is pure (else null). Helpers reading
 * data files stay out: a missing file is warned about per evaluation.
 */
function singleRead(node: ParserNode): { map: FilterSlot['map']; key: string } | null {
  if (!node.filter) return null;
  const src = node.filter.source;
  if (/File\s*\(/.test(src)) return null;
  const reads = pureInputs(src);
  if (reads === null || reads.length !== 1) return null;
  const r = reads[0]!;
  return r.kind === 'map' ? { map: r.map, key: r.key } : null;
}

function filterSlots(nodes: readonly ParserNode[]): { slotOf: Int32Array; slots: FilterSlot[] } {
  const slotOf = new Int32Array(nodes.length).fill(-1);
  const slots: FilterSlot[] = [];
  const reads = nodes.map(singleRead);
  for (let i = 0; i < nodes.length; i++) {
    const r = reads[i];
    if (!r || slotOf[i] !== -1) continue;
    const members = nodes.map((_, j) => j >= i && reads[j]?.map === r.map && reads[j]?.key === r.key);
    // One node alone gains nothing from a row.
    if (members.filter(Boolean).length < 2) continue;
    const slot: FilterSlot = {
      map: r.map,
      key: internKey(r.key),
      filters: nodes.map((n, j) => (members[j] ? filterOutcome(n) : null)),
      rows: new Map(),
      missing: null,
      current: null,
    };
    members.forEach((m, j) => { if (m) slotOf[j] = slots.length; });
    slots.push(slot);
  }
  return { slotOf, slots };
}

function rowOf(slot: FilterSlot, evt: PEvent, n: number): Row {
  const m = slot.map === 'Labels' ? evt.Line.Labels : evt[slot.map];
  const v = m.get(slot.key);
  let row: Row | undefined;
  if (v === undefined) {
    row = slot.missing ??= new Int8Array(n).fill(-1);
  } else {
    row = slot.rows.get(v);
    if (row === undefined) {
      if (slot.rows.size >= MAX_ROWS) slot.rows.clear();
      slot.rows.set(v, (row = new Int8Array(n).fill(-1)));
    }
  }
  return (slot.current = row);
}

const compiledSets = new WeakMap<ParserSet, CompiledSet>();

/** The last NodeContext built (read-only for the runners; see parseEvent). */
let lastCtx: NodeContext | null = null;

/** Compiled once per set (sets are immutable once loaded). */
function compiledSet(set: ParserSet): CompiledSet {
  let c = compiledSets.get(set);
  if (c === undefined) {
    const nodes = set.stages.map((s) => set.byStage.get(s) ?? []);
    const shared = nodes.map(filterSlots);
    c = {
      stages: set.stages,
      nodes,
      runners: nodes.map((ns) => ns.map(nodeRunner)),
      nextStage: nodes.map((ns) => ns.map((n) => n.nextStage)),
      slotOf: shared.map((x) => x.slotOf),
      bodies: nodes.map((ns, si) => ns.map((n, ni) => (shared[si]!.slotOf[ni]! >= 0 ? nodeBodyRunner(n) : null))),
      slots: shared.map((x) => x.slots),
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
  resetDeferred();
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
    const slotOf = c.slotOf[si]!;
    const slots = c.slots[si]!;
    invalidate(slots);
    let stageOK = false;
    for (let ni = 0; ni < runners.length; ni++) {
      let ok: boolean;
      try {
        const sl = slotOf[ni]!;
        if (sl >= 0) {
          const slot = slots[sl]!;
          const row = slot.current ?? rowOf(slot, evt, runners.length);
          let r = row[ni]!;
          if (r < 0) r = row[ni] = slot.filters[ni]!(ctx.env);
          if (r === 1) {
            invalidate(slots);
            ok = c.bodies[si]![ni]!(evt, ctx);
          } else {
            if (r === 2) rt.counters.filterErrors++;
            ok = false;
          }
        } else {
          if (slots.length > 0) invalidate(slots);
          ok = runners[ni]!(evt, ctx);
        }
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

/** A node is about to run (it may write any field): the slots read their entry again. */
function invalidate(slots: readonly FilterSlot[]): void {
  for (let k = 0; k < slots.length; k++) slots[k]!.current = null;
}

/**
 * Defers the statics of `nodes` (top-level nodes of `set`, as deferred.ts planDeferral
 * chose them) and the children `tails` (planTails): from now on parseEvent queues them, and
 * the caller must call runDeferred(evt) for every event it sends on before reading it. For a
 * pool worker only.
 */
export function enableDeferral(set: ParserSet, nodes: readonly ParserNode[], tails: readonly DeferredTail[] = []): void {
  if (nodes.length === 0 && tails.length === 0) return;
  markDeferred(nodes);
  markTails(tails);
  for (const n of nodes) forgetCompiled(n);
  for (const t of tails) forgetCompiled(t.node);
  compiledSets.delete(set);
}
