/**
 * Precedence-climbing parser for expr v1.9. Precedences follow expr's operator table: unary
 * `not`/`!` (50) and `-`/`+` (90) bind tighter than every comparison (20), which is why the
 * hub writes `not (x contains 'y')`: `not x contains 'y'` is `(not x) contains 'y'`.
 */
import type { Node } from './ast.js';
import { tokenize, type Token, LexError } from './lexer.js';

export class ParseError extends Error {
  constructor(message: string, readonly pos: number) {
    super(message);
  }
}

interface BinOp { prec: number; right?: boolean }
const BINARY: Record<string, BinOp> = {
  or: { prec: 10 }, '||': { prec: 10 },
  and: { prec: 15 }, '&&': { prec: 15 },
  '==': { prec: 20 }, '!=': { prec: 20 }, '<': { prec: 20 }, '>': { prec: 20 }, '<=': { prec: 20 }, '>=': { prec: 20 },
  in: { prec: 20 }, 'not in': { prec: 20 }, matches: { prec: 20 }, contains: { prec: 20 },
  startsWith: { prec: 20 }, endsWith: { prec: 20 },
  '..': { prec: 25 },
  '+': { prec: 30 }, '-': { prec: 30 },
  '*': { prec: 60 }, '/': { prec: 60 }, '%': { prec: 60 },
  '**': { prec: 70, right: true },
};
const UNARY: Record<string, number> = { not: 50, '!': 50, '-': 90, '+': 90 };
/** Builtins whose second argument is a `{...}` closure. */
export const CLOSURE_BUILTINS = new Set(['all', 'none', 'any', 'one', 'filter', 'map', 'count']);

export function parse(src: string): Node {
  let tokens: Token[];
  try {
    tokens = tokenize(src);
  } catch (e) {
    if (e instanceof LexError) throw new ParseError(e.message, e.pos);
    throw e;
  }
  const p = new Parser(tokens);
  const node = p.expression(0);
  const t = p.peek();
  if (t.kind !== 'eof') throw new ParseError(`unexpected token ${describe(t)}`, t.pos);
  return node;
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of expression';
  if (t.kind === 'str') return `string ${JSON.stringify(t.text)}`;
  return `'${t.text}'`;
}

class Parser {
  private i = 0;
  /** Depth of closures being parsed: `#` and `.field` are only valid inside one. */
  private closureDepth = 0;
  constructor(private readonly tokens: Token[]) {}

