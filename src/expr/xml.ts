/**
 * A small, safe XML reader and the etree-style path subset that XMLGetNodeValue /
 * XMLGetAttributeValue need (Windows event XML in the hub). Safe: no DTD processing, no
 * external or custom entities, only the five predefined entities and numeric references,
 * iterative parsing with a depth limit. Malformed input throws XmlError; the helpers turn
 * that into "" as CrowdSec does.
 *
 * Paths (subset of github.com/beevik/etree): `/a/b` (absolute), `a/b` (relative to the
 * document), `//b` (any depth), `.`, `..`, `*`, and filters `[n]` (1-based, negative from the
 * end), `[@attr]`, `[@attr='v']`, `[tag]`, `[tag='v']`, `[text()]`, `[text()='v']`.
 */

export class XmlError extends Error {}

export interface XmlElement {
  /** Qualified name as written (`prefix:local` or `local`). */
  name: string;
  attrs: { name: string; value: string }[];
  /** Child elements and text in document order. */
  children: (XmlElement | string)[];
  parent: XmlElement | null;
}

const MAX_DEPTH = 256;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string, at: number): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(/&([^;&\s]*);?/g, (m, name: string) => {
    if (!m.endsWith(';')) throw new XmlError(`invalid entity near offset ${at}`);
    if (name in ENTITIES) return ENTITIES[name];
    let cp = NaN;
    if (/^#x[0-9a-fA-F]+$/.test(name)) cp = parseInt(name.slice(2), 16);
    else if (/^#[0-9]+$/.test(name)) cp = parseInt(name.slice(1), 10);
    if (!Number.isFinite(cp) || cp > 0x10ffff) throw new XmlError(`unknown entity &${name}; near offset ${at}`);
    return String.fromCodePoint(cp);
  });
}

const NAME_RE = /[A-Za-z_:\u00c0-\uffff][-A-Za-z0-9_:.\u00b7\u00c0-\uffff]*/y;

/** Parses a document; returns a synthetic root whose children are the top-level nodes. */
export function parseXml(src: string): XmlElement {
  const root: XmlElement = { name: '', attrs: [], children: [], parent: null };
  let cur = root;
  let depth = 0;
  let i = 0;
  const n = src.length;
  const readName = (): string => {
    NAME_RE.lastIndex = i;
    const m = NAME_RE.exec(src);
    if (!m) throw new XmlError(`expected a name at offset ${i}`);
    i += m[0].length;
    return m[0];
  };
  const skipWs = (): void => {
    while (i < n && (src[i] === ' ' || src[i] === '\t' || src[i] === '\n' || src[i] === '\r')) i++;
  };
  while (i < n) {
    const lt = src.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      const text = src.slice(i, textEnd);
      if (cur === root) {
        if (text.trim() !== '') throw new XmlError(`text outside the root element at offset ${i}`);
      } else {
        cur.children.push(decodeEntities(text, i));
      }
      i = textEnd;
      continue;
    }
    // src[i] === '<'
    if (src.startsWith('<!--', i)) {
      const end = src.indexOf('-->', i + 4);
      if (end < 0) throw new XmlError('unterminated comment');
      i = end + 3;
    } else if (src.startsWith('<![CDATA[', i)) {
      const end = src.indexOf(']]>', i + 9);
      if (end < 0) throw new XmlError('unterminated CDATA section');
      if (cur === root) throw new XmlError('CDATA outside the root element');
      cur.children.push(src.slice(i + 9, end));
      i = end + 3;
    } else if (src.startsWith('<?', i)) {
      const end = src.indexOf('?>', i + 2);
      if (end < 0) throw new XmlError('unterminated processing instruction');
      i = end + 2;
    } else if (src.startsWith('<!', i)) {
      // DOCTYPE and other declarations: skipped, never interpreted (no entity expansion).
      let d = 0;
      let j = i + 2;
      for (; j < n; j++) {
        if (src[j] === '[') d++;
        else if (src[j] === ']') d--;
        else if (src[j] === '>' && d <= 0) break;
      }
      if (j >= n) throw new XmlError('unterminated declaration');
      i = j + 1;
    } else if (src[i + 1] === '/') {
      i += 2;
      const name = readName();
      skipWs();
      if (src[i] !== '>') throw new XmlError(`expected '>' at offset ${i}`);
      i++;
      if (cur === root || cur.name !== name) {
        throw new XmlError(`element <${cur.name}> closed by </${name}>`);
      }
      cur = cur.parent!;
      depth--;
    } else {
      i++;
      const el: XmlElement = { name: readName(), attrs: [], children: [], parent: cur };
      for (;;) {
        const before = i;
        skipWs();
        if (src[i] === '/' && src[i + 1] === '>') { i += 2; cur.children.push(el); break; }
        if (src[i] === '>') {
          i++;
          cur.children.push(el);
          if (++depth > MAX_DEPTH) throw new XmlError('document nested too deeply');
          cur = el;
          break;
        }
        if (i >= n) throw new XmlError(`unterminated tag <${el.name}>`);
        if (i === before) throw new XmlError(`expected whitespace before attribute at offset ${i}`);
        const an = readName();
        skipWs();
        if (src[i] !== '=') throw new XmlError(`expected '=' after attribute ${an}`);
        i++;
        skipWs();
        const q = src[i];
        if (q !== '"' && q !== "'") throw new XmlError(`attribute ${an} value must be quoted`);
        const end = src.indexOf(q, i + 1);
        if (end < 0) throw new XmlError(`unterminated attribute ${an}`);
        el.attrs.push({ name: an, value: decodeEntities(src.slice(i + 1, end), i) });
        i = end + 1;
      }
    }
  }
  if (cur !== root) throw new XmlError(`element <${cur.name}> is not closed`);
  if (!root.children.some((c) => typeof c !== 'string')) throw new XmlError('no root element');
  return root;
}

