/**
 * conditional (newer CrowdSec, spec §4.1): after each accepted pour the `condition`
 * expression runs with `queue` (including the event just poured), `leaky` (the bucket) and
 * `evt`; true overflows with Ovflw_ts = Last_ts. A runtime error or a non-bool result is
 * logged and counts as false. With capacity > 0 the limiter can also overflow it like a
 * leaky bucket (the docs' caveat); -1 disables that.
 */
import type { PEvent } from '../core/event.js';
import type { CompiledExpr } from '../expr/index.js';
import type { BucketRow } from './table.js';

export function conditionMet(row: BucketRow, evt: PEvent, condition: CompiledExpr, onError: (msg: string) => void): boolean {
  let r: unknown;
  try {
    r = condition.run({ queue: row.queue, leaky: row, evt });
  } catch (e) {
    onError(`${row.spec.name}: condition failed: ${(e as Error).message}`);
    return false;
  }
  if (typeof r !== 'boolean') {
    onError(`${row.spec.name}: condition returned ${typeof r}, not a bool`);
    return false;
  }
  if (r) row.ovflwTs = row.lastTs;
  return r;
}
