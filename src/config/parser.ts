/**
 * Parser YAML (hub format, spec §2.1–2.2) → compiled ParserNode trees. Decoding is strict, as
 * in CrowdSec: an unknown key is a load error naming file:line:col. Expressions and grok
 * patterns are compiled here, once.
 */
import { compileExpr, type HelperContext } from '../expr/index.js';
import { compileGrok } from '../grok/compile.js';
import type { PatternLibrary } from '../grok/library.js';
import { LoadError, type Where } from '../core/errors.js';
import { parseIpOrCidr, parseCidr, type IpRange } from '../core/ip.js';
import { keyPosOf, posOf, whereAt, type YamlDoc } from './yaml-source.js';
import type { DataFiles, DataEntry } from './data-files.js';
import type { GrokStep, ParserNode, Static, Whitelist } from '../parse/types.js';

const NODE_KEYS = new Set([
  'name', 'description', 'author', 'references', 'format', 'debug', 'profiling', 'filter',
  'onsuccess', 'pattern_syntax', 'grok', 'nodes', 'statics', 'whitelist', 'data',
]);
const GROK_KEYS = new Set(['pattern', 'name', 'apply_on', 'expression', 'statics']);
const STATIC_KEYS = new Set(['meta', 'parsed', 'enriched', 'target', 'method', 'value', 'expression']);
const WHITELIST_KEYS = new Set(['reason', 'ip', 'cidr', 'expression']);
const DATA_KEYS = new Set(['source_url', 'dest_file', 'type']);

