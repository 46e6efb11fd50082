/**
 * One parser node applied to one event: spec §2.3, step by step, quirks included
 * ("last child wins" for `continue` skeleton nodes, grok input "" when apply_on names a
 * missing Parsed key, relative `next_stage` promotion).
 *
 * Each node is compiled once (on first use, cached per node object) into a closure that
 * holds its compiled children, statics and whitelist, so the per-event code reads no node
 * fields and allocates nothing of its own. Two shortcuts, both exact:
 *  - a *bare* grok child (no filter, whitelist or children) whose grok cannot match fails
 *    with no side effect, so its parent asks Grok.mayMatch (first character, literals) and
 *    skips the call; one read of the apply_on value serves a run of such siblings;
 *    a run of 4+ such siblings on one input looks its first character up in a table instead;
 *  - with a batch hint (line-hint.ts, set by parse/batch.ts), a grok whose site the prefilter
 *    answers for skips its literal test (bit set) or fails without a regex (bit clear), and
 *    the syslog-with-host grok reads the structural scanner's record (syslog-fast.ts);
 *  - the nginx access grok (NGX_ACCESS) and the request-target splits of http-logs are read
 *    without their regex when the text has the usual shape (access-fast.ts,
 *    http-split-fast.ts), else by the regex;
 *  - whitelist ip/cidr lists are compared as u32 intervals for IPv4 candidates;
 *  - a grok on a Parsed key answers a text it has seen from a memo (grok-memo.ts), while
 *    its texts repeat often enough.
 * test/parse/compiled-differential.test.ts holds all of it to a plain interpreter.
 */
import { EventType, internKey, type PEvent } from '../core/event.js';
import { parseIp } from '../core/ip.js';
import type { CompiledExpr } from '../expr/index.js';
import type { GrokStep, ParserNode, Whitelist } from './types.js';
import type { ParseRuntime } from './runtime.js';
import { compileStatics } from './statics.js';
import { deferStatics, deferredTailOf, isDeferred } from './deferred.js';
import { prefiltered, syslogRecords } from './line-hint.js';
import { syslogHeaderReader } from './syslog-fast.js';
import { accessLogReader } from './access-fast.js';
import { httpSplitReader } from './http-split-fast.js';
import { GrokMemo } from './grok-memo.js';

/**
 * Grok sites: every node with a grok on `Line.Raw` or a Parsed key gets an id when it is
 * compiled, so a prefilter plan (prefilter-sites.ts) can map sites to its node bits.
 */
const siteIds = new WeakMap<ParserNode, number>();
let nextSite = 0;

/** The site id of a node that has a grok step (assigned on first call). */
export function grokSiteOf(node: ParserNode): number {
  let id = siteIds.get(node);
  if (id === undefined) siteIds.set(node, (id = nextSite++));
  return id;
}

export interface NodeContext {
  rt: ParseRuntime;
  /** Ordered stage names, for relative promotion. */
  stages: readonly string[];
  env: { evt: PEvent };
}

/** A compiled node: true when it succeeded. Throws EventDropError when a static aborts the event. */
export type NodeRunner = (evt: PEvent, ctx: NodeContext) => boolean;

const V4_MAPPED = 0xffffn << 32n;
const V4_LAST = V4_MAPPED | 0xffffffffn;

/**
 * Dotted-quad IPv4 text to its u32 value, or -1: exactly the strings core/ip's parseIPv4
 * accepts (four 1-3 digit decimal parts, no leading zero, each <= 255), without splitting.
 */
export function ipv4Value(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  let first = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9) return -1;
    if (digits === 0) first = d;
    else if (first === 0 || digits === 3) return -1;
    part = part * 10 + d;
    if (part > 255) return -1;
    digits++;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/**
 * Whitelist address ranges split for cheap lookups: the IPv4-mapped part of every range as
 * u32 intervals (an IPv4 candidate is compared as a number), the rest kept as 128-bit ranges.
 */
interface AddressLists {
  /** [start0, end0, start1, end1, ...] of the v4-mapped parts of ips and cidrs. */
  v4: Float64Array;
  /** Ranges for IPv6 candidates (every range: a v6 text may still be v4-mapped). */
  all: readonly { start: bigint; end: bigint }[];
}

