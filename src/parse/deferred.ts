/**
 * Deferred statics: work a parser node does whose result nothing reads until after routing.
 *
 * A pool worker parses every line, but only the events routed to a bucket are sent on (pour
 * records), and for sshd that is a small part of them: the rest are counted and forgotten.
 * A node such as geoip-enrich (GeoIP/ASN lookups into Enriched, copied into Meta) computes
 * fields that only alerts read, so the worker may run its statics after routing, for the
 * routed events alone, and every outcome stays the same.
 *
 * `planDeferral` decides at load time which top-level nodes qualify; it errs towards running
 * everything in place. A node qualifies when:
 *  - it has statics only (filter allowed; no grok, children or whitelist), so its success
 *    does not depend on them, and every static writes a Meta/Parsed/Enriched key from a
 *    literal or an expression that always yields a string and cannot throw
 *    (field-reads.ts alwaysString), or calls an enricher that is a pure, quiet function of
 *    its input writing only Enriched (GeoIpCity, GeoIpASN, IpToRange): so a static can
 *    neither drop the event, warn, nor count an error, wherever it runs;
 *  - nothing that runs after it before the event is sent reads what it writes, or writes
 *    what it reads or writes: later nodes of its stage and all nodes of later stages
 *    (filters, grok inputs, statics, whitelists), and the scenario filters and groupby
 *    (routing). Every read must be nameable (expr/field-reads.ts): one unknown read, such
 *    as a whole map passed to a helper, keeps the node in place;
 *  - the expressions that see the event after routing (distinct, cancel_on, overflow
 *    filters, conditions, scope, postoverflow nodes) read no whole map: they see the same
 *    values, but the maps' insertion order may differ, and only a whole-map read could tell.
 *
 * `planTails` does the same for the last children of a node whose result cannot depend on
 * them (http-logs' request splits): see there.
 *
 * A deferred node whose outcome is a function of its enricher answers alone (`blockable`:
 * geoip-enrich) runs as one block (statics.ts markBlockStatics): its entries, computed once per
 * distinct answer set, travel to the main thread as a reference (enrichers/statics-block.ts).
 *
 * At run time (a single thread's module state: one event is parsed at a time), a deferred
 * node's statics are queued instead of run; `runDeferred` runs the queue in order for the
 * event just parsed; `parseEvent` empties it for every new event.
 */
import type { PEvent } from '../core/event.js';
import type { ScenarioSpec } from '../config/scenario.js';
import type { CompiledExpr } from '../expr/index.js';
import type { FieldRead } from '../expr/pure-inputs.js';
import { alwaysScalar, alwaysString, fieldReads } from '../expr/field-reads.js';
import type { ParserNode, ParserSet, Static } from './types.js';
import type { ParseRuntime } from './runtime.js';
import { markBlockStatics } from './statics.js';
import { dropBlock, ENRICHER_KEYS } from './enrichers/statics-block.js';

type Statics = (evt: PEvent, env: { evt: PEvent }, rt: ParseRuntime) => void;

/** Enricher methods that are pure functions of their input, never warn per call, and write Enriched only. */
export const DEFERRABLE_METHODS: ReadonlySet<string> = new Set(['GeoIpCity', 'GeoIpASN', 'IpToRange']);

/** A field as a set element: `Meta\0key`, `Meta\0*` (any key of the map), or `f\0path`. */
type FieldSet = Set<string>;
const ANY = '*';

function readKey(r: FieldRead): string {
  return r.kind === 'map' ? `${r.map}\0${r.key}` : `f\0${r.path.join('.')}`;
}

/** Adds the reads of an expression; false when they cannot all be named. */
function addExprReads(e: CompiledExpr | null | undefined, out: FieldSet): boolean {
  if (!e) return true;
  const reads = fieldReads(e.source);
  if (reads === null) return false;
  for (const r of reads) out.add(readKey(r));
  return true;
}

function addStaticReads(s: Static, out: FieldSet): boolean {
  return addExprReads(s.expr, out);
}

/** Every field a node and its children may read; false when one read cannot be named. */
function nodeReads(n: ParserNode, out: FieldSet): boolean {
  if (!addExprReads(n.filter, out)) return false;
  if (n.grok) {
    const g = n.grok;
    if (g.applyOn === null) {
      if (!addExprReads(g.expression, out)) return false;
    } else if (g.applyOn === 'Line.Raw') out.add('f\0Line.Raw');
    else out.add(`Parsed\0${g.applyOn}`);
    for (const s of g.statics) if (!addStaticReads(s, out)) return false;
  }
  for (const s of n.statics) if (!addStaticReads(s, out)) return false;
  if (n.whitelist) {
    if (n.whitelist.ips.length > 0 || n.whitelist.cidrs.length > 0) out.add('Meta\0source_ip');
    for (const e of n.whitelist.exprs) if (!addExprReads(e, out)) return false;
  }
  return n.children.every((c) => nodeReads(c, out));
}

