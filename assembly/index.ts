/**
 * palisade.wasm exports. The ABI (regions, record layouts, call order) is in assembly/abi.ts
 * and assembly/README.md. Nothing here allocates: the runtime is `stub` and all data lives in
 * fixed regions, so any runtime that can write bytes into linear memory can drive it.
 */
import { ABI_VERSION, MEMORY_PAGES, REGION_BASE } from './abi';

export { scanLines } from './scanner';
export { prefilterLoad, prefilterRun, prefilterLitWords, prefilterNodeWords } from './prefilter';
export { scanSyslog } from './syslog';
export { scanAccessLog } from './accesslog';
export {
  ipsetReset, ipsetInsert, ipsetRemove, ipsetGet, ipsetSize, ipsetHeapBytes, ipsetLookup, ipsetLookupText, ipsetCovering, ipsetInside,
} from './ipset';
export {
  bucketsPrepare, bucketsInit, bucketsPour, bucketsSweep, bucketsFind, bucketsSize, bucketsScenarioSize, bucketsOldest, bucketsDistinctCount,
} from './buckets';

// Grow once at instantiation so every region of the ABI exists.
const have = <u32>memory.size();
if (have < MEMORY_PAGES) memory.grow(<i32>(MEMORY_PAGES - have));

export function abiVersion(): u32 {
  return ABI_VERSION;
}

/** 1 when the static data ends below REGION_BASE and memory covers all regions, else 0. */
export function layoutOk(): u32 {
  return <u32>(__heap_base <= REGION_BASE && <u32>memory.size() >= MEMORY_PAGES);
}
