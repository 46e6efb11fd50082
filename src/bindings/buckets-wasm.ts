/**
 * Node loader of the WebAssembly bucket table: the same build/palisade.wasm as the scanners
 * (compiled once per process by wasm.ts), one new instance per table.
 */
import { instantiateBucketTable, type BucketScenarioConfig, type WasmBucketTable } from './buckets-core.js';
import { loadWasmModule, WASM_PATH } from './wasm.js';

export function createWasmBucketTable(configs: readonly BucketScenarioConfig[], maxRows: number, path: string = WASM_PATH): WasmBucketTable {
  return instantiateBucketTable(loadWasmModule(path), configs, maxRows);
}

export { WasmBucketTable } from './buckets-core.js';
export type { BucketBatchTable, BucketRowState, BucketScenarioConfig } from './buckets-core.js';
