/**
 * Bytes allocated in the young generation over a phase (v8.GCProfiler): what each
 * collection found used in new space (and new large-object space) before it ran, minus what
 * the previous one left, plus what is used at the end. Objects that go straight to old
 * space are not counted; for per-request garbage (small and short-lived) this is nearly
 * all of it. Independent of machine load, unlike pause times.
 */
import v8 from 'node:v8';

interface SpaceStat { spaceName: string; spaceUsedSize: number }
interface GcStat { beforeGC: { heapSpaceStatistics: SpaceStat[] }; afterGC: { heapSpaceStatistics: SpaceStat[] } }

const YOUNG = new Set(['new_space', 'new_large_object_space']);
const youngOf = (spaces: readonly { spaceName?: string; space_name?: string; spaceUsedSize?: number; space_used_size?: number }[]) => {
  let n = 0;
  for (const s of spaces) if (YOUNG.has(s.spaceName ?? s.space_name ?? '')) n += s.spaceUsedSize ?? s.space_used_size ?? 0;
  return n;
};
const youngNow = () => youngOf(v8.getHeapSpaceStatistics());

let profiler: v8.GCProfiler | null = null;
let startUsed = 0;

/** Starts a phase (drops any phase already running). */
export function allocStart(): void {
  profiler?.stop();
  profiler = new v8.GCProfiler();
  startUsed = youngNow();
  profiler.start();
}

/** Young-generation bytes allocated since allocStart (0 when no phase ran). */
export function allocStop(): number {
  if (!profiler) return 0;
  const end = youngNow();
  const stats = (profiler.stop() as unknown as { statistics: GcStat[] }).statistics;
  profiler = null;
  let total = 0;
  let prevAfter = startUsed;
  for (const s of stats) {
    total += Math.max(0, youngOf(s.beforeGC.heapSpaceStatistics) - prevAfter);
    prevAfter = youngOf(s.afterGC.heapSpaceStatistics);
  }
  return total + Math.max(0, end - prevAfter);
}
