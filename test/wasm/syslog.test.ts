import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as abi from '../../src/bindings/abi.generated.js';
import { compileGrokByName } from '../../src/grok/compile.js';
import { PatternLibrary } from '../../src/grok/library.js';
import { compilePrefilter } from '../../src/bindings/prefilter-plan.js';
import { repoRoot, requireDebianReference } from '../support/debian.js';
import { assertSameResults, bothScanners, bytes, latin1, mutate, prng, randomBytes, spanText } from './support.js';
import { generateSshd } from '../../fixtures/generate-bf-logs.js';

const [wasm, twin] = bothScanners();
const FIELDS = {
  pri: abi.SL_PRI, timestamp: abi.SL_TIMESTAMP, host: abi.SL_HOST, program: abi.SL_PROGRAM,
  pid: abi.SL_PID, msgid: abi.SL_MSGID, sd: abi.SL_SD, message: abi.SL_MESSAGE,
} as const;
type Fields = { kind: number } & { -readonly [K in keyof typeof FIELDS]?: string };

function parse(s: typeof wasm, line: string): Fields {
  const b = latin1(line + '\n'); // '\n' so that an empty line is still a line
  assert.equal(s.scanLines(b, false).count, 1);
  const rec = s.scanSyslog();
  const out: Fields = { kind: rec[abi.SL_KIND]! };
  for (const [name, at] of Object.entries(FIELDS)) {
    const v = spanText(b, rec, at);
    if (v !== null) out[name as keyof typeof FIELDS] = v;
  }
  return out;
}

for (const s of [wasm, twin]) {
  test(`${s.impl}: RFC 3164 with a BSD timestamp, PROG[PID]: and PROG:`, () => {
    assert.deepEqual(parse(s, 'Feb  2 14:10:21 myhost sshd[4242]: Failed password for root'), {
      kind: abi.SYSLOG_3164, timestamp: 'Feb  2 14:10:21', host: 'myhost', program: 'sshd', pid: '4242',
      message: 'Failed password for root',
    });
    assert.deepEqual(parse(s, 'Dec 31 23:59:59 h kernel: [ 1.0] x'), {
      kind: abi.SYSLOG_3164, timestamp: 'Dec 31 23:59:59', host: 'h', program: 'kernel', message: '[ 1.0] x',
    });
    // The tag's colon is the token's last byte; PROG itself may contain ':'.
    assert.deepEqual(parse(s, 'Jan 1 00:00:00 h a:b: msg').program, 'a:b');
    // No tag: the message starts after the host.
    assert.deepEqual(parse(s, 'Jan 1 00:00:00 h just text'), {
      kind: abi.SYSLOG_3164, timestamp: 'Jan 1 00:00:00', host: 'h', message: 'just text',
    });
    // Tag at end of line: empty message.
    assert.deepEqual(parse(s, 'Jan 1 00:00:00 h cron[1]:').message, '');
  });

  test(`${s.impl}: rsyslog ISO timestamps and a <PRI> prefix`, () => {
    assert.deepEqual(parse(s, '<13>2024-03-01T10:00:00.123456+01:00 web-1 nginx: GET /'), {
      kind: abi.SYSLOG_3164_ISO, pri: '13', timestamp: '2024-03-01T10:00:00.123456+01:00', host: 'web-1',
      program: 'nginx', message: 'GET /',
    });
    assert.equal(parse(s, '2024-03-01T10:00:00Z h p: m').timestamp, '2024-03-01T10:00:00Z');
  });

  test(`${s.impl}: RFC 5424 (examples of the RFC), NILVALUE verbatim, escaped ']' in SD`, () => {
    assert.deepEqual(parse(s, "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed"), {
      kind: abi.SYSLOG_5424, pri: '34', timestamp: '2003-10-11T22:14:15.003Z', host: 'mymachine.example.com',
      program: 'su', pid: '-', msgid: 'ID47', sd: '-', message: "'su root' failed",
    });
    const sd = '[exampleSDID@32473 iut="3" eventSource="App\\]lication"][x@1 a="b"]';
    assert.deepEqual(parse(s, `<165>1 2003-10-11T22:14:15.003Z host evntslog 77 ID47 ${sd}`), {
      kind: abi.SYSLOG_5424, pri: '165', timestamp: '2003-10-11T22:14:15.003Z', host: 'host',
      program: 'evntslog', pid: '77', msgid: 'ID47', sd,
    });
  });

  test(`${s.impl}: lines outside the accepted shape are kind NONE with every span NONE`, () => {
    for (const line of [
      '', 'hello', 'Foo  1 00:00:00 h p: m', 'Jan 1 00:00:00', 'Jan 1 00:00:00 host', 'Jan 123 00:00:00 h p: m',
      '<1234>Jan 1 00:00:00 h p: m', '<12 Jan 1 00:00:00 h p: m', '<34>1 ts host app pid msgid [unterminated',
      '<34>1 ts host app pid msgid -x', '2024-03-01T10:00:00. h p: m', 'Jan 1 0:00:00 h p: m',
    ]) {
      assert.deepEqual(parse(s, line), { kind: abi.SYSLOG_NONE }, JSON.stringify(line));
    }
  });
}

