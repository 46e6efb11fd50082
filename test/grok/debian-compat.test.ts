/**
 * Compatibility with the Debian crowdsec 1.4.6 rules: the pattern directory loads, every
 * grok the hub parsers use compiles (spec §3.4: 185), and every line of the regexp data
 * files compiles with compileRe2 (594 lines).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileGrok } from '../../src/grok/compile.js';
import { PatternLibrary } from '../../src/grok/library.js';
import { compileRe2 } from '../../src/grok/re2.js';
import { requireDebianReference } from '../support/debian.js';
import { collectHubGroks } from './hub-groks.js';

test('Debian pattern directory loads on top of the built-ins without collisions', (t) => {
  const ref = requireDebianReference(t);
  if (!ref) return;
  const lib = PatternLibrary.withBuiltins();
  lib.loadDir(ref.patterns);
  // 309 definitions in 24 files (spec §3.1 says 298; grep '^\w+\s+.+$' counts 309, no duplicates).
  assert.equal(lib.size, 88 + 309);
  // Every file pattern expands (lazy resolution finds all names) and translates.
  const failures: string[] = [];
  for (const name of [...lib.names()]) {
    try {
      compileGrok(`%{${name}:x}`, lib);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('every grok of the Debian hub parsers compiles (185)', (t) => {
  const ref = requireDebianReference(t);
  if (!ref) return;
  const lib = PatternLibrary.withBuiltins();
  lib.loadDir(ref.patterns);
  const groks = collectHubGroks(ref.hub, lib);
  assert.equal(groks.length, 185);
  const failures: string[] = [];
  let noSemantic = 0;
  for (const g of groks) {
    try {
      const c = compileGrok(g.text, lib);
      if (c.semantics.length === 0) noSemantic++;
    } catch (e) {
      failures.push(`${g.file} ${g.where}: ${(e as Error).message}`);
    }
  }
  t.diagnostic(`compiled ${groks.length - failures.length}/${groks.length}; without semantic: ${noSemantic}`);
  assert.deepEqual(failures, []);
  // mssql-logs has two groks without any %{NAME:SEM}: they load and never match.
  assert.equal(noSemantic, 2);
});

test('hub groks parse real-shaped lines', (t) => {
  const ref = requireDebianReference(t);
  if (!ref) return;
  const lib = PatternLibrary.withBuiltins();
  lib.loadDir(ref.patterns);
  const groks = collectHubGroks(ref.hub, lib);
  const find = (file: string, needle: string) => {
    const g = groks.find((x) => x.file.endsWith(file) && x.text.includes(needle));
    assert.ok(g, `${file} grok containing ${needle}`);
    return compileGrok(g.text, lib);
  };
  const syslog = find('syslog-logs.yaml', 'SYSLOGLINE');
  const s = syslog.match('Feb 12 14:10:21 myhost sshd[4242]: Failed password for root from 1.2.3.4 port 22 ssh2');
  assert.ok(s);
  assert.equal(s.get('program'), 'sshd');
  assert.equal(s.get('pid'), '4242');
  assert.equal(s.get('message'), 'Failed password for root from 1.2.3.4 port 22 ssh2');
  assert.equal(s.get('timestamp8601'), ''); // spec §14: non-participating groups are ""

  const nginx = groks.filter((x) => x.file.endsWith('nginx-logs.yaml')).map((x) => compileGrok(x.text, lib));
  const line = '192.168.1.10 - - [12/Feb/2023:14:10:21 +0100] "GET /index.php?x=1 HTTP/1.1" 404 153 "-" "Mozilla/5.0"';
  const hit = nginx.map((g) => g.match(line)).find((m) => m !== null);
  assert.ok(hit, 'an nginx access-log grok matches');
  assert.equal(hit.get('remote_addr'), '192.168.1.10');
  assert.equal(hit.get('status'), '404');
  assert.equal(hit.get('request'), '/index.php?x=1');
  assert.equal(hit.get('target_fqdn'), '');

  const postfix = find('postfix-logs.yaml', 'SASL ((?i)LOGIN');
  const p = postfix.match('warning: unknown[1.2.3.4]: SASL login authentication failed: UGFzc3dvcmQ6');
  assert.ok(p);
  assert.equal(p.get('remote_addr'), '1.2.3.4');
});

test('every line of the Debian regexp data files compiles with compileRe2 (594)', (t) => {
  const ref = requireDebianReference(t);
  if (!ref) return;
  // The files the hub loads with `type: regexp` (rdns_seo_bots.regex ships as rnds_...).
  let lines = 0;
  const failures: string[] = [];
  for (const f of ['bad_user_agents.regex.txt', 'rnds_seo_bots.regex']) {
    for (const line of readFileSync(join(ref.data, f), 'utf8').split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      lines++;
      try {
        compileRe2(line);
      } catch (e) {
        failures.push(`${f}: ${(e as Error).message}`);
      }
    }
  }
  assert.deepEqual(failures, []);
  assert.equal(lines, 594);
  const bot = compileRe2(readFileSync(join(ref.data, 'rnds_seo_bots.regex'), 'utf8').split('\n')[1]!);
  assert.ok(bot.test('crawl-66-249-66-1.googlebot.com.'));
  assert.ok(!bot.test('crawl-66-249-66-1.googlebot.com.evil.net.'));
});

test('the zoneminder `matches` literals with (?P<name>) compile (upper-cased, as the hub uses them)', () => {
  const src = '^(?P<path>/.*index.php)?.*(?P<file_query>file=.*&lt;/td&gt;&lt;/tr(?P<payload>.*)&gt;)'.toUpperCase();
  const re = compileRe2(src);
  assert.ok(re.test('/ZM/INDEX.PHP?VIEW=X&FILE=A&LT;/TD&GT;&LT;/TRSCRIPT&GT;'));
});