function addressLists(wl: Whitelist): AddressLists {
  const v4: number[] = [];
  const all: { start: bigint; end: bigint }[] = [];
  // `ip` entries match by equality with their single address: the same as a [start, start] range.
  for (const r of wl.ips) all.push({ start: r.start, end: r.start });
  for (const r of wl.cidrs) all.push({ start: r.start, end: r.end });
  for (const r of all) {
    const lo = r.start > V4_MAPPED ? r.start : V4_MAPPED;
    const hi = r.end < V4_LAST ? r.end : V4_LAST;
    if (lo <= hi) v4.push(Number(lo - V4_MAPPED), Number(hi - V4_MAPPED));
  }
  return { v4: Float64Array.from(v4), all };
}

function listed(lists: AddressLists, candidate: string): boolean | null {
  if (candidate.indexOf(':') < 0) {
    const v = ipv4Value(candidate);
    if (v < 0) return null;
    const r = lists.v4;
    for (let i = 0; i < r.length; i += 2) if (v >= r[i]! && v <= r[i + 1]!) return true;
    return false;
  }
  const ip = parseIp(candidate);
  if (!ip) return null;
  for (const r of lists.all) if (ip.value >= r.start && ip.value <= r.end) return true;
  return false;
}

/** Steps 2–3: 0 = no whitelist applies, 1 = has one, not matched, 2 = matched, -1 = an expression failed. */
type WhitelistCheck = (evt: PEvent, ctx: NodeContext) => -1 | 0 | 1 | 2;

function compileWhitelist(wl: Whitelist): WhitelistCheck {
  const lists = wl.ips.length > 0 || wl.cidrs.length > 0 ? addressLists(wl) : null;
  const exprs = wl.exprs.map(rawExpr);
  return (evt, ctx) => {
    let has = false;
    let matched = false;
    if (lists !== null) {
      if (evt.Type === EventType.LOG) {
        const ip = evt.Meta.get('source_ip');
        if (ip) {
          const r = listed(lists, ip);
          if (r !== null) {
            has = true;
            if (r) matched = true;
          }
        }
      } else if (evt.Overflow) {
        for (const c of evt.Overflow.Sources.keys()) {
          const r = listed(lists, c);
          if (r === null) continue;
          has = true;
          if (r) matched = true;
        }
      }
    }
    for (let i = 0; i < exprs.length; i++) {
      has = true;
      let r: unknown;
      try {
        r = exprs[i]!(ctx.env, null);
      } catch {
        ctx.rt.counters.whitelistErrors++;
        return -1;
      }
      if (r === true) matched = true;
    }
    return matched ? 2 : has ? 1 : 0;
  };
}

/** The grok step: 0 = no match, 1 = match, 2 = match but apply_on named a missing key (node fails). */
type GrokRun = (evt: PEvent, ctx: NodeContext) => 0 | 1 | 2;

/**
 * matchInto, or what it would give, cheaper when the batch parser left hints: a prefilter
 * miss means no match (a required literal is missing from the line, so from `input`, a
 * substring of it); a hit skips the grok's own literal test.
 */
function hintedMatch(grok: GrokStep['grok'], site: number, input: string, evt: PEvent, ctx: NodeContext): boolean {
  const pf = prefiltered(ctx.rt.hint, site);
  if (pf === 0) return false;
  return pf === 1 ? grok.matchIntoPrefiltered(input, evt.Parsed) : grok.matchInto(input, evt.Parsed);
}

