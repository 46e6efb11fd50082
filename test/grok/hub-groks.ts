/**
 * Collects every grok a hub's parsers use, in CrowdSec's load order: parser files sorted by
 * full path, each YAML document a node; per node its `pattern_syntax` joins the shared
 * library first, then its grok (inline `pattern`, or `name` of a library pattern), then its
 * children. Shared by the grok compatibility and literal tests.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { PatternLibrary } from '../../src/grok/library.js';
import { yamlFiles } from '../support/yaml-files.js';

export interface HubGrok {
  file: string;
  /** Node path inside the file, e.g. `doc0.nodes[2]`. */
  where: string;
  /** The inline pattern, or the definition of `name`. */
  text: string;
  /** Set for `grok.name` references. */
  name?: string;
}


type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Walks the parsers of `hubDir`, adding pattern_syntax to `lib`; returns the groks in order. */
export function collectHubGroks(hubDir: string, lib: PatternLibrary): HubGrok[] {
  const out: HubGrok[] = [];
  const root = join(hubDir, 'parsers');
  for (const file of yamlFiles(root).sort()) {
    const rel = relative(hubDir, file);
    const docs = parseAllDocuments(readFileSync(file, 'utf8'), { uniqueKeys: false });
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, di) => {
      const visit = (node: unknown, where: string): void => {
        if (!isObj(node)) return;
        if (isObj(node.pattern_syntax)) {
          for (const [k, v] of Object.entries(node.pattern_syntax)) lib.add(k, String(v));
        }
        if (isObj(node.grok)) {
          const g = node.grok;
          if (typeof g.pattern === 'string' && g.pattern !== '') out.push({ file: rel, where, text: g.pattern });
          else if (typeof g.name === 'string') {
            out.push({ file: rel, where, text: lib.get(g.name) ?? `%{${g.name}}`, name: g.name });
          }
        }
        if (Array.isArray(node.nodes)) node.nodes.forEach((c, i) => visit(c, `${where}.nodes[${i}]`));
      };
      visit(doc.toJS(), `doc${di}`);
    });
  }
  return out;
}
