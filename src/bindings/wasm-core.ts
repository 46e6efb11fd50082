/**
 * Browser-safe core of the palisade.wasm binding: no Node imports, so the same file runs in
 * Node (through wasm.ts, which adds the file loader) and in a browser (test/wasm/browser.test.ts).
 * It only copies batches and literal tables into the module's fixed regions, calls the
 * exports, and returns typed-array views of the result regions (no copies, no objects per line).
 */
import * as abi from './abi.generated.js';
import type { PrefilterPlan } from './prefilter-plan.js';
import type { BatchScanner, LineScan, PrefilterResult } from './types.js';

/** The exports of palisade.wasm (see assembly/README.md). */
export interface PalisadeExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  abiVersion(): number;
  layoutOk(): number;
  scanLines(len: number, final: number): number;
  prefilterLoad(nLits: number, nNodes: number): number;
  prefilterRun(nLines: number): number;
  prefilterLitWords(): number;
  prefilterNodeWords(): number;
  scanSyslog(nLines: number): number;
  scanAccessLog(nLines: number): number;
}

// Only the parts of the WebAssembly JS API used here (the project's lib has no DOM types).
interface WasmApi {
  Module: new (bytes: Uint8Array | ArrayBuffer) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
  compile(bytes: Uint8Array | ArrayBuffer): Promise<object>;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export function compileWasm(bytes: Uint8Array | ArrayBuffer): Promise<object> {
  return WA.compile(bytes);
}

export function compileWasmSync(bytes: Uint8Array | ArrayBuffer): object {
  return new WA.Module(bytes);
}

const PF_ERRORS: Record<number, string> = {
  [abi.PF_TOO_MANY_LITERALS]: 'too many literals',
  [abi.PF_TOO_MANY_NODES]: 'too many nodes',
  [abi.PF_BAD_LITERAL_LENGTH]: 'a literal length is 0 or above MAX_LITERAL_LEN',
  [abi.PF_BAD_PROBE]: 'a probe position is outside its literal',
};

class WasmScanner implements BatchScanner {
  readonly impl = 'wasm' as const;
  private readonly x: PalisadeExports;
  private readonly u8: Uint8Array;
  private readonly u32: Uint32Array;
  private lineCount = 0;
  private loadedPlan = 0;

  constructor(x: PalisadeExports) {
    this.x = x;
    // Memory never grows after instantiation (all regions exist from the start), so the
    // views stay attached.
    this.u8 = new Uint8Array(x.memory.buffer);
    this.u32 = new Uint32Array(x.memory.buffer);
  }

  scanLines(batch: Uint8Array, final: boolean): LineScan {
    if (batch.length > abi.MAX_INPUT) {
      throw new RangeError(`scanLines: batch of ${batch.length} bytes, at most ${abi.MAX_INPUT} (MAX_INPUT)`);
    }
    this.u8.set(batch, abi.INPUT_OFFSET);
    const count = this.x.scanLines(batch.length, final ? 1 : 0);
    this.lineCount = count;
    const consumed = this.u32[(abi.STATUS_OFFSET >>> 2) + abi.STATUS_CONSUMED]!;
    return { count, consumed, lines: this.u32.subarray(abi.LINES_OFFSET >>> 2, (abi.LINES_OFFSET >>> 2) + count * 2) };
  }

  prefilter(plan: PrefilterPlan): PrefilterResult {
    if (this.loadedPlan !== plan.id) this.load(plan);
    const candidates = this.x.prefilterRun(this.lineCount);
    const litWords = this.x.prefilterLitWords();
    const nodeWords = this.x.prefilterNodeWords();
    const lm = abi.LIT_MASKS_OFFSET >>> 2;
    const nm = abi.NODE_MASKS_OFFSET >>> 2;
    return {
      candidates,
      litWords,
      nodeWords,
      literalMasks: this.u32.subarray(lm, lm + this.lineCount * litWords),
      nodeMasks: this.u32.subarray(nm, nm + this.lineCount * nodeWords),
    };
  }

  private load(plan: PrefilterPlan): void {
    const lits = plan.literals;
    for (let k = 0; k < lits.length; k++) {
      this.u32[(abi.LIT_LEN_OFFSET >>> 2) + k] = lits[k]!.length;
      this.u32[(abi.LIT_PROBE_OFFSET >>> 2) + k] = plan.probes[k]!;
      this.u8.set(lits[k]!, abi.LIT_BYTES_OFFSET + k * abi.MAX_LITERAL_LEN);
    }
    this.u32.set(plan.need, abi.NODE_NEED_OFFSET >>> 2);
    const rc = this.x.prefilterLoad(lits.length, plan.nodeCount);
    if (rc !== abi.PF_OK) {
      this.loadedPlan = 0;
      throw new RangeError(`prefilterLoad: ${PF_ERRORS[rc] ?? `error ${rc}`}`);
    }
    this.loadedPlan = plan.id;
  }

  scanSyslog(): Uint32Array {
    this.x.scanSyslog(this.lineCount);
    const o = abi.SYSLOG_RECS_OFFSET >>> 2;
    return this.u32.subarray(o, o + this.lineCount * abi.SYSLOG_REC_WORDS);
  }

  scanAccessLog(): Uint32Array {
    this.x.scanAccessLog(this.lineCount);
    const o = abi.ACCESS_RECS_OFFSET >>> 2;
    return this.u32.subarray(o, o + this.lineCount * abi.ACCESS_REC_WORDS);
  }
}

/**
 * A new instance (own memory) of a compiled palisade.wasm. Checks the ABI version and the
 * layout, so a stale build fails here with a clear message rather than corrupting memory.
 */
export function instantiateScanner(module: object): BatchScanner {
  const inst = new WA.Instance(module, {});
  const x = inst.exports as PalisadeExports;
  if (typeof x.abiVersion !== 'function' || x.abiVersion() !== abi.ABI_VERSION) {
    const got = typeof x.abiVersion === 'function' ? x.abiVersion() : 'none';
    throw new Error(`palisade.wasm ABI version ${got}, expected ${abi.ABI_VERSION}: rebuild with npm run build:wasm`);
  }
  if (x.layoutOk() !== 1) {
    throw new Error('palisade.wasm: static data overlaps REGION_BASE or memory is too small (see assembly/abi.ts)');
  }
  return new WasmScanner(x);
}
