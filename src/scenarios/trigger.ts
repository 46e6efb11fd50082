/**
 * trigger (capacity 0, spec §4.6): every event that reaches the bucket overflows at once
 * with a queue of that one event; start = stop = the event's time in the mode's clock.
 * CrowdSec does this in the type processor, i.e. before distinct / cancel_on run, so those
 * keys have no effect on a trigger; we keep that order.
 */
import type { PEvent } from '../core/event.js';
import type { BucketRow } from './table.js';
import type { GoTime } from './time.js';

export function pourTrigger(row: BucketRow, evt: PEvent, now: GoTime): true {
  row.queue.Queue.push(evt);
  row.totalCount = 1;
  row.firstTs = row.lastTs = row.ovflwTs = now;
  return true;
}
