import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as abi from '../../src/bindings/abi.generated.js';
import { compileGrok } from '../../src/grok/compile.js';
import { PatternLibrary } from '../../src/grok/library.js';
import { repoRoot } from '../support/debian.js';
import { assertSameResults, bothScanners, bytes, latin1, mutate, prng, randomBytes, spanText } from './support.js';
import { generateNginx } from '../../fixtures/generate-bf-logs.js';

const [wasm, twin] = bothScanners();
const FIELDS = {
  client: abi.AL_CLIENT, ident: abi.AL_IDENT, user: abi.AL_USER, time: abi.AL_TIME, request: abi.AL_REQUEST,
  verb: abi.AL_VERB, path: abi.AL_PATH, proto: abi.AL_PROTO, status: abi.AL_STATUS, bytes: abi.AL_BYTES,
  referer: abi.AL_REFERER, agent: abi.AL_AGENT,
} as const;
type Fields = { kind: number } & { -readonly [K in keyof typeof FIELDS]?: string };

function parse(s: typeof wasm, line: string): Fields {
  const b = latin1(line + '\n');
  assert.equal(s.scanLines(b, false).count, 1);
  const rec = s.scanAccessLog();
  const out: Fields = { kind: rec[abi.AL_KIND]! };
  for (const [name, at] of Object.entries(FIELDS)) {
    const v = spanText(b, rec, at);
    if (v !== null) out[name as keyof typeof FIELDS] = v;
  }
  return out;
}

const COMBINED = '1.2.3.4 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif?x=1 HTTP/1.0" 200 2326 "http://ex.com/" "Mozilla/5.0 (X11)"';

for (const s of [wasm, twin]) {
  test(`${s.impl}: combined and common lines`, () => {
    assert.deepEqual(parse(s, COMBINED), {
      kind: abi.ACCESS_COMBINED, client: '1.2.3.4', ident: '-', user: 'frank', time: '10/Oct/2000:13:55:36 -0700',
      request: 'GET /a.gif?x=1 HTTP/1.0', verb: 'GET', path: '/a.gif?x=1', proto: 'HTTP/1.0', status: '200',
      bytes: '2326', referer: 'http://ex.com/', agent: 'Mozilla/5.0 (X11)',
    });
    assert.deepEqual(parse(s, '::1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 304 -'), {
      kind: abi.ACCESS_COMMON, client: '::1', ident: '-', user: '-', time: '10/Oct/2000:13:55:36 -0700',
      request: 'GET / HTTP/1.1', verb: 'GET', path: '/', proto: 'HTTP/1.1', status: '304', bytes: '-',
    });
    // Extra fields after the agent (e.g. nginx's $request_time) are ignored.
    assert.equal(parse(s, COMBINED + ' 0.003 "-"').kind, abi.ACCESS_COMBINED);
    // Something other than two quoted fields after BYTES: still a common line.
    assert.equal(parse(s, COMBINED.replace(' "http://ex.com/"', '')).kind, abi.ACCESS_COMMON);
  });

  test(`${s.impl}: escaped quotes, odd requests (HTTP/0.9, garbage, empty) keep the line`, () => {
    const esc = parse(s, '5.6.7.8 - - [t] "GET /\\"q HTTP/1.1" 400 0 "-" "curl \\"x\\" \\x22y"');
    assert.equal(esc.path, '/\\"q');
    assert.equal(esc.agent, 'curl \\"x\\" \\x22y');
    assert.deepEqual(
      [parse(s, '1 - - [t] "GET /x" 200 1').verb, parse(s, '1 - - [t] "GET /x" 200 1').proto],
      ['GET', undefined],
    );
    for (const req of ['\\x16\\x03\\x01', '', 'a b c d', ' GET /', 'GET  /']) {
      const f = parse(s, `1 - - [t] "${req}" 400 0`);
      assert.equal(f.kind, abi.ACCESS_COMMON, req);
      assert.equal(f.request, req);
      assert.equal(f.verb, undefined, req);
    }
  });

  test(`${s.impl}: lines outside the shape are kind NONE`, () => {
    for (const line of [
      '', 'x', '1.2.3.4 - - 10/Oct/2000 "GET /" 200 1', '1 - - [t "GET /" 200 1', '1 - - [t] "GET / 200 1',
      '1 - - [t] "GET /" 20 1', '1 - - [t] "GET /" 2000 1', '1 - - [t] "GET /" 200 1x', '1 - - [t] "GET /" 200 -5',
      '1 - - [t] "GET /" 200', '1  - - [t] "GET /" 200 1',
    ]) {
      assert.deepEqual(parse(s, line), { kind: abi.ACCESS_NONE }, JSON.stringify(line));
    }
  });
}

