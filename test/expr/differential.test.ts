/**
 * The optimised compiler (fused member chains, literal-set `in`) against its plain twin:
 * every hub expression plus seeded random expressions, over events of unusual shapes, must
 * give the same value or the same kind of error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/expr/parser.js';
import { Compiler } from '../../src/expr/compiler.js';
import { newLogEvent, PEvent, EventType } from '../../src/core/event.js';
import { debianReference } from '../support/debian.js';
import { hubExpressions } from './hub-expressions.js';

function outcome(fn: (env: Record<string, unknown>, it: unknown) => unknown, env: Record<string, unknown>): string {
  try {
    const v = fn(env, null);
    return 'ok:' + JSON.stringify(v, (_k, x) => (x instanceof Map ? [...x] : x));
  } catch (e) {
    return 'err:' + (e as Error).name;
  }
}

function events(): Record<string, unknown>[] {
  const log = newLogEvent('Feb 12 14:10:21 host sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2', { labels: { type: 'syslog' } });
  log.Parsed.set('program', 'sshd');
  log.Parsed.set('message', '{"status": 401, "params": [{"key": "user", "value": {"login": "bob"}}]}');
  log.Meta.set('log_type', 'http_access-log');
  log.Meta.set('http_path', '/%2e%2e/etc/passwd');
  const ov = new PEvent(log.Line);
  ov.Type = EventType.OVFLW;
  ov.Overflow = {
    Mapkey: 'k', BucketId: 'b', Whitelisted: false, Reprocess: false, Sources: new Map(), APIAlerts: [], GetSources: () => [],
    Alert: { Remediation: true, Source: { IP: '2001:db8::1', Scope: 'Ip', Value: '2001:db8::1' } },
  };
  // Unusual shapes: plain object with Map fields, missing fields, nil event, Map as event.
  const plain = { Parsed: new Map([['program', 'nginx']]), Meta: new Map(), Line: { Raw: 'x', Labels: new Map([['type', 'nginx']]) } };
  const odd = { Parsed: 'not a map', Line: null };
  return [{ evt: log }, { evt: ov }, { evt: plain }, { evt: odd }, { evt: null }, {}, { evt: new Map([['Parsed', 'x']]) }];
}

function compare(sources: string[]): number {
  const envs = events();
  let checked = 0;
  for (const src of sources) {
    const ast = parse(src);
    let fast, plain;
    try {
      fast = new Compiler(['evt'], { warn: () => {} }, true).compile(ast).fn;
      plain = new Compiler(['evt'], { warn: () => {} }, false).compile(ast).fn;
    } catch {
      continue; // both reject the same way (checked by the hub test)
    }
    for (const env of envs) {
      assert.equal(outcome(fast, env), outcome(plain, env), `${src} on ${JSON.stringify(Object.keys(env))}`);
      checked++;
    }
  }
  return checked;
}

test('optimised and plain compilers agree on every hub expression', (t) => {
  const ref = debianReference();
  if (!ref) { t.skip('Debian reference not available'); return; }
  const n = compare(hubExpressions(ref.hub).exprs.filter((e) => e.env[0] === 'evt').map((e) => e.source));
  t.diagnostic(`${n} evaluations compared`);
  assert.ok(n > 5000);
});

test('seeded random member chains and in-lists agree', () => {
  let seed = 0x2545f491;
  const rnd = (n: number) => {
    seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
    return seed % n;
  };
  const atoms = ['evt.Parsed.program', "evt.Parsed['message']", 'evt.Meta.log_type', 'evt.Line.Raw', 'evt.Line.Labels.type',
    'evt.Overflow.Alert.Source.IP', 'evt.Overflow.Mapkey', 'evt.StrTime', 'evt.Enriched.x', "evt.GetMeta('log_type')"];
  const lits = ["'sshd'", "'nginx'", "'http_access-log'", "''", "'x'"];
  const sources: string[] = [];
  for (let i = 0; i < 400; i++) {
    const a = atoms[rnd(atoms.length)];
    const list = Array.from({ length: 1 + rnd(3) }, () => lits[rnd(lits.length)]).join(', ');
    const forms = [`${a} in [${list}]`, `${a} not in [${list}]`, `${a} == ${lits[rnd(lits.length)]}`, `${a} != ${lits[rnd(lits.length)]}`, `${a} + ${atoms[rnd(atoms.length)]}`, `len(${a})`];
    sources.push(forms[rnd(forms.length)]);
  }
  assert.ok(compare(sources) > 2000);
});