  peek(k = 0): Token {
    return this.tokens[Math.min(this.i + k, this.tokens.length - 1)];
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  private is(text: string, k = 0): boolean {
    const t = this.peek(k);
    return (t.kind === 'op' || t.kind === 'punct') && t.text === text;
  }
  private expect(text: string): Token {
    const t = this.peek();
    if (!this.is(text)) throw new ParseError(`expected '${text}' but found ${describe(t)}`, t.pos);
    return this.next();
  }

  /** Binary operator at the cursor (joining `not in`), without consuming it. */
  private binaryOp(): { op: string; width: number } | null {
    const t = this.peek();
    if (t.kind !== 'op') return null;
    if (t.text === 'not' && this.is('in', 1)) return { op: 'not in', width: 2 };
    return t.text in BINARY ? { op: t.text, width: 1 } : null;
  }

  expression(minPrec: number): Node {
    let left = this.unary();
    for (;;) {
      const b = this.binaryOp();
      if (!b) break;
      const info = BINARY[b.op];
      if (info.prec < minPrec) break;
      const opTok = this.peek();
      this.i += b.width;
      const right = this.expression(info.right ? info.prec : info.prec + 1);
      left = { kind: 'binary', op: b.op, left, right, pos: opTok.pos };
    }
    if (minPrec === 0 && this.is('?')) {
      const q = this.next();
      const then = this.expression(0);
      this.expect(':');
      const otherwise = this.expression(0);
      return { kind: 'cond', test: left, then, else: otherwise, pos: q.pos };
    }
    return left;
  }

  private unary(): Node {
    const t = this.peek();
    if (t.kind === 'op' && t.text in UNARY) {
      this.next();
      const operand = this.expression(UNARY[t.text]);
      return { kind: 'unary', op: t.text === '!' ? 'not' : t.text, operand, pos: t.pos };
    }
    return this.postfix(this.primary());
  }

  private primary(): Node {
    const t = this.next();
    switch (t.kind) {
      case 'num':
        return t.isFloat ? { kind: 'float', value: t.num!, pos: t.pos } : { kind: 'int', value: t.num!, pos: t.pos };
      case 'str':
        return { kind: 'string', value: t.text, pos: t.pos };
      case 'ident':
        if (t.text === 'true' || t.text === 'false') return { kind: 'bool', value: t.text === 'true', pos: t.pos };
        if (t.text === 'nil') return { kind: 'nil', pos: t.pos };
        if (this.is('(')) return this.call(t);
        return { kind: 'ident', name: t.text, pos: t.pos };
      case 'punct':
        if (t.text === '(') {
          const e = this.expression(0);
          this.expect(')');
          return e;
        }
        if (t.text === '[') return this.arrayLiteral(t.pos);
        if (t.text === '{') return this.mapLiteral(t.pos);
        if (t.text === '#') {
          if (this.closureDepth === 0) throw new ParseError("'#' is only allowed inside a closure {...}", t.pos);
          return { kind: 'pointer', pos: t.pos };
        }
        break;
      case 'op':
        // `.field` inside a closure is shorthand for `#.field`.
        if (t.text === '.' && this.closureDepth > 0 && this.peek().kind === 'ident') {
          const name = this.next();
          return { kind: 'member', object: { kind: 'pointer', pos: t.pos }, name: name.text, pos: name.pos };
        }
        break;
      default:
        break;
    }
    throw new ParseError(`unexpected token ${describe(t)}`, t.pos);
  }

  private call(nameTok: Token): Node {
    this.expect('(');
    const args: Node[] = [];
    const closureArg = CLOSURE_BUILTINS.has(nameTok.text);
    while (!this.is(')')) {
      if (args.length > 0) this.expect(',');
      if (closureArg && args.length === 1) args.push(this.closure());
      else args.push(this.expression(0));
    }
    this.expect(')');
    return { kind: 'call', callee: nameTok.text, args, pos: nameTok.pos };
  }

  private closure(): Node {
    const open = this.expect('{');
    this.closureDepth++;
    const body = this.expression(0);
    this.closureDepth--;
    this.expect('}');
    return { kind: 'closure', body, pos: open.pos };
  }

  private arrayLiteral(pos: number): Node {
    const items: Node[] = [];
    while (!this.is(']')) {
      if (items.length > 0) {
        this.expect(',');
        if (this.is(']')) break; // trailing comma
      }
      items.push(this.expression(0));
    }
    this.expect(']');
    return { kind: 'array', items, pos };
  }

  private mapLiteral(pos: number): Node {
    const entries: { key: Node; value: Node }[] = [];
    while (!this.is('}')) {
      if (entries.length > 0) {
        this.expect(',');
        if (this.is('}')) break;
      }
      const k = this.peek();
      let key: Node;
      if (k.kind === 'ident' || k.kind === 'str' || (k.kind === 'op' && /^[a-zA-Z]/.test(k.text))) {
        this.next();
        key = { kind: 'string', value: k.text, pos: k.pos };
      } else if (k.kind === 'num') {
        this.next();
        key = { kind: 'int', value: k.num!, pos: k.pos };
      } else if (this.is('(')) {
        this.next();
        key = this.expression(0);
        this.expect(')');
      } else {
        throw new ParseError(`a map key must be an identifier, string, number or (expression), found ${describe(k)}`, k.pos);
      }
      this.expect(':');
      entries.push({ key, value: this.expression(0) });
    }
    this.expect('}');
    return { kind: 'map', entries, pos };
  }

  private postfix(node: Node): Node {
    for (;;) {
      if (this.is('.') ) {
        this.next();
        const name = this.next();
        if (name.kind !== 'ident' && !(name.kind === 'op' && /^[a-zA-Z]/.test(name.text))) {
          throw new ParseError(`expected a field name after '.' but found ${describe(name)}`, name.pos);
        }
        if (this.is('(')) {
          this.next();
          const args: Node[] = [];
          while (!this.is(')')) {
            if (args.length > 0) this.expect(',');
            args.push(this.expression(0));
          }
          this.expect(')');
          node = { kind: 'method', object: node, name: name.text, args, pos: name.pos };
        } else {
          node = { kind: 'member', object: node, name: name.text, pos: name.pos };
        }
        continue;
      }
      if (this.is('[')) {
        const open = this.next();
        let from: Node | null = null;
        if (!this.is(':')) from = this.expression(0);
        if (this.is(':')) {
          this.next();
          const to = this.is(']') ? null : this.expression(0);
          this.expect(']');
          node = { kind: 'slice', object: node, from, to, pos: open.pos };
        } else {
          this.expect(']');
          node = { kind: 'index', object: node, index: from!, pos: open.pos };
        }
        continue;
      }
      return node;
    }
  }
}
