/**
 * Caps this thread's young generation (V8's new space) at run time, during a pooled replay.
 *
 * The main thread's new space starts at 1 MB and doubles whenever as much has survived
 * scavenges as it holds, up to 2 x 16 MB semi-spaces (Node 20's default cap), both resident.
 * With the pool, this thread only applies pour records and builds alerts, and 2 x 8 MB does
 * (1M nginx lines: 33.6 -> 16.8 MB resident, ~3x the scavenges, about as many full GCs, main +
 * helper CPU +0.15-0.3 s; 2 x 4 MB promoted enough to cost ~10x the full GCs: see
 * POOL_MAIN_NEW_SPACE_BYTES in replay.ts and bench/RESULTS-pipeline.md, 2026-11-28 h2).
 * `--max-semi-space-size` cannot change once the isolate exists, but V8 reads
 * `--semi-space-growth-factor` at each growth: at 1, the new space keeps its size.
 *
 * Two catches, both measured on Node 20.20 (V8 11.3):
 *  - every isolate's heap set-up (each new worker thread) raises a growth factor below 2 back
 *    to 2, process-wide: check() sets it again on every call (cheap: one flag parse);
 *  - the flag is process-wide, so worker isolates created while it is 1 would keep their
 *    initial 1 MB semi-spaces (2 MB semi-spaces cost the nginx workers +8-11% CPU, pool.ts):
 *    `--min-semi-space-size`, read when an isolate is created, starts them at their cap.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** V8's defaults (restored by release()); min-semi-space-size 0 means V8's own initial size. */
const DEFAULT_GROWTH_FACTOR = 2;
const DEFAULT_MIN_SEMI_SPACE_MB = 0;

/** This thread's new space, committed bytes (both semi-spaces). */
export function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Stops this thread's new space from growing once it holds `maxBytes` (committed, both
 * semi-spaces): at the first check() that finds it there (at once if it is there already).
 * `workerSemiSpaceMb`: the semi-space size worker isolates created from now on start with
 * (their resourceLimits cap). release() restores V8's defaults for whatever the process does next.
 */
export class YoungGenCap {
  private capped = false;
  private released = false;

  constructor(private readonly maxBytes: number, workerSemiSpaceMb: number) {
    setFlagsFromString(`--min-semi-space-size=${workerSemiSpaceMb}`);
    this.check();
  }

  /**
   * Call now and then (e.g. per batch). Once the cap is reached, V8 may still shrink the new
   * space (its memory reducer, when this thread allocates little for a while, e.g. waiting for
   * the workers): below the cap the default factor is set again, so it can grow back.
   */
  check(): void {
    if (this.released) return;
    const below = newSpaceBytes() < this.maxBytes;
    if (!this.capped && below) return;
    this.capped = true;
    setFlagsFromString(below ? `--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}` : '--semi-space-growth-factor=1');
  }

  get isCapped(): boolean {
    return this.capped;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.capped = false;
    setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
    setFlagsFromString(`--min-semi-space-size=${DEFAULT_MIN_SEMI_SPACE_MB}`);
  }
}
