/**
 * The interface shared by the WebAssembly scanners (wasm-core.ts) and their simple TS twins
 * (twin.ts). Both are driven the same way, one batch at a time:
 *
 *   const lines = s.scanLines(batch, final);   // loads the batch, splits it into lines
 *   s.prefilter(plan);                          // per line: literal and candidate-node masks
 *   s.scanSyslog(); s.scanAccessLog();          // per line: field spans
 *
 * Offsets are byte offsets into `batch`; spans are [start, end). Results of the WASM scanner
 * are views into its memory: valid until the next call of the same method or the next
 * scanLines (copy with .slice() to keep them).
 */
import type { PrefilterPlan } from './prefilter-plan.js';

export interface LineScan {
  /** Number of lines found. */
  readonly count: number;
  /**
   * Bytes of the batch used: up to and including the last line's '\n'. The rest (a line cut
   * by the batch end, or lines past MAX_LINES) must be fed again at the start of the next batch.
   */
  readonly consumed: number;
  /** 2 u32 per line: start, end (end excludes the '\n' and a '\r' before it). */
  readonly lines: Uint32Array;
}

export interface PrefilterResult {
  /** Lines that have at least one candidate node. */
  readonly candidates: number;
  /** u32 words per line in literalMasks (ceil(literals / 32)). */
  readonly litWords: number;
  /** u32 words per line in nodeMasks (ceil(nodes / 32)). */
  readonly nodeWords: number;
  /** Line j, literal k: bit (k & 31) of word j * litWords + (k >> 5). */
  readonly literalMasks: Uint32Array;
  /** Line j, node n: bit (n & 31) of word j * nodeWords + (n >> 5) — run node n's regex only if set. */
  readonly nodeMasks: Uint32Array;
}

export interface BatchScanner {
  readonly impl: 'wasm' | 'twin';
  /** Throws RangeError when batch.length > MAX_INPUT. */
  scanLines(batch: Uint8Array, final: boolean): LineScan;
  /** Over the lines of the last scanLines. */
  prefilter(plan: PrefilterPlan): PrefilterResult;
  /** SYSLOG_REC_WORDS u32 per line of the last scanLines (layout in assembly/abi.ts). */
  scanSyslog(): Uint32Array;
  /** ACCESS_REC_WORDS u32 per line of the last scanLines (layout in assembly/abi.ts). */
  scanAccessLog(): Uint32Array;
}