/** etree's Element.Text(): the character data before the first child element. */
export function elementText(el: XmlElement): string {
  let s = '';
  for (const c of el.children) {
    if (typeof c !== 'string') break;
    s += c;
  }
  return s;
}

export function attrValue(el: XmlElement, name: string): string | undefined {
  return el.attrs.find((a) => a.name === name)?.value;
}

// ---- paths ----

type Filter =
  | { k: 'pos'; n: number }
  | { k: 'attr'; name: string; value?: string }
  | { k: 'child'; name: string; value?: string }
  | { k: 'text'; value?: string };

interface Step {
  /** `//` before this step: search all descendants (and self) of the current set. */
  descendant: boolean;
  sel: string; // tag, '*', '.', '..'
  filters: Filter[];
}

export interface XmlPath {
  absolute: boolean;
  steps: Step[];
}

export class XmlPathError extends Error {}

/** Compiles a path once; throws XmlPathError on syntax etree would reject. */
export function compileXmlPath(path: string): XmlPath {
  let p = path;
  const absolute = p.startsWith('/') && !p.startsWith('//');
  if (absolute) p = p.slice(1);
  // Split on '/' outside brackets and quotes; an empty segment marks `//`.
  const segs: string[] = [];
  let buf = '';
  let depth = 0;
  let quote = '';
  for (const c of p) {
    if (quote) { if (c === quote) quote = ''; buf += c; continue; }
    if (c === "'" || c === '"') { quote = c; buf += c; continue; }
    if (c === '[') depth++;
    if (c === ']') depth--;
    if (c === '/' && depth === 0) { segs.push(buf); buf = ''; continue; }
    buf += c;
  }
  if (quote || depth !== 0) throw new XmlPathError(`unbalanced brackets or quotes in path ${JSON.stringify(path)}`);
  segs.push(buf);
  const steps: Step[] = [];
  let descendant = false;
  for (let idx = 0; idx < segs.length; idx++) {
    const s = segs[idx];
    if (s === '') {
      if (idx === segs.length - 1) break; // trailing '/'
      descendant = true;
      continue;
    }
    const m = /^([^[]*)(.*)$/.exec(s)!;
    const sel = m[1];
    if (sel === '') throw new XmlPathError(`missing element name in path ${JSON.stringify(path)}`);
    const filters: Filter[] = [];
    const re = /\[([^\]]*)\]/gy;
    let rest = m[2];
    let fm: RegExpExecArray | null;
    let consumed = 0;
    while ((fm = re.exec(rest)) !== null) {
      consumed = re.lastIndex;
      filters.push(parseFilter(fm[1].trim(), path));
    }
    rest = rest.slice(consumed);
    if (rest !== '') throw new XmlPathError(`invalid filter ${JSON.stringify(rest)} in path ${JSON.stringify(path)}`);
    steps.push({ descendant, sel, filters });
    descendant = false;
  }
  return { absolute, steps };
}

