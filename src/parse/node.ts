/**
 * One parser node applied to one event: spec §2.3, step by step, quirks included
 * ("last child wins" for `continue` skeleton nodes, grok input "" when apply_on names a
 * missing Parsed key, relative `next_stage` promotion).
 */
import { EventType, type PEvent } from '../core/event.js';
import { parseIp, rangeContains } from '../core/ip.js';
import type { ParserNode, Whitelist } from './types.js';
import type { ParseRuntime } from './runtime.js';
import { applyStatics } from './statics.js';

export interface NodeContext {
  rt: ParseRuntime;
  /** Ordered stage names, for relative promotion. */
  stages: readonly string[];
  env: { evt: PEvent };
}

function runFilter(node: ParserNode, ctx: NodeContext): boolean {
  if (!node.filter) return true;
  try {
    return node.filter.run(ctx.env) === true;
  } catch {
    ctx.rt.counters.filterErrors++;
    return false;
  }
}

/** Steps 2–3. Returns {has, matched} or null when an expression failed (node fails). */
function checkWhitelist(wl: Whitelist, evt: PEvent, ctx: NodeContext): { has: boolean; matched: boolean } | null {
  let has = false;
  let matched = false;
  if (wl.ips.length > 0 || wl.cidrs.length > 0) {
    const candidates: string[] = [];
    if (evt.Type === EventType.LOG) {
      const ip = evt.Meta.get('source_ip');
      if (ip) candidates.push(ip);
    } else if (evt.Overflow) {
      candidates.push(...evt.Overflow.Sources.keys());
    }
    for (const c of candidates) {
      const ip = parseIp(c);
      if (!ip) continue;
      has = true;
      if (wl.ips.some((r) => r.start === ip.value) || wl.cidrs.some((r) => rangeContains(r, ip.value))) matched = true;
    }
  }
  for (const e of wl.exprs) {
    has = true;
    let r: unknown;
    try {
      r = e.run(ctx.env);
    } catch {
      ctx.rt.counters.whitelistErrors++;
      return null;
    }
    if (r === true) matched = true;
  }
  return { has, matched };
}

function nextStageOf(current: string, stages: readonly string[]): string {
  const i = stages.indexOf(current);
  return i >= 0 && i + 1 < stages.length ? stages[i + 1]! : current;
}

/** Returns true when the node succeeded. Throws EventDropError when a static aborts the event. */
export function processNode(node: ParserNode, evt: PEvent, ctx: NodeContext): boolean {
  let state = true;
  if (!runFilter(node, ctx)) return false;

  let hasWhitelist = false;
  if (node.whitelist) {
    const r = checkWhitelist(node.whitelist, evt, ctx);
    if (r === null) return false;
    hasWhitelist = r.has;
    if (r.matched) {
      evt.Whitelisted = true;
      evt.WhitelistReason = node.whitelist.reason;
      if (evt.Type === EventType.OVFLW && evt.Overflow) evt.Overflow.Whitelisted = true;
    }
  }

  let grokOK = false;
  if (node.grok) {
    const g = node.grok;
    let input = '';
    if (g.applyOn === 'Line.Raw') input = evt.Line.Raw;
    else if (g.applyOn !== null) {
      const v = evt.Parsed.get(g.applyOn);
      if (v === undefined) state = false; // the grok still runs, on ""
      else input = v;
    } else if (g.expression) {
      try {
        const v = g.expression.run(ctx.env);
        input = typeof v === 'string' ? v : '';
      } catch {
        ctx.rt.counters.filterErrors++;
      }
    }
    const caps = g.grok.match(input);
    if (caps !== null && caps.size > 0) {
      for (const [k, v] of caps) evt.Parsed.set(k, v);
      applyStatics(g.statics, evt, ctx.env, ctx.rt);
      grokOK = true;
    } else {
      state = false;
    }
  }

  for (const child of node.children) {
    if (processNode(child, evt, ctx)) {
      state = true;
      if (node.nextStage) break;
    } else if (!grokOK) {
      state = false;
    }
  }

  if (!state) return false;
  if (!hasWhitelist || evt.Whitelisted) applyStatics(node.statics, evt, ctx.env, ctx.rt);
  if (node.nextStage) evt.Stage = nextStageOf(evt.Stage, ctx.stages);
  return true;
}
