/**
 * Tokenizer for the expr language (antonmedv/expr v1.9 as CrowdSec 1.4.6 uses it). Word
 * operators (`and`, `in`, `matches`, ...) come out as `op` tokens so the parser sees one kind
 * of operator; `not in` is joined by the parser, not here, because `not` is also unary.
 */

export type TokenKind = 'num' | 'str' | 'ident' | 'op' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Operator / punctuation / identifier text; decoded value for strings. */
  text: string;
  /** For numbers: the value and whether the literal was written as a float. */
  num?: number;
  isFloat?: boolean;
  /** Offset of the first character in the source. */
  pos: number;
}

export class LexError extends Error {
  constructor(message: string, readonly pos: number) {
    super(message);
  }
}

const WORD_OPS = new Set(['and', 'or', 'not', 'in', 'matches', 'contains', 'startsWith', 'endsWith']);
// Longest first so `**` wins over `*`, `..` over `.`.
const SYMBOL_OPS = ['**', '..', '==', '!=', '<=', '>=', '&&', '||', '<', '>', '+', '-', '*', '/', '%', '!', '?', ':', '.'];
const PUNCT = new Set(['(', ')', '[', ']', '{', '}', ',', '#']);

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c === '$' || c > '\x7f';
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    const start = i;
    if (isDigit(c) || (c === '.' && isDigit(src[i + 1] ?? ''))) {
      i = lexNumber(src, i, out);
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      const [value, end] = lexString(src, i);
      out.push({ kind: 'str', text: value, pos: start });
      i = end;
      continue;
    }
    if (isIdentStart(c)) {
      while (i < n && (isIdentStart(src[i]) || isDigit(src[i]))) i++;
      const word = src.slice(start, i);
      out.push({ kind: WORD_OPS.has(word) ? 'op' : 'ident', text: word, pos: start });
      continue;
    }
    if (PUNCT.has(c)) { out.push({ kind: 'punct', text: c, pos: start }); i++; continue; }
    const op = SYMBOL_OPS.find((o) => src.startsWith(o, i));
    if (op) { out.push({ kind: 'op', text: op, pos: start }); i += op.length; continue; }
    throw new LexError(`unexpected character ${JSON.stringify(c)}`, start);
  }
  out.push({ kind: 'eof', text: '', pos: n });
  return out;
}

function lexNumber(src: string, i: number, out: Token[]): number {
  const start = i;
  if (src[i] === '0' && (src[i + 1] === 'x' || src[i + 1] === 'X')) {
    i += 2;
    while (/[0-9a-fA-F_]/.test(src[i] ?? '')) i++;
    const text = src.slice(start + 2, i).replace(/_/g, '');
    if (text === '') throw new LexError('invalid hex literal', start);
    out.push({ kind: 'num', text: src.slice(start, i), num: parseInt(text, 16), isFloat: false, pos: start });
    return i;
  }
  let isFloat = false;
  while (isDigit(src[i] ?? '') || src[i] === '_') i++;
  // A '.' starts a fraction only if it is not the range operator `..`.
  if (src[i] === '.' && src[i + 1] !== '.') {
    isFloat = true;
    i++;
    while (isDigit(src[i] ?? '') || src[i] === '_') i++;
  }
  if (src[i] === 'e' || src[i] === 'E') {
    let j = i + 1;
    if (src[j] === '+' || src[j] === '-') j++;
    if (isDigit(src[j] ?? '')) {
      isFloat = true;
      i = j;
      while (isDigit(src[i] ?? '')) i++;
    }
  }
  const text = src.slice(start, i);
  const value = Number(text.replace(/_/g, ''));
  if (Number.isNaN(value)) throw new LexError(`invalid number literal ${JSON.stringify(text)}`, start);
  if (isIdentStart(src[i] ?? '')) throw new LexError(`invalid number literal ${JSON.stringify(src.slice(start, i + 1))}`, start);
  out.push({ kind: 'num', text, num: value, isFloat, pos: start });
  return i;
}

/** Decodes a quoted string with Go-style backslash escapes; returns [value, end offset]. */
function lexString(src: string, start: number): [string, number] {
  const quote = src[start];
  let i = start + 1;
  let out = '';
  while (i < src.length) {
    const c = src[i];
    if (c === quote) return [out, i + 1];
    if (c === '\\' && quote !== '`') {
      const e = src[i + 1];
      if (e === undefined) break;
      const simple: Record<string, string> = {
        n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"',
      };
      if (e in simple) { out += simple[e]; i += 2; continue; }
      const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
      if (hexLen) {
        const h = src.slice(i + 2, i + 2 + hexLen);
        if (h.length !== hexLen || !/^[0-9a-fA-F]+$/.test(h)) throw new LexError('invalid escape in string', i);
        const cp = parseInt(h, 16);
        if (cp > 0x10ffff) throw new LexError('invalid unicode escape in string', i);
        out += String.fromCodePoint(cp);
        i += 2 + hexLen;
        continue;
      }
      if (e >= '0' && e <= '7') {
        const o = src.slice(i + 1, i + 4);
        if (!/^[0-7]{3}$/.test(o)) throw new LexError('invalid octal escape in string', i);
        out += String.fromCharCode(parseInt(o, 8));
        i += 4;
        continue;
      }
      throw new LexError(`invalid escape \\${e} in string`, i);
    }
    out += c;
    i++;
  }
  throw new LexError('unterminated string literal', start);
}

/** 1-based line and column of an offset (columns count UTF-16 units, good enough for messages). */
export function lineCol(src: string, pos: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < pos && i < src.length; i++) {
    if (src[i] === '\n') { line++; lineStart = i + 1; }
  }
  return { line, col: pos - lineStart + 1 };
}
