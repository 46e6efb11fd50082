/**
 * The time operations the bucket engine uses, on top of src/core/gotime.ts. Bucket clocks
 * are GoTime values (second + nanosecond + zone) so alert timestamps keep the zone the log
 * had (spec §4.8); durations are float64 nanoseconds like Go's time.Duration.
 */
import { addNs, diffNs, type GoTime } from '../core/gotime.js';

/** a > b, exact at nanosecond precision. */
export function isAfter(a: GoTime, b: GoTime): boolean {
  return a.unixSec > b.unixSec || (a.unixSec === b.unixSec && a.nsec > b.nsec);
}

export { addNs, diffNs };
export type { GoTime };
