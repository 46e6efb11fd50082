/**
 * The syslog header reader (src/parse/syslog-fast.ts) against the grok it replaces: on every
 * line it accepts, the captures must equal grok.match() (same keys, order and values); it
 * must accept the ordinary sshd lines (else it saves nothing); it must recognise only that
 * grok. Lines reach it through BatchParser, with both scanners, including raw bytes that are
 * not valid UTF-8.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRulesDir, SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';
import { compileGrok, type Grok } from '../../src/grok/compile.js';
import { PatternLibrary } from '../../src/grok/library.js';
import { BatchParser } from '../../src/parse/batch.js';
import { syslogHeaderReader, SYSLOG_HOST_GROK } from '../../src/parse/syslog-fast.js';
import type { ParserNode, ParserSet } from '../../src/parse/types.js';
import { syslogRecords } from '../../src/parse/line-hint.js';
import { repoRoot } from '../support/debian.js';
import { mulberry32 as rng } from '../../fixtures/seeded.js';

function shippedSet(): ParserSet {
  return loadRulesDir(SHIPPED_RULES_DIR, { strict: true, warn: () => {} }).parsers.set;
}

function rawGroks(set: ParserSet): Grok[] {
  const out: Grok[] = [];
  const walk = (n: ParserNode): void => {
    if (n.grok?.applyOn === 'Line.Raw') out.push(n.grok.grok);
    n.children.forEach(walk);
  };
  for (const s of set.stages) for (const n of set.byStage.get(s) ?? []) walk(n);
  return out;
}

test('the reader is found for the shipped syslog-with-host grok only', () => {
  const groks = rawGroks(shippedSet());
  const found = groks.filter((g) => syslogHeaderReader(g) !== null);
  assert.equal(found.length, 1, 'exactly one Line.Raw grok of the shipped rules');
  assert.equal(found[0]!.pattern, SYSLOG_HOST_GROK);
  // The same text over other definitions is another regex: no reader.
  const lib = PatternLibrary.withBuiltins();
  for (const [n, d] of [['PAL_SYSLOG_PRI', '<[0-9]{1,3}>'], ['PAL_SYSLOG_TS3164', '%{SYSLOGTIMESTAMP}'], ['PAL_SYSLOG_TS8601', '%{TIMESTAMP_ISO8601}'],
    ['PAL_SYSLOG_HOST', '%{IPORHOST}'], ['PAL_SYSLOG_PROGNAME', '[^ :\\[]+'], ['PAL_SYSLOG_PID', '[0-9]+']] as const) lib.add(n, d);
  assert.equal(syslogHeaderReader(compileGrok(SYSLOG_HOST_GROK, lib)), null);
});

/** Seeded byte-level variants of a line: a byte replaced, inserted or removed. */
function mutate(line: Uint8Array, r: () => number): Uint8Array[] {
  const pool = [0x20, 0x3a, 0x5b, 0x5d, 0x3c, 0x3e, 0x2e, 0x2d, 0x09, 0x30, 0x39, 0x41, 0x7a, 0x80, 0xc3, 0xa9, 0xff, 0xe6, 0x5f, 0x2f];
  const out: Uint8Array[] = [];
  for (let k = 0; k < 4; k++) {
    const at = Math.floor(r() * Math.min(line.length, 48)); // the header is where it matters
    const b = pool[Math.floor(r() * pool.length)]!;
    const op = k % 3;
    if (op === 0) { const c = line.slice(); c[at] = b; out.push(c); }
    else if (op === 1) out.push(Uint8Array.from([...line.subarray(0, at), b, ...line.subarray(at)]));
    else out.push(Uint8Array.from([...line.subarray(0, at), ...line.subarray(at + 1)]));
  }
  return out;
}