function compileGrokStep(g: GrokStep, site: number): GrokRun {
  const grok = g.grok;
  const statics = compileStatics(g.statics);
  if (g.applyOn === 'Line.Raw') {
    // The syslog header grok, read from the structural scanner's record when it has one.
    const header = syslogHeaderReader(grok);
    if (header !== null) {
      return (evt, ctx) => {
        const h = ctx.rt.hint;
        const recs = h === undefined ? null : syslogRecords(h);
        const fast = recs !== null && header(evt.Line.Raw, recs, h!, evt.Parsed);
        if (!fast && !hintedMatch(grok, site, evt.Line.Raw, evt, ctx)) return 0;
        statics(evt, ctx.env, ctx.rt);
        return 1;
      };
    }
    return (evt, ctx) => {
      if (!hintedMatch(grok, site, evt.Line.Raw, evt, ctx)) return 0;
      statics(evt, ctx.env, ctx.rt);
      return 1;
    };
  }
  if (g.applyOn !== null) {
    const key = internKey(g.applyOn);
    // The nginx access grok and the request-target splits, read without their regex when
    // the text has the usual shape.
    const fast = accessLogReader(grok) ?? httpSplitReader(grok);
    if (fast === null) {
      // Messages that repeat word for word take their outcome from a memo (grok-memo.ts).
      const memo = new GrokMemo(grok);
      return (evt, ctx) => {
        const v = evt.Parsed.get(key);
        const text = v === undefined ? '' : v;
        const pf = prefiltered(ctx.rt.hint, site);
        if (pf === 0 || !memo.matchInto(text, evt.Parsed, pf === 1)) return 0;
        statics(evt, ctx.env, ctx.rt);
        return v === undefined ? 2 : 1;
      };
    }
    return (evt, ctx) => {
      const v = evt.Parsed.get(key);
      // A missing key fails the node, but the grok still runs, on "" (its statics too).
      const text = v === undefined ? '' : v;
      if (!fast(text, evt.Parsed) && !hintedMatch(grok, site, text, evt, ctx)) return 0;
      statics(evt, ctx.env, ctx.rt);
      return v === undefined ? 2 : 1;
    };
  }
  const expression = g.expression ? rawExpr(g.expression) : null;
  return (evt, ctx) => {
    let input = '';
    if (expression) {
      try {
        const v = expression(ctx.env, null);
        input = typeof v === 'string' ? v : '';
      } catch {
        ctx.rt.counters.filterErrors++;
      }
    }
    if (!grok.matchInto(input, evt.Parsed)) return 0;
    statics(evt, ctx.env, ctx.rt);
    return 1;
  };
}

function nextStageOf(current: string, stages: readonly string[]): string {
  const i = stages.indexOf(current);
  return i >= 0 && i + 1 < stages.length ? stages[i + 1]! : current;
}

type RawExpr = (env: { evt: PEvent }, it: unknown) => unknown;

/**
 * The closure of an expression whose errors the caller swallows (filters, whitelist and grok
 * input expressions): the raw one when available, since run()'s wrapping only changes the
 * error, never the result.
 */
function rawExpr(e: CompiledExpr): RawExpr {
  return e.fn ?? ((env) => e.run(env));
}