test('agrees with the COMBINEDAPACHELOG grok on the nginx/apache samples and generated nginx logs', () => {
  const lib = PatternLibrary.withBuiltins();
  // Anchored: the scanner reads the format from the line start (vhost_combined lines are not it).
  const grok = compileGrok('^%{COMBINEDAPACHELOG}', lib);
  const text = ['nginx.log', 'apache2.log'].map((f) => readFileSync(join(repoRoot, 'fixtures/samples', f), 'utf8')).join('\n')
    + '\n' + generateNginx(2000, 23);
  const b = bytes(text);
  const sc = wasm.scanLines(b, true);
  const rec = wasm.scanAccessLog();
  let compared = 0;
  const unq = (q: string | undefined): string | undefined => q?.slice(1, -1);
  for (let j = 0; j < sc.count; j++) {
    const line = Buffer.from(b.subarray(sc.lines[2 * j]!, sc.lines[2 * j + 1]!)).toString('latin1');
    const m = grok.match(line);
    if (m === null) continue;
    const r = rec.subarray(j * abi.ACCESS_REC_WORDS, (j + 1) * abi.ACCESS_REC_WORDS);
    const f = (at: number): string | undefined => spanText(b, r, at) ?? undefined;
    assert.equal(r[abi.AL_KIND], abi.ACCESS_COMBINED, line);
    assert.equal(f(abi.AL_CLIENT), m.get('clientip'), line);
    assert.equal(f(abi.AL_IDENT), m.get('ident'), line);
    assert.equal(f(abi.AL_USER), m.get('auth'), line);
    assert.equal(f(abi.AL_TIME), m.get('timestamp'), line);
    if (m.get('verb')) {
      assert.equal(f(abi.AL_VERB), m.get('verb'), line);
      assert.equal(f(abi.AL_PATH), m.get('request'), line);
      assert.equal(f(abi.AL_PROTO)?.replace(/^HTTP\//, '') ?? '', m.get('httpversion'), line);
    }
    assert.equal(f(abi.AL_STATUS), m.get('response'), line);
    assert.equal(f(abi.AL_BYTES) === '-' ? '' : f(abi.AL_BYTES), m.get('bytes'), line);
    assert.equal(f(abi.AL_REFERER), unq(m.get('referrer')), line);
    assert.equal(f(abi.AL_AGENT), unq(m.get('agent')), line);
    compared++;
  }
  assert.ok(compared > 2000, `compared ${compared} lines`);
});

test('seeded differential fuzz: wasm access-log scanner == twin', () => {
  const rand = prng(1000);
  const seeds = [bytes(generateNginx(100, 2)), latin1((COMBINED + '\n1 - - [t] "\\"" 200 - "a\\\\" "b"\n').repeat(30))];
  for (let i = 0; i < 400; i++) {
    const input = i % 3 === 0 ? randomBytes(rand, Math.floor(rand() * 1500)) : mutate(rand, seeds[i % 2]!, 0.02 + rand() * 0.05);
    assertSameResults(wasm, twin, input, rand() < 0.5, null, `case ${i}`);
  }
});

test('an access-log line over 64 KiB (long query, long agent): spans cover it, wasm == twin', () => {
  const path = '/search?q=' + 'x'.repeat(70000);
  const agent = 'UA \\"' + 'y'.repeat(70000) + '\xff';
  const input = latin1(`9.9.9.9 - - [t] "GET ${path} HTTP/1.1" 414 0 "-" "${agent}"\n`);
  assertSameResults(wasm, twin, input, false, null, 'long');
  wasm.scanLines(input, false);
  const rec = wasm.scanAccessLog();
  assert.equal(rec[abi.AL_KIND], abi.ACCESS_COMBINED);
  assert.equal(spanText(input, rec, abi.AL_PATH), path);
  assert.equal(spanText(input, rec, abi.AL_AGENT), agent);
});
