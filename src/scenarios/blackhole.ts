/**
 * blackhole (spec §4.6): after an overflow of partition K passes, further overflows of K are
 * discarded until Ovflw_ts + blackhole. The state belongs to the scenario (shared by all its
 * partitions) and survives the bucket, which dies on overflow. It runs after overflow_filter,
 * so filtered overflows never start a blackhole. Times are in the mode's clock.
 *
 * CrowdSec keeps a list and prunes expired entries on every overflow; a Map gives the same
 * answers (an expired entry never blocks) and `prune(now)` reclaims memory from the sweep.
 * Entries are re-inserted on update, so the Map stays in expiry order and pruning stops at
 * the first live entry.
 */
import { addNs, isAfter, type GoTime } from './time.js';

export class Blackhole {
  private readonly until = new Map<string, GoTime>();

  constructor(readonly durationNs: number) {}

  /** True when the overflow may pass (and records the new silence window). */
  admit(key: string, ovflw: GoTime): boolean {
    const prev = this.until.get(key);
    if (prev !== undefined && isAfter(prev, ovflw)) return false;
    this.until.delete(key);
    this.until.set(key, addNs(ovflw, this.durationNs));
    return true;
  }

  /** True when admit() would refuse this overflow (nothing recorded). */
  silenced(key: string, ovflw: GoTime): boolean {
    const prev = this.until.get(key);
    return prev !== undefined && isAfter(prev, ovflw);
  }

  prune(now: GoTime): void {
    for (const [k, t] of this.until) {
      if (isAfter(t, now)) break;
      this.until.delete(k);
    }
  }

  get size(): number {
    return this.until.size;
  }
}
