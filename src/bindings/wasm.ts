/**
 * The Node loader of build/palisade.wasm (built by `npm run build:wasm`). The module is
 * compiled once per process and instantiated per scanner: each instance has its own memory,
 * so one scanner per worker thread.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileWasmSync, instantiateScanner } from './wasm-core.js';
import type { BatchScanner } from './types.js';

/** Same path from src/bindings (tsx) and dist/bindings (built). */
export const WASM_PATH = fileURLToPath(new URL('../../build/palisade.wasm', import.meta.url));

const compiled = new Map<string, object>();

export function loadWasmModule(path: string = WASM_PATH): object {
  let m = compiled.get(path);
  if (m === undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new Error(`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): run npm run build:wasm`);
    }
    m = compileWasmSync(bytes);
    compiled.set(path, m);
  }
  return m;
}

export function createWasmScanner(path: string = WASM_PATH): BatchScanner {
  return instantiateScanner(loadWasmModule(path));
}

export { compilePrefilter } from './prefilter-plan.js';
export type { PrefilterPlan } from './prefilter-plan.js';
export type { BatchScanner, LineScan, PrefilterResult } from './types.js';
