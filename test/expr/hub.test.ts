import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireDebianReference } from '../support/debian.js';
import { compileExpr } from '../../src/expr/index.js';
import { newLogEvent } from '../../src/core/event.js';
import { hubExpressions } from './hub-expressions.js';

test('every expression of the Debian 1.4.6 hub compiles', (t) => {
  const ref = requireDebianReference(t);
  if (!ref) return;
  const { exprs, files } = hubExpressions(ref.hub);
  const counts: Record<string, number> = {};
  const failures: string[] = [];
  for (const e of exprs) {
    counts[e.kind] = (counts[e.kind] ?? 0) + 1;
    try {
      compileExpr(e.source, { env: e.env, where: { file: e.file, path: e.path } });
    } catch (err) {
      failures.push((err as Error).message);
    }
  }
  t.diagnostic(`${files} files, ${exprs.length} expressions: ${JSON.stringify(counts)}; ${failures.length} failed`);
  assert.deepEqual(failures, []);
  // Spec §6.2 counts for this snapshot: 1089 expressions (574 statics, 282 filters,
  // 145 groupby, 44 distinct, 32 grok.expression, 10 whitelist, 2 scope).
  assert.deepEqual(counts, {
    filter: 282, 'statics.expression': 574, groupby: 145, distinct: 44,
    'grok.expression': 32, 'whitelist.expression': 10, 'scope.expression': 2,
  });
});

test('hub expressions evaluate on a bare LOG event without crashing', (t) => {
  const ref = requireDebianReference(t);
  if (!ref) return;
  const { exprs } = hubExpressions(ref.hub);
  const evt = newLogEvent('<Event><System><EventID>4625</EventID></System></Event>', { labels: { type: 'syslog' } });
  const runtimeErrors: string[] = [];
  for (const e of exprs) {
    const c = compileExpr(e.source, { env: e.env, helpers: { warn: () => {} } });
    try {
      c.run({ evt });
    } catch (err) {
      runtimeErrors.push(`${e.file} ${e.path}: ${(err as Error).message}`);
    }
  }
  // Only the postoverflow expressions reading evt.Overflow.Alert (nil on a LOG event) and the
  // gitlab filter() over a missing JSON array may fail, and they fail as runtime errors.
  for (const m of runtimeErrors) assert.match(m, /nil pointer|takes only array \(got nil\)/);
  assert.ok(runtimeErrors.length <= 8, runtimeErrors.join('\n'));
});
