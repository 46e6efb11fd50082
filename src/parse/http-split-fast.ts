/**
 * The two request-target groks of rules/parsers/s02-enrich/http-logs.yaml without their
 * regexes (recognised at load time by translated regex and semantics, like syslog-fast.ts):
 *
 *   WEB_QUERY_SPLIT  ^([^?]*)\?(.*)$                       http_path, http_args
 *   WEB_FILE_SPLIT   ^(.*\/)(?:([^/]+?)(\.[^./]*|))?$       file_dir, file_frag, file_ext
 *
 * On a target without '\n' ('.' does not match it; a target cut from one log line has none)
 * both are forced: the query split is at the first '?'; the directory runs to the last '/'
 * (greedy, and the rest always matches after it), the lazy name stops at the first place
 * where the extension can reach the end: the last '.' of the rest when it is not its first
 * character, else the end (".htaccess" has no extension). Anything else returns false and
 * the regex runs. test/parse/http-split-fast.test.ts compares both with their regex.
 */
import { compileGrok, type Grok } from '../grok/compile.js';
import { PatternLibrary } from '../grok/library.js';
import type { AccessReader } from './access-fast.js';

/** The definitions these readers implement (rules/patterns/http; GREEDYDATA is a built-in). */
const DEFS: [string, string][] = [
  ['WEB_PATHPART', '[^?]*'],
  ['WEB_QUERY_SPLIT', '^%{WEB_PATHPART:http_path}\\?%{GREEDYDATA:http_args}$'],
  ['WEB_DIR', '.*/'],
  ['WEB_FILEFRAG', '[^/]+?'],
  ['WEB_EXT', '\\.[^./]*|'],
  ['WEB_FILE_SPLIT', '^%{WEB_DIR:file_dir}(?:%{WEB_FILEFRAG:file_frag}%{WEB_EXT:file_ext})?$'],
];

interface Known {
  sources: readonly string[];
  semantics: readonly string[];
  make: (semantics: readonly string[]) => AccessReader;
}

let known: Known[] | null = null;
function references(): Known[] {
  if (known === null) {
    const lib = PatternLibrary.withBuiltins();
    for (const [name, def] of DEFS) lib.add(name, def);
    const ref = (name: string, make: Known['make']): Known => {
      const byName = compileGrok(lib.get(name)!, lib);
      return { sources: [byName.regex.source, compileGrok(`%{${name}}`, lib).regex.source], semantics: byName.semantics, make };
    };
    known = [ref('WEB_QUERY_SPLIT', querySplit), ref('WEB_FILE_SPLIT', fileSplit)];
  }
  return known;
}

const readers = new WeakMap<Grok, AccessReader | null>();

/** The reader for `grok` when it is WEB_QUERY_SPLIT or WEB_FILE_SPLIT (same regex and semantics), else null. */
export function httpSplitReader(grok: Grok): AccessReader | null {
  let r = readers.get(grok);
  if (r === undefined) {
    r = null;
    for (const k of references()) {
      if (k.sources.includes(grok.regex.source) && grok.semantics.length === k.semantics.length &&
        grok.semantics.every((s, i) => s === k.semantics[i])) r = k.make(grok.semantics);
    }
    readers.set(grok, r);
  }
  return r;
}

/** Writes `vals` (in the reference's semantic order) under the grok's semantics, in its order. */
function writer(semantics: readonly string[], order: readonly string[]): (vals: readonly string[], out: Map<string, string>) => void {
  const at = Int32Array.from(semantics, (s) => order.indexOf(s));
  return (vals, out) => {
    for (let i = 0; i < at.length; i++) out.set(semantics[i]!, vals[at[i]!]!);
  };
}

function querySplit(semantics: readonly string[]): AccessReader {
  const write = writer(semantics, ['http_path', 'http_args']);
  const vals = ['', ''];
  return (s, out) => {
    const q = s.indexOf('?');
    if (q < 0 || s.indexOf('\n', q) >= 0) return false;
    vals[0] = s.slice(0, q);
    vals[1] = s.slice(q + 1);
    write(vals, out);
    return true;
  };
}

function fileSplit(semantics: readonly string[]): AccessReader {
  const write = writer(semantics, ['file_dir', 'file_frag', 'file_ext']);
  const vals = ['', '', ''];
  return (s, out) => {
    const slash = s.lastIndexOf('/');
    if (slash < 0 || s.indexOf('\n') >= 0) return false;
    const dot = s.lastIndexOf('.');
    vals[0] = s.slice(0, slash + 1);
    if (dot > slash + 1) {
      vals[1] = s.slice(slash + 1, dot);
      vals[2] = s.slice(dot);
    } else {
      vals[1] = s.slice(slash + 1);
      vals[2] = '';
    }
    write(vals, out);
    return true;
  };
}