test('agrees with the SYSLOGLINE grok on the sshd sample and generated sshd logs', (t) => {
  const ref = requireDebianReference(t);
  if (!ref) return;
  const lib = PatternLibrary.withBuiltins();
  lib.loadDir(ref.patterns);
  const grok = compileGrokByName('SYSLOGLINE', lib);
  const text = readFileSync(join(repoRoot, 'fixtures/samples/sshd.log'), 'utf8') + generateSshd(2000, 17);
  const b = bytes(text);
  const sc = wasm.scanLines(b, true);
  const rec = wasm.scanSyslog();
  let compared = 0;
  for (let j = 0; j < sc.count; j++) {
    const line = Buffer.from(b.subarray(sc.lines[2 * j]!, sc.lines[2 * j + 1]!)).toString('utf8');
    const m = grok.match(line);
    const r = rec.subarray(j * abi.SYSLOG_REC_WORDS, (j + 1) * abi.SYSLOG_REC_WORDS);
    if (m === null) continue;
    assert.ok(r[abi.SL_KIND] === abi.SYSLOG_3164 || r[abi.SL_KIND] === abi.SYSLOG_3164_ISO, line);
    const f = (at: number): string => Buffer.from(latin1(spanText(b, r, at) ?? '')).toString('utf8');
    assert.equal(f(abi.SL_TIMESTAMP), m.get('timestamp') || m.get('timestamp8601'), line);
    assert.equal(f(abi.SL_HOST), m.get('logsource'), line);
    assert.equal(f(abi.SL_PROGRAM), m.get('program'), line);
    assert.equal(f(abi.SL_PID), m.get('pid'), line);
    assert.equal(f(abi.SL_MESSAGE), m.get('message'), line);
    compared++;
  }
  assert.ok(compared > 2000, `compared ${compared} lines`);
});

test('seeded differential fuzz: wasm syslog scanner == twin', () => {
  const rand = prng(5424);
  const seeds = [
    bytes(generateSshd(100, 1)),
    bytes('<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 [a b="c\\]"][d] msg\n<13>2024-03-01T10:00:00.5+01:00 h p[1]: x\n'.repeat(20)),
  ];
  for (let i = 0; i < 400; i++) {
    const input = i % 3 === 0 ? randomBytes(rand, Math.floor(rand() * 1500)) : mutate(rand, seeds[i % 2]!, 0.02 + rand() * 0.05);
    assertSameResults(wasm, twin, input, rand() < 0.5, i % 10 === 0 ? compilePrefilter([['sshd'], ['['], []]) : null, `case ${i}`);
  }
});

test('a syslog line over 64 KiB with invalid UTF-8 in the message: full-length message span, wasm == twin', () => {
  const msg = 'A'.repeat(40000) + '\xff\xc3(' + 'B'.repeat(40000);
  const input = latin1(`Mar  9 01:02:03 h sshd[1]: ${msg}\nnext\n`);
  assertSameResults(wasm, twin, input, false, compilePrefilter([['BBBB'], ['\xff']]), 'long');
  wasm.scanLines(input, false);
  const rec = wasm.scanSyslog();
  assert.equal(rec[abi.SL_KIND], abi.SYSLOG_3164);
  assert.equal(spanText(input, rec, abi.SL_MESSAGE), msg);
});
