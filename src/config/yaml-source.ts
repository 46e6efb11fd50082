/**
 * YAML → plain JS values that remember where they came from, so every load error can name
 * file:line:col. The `yaml` package gives node ranges; we convert the node tree ourselves and
 * record positions in WeakMaps keyed by the produced objects (no wrapper types leak out).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Node } from 'yaml';
import { LoadError, type Where } from '../core/errors.js';
import { yamlDiskCache } from './yaml-cache.js';

type YamlModule = typeof import('yaml');
let yamlModule: YamlModule | null = null;
/**
 * The `yaml` package, loaded on first use: a pool worker given its rules' documents
 * (preloadYamlDocs) never parses YAML, and skips loading its ~60 modules too.
 */
function yaml(): YamlModule {
  return (yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule);
}

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
  const pre = preloaded.get(file);
  if (pre !== undefined && pre.text === text) {
    // Used once: a second load of the file gets documents of its own, as a parse would.
    preloaded.delete(file);
    const docs = unpackDocs(pre);
    if (docs !== null) return docs;
  }
  const copy: { entry: CacheEntry | null } = { entry: null };
  const docs = cachedParse(text, file, copy);
  if (recording !== null) {
    if (copy.entry !== null) recording.set(file, { file, text, docs: copy.entry.docs, positions: copy.entry.positions, nodes: copy.entry.nodes });
    else recordDocs(recording, file, text, docs);
  }
  return docs;
}

/**
 * parseYamlText through the disk cache (yaml-cache.ts), when there is one. On a hit,
 * `copy.entry` is the entry as read: a packed copy of the documents no caller holds.
 */
function cachedParse(text: string, file: string, copy: { entry: CacheEntry | null }): YamlDoc[] {
  const cache = yamlDiskCache();
  if (cache === null) return parseYamlText(text, file);
  const key = cache.keyOf(text);
  const raw = cache.read(key);
  // Cloned: JSON.parse internalizes short strings, and rules compiled from those ran the nginx
  // lines ~5% slower (bench/lib/worker-ab.ts); a clone's strings are plain ones, as a parse's.
  const hit = raw === null ? null : cachedEntry(structuredClone(raw), key);
  if (hit !== null) {
    copy.entry = raw as CacheEntry;
    return hit;
  }
  const docs = parseYamlText(text, file);
  const packed = packDocs(file, text, docs);
  if (packed !== null && jsonExact(packed.docs)) {
    cache.write(key, { key, docs: packed.docs, positions: packed.positions, nodes: packed.nodes } satisfies CacheEntry);
  }
  return docs;
}

interface CacheEntry extends Pick<PackedYamlFile, 'docs' | 'positions' | 'nodes'> { key: string }

/** The documents of a cache entry read back, or null unless it is a well-formed entry for `key`. */
function cachedEntry(v: unknown, key: string): YamlDoc[] | null {
  if (typeof v !== 'object' || v === null) return null;
  const e = v as Partial<CacheEntry>;
  if (e.key !== key || !Array.isArray(e.docs) || !Array.isArray(e.positions) || !Number.isInteger(e.nodes)) return null;
  if (!e.positions.every((n) => Number.isInteger(n) && n >= 0)) return null;
  const posOk = (p: unknown): boolean => typeof p === 'object' && p !== null && Number.isInteger((p as Pos).line) && Number.isInteger((p as Pos).col);
  if (!e.docs.every((d) => typeof d === 'object' && d !== null && Number.isInteger(d.index) && posOk(d.pos) && 'value' in d)) return null;
  return unpackDocs(e as CacheEntry);
}

/** Whether values come back from JSON exactly as they are (strings, booleans, null, finite non-negative-zero numbers, arrays, plain objects). */
function jsonExact(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (Array.isArray(v)) return v.every(jsonExact);
  if (!isPlainObject(v)) return false;
  for (const k in v) if (!jsonExact(v[k])) return false;
  return true;
}

