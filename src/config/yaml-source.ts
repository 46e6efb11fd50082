/**
 * YAML → plain JS values that remember where they came from, so every load error can name
 * file:line:col. The `yaml` package gives node ranges; we convert the node tree ourselves and
 * record positions in WeakMaps keyed by the produced objects (no wrapper types leak out).
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseAllDocuments, isMap, isSeq, isScalar, isAlias, isPair, type Node } from 'yaml';
import { LoadError, type Where } from '../core/errors.js';

export interface Pos { line: number; col: number }

const objPos = new WeakMap<object, Pos>();
const keyPos = new WeakMap<object, Map<string, Pos>>();

export interface YamlDoc {
  /** 0-based index of the document in the stream. */
  index: number;
  value: unknown;
  pos: Pos;
}

/** Position of a map/sequence produced by this module, if known. */
export function posOf(obj: unknown): Pos | undefined {
  return typeof obj === 'object' && obj !== null ? objPos.get(obj) : undefined;
}

/** Position of `key` inside a map produced by this module (falls back to the map's position). */
export function keyPosOf(obj: unknown, key: string): Pos | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  return keyPos.get(obj)?.get(key) ?? objPos.get(obj);
}

export function whereAt(file: string, pos: Pos | undefined, extra: Where = {}): Where {
  return { file, ...(pos ? { line: pos.line, col: pos.col } : {}), ...extra };
}

/** Parses a multi-document YAML text. Syntax errors become LoadError('YAML_SYNTAX') with position. */
export function parseYamlDocs(text: string, file: string): YamlDoc[] {
  const lc = new LineCounter();
  let docs;
  try {
    docs = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: false, prettyErrors: false });
  } catch (e) {
    throw new LoadError('YAML_SYNTAX', (e as Error).message, { file });
  }
  const list = Array.isArray(docs) ? docs : [docs];
  const out: YamlDoc[] = [];
  const at = (offset: number): Pos => {
    const p = lc.linePos(offset);
    return { line: p.line, col: p.col };
  };
  list.forEach((doc, index) => {
    const err = doc.errors[0];
    if (err) {
      const p = at(err.pos[0]);
      throw new LoadError('YAML_SYNTAX', err.message.split('\n')[0] ?? 'invalid YAML', { file, line: p.line, col: p.col, path: `document ${index + 1}` });
    }
    const contents = doc.contents as Node | null;
    const pos = contents?.range ? at(contents.range[0]) : { line: 1, col: 1 };
    out.push({ index, value: contents ? convert(contents, at, doc) : null, pos });
  });
  return out;
}

export function readYamlDocs(path: string): YamlDoc[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new LoadError('IO', (e as Error).message, { file: path });
  }
  return parseYamlDocs(text, path);
}

function convert(node: unknown, at: (o: number) => Pos, doc: { toJS?: unknown }): unknown {
  if (isAlias(node)) {
    const target = node.resolve(doc as never);
    return target ? convert(target, at, doc) : null;
  }
  if (isScalar(node)) return node.value;
  if (isMap(node)) {
    const obj: Record<string, unknown> = {};
    const kp = new Map<string, Pos>();
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const k = item.key as Node | null;
      const keyText = k === null ? '' : isScalar(k) ? String(k.value) : String(k);
      if (k && k.range) kp.set(keyText, at(k.range[0]));
      obj[keyText] = item.value === null ? null : convert(item.value, at, doc);
    }
    if (node.range) objPos.set(obj, at(node.range[0]));
    keyPos.set(obj, kp);
    return obj;
  }
  if (isSeq(node)) {
    const arr = node.items.map((n) => convert(n, at, doc));
    if (node.range) objPos.set(arr, at(node.range[0]));
    return arr;
  }
  return null;
}
