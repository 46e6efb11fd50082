/**
 * ToJsonString: Go's json.Marshal rendering of expression values. Differences from
 * JSON.stringify that matter: `<`, `>`, `&`, U+2028 and U+2029 are escaped as \u00XX (Go's
 * HTML-safe default), map keys are sorted, times are RFC3339Nano, NaN/Inf are errors.
 */

export class GoJsonError extends Error {}

function quote(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

function rfc3339Nano(d: Date): string {
  // Date has millisecond precision; trailing zeros of the fraction are dropped as Go does.
  const iso = d.toISOString();
  return iso.replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac ? `.${frac}Z` : 'Z'));
}

export function goJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'string': return quote(v);
    case 'boolean': return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new GoJsonError(`json: unsupported value: ${v}`);
      return formatJsonNumber(v);
    case 'bigint': return v.toString();
    case 'function': throw new GoJsonError('json: unsupported type: func');
    default: break;
  }
  if (Array.isArray(v)) return '[' + v.map(goJson).join(',') + ']';
  if (v instanceof Date) return quote(rfc3339Nano(v));
  if (v instanceof Map) {
    const keys = [...v.keys()].map(String).sort();
    return '{' + keys.map((k) => quote(k) + ':' + goJson(v.get(k))).join(',') + '}';
  }
  const obj = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj)) {
    const x = obj[k];
    if (typeof x === 'function') continue;
    parts.push(quote(k) + ':' + goJson(x));
  }
  return '{' + parts.join(',') + '}';
}

/** Go encodes float64 like ES6 number formatting, except exponents are written e+21 / e-7 alike. */
function formatJsonNumber(n: number): string {
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    // Go: exponent format with at least two exponent digits (1e-07, 1e+21).
    return n.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return String(n);
}
