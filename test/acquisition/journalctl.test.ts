/** The journalctl source with a stand-in binary: argv (no shell), line delivery, stop. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalctlSource } from '../../src/acquisition/journalctl.js';
import { waitFor } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-journal-'));
const fake = join(dir, 'journalctl');
const argsFile = join(dir, 'args');
// Records its argv one per line, prints two entries and a marker, then waits to be stopped.
writeFileSync(fake, `#!/bin/sh
for a in "$@"; do printf '%s\\n' "$a"; done > '${argsFile}'
echo '-- Journal begins at Thu 2026-11-26 --'
echo '2026-11-27T19:04:01+0000 web1 sshd[7]: Failed password for root from 203.0.113.9 port 22 ssh2'
echo '2026-11-27T19:04:02+0000 web1 sshd[7]: second; $(touch ${dir}/pwned)'
exec sleep 30
`);
chmodSync(fake, 0o755);

const sources: JournalctlSource[] = [];
after(async () => { for (const s of sources) await s.stop(); });

test('journalctl runs with the filters as argv and its lines are delivered', async () => {
  const got: string[] = [];
  const filter = '_SYSTEMD_UNIT=ssh.service; touch /tmp/x';
  const s = new JournalctlSource({ filters: [filter], bin: fake, onLine: (l) => got.push(l) });
  sources.push(s);
  s.start();
  await waitFor(() => got.length === 2, 'two journal lines');
  assert.equal(got[0], '2026-11-27T19:04:01+0000 web1 sshd[7]: Failed password for root from 203.0.113.9 port 22 ssh2');
  assert.match(got[1]!, /^2026-11-27T19:04:02\+0000 web1 sshd\[7\]: second; \$\(touch /);
  assert.deepEqual(readFileSync(argsFile, 'utf8').trim().split('\n'), ['--follow', '-n', '0', '-o', 'short-iso', '-q', filter]);
  await s.stop();
});