function unquote(v: string, path: string): string {
  const m = /^'([^']*)'$|^"([^"]*)"$/.exec(v.trim());
  if (!m) throw new XmlPathError(`expected a quoted value in path ${JSON.stringify(path)}`);
  return m[1] ?? m[2];
}

function parseFilter(f: string, path: string): Filter {
  if (/^-?\d+$/.test(f)) {
    const n = Number(f);
    if (n === 0) throw new XmlPathError(`position 0 is invalid in path ${JSON.stringify(path)}`);
    return { k: 'pos', n };
  }
  const eq = f.indexOf('=');
  const lhs = (eq < 0 ? f : f.slice(0, eq)).trim();
  const value = eq < 0 ? undefined : unquote(f.slice(eq + 1), path);
  if (lhs === 'text()') return { k: 'text', value };
  if (lhs.startsWith('@')) return { k: 'attr', name: lhs.slice(1), value };
  if (/^[A-Za-z_][-\w:.]*$/.test(lhs)) return { k: 'child', name: lhs, value };
  throw new XmlPathError(`unsupported filter [${f}] in path ${JSON.stringify(path)}`);
}

function childElements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string');
}

function descendantsOrSelf(el: XmlElement, out: XmlElement[]): void {
  out.push(el);
  for (const c of childElements(el)) descendantsOrSelf(c, out);
}

function applyFilter(set: XmlElement[], f: Filter): XmlElement[] {
  switch (f.k) {
    case 'pos': {
      const i = f.n > 0 ? f.n - 1 : set.length + f.n;
      return i >= 0 && i < set.length ? [set[i]] : [];
    }
    case 'attr':
      return set.filter((e) => {
        const v = attrValue(e, f.name);
        return v !== undefined && (f.value === undefined || v === f.value);
      });
    case 'child':
      return set.filter((e) => childElements(e).some((c) => c.name === f.name && (f.value === undefined || elementText(c) === f.value)));
    case 'text':
      return set.filter((e) => (f.value === undefined ? elementText(e) !== '' : elementText(e) === f.value));
  }
}

/** All elements selected by the path, in document order (etree FindElements). */
export function findElements(doc: XmlElement, path: XmlPath): XmlElement[] {
  let set: XmlElement[] = [doc];
  for (const step of path.steps) {
    let ctx = set;
    if (step.descendant) {
      const all: XmlElement[] = [];
      for (const e of set) descendantsOrSelf(e, all);
      ctx = all;
    }
    const next: XmlElement[] = [];
    const seen = new Set<XmlElement>();
    for (const e of ctx) {
      // Filters such as [1] apply per parent, as in etree.
      let cand: XmlElement[];
      if (step.sel === '.') cand = [e];
      else if (step.sel === '..') cand = e.parent ? [e.parent] : [];
      else cand = childElements(e).filter((c) => step.sel === '*' || c.name === step.sel);
      for (const f of step.filters) cand = applyFilter(cand, f);
      for (const c of cand) if (!seen.has(c)) { seen.add(c); next.push(c); }
    }
    set = next;
  }
  // The synthetic document node itself is never a result.
  return set.filter((e) => e !== doc);
}