function compileNode(node: ParserNode, withFilter: boolean): NodeRunner {
  const filter = withFilter && node.filter ? rawExpr(node.filter) : null;
  const whitelist = node.whitelist ? compileWhitelist(node.whitelist) : null;
  const reason = node.whitelist?.reason ?? '';
  const grok = node.grok ? compileGrokStep(node.grok, node.grok.applyOn !== null ? grokSiteOf(node) : -1) : null;
  // Children from `tail` on run after routing (deferred.ts planTails): the node succeeds
  // either way (its last child always does), so the loop below sees only the others.
  const tail = deferredTailOf(node);
  const kids = tail >= 0 ? node.children.slice(0, tail) : node.children;
  const tailRun = tail >= 0 ? tailRunner(node.children.slice(tail).map(nodeRunner)) : null;
  const children = kids.map(nodeRunner);
  const nChildren = children.length;
  // Children that are a bare grok (no filter, whitelist or children of their own) fail with
  // no side effect when their grok cannot match, so the loop below asks the grok's cheap
  // test first and skips them without a call; one read of their input serves a run of them.
  const bare = kids.map((c) => (!c.filter && !c.whitelist && c.children.length === 0 && c.grok && c.grok.applyOn !== null ? c.grok : null));
  const bareGrok = bare.map((g) => g?.grok ?? null);
  const bareRaw = bare.map((g) => g?.applyOn === 'Line.Raw');
  const bareKey = bare.map((g) => (g && g.applyOn !== null && g.applyOn !== 'Line.Raw' ? internKey(g.applyOn) : ''));
  const bareSite = kids.map((c, i) => (bare[i] !== null ? grokSiteOf(c) : -1));
  const runAt = bareRuns(bareGrok, bareRaw, bareKey, children, bareSite);
  const own = compileStatics(node.statics);
  // A deferred node (deferred.ts) queues its statics; the worker runs them if the event is routed.
  const statics: typeof own = isDeferred(node) ? (_evt, env, rt) => deferStatics(own, env, rt) : own;
  const nextStage = node.nextStage;

  return (evt, ctx) => {
    if (filter !== null) {
      let ok: unknown;
      try {
        ok = filter(ctx.env, null);
      } catch {
        ctx.rt.counters.filterErrors++;
        return false;
      }
      if (ok !== true) return false;
    }

    let hasWhitelist = false;
    if (whitelist !== null) {
      const r = whitelist(evt, ctx);
      if (r < 0) return false;
      hasWhitelist = r > 0;
      if (r === 2) {
        evt.Whitelisted = true;
        evt.WhitelistReason = reason;
        if (evt.Type === EventType.OVFLW && evt.Overflow) evt.Overflow.Whitelisted = true;
      }
    }

    let state = true;
    let grokOK = false;
    if (grok !== null) {
      const r = grok(evt, ctx);
      if (r === 0) state = false;
      else {
        grokOK = true;
        if (r === 2) state = false;
      }
    }

    let inputKey: string | null = null;
    let input = '';
    for (let i = 0; i < nChildren; i++) {
      const run = runAt[i]!;
      if (run !== null) {
        // A run of bare children on one input: see runBare (kept out of this closure, which
        // every node shares, so that its optimised code stays small).
        const r = runBare(run, i, evt, ctx, grokOK, state, nextStage);
        state = (r & 1) !== 0;
        if ((r & 2) !== 0) break;
        inputKey = null;
        i = run.end - 1;
        continue;
      }
      const g = bareGrok[i]!;
      if (g !== null) {
        let text: string;
        if (bareRaw[i]) text = evt.Line.Raw;
        else if (bareKey[i] === inputKey) text = input;
        else {
          const v = evt.Parsed.get((inputKey = bareKey[i]!));
          text = input = v === undefined ? '' : v;
        }
        // The batch prefilter's answer for this child's literals, else the grok's own test.
        const pf = prefiltered(ctx.rt.hint, bareSite[i]!);
        if (pf === 0 || (pf === 1 ? !g.mayStart(text) : !g.mayMatch(text))) {
          // Exactly what running the child would give: it fails, nothing else happens.
          if (!grokOK) state = false;
          continue;
        }
      }
      inputKey = null; // the child runs and may change Parsed
      if (children[i]!(evt, ctx)) {
        state = true;
        if (nextStage) break;
      } else if (!grokOK) {
        state = false;
      }
    }

    if (tailRun !== null) {
      deferStatics(tailRun, ctx.env, ctx.rt);
      state = true;
    }
    if (!state) return false;
    if (!hasWhitelist || evt.Whitelisted) statics(evt, ctx.env, ctx.rt);
    if (nextStage) evt.Stage = nextStageOf(evt.Stage, ctx.stages);
    return true;
  };
}

/** Index of `text`'s first code unit in a BareRun table: 0-127 ASCII, 128 other, 129 empty. */
function startClass(text: string): number {
  if (text.length === 0) return 129;
  const c = text.charCodeAt(0);
  return c < 128 ? c : 128;
}
const START_SAMPLES = Array.from({ length: 130 }, (_, k) => (k < 128 ? String.fromCharCode(k) : k === 128 ? '\u0080' : ''));

/** Consecutive bare grok children on the same input, from `i` to `end` (exclusive). */
interface BareRun {
  end: number;
  /** Per start class: the children of the run (ascending) whose mayStart can pass. */
  table: readonly Int32Array[];
  /** The run's input: the raw line, or this Parsed key. */
  raw: boolean;
  key: string;
  /** Per child of the node (indexed like children): its runner, grok and site id. */
  runners: readonly NodeRunner[];
  groks: readonly (GrokStep['grok'] | null)[];
  sites: readonly number[];
}

/**
 * The children of a run whose first-character test the input passes, in order; the others
 * fail with no side effect, as in the node's plain loop. A child that ran and matched may have
 * rewritten the input, so the table is consulted again from the next child. Returns the
 * node's state after the run (bit 0) and whether a next_stage success ended the loop (bit 1).
 */
