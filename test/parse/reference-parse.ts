/**
 * The simple twin of the compiled parser (src/parse/node.ts, statics.ts, stages.ts): the
 * stage loop, nodes and statics of spec §2.3–2.5 interpreted straight from the ParserNode
 * tree, one step after the other, with no compilation, caching or skipping. Every speed
 * measure of the real code (closures per node, bare-child skipping, numeric whitelist
 * ranges, direct map copies, matchInto) must give the same events as this.
 */
import { EventType, type PEvent } from '../../src/core/event.js';
import { parseIp, rangeContains } from '../../src/core/ip.js';
import { EventDropError } from '../../src/parse/statics.js';
import type { ParseOutcome } from '../../src/parse/stages.js';
import type { ParserNode, ParserSet, Static, Whitelist } from '../../src/parse/types.js';
import type { ParseRuntime } from '../../src/parse/runtime.js';

interface Ctx {
  rt: ParseRuntime;
  stages: readonly string[];
  env: { evt: PEvent };
}

function toStaticString(v: unknown, s: Static, rt: ParseRuntime): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v) || v instanceof Map || (typeof v === 'object' && v !== null && !(v instanceof Date))) {
    rt.warn(`${s.where}: expression returned a map/array, using ""`);
    return '';
  }
  throw new EventDropError(`${s.where}: unexpected return type for RunTimeValue: ${v === null ? 'nil' : typeof v}`);
}

function assignTarget(evt: PEvent, path: string, value: string, rt: ParseRuntime): void {
  const parts = (path.startsWith('evt.') ? path.slice(4) : path).split('.');
  let cur: unknown = evt;
  for (let i = 0; i < parts.length; i++) {
    const field = parts[i]!;
    if (cur instanceof Map) {
      cur.set(field, value);
      return;
    }
    if (typeof cur !== 'object' || cur === null) {
      rt.warn(`target ${path}: nil value on the path`);
      return;
    }
    const obj = cur as Record<string, unknown>;
    if (i === parts.length - 1) {
      if (!(field in obj)) rt.warn(`target ${path}: no field '${field}'`);
      else if (typeof obj[field] === 'string') obj[field] = value;
      else rt.warn(`target ${path}: field '${field}' is not a string`);
      return;
    }
    cur = obj[field];
  }
}

export function referenceStatics(statics: readonly Static[], evt: PEvent, env: { evt: PEvent }, rt: ParseRuntime): void {
  for (const s of statics) {
    let value: string;
    if (s.value !== null) value = s.value;
    else {
      let raw: unknown;
      try {
        raw = s.expr!.run(env);
      } catch (e) {
        rt.counters.staticErrors++;
        rt.warn(`${s.where}: ${(e as Error).message}`);
        continue;
      }
      value = toStaticString(raw, s, rt);
    }
    if (value === '' && !(s.kind === 'method' && s.key === 'ParseDate')) continue;
    switch (s.kind) {
      case 'meta': evt.Meta.set(s.key, value); break;
      case 'parsed': evt.Parsed.set(s.key, value); break;
      case 'enriched': evt.Enriched.set(s.key, value); break;
      case 'target': assignTarget(evt, s.key, value, rt); break;
      case 'method': {
        const fn = rt.enrichers.get(s.key);
        if (!fn) break;
        const out = fn(value, evt);
        if (out) for (const [k, v] of out) evt.Enriched.set(k, v);
        break;
      }
    }
  }
}

function checkWhitelist(wl: Whitelist, evt: PEvent, ctx: Ctx): { has: boolean; matched: boolean } | null {
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

export function referenceNode(node: ParserNode, evt: PEvent, ctx: Ctx): boolean {
  let state = true;
  if (node.filter) {
    let ok: unknown;
    try {
      ok = node.filter.run(ctx.env);
    } catch {
      ctx.rt.counters.filterErrors++;
      return false;
    }
    if (ok !== true) return false;
  }
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
      if (v === undefined) state = false;
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
      referenceStatics(g.statics, evt, ctx.env, ctx.rt);
      grokOK = true;
    } else {
      state = false;
    }
  }
  for (const child of node.children) {
    if (referenceNode(child, evt, ctx)) {
      state = true;
      if (node.nextStage) break;
    } else if (!grokOK) {
      state = false;
    }
  }
  if (!state) return false;
  if (!hasWhitelist || evt.Whitelisted) referenceStatics(node.statics, evt, ctx.env, ctx.rt);
  if (node.nextStage) {
    const i = ctx.stages.indexOf(evt.Stage);
    if (i >= 0 && i + 1 < ctx.stages.length) evt.Stage = ctx.stages[i + 1]!;
  }
  return true;
}

export function referenceParse(set: ParserSet, evt: PEvent, rt: ParseRuntime): ParseOutcome {
  const stages = set.stages;
  if (stages.length === 0) return 'unparsed';
  if (evt.Stage === '') evt.Stage = stages[0]!;
  evt.Process = false;
  if (evt.Time === null) evt.Time = rt.now();
  const ctx: Ctx = { rt, stages, env: { evt } };
  for (let si = 0; si < stages.length; si++) {
    const stage = stages[si]!;
    if (stages.indexOf(evt.Stage) > si) continue;
    if (evt.Stage !== stage) return 'unparsed';
    let stageOK = false;
    for (const node of set.byStage.get(stage) ?? []) {
      let ok: boolean;
      try {
        ok = referenceNode(node, evt, ctx);
      } catch (e) {
        if (e instanceof EventDropError) {
          rt.counters.dropped++;
          rt.warn(e.message);
          return 'dropped';
        }
        throw e;
      }
      if (ok) stageOK = true;
      if (ok && node.nextStage) break;
      if (evt.Stage !== stage) break;
    }
    if (!stageOK) return 'unparsed';
  }
  evt.Process = true;
  return 'parsed';
}
