/**
 * Loads every scenario file of the Debian 1.4.6 hub snapshot with src/config/scenario.ts and
 * reports loaded vs failed documents (target: >= 98% of the 148 documents).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadHubIndex, loadScenarioFiles } from '../../src/config/scenario.js';
import { DataFiles } from '../../src/config/data-files.js';
import { requireDebianReference } from '../support/debian.js';
import { yamlFiles } from '../support/yaml-files.js';


test('every Debian hub scenario document loads (>= 98% of 148)', (t) => {
  const ref = requireDebianReference(t);
  if (!ref) return;
  const files = yamlFiles(join(ref.hub, 'scenarios'));
  const data = new DataFiles(ref.data);
  const hubIndex = loadHubIndex(join(ref.hub, '.index.json'));
  const r = loadScenarioFiles(files, { data, helpers: { data }, hubIndex });
  const total = r.scenarios.length + r.failures.length;
  t.diagnostic(`scenario files ${files.length}, documents ${total}: loaded ${r.scenarios.length}, failed ${r.failures.length}`);
  for (const f of r.failures) t.diagnostic(`FAILED ${f.file.slice(ref.hub.length + 1)} [${f.name}]: ${f.error.message}`);
  assert.equal(files.length, 112);
  assert.equal(total, 148);
  assert.ok(r.scenarios.length / total >= 0.98, `${r.scenarios.length}/${total} loaded`);
  const byType = new Map<string, number>();
  for (const s of r.scenarios) byType.set(s.type, (byType.get(s.type) ?? 0) + 1);
  t.diagnostic(`types: ${[...byType].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  // Every hub scenario is a hub item: its hash matches an index digest, so it has a version.
  const sshBf = r.scenarios.find((s) => s.name === 'crowdsecurity/ssh-bf');
  assert.ok(sshBf);
  assert.equal(sshBf.version, '0.1');
  assert.match(sshBf.hash, /^[0-9a-f]{64}$/);
  assert.equal(sshBf.leakspeedNs, 10e9);
  assert.equal(sshBf.blackholeNs, 60e9);
  assert.equal(sshBf.remediation, true);
  assert.equal(r.scenarios.filter((s) => s.version === '').length, 0, 'every hub file matches an index digest');
});