function parseYamlText(text: string, file: string): YamlDoc[] {
  const { LineCounter, parseAllDocuments } = yaml();
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
  const { isAlias, isScalar, isMap, isPair, isSeq } = yaml();
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

/**
 * The documents of one YAML file in a form that survives a structured clone (workerData):
 * the values as parsed, plus the positions this module keeps beside them (posOf, keyPosOf),
 * flattened in a pre-order walk of the values. `text` is the file's text when parsed: a
 * worker uses the documents only for exactly that text, so a file changed since reads as usual.
 */
export interface PackedYamlFile {
  file: string;
  text: string;
  docs: { index: number; value: unknown; pos: Pos }[];
  /** Per map or sequence, in pre-order: its line and column (0, 0: none); per map key after it, the key's. */
  positions: number[];
  /** Maps and sequences walked (checked on unpacking). */
  nodes: number;
}

/** Packs documents this module produced (see PackedYamlFile); null when they cannot be packed faithfully. */
export function packDocs(file: string, text: string, docs: readonly YamlDoc[]): PackedYamlFile | null {
  const positions: number[] = [];
  let nodes = 0;
  const push = (p: Pos | undefined): void => { positions.push(p?.line ?? 0, p?.col ?? 0); };
  const walk = (v: unknown): boolean => {
    if (Array.isArray(v)) {
      nodes++;
      push(objPos.get(v));
      return v.every(walk);
    }
    if (typeof v !== 'object' || v === null) return true;
    const kp = keyPos.get(v);
    // Scalars (a Date, bytes) are cloned as they are.
    if (kp === undefined) return !isPlainObject(v);
    // A map whose `__proto__` key set its prototype, or any key it does not own: not packable.
    if (!isPlainObject(v)) return false;
    const keys = Object.keys(v);
    for (const k of kp.keys()) if (!Object.hasOwn(v, k)) return false;
    nodes++;
    push(objPos.get(v));
    for (const k of keys) push(kp.get(k));
    return keys.every((k) => walk(v[k]));
  };
  if (!docs.every((d) => walk(d.value))) return null;
  return { file, text, docs: docs.map((d) => ({ index: d.index, value: d.value, pos: d.pos })), positions, nodes };
}

/** The documents of a packed file (cloned or not), with their positions known to posOf/keyPosOf again; null if the pack does not fit its values. */
export function unpackDocs(p: Pick<PackedYamlFile, 'docs' | 'positions' | 'nodes'>): YamlDoc[] | null {
  const pos = p.positions;
  let i = 0;
  let nodes = 0;
  const take = (): Pos | undefined => {
    const line = pos[i++]!;
    const col = pos[i++]!;
    return line === 0 && col === 0 ? undefined : { line, col };
  };
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      nodes++;
      const at = take();
      if (at) objPos.set(v, at);
      v.forEach(walk);
      return;
    }
    if (!isPlainObject(v)) return;
    nodes++;
    const at = take();
    if (at) objPos.set(v, at);
    const kp = new Map<string, Pos>();
    const keys = Object.keys(v);
    for (const k of keys) {
      const kat = take();
      if (kat) kp.set(k, kat);
    }
    keyPos.set(v, kp);
    keys.forEach((k) => walk(v[k]));
  };
  for (const d of p.docs) walk(d.value);
  if (nodes !== p.nodes || i !== pos.length) return null;
  return p.docs.map((d) => ({ index: d.index, value: d.value, pos: d.pos }));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/** Documents given to this isolate by the thread that parsed them, by file (preloadYamlDocs). */
const preloaded = new Map<string, PackedYamlFile>();

/**
 * Makes parseYamlDocs/readYamlDocs return these documents instead of parsing, once per file
 * and only for the same text (a pool worker, given its rules by the main thread).
 */
export function preloadYamlDocs(files: readonly PackedYamlFile[]): void {
  for (const f of files) preloaded.set(f.file, f);
}

/** Forgets the preloaded documents not used (the rules are loaded). */
export function dropPreloadedYamlDocs(): void {
  preloaded.clear();
}

let recording: Map<string, PackedYamlFile> | null = null;

function recordDocs(into: Map<string, PackedYamlFile>, file: string, text: string, docs: readonly YamlDoc[]): void {
  const packed = packDocs(file, text, docs);
  // A copy of the values: whatever the caller's compilers do with theirs, the copy stays as parsed.
  if (packed !== null) into.set(file, { ...packed, docs: packed.docs.map((d) => ({ ...d, value: structuredClone(d.value) })) });
}

/**
 * Keeps a packed copy of every document parsed from now on (the last parse of each file)
 * until takeRecordedDocs(): the main thread of a pooled replay parses rules the workers
 * then need not parse again.
 */
export function recordYamlDocs(): void {
  recording ??= new Map();
}

/** The documents recorded since recordYamlDocs() (by file), and recording stops. */
export function takeRecordedDocs(): Map<string, PackedYamlFile> {
  const out = recording ?? new Map<string, PackedYamlFile>();
  recording = null;
  return out;
}
