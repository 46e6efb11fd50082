/**
 * Node loader of the WebAssembly IP set: the same build/palisade.wasm as the scanners
 * (compiled once per process by wasm.ts), one new instance per set.
 */
import { instantiatePrefixSet, type WasmPrefixSet } from './ipset-core.js';
import { loadWasmModule, WASM_PATH } from './wasm.js';

export function createWasmPrefixSet(path: string = WASM_PATH): WasmPrefixSet {
  return instantiatePrefixSet(loadWasmModule(path));
}

let unavailable: Error | null = null;

/**
 * A WASM set, or null when the module cannot be loaded (not built, stale ABI); the reason is
 * kept in `wasmPrefixSetError()`. A failure is remembered so callers do not retry per set.
 */
export function tryCreateWasmPrefixSet(): WasmPrefixSet | null {
  if (unavailable) return null;
  try {
    return createWasmPrefixSet();
  } catch (e) {
    unavailable = e as Error;
    return null;
  }
}

export function wasmPrefixSetError(): Error | null {
  return unavailable;
}

export { WasmPrefixSet } from './ipset-core.js';
