/**
 * Compares what two replays stored: `palisade alerts list --json --limit 0` and
 * `palisade decisions list --all --json --limit 0` of two data directories, each listed by
 * its own build (e.g. a baseline build and this one), after normalising what legitimately
 * differs between runs:
 *  - alerts' `created_at` (wall clock of the write) is dropped;
 *  - worktree paths in event metas (`/work/wt/NAME/.cache`, `/work/main/.cache`) become `/X/.cache`;
 *  - decisions' `duration` (until - now of the listing, now differs) becomes the offset in ms
 *    from the first decision of the same listing: a different profile duration (4h vs 8h)
 *    or stop_at still shows up, the listing's clock does not.
 * Everything else (ids, order, machine_id, every field of every event, each alert's
 * decisions) must be equal. Exits 1 on the first difference, naming where.
 *
 *   node --import tsx bench/lib/store-compare.ts DIR_A DIR_B [--bin-a A/bin/palisade.js] [--bin-b B/bin/palisade.js]
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseGoDuration } from '../../src/core/duration.js';
import { arg } from './args.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function list(bin: string, dir: string, what: 'alerts' | 'decisions'): Json[] {
  const extra = what === 'decisions' ? ['--all'] : [];
  const out = execFileSync(process.execPath, [bin, what, 'list', ...extra, '--json', '--limit', '0', '--data-dir', dir], { maxBuffer: 1 << 30, encoding: 'utf8' });
  const v = (JSON.parse(out) as Json) ?? []; // an empty store lists null
  if (!Array.isArray(v)) throw new Error(`${what} list of ${dir}: expected an array`);
  return v;
}

const PATH = /\/work\/(wt\/[a-z0-9]+|main|tmp\/[^/]+)\/\.cache/g;

function normDecisions(ds: Json[], ref: { ms: number | null }): Json[] {
  return ds.map((d) => {
    const o = { ...(d as Record<string, Json>) };
    const ns = parseGoDuration(String(o.duration));
    if (ns === null) throw new Error(`unparsable duration ${String(o.duration)}`);
    const ms = Math.round(ns / 1e6);
    ref.ms ??= ms;
    o.duration = ms - ref.ms;
    return o;
  });
}

export function normalizeAlerts(alerts: Json[], ref: { ms: number | null }): string[] {
  return alerts.map((a) => {
    const o = { ...(a as Record<string, Json>) };
    delete o.created_at;
    if (Array.isArray(o.decisions)) o.decisions = normDecisions(o.decisions, ref);
    return JSON.stringify(o).replace(PATH, '/X/.cache');
  });
}

function firstDiff(what: string, a: string[], b: string[]): string | null {
  if (a.length !== b.length) return `${what}: ${a.length} vs ${b.length} records`;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      let k = 0;
      while (a[i]![k] === b[i]![k]) k++;
      return `${what}[${i}] differs at char ${k}:\n  A ...${a[i]!.slice(Math.max(0, k - 80), k + 80)}\n  B ...${b[i]!.slice(Math.max(0, k - 80), k + 80)}`;
    }
  }
  return null;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const [dirA, dirB] = args;
  if (!dirA || !dirB) {
    console.error('usage: bench/lib/store-compare.ts DIR_A DIR_B [--bin-a BIN] [--bin-b BIN]');
    process.exit(2);
  }
  const here = fileURLToPath(new URL('../../bin/palisade.js', import.meta.url));
  const binA = arg(args, 'bin-a') ?? here, binB = arg(args, 'bin-b') ?? here;
  const side = (bin: string, dir: string) => {
    // One reference per listing: the decisions list and the alerts' embedded decisions are
    // listed at different times.
    const decisions = normDecisions(list(bin, dir, 'decisions'), { ms: null }).map((d) => JSON.stringify(d));
    const alerts = normalizeAlerts(list(bin, dir, 'alerts'), { ms: null });
    return { alerts, decisions };
  };
  const A = side(binA, dirA), B = side(binB, dirB);
  const diff = firstDiff('decisions', A.decisions, B.decisions) ?? firstDiff('alerts', A.alerts, B.alerts);
  if (diff) {
    console.log(`DIFFERENT\n${diff}`);
    process.exit(1);
  }
  console.log(`same: ${A.alerts.length} alerts, ${A.decisions.length} decisions (masked: alerts' created_at, worktree paths, the listing clock in decision durations)`);
}