/** `byKeys`: an enricher of ENRICHER_KEYS writes those keys (else: any key of Enriched). */
function addStaticWrite(s: Static, out: FieldSet, byKeys = false): void {
  switch (s.kind) {
    case 'meta': out.add(`Meta\0${s.key}`); break;
    case 'parsed': out.add(`Parsed\0${s.key}`); break;
    case 'enriched': out.add(`Enriched\0${s.key}`); break;
    // Enricher results are merged whole into Enriched, whatever keys they have.
    case 'method': {
      const keys = byKeys ? ENRICHER_KEYS.get(s.key) : undefined;
      if (keys === undefined) out.add(`Enriched\0${ANY}`);
      else for (const k of keys) out.add(`Enriched\0${k}`);
      break;
    }
    case 'target': {
      const path = s.key.startsWith('evt.') ? s.key.slice(4) : s.key;
      const head = path.split('.')[0]!;
      if (head === 'Meta' || head === 'Parsed' || head === 'Enriched') out.add(`${head}\0${ANY}`);
      else out.add(`f\0${path}`);
      break;
    }
  }
}

/** Every field a node and its children may write (grok captures: any Parsed key). */
function nodeWrites(n: ParserNode, out: FieldSet, byKeys = false): void {
  if (n.grok) {
    out.add(`Parsed\0${ANY}`);
    for (const s of n.grok.statics) addStaticWrite(s, out, byKeys);
  }
  for (const s of n.statics) addStaticWrite(s, out, byKeys);
  if (n.whitelist) {
    out.add('f\0Whitelisted');
    out.add('f\0WhitelistReason');
  }
  if (n.nextStage) out.add('f\0Stage');
  n.children.forEach((c) => nodeWrites(c, out, byKeys));
}

/** Whether two field sets share a field (a map's `*` meets every key of that map). */
export function overlaps(a: FieldSet, b: FieldSet): boolean {
  for (const x of a) {
    if (b.has(x)) return true;
    const sep = x.indexOf('\0');
    const map = x.slice(0, sep);
    if (map === 'f') continue;
    if (b.has(`${map}\0${ANY}`)) return true;
    if (x.slice(sep + 1) === ANY) {
      for (const y of b) if (y.startsWith(`${map}\0`)) return true;
    }
  }
  return false;
}

/** The node's own reads and writes when its statics may be deferred, else null. */
function candidate(n: ParserNode): { reads: FieldSet; writes: FieldSet } | null {
  if (n.grok || n.children.length > 0 || n.whitelist || n.statics.length === 0) return null;
  const reads: FieldSet = new Set();
  const writes: FieldSet = new Set();
  for (const s of n.statics) {
    if (s.kind === 'target') return null;
    if (s.kind === 'method' && !DEFERRABLE_METHODS.has(s.key)) return null;
    if (s.expr !== null && !alwaysString(s.expr.source)) return null;
    if (!addStaticReads(s, reads)) return null;
    addStaticWrite(s, writes);
  }
  return { reads, writes };
}

/**
 * The top-level nodes of `set` whose statics a worker may run after routing (see above):
 * `scenarios` are all scenarios events may be routed to, `postoverflows` the postoverflow
 * parsers (they see the events' fields through alerts).
 */
export function planDeferral(set: ParserSet, scenarios: readonly ScenarioSpec[], postoverflows: ParserSet): ParserNode[] {
  const routeReads = beforeSendReads(scenarios, postoverflows);
  if (routeReads === null) return [];
  const stages = stagesOf(set);
  const out: ParserNode[] = [];
  for (let si = 0; si < stages.length; si++) {
    const nodes = stages[si]!;
    for (let ni = 0; ni < nodes.length; ni++) {
      const own = candidate(nodes[ni]!);
      if (own === null) continue;
      const later = laterFields(stages, si, ni);
      if (later === null || !independent(own.reads, own.writes, routeReads, later)) continue;
      out.push(nodes[ni]!);
      if (blockable(nodes[ni]!, stages, scenarios)) blockPlanned.add(nodes[ni]!);
    }
  }
  return out;
}

/** Deferred nodes whose statics may run as one block (markDeferred applies it). */
const blockPlanned = new WeakSet<ParserNode>();

/**
 * Whether a deferred node's statics may run as a block (statics.ts markBlockStatics,
 * enrichers/statics-block.ts): the event then holds a reference to its entries, which only
 * the pour-record writer expands. Its statics are enricher methods of known keys and
 * Meta / Enriched statics reading only Meta / Enriched keys; no other node writes a key it
 * reads (enricher inputs aside) or writes, so all those keys are absent when it runs and its
 * entries are appended, a function of the enricher answers; the inputs read none of its own
 * writes; and `distinct` / `cancel_on`, which the worker evaluates after routing, read none of
 * its writes (other worker reads after routing are later nodes: planDeferral checked them).
 */
