/** acquis.yaml parsing (spec §1.1): sources, guessing, defaults, and errors that say where. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAcquisFile, parseAcquisText } from '../../src/acquisition/acquis.js';
import { LoadError } from '../../src/core/errors.js';

test('the Debian default acquis.yaml parses (multi-document, guessed sources)', () => {
  const specs = parseAcquisText(`filenames:
  - /var/log/nginx/*.log
  - ./tests/nginx/nginx.log
labels:
  type: nginx
---
filenames:
  - /var/log/auth.log
  - /var/log/syslog
labels:
  type: syslog
---
source: journalctl
journalctl_filter:
  - "_SYSTEMD_UNIT=ssh.service"
labels:
  type: syslog
---
source: syslog
listen_port: 4242
protocols: [udp]
labels:
  type: syslog
---
# an empty document is skipped
`, 'acquis.yaml');
  assert.equal(specs.length, 4);
  const [nginx, files, journal, syslog] = specs;
  assert.equal(nginx!.source, 'file');
  assert.equal(nginx!.labels.get('type'), 'nginx');
  assert.equal(nginx!.mode, 'tail');
  assert.deepEqual(files!.source === 'file' && files!.filenames, ['/var/log/auth.log', '/var/log/syslog']);
  assert.deepEqual(journal!.source === 'journalctl' && journal!.filters, ['_SYSTEMD_UNIT=ssh.service']);
  assert.equal(syslog!.source, 'syslog');
  if (syslog!.source === 'syslog') {
    assert.equal(syslog.listenAddr, '127.0.0.1');
    assert.equal(syslog.listenPort, 4242);
    assert.equal(syslog.maxMessageLength, 2048);
    assert.deepEqual(syslog.protocols, ['udp']);
  }
});

function err(text: string): LoadError {
  try {
    parseAcquisText(text, 'acquis.yaml');
  } catch (e) {
    assert.ok(e instanceof LoadError, String(e));
    return e;
  }
  assert.fail('expected a LoadError');
}

test('errors name the file, the line and the document', () => {
  let e = err('filename: /a.log\nlabels:\n  type: syslog\n---\nsource: docker\nlabels:\n  type: x\n');
  assert.match(e.message, /^acquis\.yaml:5:\d+ \(document 2\.source\): source 'docker' is not supported/);
  e = err('source: carrier-pigeon\nlabels: {type: x}\n');
  assert.match(e.message, /unknown source 'carrier-pigeon'/);
  e = err('filename: /a.log\nlabels: {type: syslog}\nfilenmes: [x]\n');
  assert.equal(e.code, 'UNKNOWN_KEY');
  assert.match(e.message, /acquis\.yaml:3:1 .*unknown key 'filenmes' for source file/);
  assert.match(err('filename: /a.log\n').message, /labels are mandatory/);
  assert.match(err('filename: /a.log\nlabels: {program: sshd}\n').message, /labels\.type is mandatory/);
  assert.match(err('labels: {type: syslog}\n').message, /no source/);
  assert.match(err('filename: /a.log\nmode: follow\nlabels: {type: syslog}\n').message, /acquis\.yaml:2:\d+ .*mode must be tail or cat/);
  assert.match(err('source: journalctl\njournalctl_filter: ["--directory=/tmp"]\nlabels: {type: syslog}\n').message, /must be a match/);
  assert.match(err('source: syslog\nlisten_port: 70000\nlabels: {type: syslog}\n').message, /listen_port/);
  assert.match(err('source: file\nlabels: {type: syslog}\n').message, /needs filename or filenames/);
  assert.match(err('filename: /a.log\nexclude_regexps: ["("]\nlabels: {type: syslog}\n').message, /exclude_regexps/);
  assert.equal(err('filename: [unclosed\n').code, 'YAML_SYNTAX');
});

test('loadAcquisFile reads from disk and reports a missing file as IO', () => {
  const d = mkdtempSync(join(tmpdir(), 'palisade-acquis-'));
  const f = join(d, 'acquis.yaml');
  writeFileSync(f, 'filename: /var/log/x.log\nmode: cat\nlabels:\n  type: syslog\n  env: prod\n');
  const [s] = loadAcquisFile(f);
  assert.equal(s!.mode, 'cat');
  assert.equal(s!.labels.get('env'), 'prod');
  assert.throws(() => loadAcquisFile(join(d, 'none.yaml')), (e: unknown) => e instanceof LoadError && e.code === 'IO' && e.message.includes('none.yaml'));
});
