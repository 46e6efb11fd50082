/**
 * Collects every expression of the Debian hub snapshot (parsers, postoverflows, scenarios),
 * with the env it is evaluated in and where it comes from. Shared by the hub compile test.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface HubExpr {
  file: string;
  kind: string;
  path: string;
  source: string;
  env: string[];
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.yaml') || name.endsWith('.yml')) out.push(p);
  }
  return out;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function parserNode(node: Obj, file: string, path: string, out: HubExpr[]): void {
  const add = (kind: string, p: string, v: unknown) => {
    if (typeof v === 'string' && v.trim() !== '') out.push({ file, kind, path: p, source: v, env: ['evt'] });
  };
  add('filter', `${path}filter`, node.filter);
  if (isObj(node.grok)) {
    add('grok.expression', `${path}grok.expression`, node.grok.expression);
    // grok-level statics apply when the pattern matches.
    const gs = node.grok.statics;
    if (Array.isArray(gs)) {
      gs.forEach((s, i) => {
        if (isObj(s)) add('statics.expression', `${path}grok.statics[${i}].expression`, s.expression);
      });
    }
  }
  if (isObj(node.whitelist) && Array.isArray(node.whitelist.expression)) {
    node.whitelist.expression.forEach((e, i) => add('whitelist.expression', `${path}whitelist.expression[${i}]`, e));
  }
  for (const key of ['statics', 'stash'] as const) {
    const list = node[key];
    if (Array.isArray(list)) {
      list.forEach((s, i) => {
        if (isObj(s)) add(`${key}.expression`, `${path}${key}[${i}].expression`, s.expression);
      });
    }
  }
  if (Array.isArray(node.nodes)) {
    node.nodes.forEach((n, i) => { if (isObj(n)) parserNode(n, file, `${path}nodes[${i}].`, out); });
  }
}

function scenario(doc: Obj, file: string, path: string, out: HubExpr[]): void {
  const add = (kind: string, v: unknown, env = ['evt']) => {
    if (typeof v === 'string' && v.trim() !== '') out.push({ file, kind, path: `${path}${kind}`, source: v, env });
  };
  add('filter', doc.filter);
  add('groupby', doc.groupby);
  add('distinct', doc.distinct);
  add('cancel_on', doc.cancel_on);
  add('overflow_filter', doc.overflow_filter, ['queue', 'signal', 'leaky']);
  if (isObj(doc.scope)) add('scope.expression', doc.scope.expression);
}

export function hubExpressions(hub: string): { exprs: HubExpr[]; files: number } {
  const exprs: HubExpr[] = [];
  let files = 0;
  for (const area of ['parsers', 'postoverflows', 'scenarios']) {
    for (const f of walk(join(hub, area))) {
      files++;
      const rel = relative(hub, f);
      parseAllDocuments(readFileSync(f, 'utf8')).forEach((d, di) => {
        const doc: unknown = d.toJS();
        if (!isObj(doc)) return;
        const prefix = `doc[${di}].`;
        if (area === 'scenarios') scenario(doc, rel, prefix, exprs);
        else parserNode(doc, rel, prefix, exprs);
      });
    }
  }
  return { exprs, files };
}
