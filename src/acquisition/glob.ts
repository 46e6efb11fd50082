/**
 * Glob expansion for acquis.yaml `filename(s)`, with Go `filepath.Glob` semantics: `*`, `?`
 * and `[...]` match inside one path segment (a leading dot included), no `**`, no braces.
 * Node 20 has no fs.glob, and a dependency is not worth three wildcards.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';

export function hasMagic(p: string): boolean {
  return /[*?[]/.test(p);
}

/** Compiles one path segment to an anchored RegExp; throws on an unterminated class. */
export function segmentRegExp(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) throw new Error(`unterminated '[' in glob segment '${seg}'`);
      let body = seg.slice(i + 1, end);
      if (body.startsWith('^') || body.startsWith('!')) body = '^' + body.slice(1);
      re += '[' + body.replace(/\\/g, '\\\\') + ']';
      i = end;
    } else if (c === '\\' && i + 1 < seg.length) {
      re += seg[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Paths of the existing entries matching `pattern` (sorted, as Go returns them). A pattern
 * without wildcards yields itself when it exists. Unreadable directories match nothing.
 */
export function expandGlob(pattern: string): string[] {
  if (!hasMagic(pattern)) return exists(pattern) ? [pattern] : [];
  const absolute = pattern.startsWith(sep);
  const segs = pattern.split(sep).filter((s, i) => s !== '' || i === 0);
  let current = [absolute ? sep : '.'];
  for (const seg of segs) {
    if (seg === '') continue;
    const next: string[] = [];
    if (!hasMagic(seg)) {
      for (const dir of current) next.push(join(dir, seg));
    } else {
      const re = segmentRegExp(seg);
      for (const dir of current) {
        let names: string[];
        try {
          names = readdirSync(dir);
        } catch {
          continue;
        }
        for (const n of names.sort()) if (re.test(n)) next.push(join(dir, n));
      }
    }
    current = next;
    if (current.length === 0) return [];
  }
  return current.filter(exists);
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}
