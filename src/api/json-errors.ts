/**
 * Where a JSON text first goes wrong. V8's JSON.parse messages on Node 20 do not always
 * carry a position ("Unexpected token '}', ..."x": }" is not valid JSON"), so on the error
 * path only, this small scanner walks the text by the JSON grammar and reports the offset
 * of the first offending character as line and column.
 */

export interface JsonProblem {
  offset: number;
  line: number;
  column: number;
  reason: string;
}

export function locateJsonError(text: string): JsonProblem | null {
  let i = 0;
  const fail = (reason: string): never => {
    throw Object.assign(new Error(reason), { offset: i });
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const lit = (w: string) => {
    if (text.startsWith(w, i)) i += w.length;
    else fail(`invalid literal, expected '${w}'`);
  };
  const str = () => {
    i++; // opening quote
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 34) { i++; return; }
      if (c < 0x20) fail('control character in string');
      if (c === 92) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) { i++; fail('invalid \\u escape'); }
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else { i++; fail('invalid escape'); }
      } else i++;
    }
    fail('unterminated string');
  };
  const numb = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === '-' || m[0] === '') fail('invalid number');
    i += m![0].length;
  };
  const value = (depth: number): void => {
    if (depth > 512) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === undefined) fail('unexpected end of input');
    if (c === '{') {
      i++; ws();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a double-quoted property name');
        str(); ws();
        if (text[i] !== ':') fail("expected ':' after property name");
        i++;
        value(depth + 1); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return; }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++; ws();
      if (text[i] === ']') { i++; return; }
      for (;;) {
        value(depth + 1); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return; }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    if (c === 't') return lit('true');
    if (c === 'f') return lit('false');
    if (c === 'n') return lit('null');
    if (c === '-' || (c >= '0' && c <= '9')) return numb();
    fail(`unexpected character '${c}'`);
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail('unexpected data after the JSON value');
    return null;
  } catch (e) {
    const offset = (e as { offset?: number }).offset ?? i;
    let line = 1, column = 1;
    for (let k = 0; k < offset && k < text.length; k++) {
      if (text.charCodeAt(k) === 10) { line++; column = 1; } else column++;
    }
    return { offset, line, column, reason: (e as Error).message };
  }
}
