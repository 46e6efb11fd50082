/**
 * Node loader of the WebAssembly bucket table: the same build/palisade.wasm as the scanners
 * (compiled once per process by wasm.ts), one new instance per table.
 */
import { instantiateBucketTable, type BucketBatchTable, type BucketScenarioConfig, type WasmBucketTable } from './buckets-core.js';
import { BucketTableTwin } from './bucket-table-twin.js';
import { loadWasmModule, WASM_PATH } from './wasm.js';

export function createWasmBucketTable(configs: readonly BucketScenarioConfig[], maxRows: number, path: string = WASM_PATH): WasmBucketTable {
  return instantiateBucketTable(loadWasmModule(path), configs, maxRows);
}

const unavailable = new Map<string, Error>();

/**
 * The WASM table, or its TS twin when the module cannot be loaded (not built, stale ABI; the
 * reason is kept in `wasmBucketTableError()` and the path not retried). Configuration
 * errors throw whichever implementation is used.
 */
export function createBucketTable(configs: readonly BucketScenarioConfig[], maxRows: number, impl: 'auto' | 'wasm' | 'ts' = 'auto', path: string = WASM_PATH): BucketBatchTable {
  if (impl === 'ts') return new BucketTableTwin(configs, maxRows);
  if (impl === 'wasm') return createWasmBucketTable(configs, maxRows, path);
  if (!unavailable.has(path)) {
    let module: object | null = null;
    try {
      module = loadWasmModule(path);
      // A stale build (no bucket table, another ABI) fails here, before any configuration is read.
      return instantiateBucketTable(module, configs, maxRows);
    } catch (e) {
      if (module !== null && !/ABI version/.test((e as Error).message)) throw e;
      unavailable.set(path, e as Error);
    }
  }
  return new BucketTableTwin(configs, maxRows);
}

/** Why `createBucketTable` fell back to the twin for that module path (null: it did not). */
export function wasmBucketTableError(path: string = WASM_PATH): Error | null {
  return unavailable.get(path) ?? null;
}

export { WasmBucketTable } from './buckets-core.js';
export type { BucketBatchTable, BucketRowState, BucketScenarioConfig } from './buckets-core.js';