function blockable(n: ParserNode, stages: readonly (readonly ParserNode[])[], scenarios: readonly ScenarioSpec[]): boolean {
  const own: FieldSet = new Set();
  const inputs: FieldSet = new Set();
  const reads: FieldSet = new Set();
  let methods = 0;
  for (const s of n.statics) {
    if (s.kind === 'method') {
      // Pure methods only: their answers are shared maps that never change (keyed by identity).
      if (!DEFERRABLE_METHODS.has(s.key) || !ENRICHER_KEYS.has(s.key) || !addStaticReads(s, inputs)) return false;
      addStaticWrite(s, own, true);
      methods++;
    } else if (s.kind === 'meta' || s.kind === 'enriched') {
      addStaticWrite(s, own);
      if (s.expr !== null) {
        const r = fieldReads(s.expr.source);
        if (r === null) return false;
        for (const x of r) {
          if (x.kind !== 'map' || (x.map !== 'Meta' && x.map !== 'Enriched')) return false;
          reads.add(readKey(x));
        }
      }
    } else {
      return false;
    }
  }
  if (methods === 0 || overlaps(inputs, own)) return false;
  const others: FieldSet = new Set();
  for (const nodes of stages) for (const m of nodes) if (m !== n) nodeWrites(m, others, true);
  if (overlaps(own, others) || overlaps(reads, others)) return false;
  const worker: FieldSet = new Set();
  for (const s of scenarios) {
    if (!addExprReads(s.distinct, worker) || !addExprReads(s.cancelOn, worker)) return false;
  }
  return !overlaps(own, worker);
}

/**
 * Whether work reading `reads` and writing `writes` may move past routing: routing does not
 * read what it writes, and the nodes after it (`later`) neither read nor overwrite what it
 * writes nor write what it reads.
 */
function independent(reads: FieldSet, writes: FieldSet, routeReads: FieldSet, later: { reads: FieldSet; writes: FieldSet }): boolean {
  return !overlaps(writes, routeReads) && !overlaps(writes, later.reads) && !overlaps(later.writes, writes) && !overlaps(later.writes, reads);
}

/** The top-level nodes of `set`, stage by stage. */
function stagesOf(set: ParserSet): (readonly ParserNode[])[] {
  return set.stages.map((st) => set.byStage.get(st) ?? []);
}

/**
 * What the nodes after node `ni` of stage `si` (the rest of its stage, then every later
 * stage) may read and write; null when one of their reads cannot be named.
 */
function laterFields(stages: readonly (readonly ParserNode[])[], si: number, ni: number): { reads: FieldSet; writes: FieldSet } | null {
  const reads: FieldSet = new Set();
  const writes: FieldSet = new Set();
  for (const n of [...stages[si]!.slice(ni + 1), ...stages.slice(si + 1).flat()]) {
    if (!nodeReads(n, reads)) return null;
    nodeWrites(n, writes);
  }
  return { reads, writes };
}

/**
 * A top-level node whose children from `from` on run after routing (planTails).
 */
export interface DeferredTail {
  readonly node: ParserNode;
  readonly from: number;
}

/** A static that writes a Meta/Parsed/Enriched key and can neither throw, warn nor drop the event. */
function quietStatic(s: Static): boolean {
  if (s.kind !== 'meta' && s.kind !== 'parsed' && s.kind !== 'enriched') return false;
  return s.expr === null || alwaysScalar(s.expr.source);
}

/**
 * A child that may run late: no filter, whitelist, children or next_stage, quiet statics, and
 * at most a grok on the line or a Parsed key (a grok only writes its captures; a failed one
 * changes nothing). Its reads and writes are added to `reads` / `writes`.
 */
function tailChild(c: ParserNode, reads: FieldSet, writes: FieldSet): boolean {
  if (c.filter || c.whitelist || c.children.length > 0 || c.nextStage) return false;
  const statics = [...(c.grok?.statics ?? []), ...c.statics];
  if (!statics.every(quietStatic)) return false;
  if (c.grok) {
    const g = c.grok;
    if (g.applyOn === null) return false;
    reads.add(g.applyOn === 'Line.Raw' ? 'f\0Line.Raw' : `Parsed\0${g.applyOn}`);
    for (const name of g.grok.semantics) writes.add(`Parsed\0${name}`);
  }
  for (const s of statics) {
    if (!addStaticReads(s, reads)) return false;
    addStaticWrite(s, writes);
  }
  return true;
}