function runBare(run: BareRun, i: number, evt: PEvent, ctx: NodeContext, grokOK: boolean, state: boolean, nextStage: boolean): number {
  const end = run.end;
  let text = run.raw ? evt.Line.Raw : (evt.Parsed.get(run.key) ?? '');
  let from = i;
  let endOK = false;
  for (let redo = true; redo;) {
    redo = false;
    const list = run.table[startClass(text)]!;
    for (let q = 0; q < list.length; q++) {
      const c = list[q]!;
      if (c < from) continue;
      const pf = prefiltered(ctx.rt.hint, run.sites[c]!);
      if (pf === 0 || (pf < 0 && !run.groks[c]!.mayMatch(text))) {
        if (!grokOK) state = false;
        continue;
      }
      if (run.runners[c]!(evt, ctx)) {
        state = true;
        if (c === end - 1) endOK = true;
        if (nextStage) return 3;
        text = run.raw ? evt.Line.Raw : (evt.Parsed.get(run.key) ?? '');
        from = c + 1;
        redo = true;
        break;
      } else if (!grokOK) state = false;
    }
  }
  // Without a grok of its own, the node takes the last child's result: a skipped last child fails it.
  if (!grokOK && !endOK) state = false;
  return state ? 1 : 0;
}

/** Runs shorter than this are not worth a table: the plain loop asks each child. */
const MIN_RUN = 4;

/**
 * The bare runs of a node's children, at the index of their first child (null elsewhere).
 * mayStart depends only on the input's first code unit (or its emptiness), so one sample per
 * class gives exactly the children that could pass it.
 */
function bareRuns(
  groks: readonly (GrokStep['grok'] | null)[],
  raw: readonly boolean[],
  keys: readonly string[],
  runners: readonly NodeRunner[],
  sites: readonly number[],
): (BareRun | null)[] {
  const out: (BareRun | null)[] = groks.map(() => null);
  for (let i = 0; i < groks.length;) {
    if (groks[i] === null) { i++; continue; }
    let end = i + 1;
    while (end < groks.length && groks[end] !== null && raw[end] === raw[i] && keys[end] === keys[i]) end++;
    if (end - i >= MIN_RUN) {
      const table = START_SAMPLES.map((sample) => {
        const list: number[] = [];
        for (let c = i; c < end; c++) if (groks[c]!.mayStart(sample)) list.push(c);
        return Int32Array.from(list);
      });
      out[i] = { end, table, raw: raw[i]!, key: keys[i]!, runners, groks, sites };
    }
    i = end;
  }
  return out;
}

/**
 * A deferred tail of children as a statics runner (the deferral queue's entry): runs them in
 * order, results ignored (the node's result did not depend on them). Their context is one
 * reused object: one event is parsed at a time, and no next_stage child is deferred.
 */
function tailRunner(runs: readonly NodeRunner[]): (evt: PEvent, env: { evt: PEvent }, rt: ParseRuntime) => void {
  const ctx: NodeContext = { rt: undefined as unknown as ParseRuntime, stages: [], env: { evt: undefined as unknown as PEvent } };
  return (evt, env, rt) => {
    ctx.rt = rt;
    ctx.env = env;
    for (let k = 0; k < runs.length; k++) runs[k]!(evt, ctx);
  };
}

const runners = new WeakMap<ParserNode, NodeRunner>();
const bodies = new WeakMap<ParserNode, NodeRunner>();

/** The compiled form of a node (compiled once per node object; nodes are immutable). */
export function nodeRunner(node: ParserNode): NodeRunner {
  let r = runners.get(node);
  if (r === undefined) runners.set(node, (r = compileNode(node, true)));
  return r;
}

/**
 * The node from step 2 on: for a caller that has evaluated its filter (step 1) and found it
 * true (stages.ts shares one evaluation between the nodes of a stage whose filters read the
 * same field value).
 */
export function nodeBodyRunner(node: ParserNode): NodeRunner {
  if (!node.filter) return nodeRunner(node);
  let r = bodies.get(node);
  if (r === undefined) bodies.set(node, (r = compileNode(node, false)));
  return r;
}

/** Drops a node's compiled forms (its deferral changed: deferred.ts); the next use compiles it again. */
export function forgetCompiled(node: ParserNode): void {
  runners.delete(node);
  bodies.delete(node);
}

/** A node's filter as the runner evaluates it: 1 true, 0 false or non-bool, 2 error (counted by the caller). */
export function filterOutcome(node: ParserNode): (env: { evt: PEvent }) => 0 | 1 | 2 {
  const f = rawExpr(node.filter!);
  return (env) => {
    try {
      return f(env, null) === true ? 1 : 0;
    } catch {
      return 2;
    }
  };
}

/** Returns true when the node succeeded. Throws EventDropError when a static aborts the event. */
export function processNode(node: ParserNode, evt: PEvent, ctx: NodeContext): boolean {
  return nodeRunner(node)(evt, ctx);
}
