/**
 * Pool workers load their rules from the documents the main thread packed (config/rule-docs.ts):
 * a rules error in a custom --config dir is still reported once, with the same file:line:col as
 * inline parsing gives, whether the error is in an expression (the worker's documents carry
 * their positions) or in the YAML itself (the file is left out of the pack and the worker
 * parses it); and a valid custom dir replays as inline does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runReplay } from '../../src/pipeline/replay.js';
import { SHIPPED_RULES_DIR } from '../../src/config/rules-dir.js';

const LOG = [
  'Jan  5 10:00:00 host sshd[1]: Failed password for root from 192.0.2.7 port 22 ssh2',
  'Jan  5 10:00:01 host sshd[1]: Failed password for root from 192.0.2.7 port 22 ssh2',
  'Jan  5 10:00:02 host sshd[1]: Invalid user bob from 192.0.2.8 port 22',
].join('\n') + '\n';

async function replayError(configDir: string, log: string, workers: number): Promise<string> {
  try {
    await runReplay({ files: [log], type: 'syslog', dataDir: null, configDir, workers, warn: () => {} });
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

test('a rules error in a custom config dir: the same message, file and position, pooled or inline', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'pool-rule-docs-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const log = join(root, 'auth.log');
  writeFileSync(log, LOG);

  const expr = join(root, 'expr');
  cpSync(SHIPPED_RULES_DIR, expr, { recursive: true, dereference: true });
  const apache = join(expr, 'parsers', 's01-parse', 'apache2-logs.yaml');
  const text = readFileSync(apache, 'utf8');
  assert.match(text, /^filter: .*$/m);
  writeFileSync(apache, text.replace(/^filter: .*$/m, 'filter: "evt.Parsed.program startsWith (("'));
  const line = text.split('\n').findIndex((l) => l.startsWith('filter: ')) + 1;

  const syntax = join(root, 'syntax');
  cpSync(SHIPPED_RULES_DIR, syntax, { recursive: true, dereference: true });
  const mysql = join(syntax, 'parsers', 's01-parse', 'mysql-logs.yaml');
  writeFileSync(mysql, readFileSync(mysql, 'utf8') + 'name: x\n  bad: [\n');

  for (const [dir, where] of [[expr, new RegExp(`apache2-logs\\.yaml:${line}:\\d+ \\(palisade/apache2-logs filter\\)`)], [syntax, /mysql-logs\.yaml:\d+:\d+ \(document 1\)/]] as const) {
    const inline = await replayError(dir, log, 0);
    assert.match(inline, where);
    assert.equal(await replayError(dir, log, 1), inline);
    assert.equal(await replayError(dir, log, 2), inline);
  }
});

test('a valid custom config dir replays through the pool as inline', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'pool-rule-docs-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const log = join(root, 'auth.log');
  writeFileSync(log, LOG.repeat(4));
  const dir = join(root, 'rules');
  cpSync(SHIPPED_RULES_DIR, dir, { recursive: true, dereference: true });
  const run = (workers: number) => runReplay({ files: [log], type: 'syslog', dataDir: null, configDir: dir, workers, warn: () => {} });
  const inline = await run(0);
  const pooled = await run(2);
  assert.equal(inline.lines, 12);
  assert.ok(inline.parsed > 0);
  for (const k of ['lines', 'parsed', 'unparsed', 'whitelisted', 'alerts'] as const) assert.equal(pooled[k], inline[k], k);
});