/**
 * Top-level nodes of `set` whose last children a worker may run after routing, for the
 * routed events alone (e.g. http-logs' request splits: nothing routing reads comes from
 * them). A node qualifies when it has no grok, statics or next_stage of its own, so its
 * result is its last child's, and that last child always succeeds (statics only, no filter):
 * the node succeeds whether the tail runs or not. The tail (children `from`..end) must be
 * made of tailChild()ren, and, as for planDeferral, nothing after it before the event is
 * sent (later nodes, later stages, scenario filters and groupby) reads what it writes or
 * writes what it reads or writes; the longest such tail is taken. Deferred tails run in
 * their original order with the deferred statics (runDeferred).
 */
export function planTails(set: ParserSet, scenarios: readonly ScenarioSpec[], postoverflows: ParserSet): DeferredTail[] {
  const routeReads = beforeSendReads(scenarios, postoverflows);
  if (routeReads === null) return [];
  const stages = stagesOf(set);
  const out: DeferredTail[] = [];
  for (let si = 0; si < stages.length; si++) {
    const nodes = stages[si]!;
    for (let ni = 0; ni < nodes.length; ni++) {
      const n = nodes[ni]!;
      const kids = n.children;
      if (n.grok || n.statics.length > 0 || n.nextStage || kids.length === 0) continue;
      const last = kids[kids.length - 1]!;
      if (last.grok || last.statics.length === 0) continue;
      const later = laterFields(stages, si, ni);
      if (later === null) continue;
      // Grow the tail from the end while it stays deferrable.
      let from = kids.length;
      const reads: FieldSet = new Set();
      const writes: FieldSet = new Set();
      while (from > 0) {
        const r = new Set(reads);
        const w = new Set(writes);
        if (!tailChild(kids[from - 1]!, r, w)) break;
        if (!independent(r, w, routeReads, later)) break;
        from--;
        r.forEach((x) => reads.add(x));
        w.forEach((x) => writes.add(x));
      }
      if (from < kids.length) out.push({ node: n, from });
    }
  }
  return out;
}

/**
 * What routing reads (scenario filters and groupby), or null when the expressions after
 * routing read a whole map or a read cannot be named (then nothing is deferred).
 */
function beforeSendReads(scenarios: readonly ScenarioSpec[], postoverflows: ParserSet): FieldSet | null {
  const after: FieldSet = new Set();
  for (const s of scenarios) {
    const exprs = [s.distinct, s.cancelOn, s.overflowFilter, s.condition, s.scope.expression, ...s.bayesianConditions.map((c) => c.condition)];
    if (!exprs.every((e) => addExprReads(e, after))) return null;
  }
  for (const nodes of postoverflows.byStage.values()) {
    if (!nodes.every((n) => nodeReads(n, after))) return null;
  }
  const routeReads: FieldSet = new Set();
  for (const s of scenarios) {
    if (!addExprReads(s.filter, routeReads) || !addExprReads(s.groupby, routeReads)) return null;
  }
  return routeReads;
}

// ---- run time ----

const deferredNodes = new WeakSet<ParserNode>();

/** Marks nodes as deferred (their compiled runners must be built afterwards: stages.enableDeferral). */
export function markDeferred(nodes: readonly ParserNode[]): void {
  for (const n of nodes) {
    deferredNodes.add(n);
    if (blockPlanned.has(n)) markBlockStatics(n.statics);
  }
}

export function isDeferred(node: ParserNode): boolean {
  return deferredNodes.has(node);
}

const tailFrom = new WeakMap<ParserNode, number>();

/** Marks node tails as deferred (runners built afterwards: stages.enableDeferral). */
export function markTails(tails: readonly DeferredTail[]): void {
  for (const t of tails) tailFrom.set(t.node, t.from);
}

/** The index of the node's first deferred child, or -1. */
export function deferredTailOf(node: ParserNode): number {
  return tailFrom.get(node) ?? -1;
}

let count = 0;
const runs: Statics[] = [];
const envs: { evt: PEvent }[] = [];
const rts: ParseRuntime[] = [];

/** Queues a deferred node's statics for the event being parsed. */
export function deferStatics(run: Statics, env: { evt: PEvent }, rt: ParseRuntime): void {
  runs[count] = run;
  envs[count] = env;
  rts[count] = rt;
  count++;
}

/** A new event is being parsed: what was queued for the previous one is dropped. */
export function resetDeferred(): void {
  count = 0;
  dropBlock();
}

/** Runs the statics queued while `evt` (the event just parsed) went through the stages. */
export function runDeferred(evt: PEvent): void {
  const n = count;
  count = 0;
  for (let k = 0; k < n; k++) runs[k]!(evt, envs[k]!, rts[k]!);
}

/** Statics queued and not yet run (tests). */
export function pendingDeferred(): number {
  return count;
}