export interface ParserLoadContext {
  patterns: PatternLibrary;
  data: DataFiles;
  helpers: HelperContext;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class NodeCompiler {
  constructor(private readonly file: string, private readonly stage: string, private readonly ctx: ParserLoadContext) {}

  private where(obj: unknown, item: string | undefined, path: string, key?: string): Where {
    const pos = key ? keyPosOf(obj, key) : posOf(obj);
    return whereAt(this.file, pos, { item, path });
  }

  private checkKeys(obj: Obj, allowed: Set<string>, item: string | undefined, path: string): void {
    for (const k of Object.keys(obj)) {
      if (!allowed.has(k)) {
        const hint = k === 'stash' ? ' (stash is a CrowdSec 1.5+ key, not supported)' : '';
        throw new LoadError('UNKNOWN_KEY', `unknown key '${k}' in ${path || 'node'}${hint}`, this.where(obj, item, path, k));
      }
    }
  }

  private str(obj: Obj, key: string, item: string | undefined, path: string): string | null {
    const v = obj[key];
    if (v === undefined || v === null) return null;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw new LoadError('SCHEMA', `'${key}' must be a string`, this.where(obj, item, path, key));
  }

  private expr(obj: Obj, key: string, item: string | undefined, path: string) {
    const src = this.str(obj, key, item, path);
    if (src === null) return null;
    return compileExpr(src, { env: ['evt'], helpers: this.ctx.helpers, where: this.where(obj, item, `${path}${path ? '.' : ''}${key}`, key) });
  }

  compile(raw: Obj, item: string | undefined, path: string, isChild: boolean): ParserNode {
    this.checkKeys(raw, NODE_KEYS, item, path);
    const name = this.str(raw, 'name', item, path) ?? (isChild ? `child-${item ?? ''}` : '');
    const ownItem = isChild ? item : name || item;

    // pattern_syntax joins the shared library before this node's grok compiles (first definition wins).
    const ps = raw.pattern_syntax;
    if (ps !== undefined && ps !== null) {
      if (!isObj(ps)) throw new LoadError('SCHEMA', `'pattern_syntax' must be a map`, this.where(raw, ownItem, path, 'pattern_syntax'));
      for (const [k, v] of Object.entries(ps)) this.ctx.patterns.add(k, String(v));
    }
    const data = raw.data;
    if (data !== undefined && data !== null) {
      if (!Array.isArray(data)) throw new LoadError('SCHEMA', `'data' must be a list`, this.where(raw, ownItem, path, 'data'));
      data.forEach((d, i) => {
        if (!isObj(d)) throw new LoadError('SCHEMA', `data[${i}] must be a map`, this.where(raw, ownItem, path, 'data'));
        this.checkKeys(d, DATA_KEYS, ownItem, `${path}data[${i}]`);
        this.ctx.data.load(d as DataEntry, this.where(d, ownItem, `data[${i}]`));
      });
    }

    const onsuccess = this.str(raw, 'onsuccess', ownItem, path) ?? '';
    if (!['', 'continue', 'next_stage'].includes(onsuccess)) {
      throw new LoadError('SCHEMA', `onsuccess must be 'continue' or 'next_stage', got '${onsuccess}'`, this.where(raw, ownItem, path, 'onsuccess'));
    }
    const filter = this.expr(raw, 'filter', ownItem, path);

    let grok: GrokStep | null = null;
    if (raw.grok !== undefined && raw.grok !== null) grok = this.compileGrokStep(raw, ownItem, path);

    const children: ParserNode[] = [];
    if (raw.nodes !== undefined && raw.nodes !== null) {
      if (!Array.isArray(raw.nodes)) throw new LoadError('SCHEMA', `'nodes' must be a list`, this.where(raw, ownItem, path, 'nodes'));
      raw.nodes.forEach((c, i) => {
        if (!isObj(c)) throw new LoadError('SCHEMA', `nodes[${i}] must be a map`, this.where(raw, ownItem, path, 'nodes'));
        children.push(this.compile(c, name || ownItem, `${path}nodes[${i}].`, true));
      });
    }
    const statics = this.compileStatics(raw, 'statics', ownItem, path);
    const whitelist = raw.whitelist !== undefined && raw.whitelist !== null ? this.compileWhitelist(raw, ownItem, path) : null;

    if (!grok && children.length === 0 && statics.length === 0 && !whitelist) {
      throw new LoadError('SCHEMA', 'node has none of grok, nodes, statics or whitelist', this.where(raw, ownItem, path));
    }
    return Object.freeze({
      name: isChild ? (this.str(raw, 'name', item, path) ?? `child-${item ?? ''}`) : name,
      stage: this.stage,
      file: this.file,
      nextStage: onsuccess === 'next_stage',
      filter,
      grok,
      children: Object.freeze(children),
      statics,
      whitelist,
      debug: raw.debug === true,
    });
  }

  private compileGrokStep(raw: Obj, item: string | undefined, path: string): GrokStep {
    const g = raw.grok;
    const gpath = `${path}grok`;
    if (!isObj(g)) throw new LoadError('SCHEMA', `'grok' must be a map`, this.where(raw, item, path, 'grok'));
    this.checkKeys(g, GROK_KEYS, item, gpath);
    const pattern = this.str(g, 'pattern', item, gpath);
    const pname = this.str(g, 'name', item, gpath);
    if (pattern === null && pname === null) throw new LoadError('SCHEMA', 'grok needs pattern or name', this.where(g, item, gpath));
    const applyOn = this.str(g, 'apply_on', item, gpath);
    const expression = this.expr(g, 'expression', item, gpath);
    if (applyOn === null && expression === null) throw new LoadError('SCHEMA', 'grok needs apply_on or expression', this.where(g, item, gpath));
    let text: string;
    if (pattern !== null) text = pattern;
    else {
      const def = this.ctx.patterns.get(pname!);
      if (def === undefined) throw new LoadError('GROK_UNKNOWN_PATTERN', `grok name '${pname}' is not a known pattern`, this.where(g, item, gpath, 'name'));
      text = def;
    }
    let grok;
    try {
      grok = compileGrok(text, this.ctx.patterns);
    } catch (e) {
      if (e instanceof LoadError) throw e.withWhere(this.where(g, item, gpath, pattern !== null ? 'pattern' : 'name'));
      throw e;
    }
    return Object.freeze({ grok, applyOn, expression, statics: this.compileStatics(g, 'statics', item, gpath) });
  }

  private compileStatics(obj: Obj, key: string, item: string | undefined, path: string): readonly Static[] {
    const list = obj[key];
    if (list === undefined || list === null) return Object.freeze([]);
    if (!Array.isArray(list)) throw new LoadError('SCHEMA', `'${key}' must be a list`, this.where(obj, item, path, key));
    return Object.freeze(list.map((s, i): Static => {
      const spath = `${path}${path && !path.endsWith('.') ? '.' : ''}${key}[${i}]`;
      if (!isObj(s)) throw new LoadError('SCHEMA', `${spath} must be a map`, this.where(obj, item, path, key));
      this.checkKeys(s, STATIC_KEYS, item, spath);
      const value = this.str(s, 'value', item, spath);
      const expr = this.expr(s, 'expression', item, spath);
      const method = this.str(s, 'method', item, spath);
      let kind: Static['kind'] | null = null;
      let target = '';
      for (const k of ['meta', 'parsed', 'enriched', 'target'] as const) {
        const t = this.str(s, k, item, spath);
        if (t !== null) { kind = k; target = t; break; }
      }
      if (method !== null) {
        if (!expr) throw new LoadError('SCHEMA', `${spath}: method needs an expression`, this.where(s, item, spath));
        return { kind: 'method', key: method, value: null, expr, where: `${this.file} ${spath}` };
      }
      if (!kind) throw new LoadError('SCHEMA', `${spath}: static needs a target (meta, parsed, enriched or target)`, this.where(s, item, spath));
      if (value === null && !expr) throw new LoadError('SCHEMA', `${spath}: static needs value or expression`, this.where(s, item, spath));
      return { kind, key: target, value, expr, where: `${this.file} ${spath}` };
    }));
  }

  private compileWhitelist(raw: Obj, item: string | undefined, path: string): Whitelist {
    const w = raw.whitelist;
    const wpath = `${path}whitelist`;
    if (!isObj(w)) throw new LoadError('SCHEMA', `'whitelist' must be a map`, this.where(raw, item, path, 'whitelist'));
    this.checkKeys(w, WHITELIST_KEYS, item, wpath);
    const list = (k: string): string[] => {
      const v = w[k];
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v)) throw new LoadError('SCHEMA', `whitelist.${k} must be a list`, this.where(w, item, wpath, k));
      return v.map(String);
    };
    const ips: IpRange[] = list('ip').map((s) => {
      const r = parseIpOrCidr(s);
      if (!r || s.includes('/')) throw new LoadError('SCHEMA', `whitelist.ip: invalid IP '${s}'`, this.where(w, item, wpath, 'ip'));
      return r;
    });
    const cidrs: IpRange[] = list('cidr').map((s) => {
      const r = parseCidr(s);
      if (!r) throw new LoadError('SCHEMA', `whitelist.cidr: invalid CIDR '${s}'`, this.where(w, item, wpath, 'cidr'));
      return r;
    });
    const exprs = list('expression').map((src, i) =>
      compileExpr(src, { env: ['evt'], helpers: this.ctx.helpers, where: this.where(w, item, `${wpath}.expression[${i}]`, 'expression') }));
    return Object.freeze({ reason: this.str(w, 'reason', item, wpath) ?? '', ips, cidrs, exprs });
  }
}