for (const impl of ['wasm', 'twin'] as const) {
  test(`reader captures = grok.match on sample, mutated and invalid UTF-8 lines (${impl} scanner)`, () => {
    const set = shippedSet();
    const grok = rawGroks(set).find((g) => syslogHeaderReader(g) !== null)!;
    const reader = syslogHeaderReader(grok)!;
    const enc = new TextEncoder();
    const base = readFileSync(join(repoRoot, 'fixtures/samples/sshd.log'), 'utf8').split('\n').filter(Boolean)
      .concat(readFileSync(join(repoRoot, 'fixtures/samples/postfix.log'), 'utf8').split('\n').filter(Boolean));
    const r = rng(0x5157);
    const lines: Uint8Array[] = [];
    for (const l of base) {
      const b = enc.encode(l);
      lines.push(b, ...mutate(b, r));
    }
    const batch = Uint8Array.from(lines.flatMap((l) => [...l.filter((x) => x !== 0x0a), 0x0a]));
    const bp = BatchParser.create(set, impl);
    let accepted = 0;
    let matched = 0;
    let seen = 0;
    let plain = 0;
    bp.forEachLine(batch, (line, hint) => {
      seen++;
      assert.ok(hint !== undefined);
      const want = grok.match(line);
      if (want !== null) matched++;
      const got = new Map<string, string>();
      if (reader(line, syslogRecords(hint)!, hint, got)) {
        accepted++;
        assert.ok(want !== null, `accepted a line the grok rejects: ${JSON.stringify(line)}`);
        assert.deepEqual([...got], [...want], JSON.stringify(line));
      } else assert.equal(got.size, 0, 'a refusal writes nothing');
    });
    for (const l of base) {
      const h = new Map<string, string>();
      bp.forEachLine(enc.encode(l + '\n'), (line, hint) => { if (reader(line, syslogRecords(hint!)!, hint!, h)) plain++; });
    }
    assert.ok(seen >= lines.length - 20, `lines visited: ${seen} of ${lines.length}`);
    assert.ok(plain >= base.length * 0.9, `the reader takes the ordinary lines (${plain} of ${base.length})`);
    assert.ok(accepted > matched * 0.5, `accepted ${accepted} of ${matched} grok matches`);
  });
}

test('repeated, extended and shortened header parts: captures equal the grok line after line', () => {
  const set = shippedSet();
  const grok = rawGroks(set).find((g) => syslogHeaderReader(g) !== null)!;
  const reader = syslogHeaderReader(grok)!;
  // Consecutive lines whose timestamp, host, program and pid repeat, extend or shorten the
  // previous line's (a reader that remembered earlier parts must not hand out a stale one).
  const text = [
    'Jan  5 00:00:00 bastion sshd[1]: a',
    'Jan  5 00:00:00 bastion sshd[1]: b',
    'Jan  5 00:00:00 bastion2 sshd[12]: c',
    'Jan  5 00:00:01 bastio sshd[1]: d',
    'Jan  5 00:00:01 bastio sshd: e',
    'Jan  5 00:00:01.5 bastio sshd2[1]: f',
    'Jan 15 00:00:01 bastio ssh[2]: g',
    '2026-01-05T00:00:01Z bastio ssh[2]: h',
    '2026-01-05T00:00:01+01:00 bastio ssh[2]: i',
    '2026-01-05T00:00:01Z bastio ssh[2]: j',
    'Jan 15 00:00:01 bastio ssh[2]: k',
  ].join('\n') + '\n';
  const bp = BatchParser.create(set, 'wasm');
  let n = 0;
  bp.forEachLine(new TextEncoder().encode(text), (line, hint) => {
    const got = new Map<string, string>();
    // (The scanner leaves a fractional RFC 3164 second to the regex: a refusal is fine.)
    if (!reader(line, syslogRecords(hint!)!, hint!, got)) return;
    assert.deepEqual([...got], [...grok.match(line)!], line);
    n++;
  });
  assert.ok(n >= 10, `lines read by the reader: ${n}`);
});