export interface LoadedParserDoc {
  node: ParserNode;
  docIndex: number;
}

/**
 * Compiles the documents of one parser file. Documents without name, description and author
 * are skipped (spec §2.1); `format` must be within [1.0, 2.0].
 */
export function compileParserDocs(docs: YamlDoc[], file: string, stage: string, ctx: ParserLoadContext): LoadedParserDoc[] {
  const out: LoadedParserDoc[] = [];
  const compiler = new NodeCompiler(file, stage, ctx);
  for (const doc of docs) {
    const raw = doc.value;
    if (raw === null || raw === undefined) continue;
    if (!isObj(raw)) throw new LoadError('SCHEMA', 'a parser document must be a map', { file, line: doc.pos.line, col: doc.pos.col });
    if (raw.name === undefined && raw.description === undefined && raw.author === undefined) continue;
    const name = typeof raw.name === 'string' ? raw.name : undefined;
    if (raw.format !== undefined && raw.format !== null) {
      const f = Number(raw.format);
      if (!(f >= 1.0 && f <= 2.0)) {
        throw new LoadError('SCHEMA', `format ${String(raw.format)} is not within >=1.0,<=2.0`, whereAt(file, keyPosOf(raw, 'format'), { item: name }));
      }
    }
    out.push({ node: compiler.compile(raw, name, '', false), docIndex: doc.index });
  }
  return out;
}
