/**
 * Parsing a batch of raw bytes (a pool task, or a replay chunk) with the scanners of
 * src/bindings: per window of up to MAX_INPUT bytes, one scanLines, one prefilter run over
 * every line (the required literals of the set's grok sites, prefilter-sites.ts) and, when
 * the set has the syslog header grok, one scanSyslog. The per-line code then reads bits and
 * spans (line-hint.ts) instead of searching the line for each grok's literals.
 *
 * One BatchParser per thread (a scanner instance is one linear memory). Lines are cut and
 * decoded exactly as batcher.ts forEachLine(batchText()) does: split on '\n', one '\r'
 * before it removed, empty lines skipped, invalid UTF-8 as U+FFFD.
 */
import { createWasmScanner } from '../bindings/wasm.js';
import { createTwinScanner } from '../bindings/scanner-twin.js';
import { MAX_INPUT, SYSLOG_REC_WORDS } from '../bindings/abi.generated.js';
import type { BatchScanner } from '../bindings/types.js';
import type { ParserSet } from './types.js';
import { newLineHint, NO_SITES, type LineHint } from './line-hint.js';
import { sitePlan, type SitePlan } from './prefilter-sites.js';
import { syslogHeaderReader } from './syslog-fast.js';
import { forEachLine } from '../pipeline/batcher.js';

const DECODER = new TextDecoder('utf-8', { ignoreBOM: true });
const NL = 10;
/**
 * Bytes of lines decoded into one string. A string past V8's regular object size (128 KB)
 * is a large object on pages of its own, mapped and faulted in afresh per batch: decoding a
 * 256 KB batch at once cost ~1.2 ns/byte, in 32-64 KB pieces ~0.2 (nginx log, Node 20).
 */
const DECODE_CHUNK = 32 * 1024;

/** Calls fn(line, hint) per line; `hint` is valid during the call only. */
export type LineVisitor = (line: string, hint: LineHint | undefined) => void;

export class BatchParser {
  /** The hint object the visitor receives (reused; its fields change per line). */
  private readonly hint: LineHint = newLineHint();
  private readonly syslog: boolean;

  private constructor(
    readonly scanner: BatchScanner,
    private readonly sites: SitePlan | null,
    set: ParserSet,
  ) {
    this.syslog = hasSyslogHeaderGrok(set);
  }

  /**
   * The parser of `set` on the WASM scanner, or its TS twin when build/palisade.wasm cannot
   * be loaded (`impl: 'twin'` forces it). `prefilter`: which grok sites the literal
   * prefilter answers for (prefilter-sites.ts sitePlan; 'none': no prefilter run).
   */
  static create(set: ParserSet, impl?: 'wasm' | 'twin', prefilter: 'auto' | 'all' | 'none' = 'auto'): BatchParser {
    let scanner: BatchScanner;
    if (impl === 'twin') scanner = createTwinScanner();
    else {
      try {
        scanner = createWasmScanner();
      } catch (e) {
        if (impl === 'wasm') throw e;
        scanner = createTwinScanner();
      }
    }
    return new BatchParser(scanner, prefilter === 'none' ? null : sitePlan(set, prefilter), set);
  }

  /** Whether any hint is worth computing (else callers may as well split lines themselves). */
  get useful(): boolean {
    return this.sites !== null || this.syslog;
  }

  /** Grok sites the prefilter answers for (0: it does not run). */
  get prefilterSites(): number {
    return this.sites?.sites ?? 0;
  }

  forEachLine(bytes: Uint8Array, fn: LineVisitor): void {
    let off = 0;
    const n = bytes.length;
    while (off < n) {
      const end = Math.min(n, off + MAX_INPUT);
      const used = this.window(bytes.subarray(off, end), end === n, fn);
      if (used > 0) {
        off += used;
        continue;
      }
      // A line longer than the scanner's input: without hints, as batchText would give it.
      let nl = bytes.indexOf(NL, off);
      if (nl < 0) nl = n;
      forEachLine(DECODER.decode(bytes.subarray(off, nl)), (line) => fn(line, undefined));
      off = nl + 1;
    }
  }

  /** One scanner window; returns the bytes used (0: no complete line in it). */
  private window(win: Uint8Array, final: boolean, fn: LineVisitor): number {
    const s = this.scanner;
    const scan = s.scanLines(win, final);
    if (scan.count === 0) return 0;
    const h = this.hint;
    let nodeWords = 0;
    if (this.sites !== null) {
      const pf = s.prefilter(this.sites.plan);
      h.masks = pf.nodeMasks;
      nodeWords = pf.nodeWords;
      h.bitOf = this.sites.bitOf;
    } else h.bitOf = NO_SITES;
    h.syslog = null;
    h.pendingSyslog = this.syslog ? s : null;
    h.bytes = win;
    const lines = scan.lines;
    const count = scan.count;
    for (let j = 0; j < count;) {
      // The text of whole lines j..k-1, about DECODE_CHUNK bytes (see there); a chunk ends
      // after a '\n', which no UTF-8 sequence contains, so it decodes as within the window.
      const c0 = lines[2 * j]!;
      let k = j + 1;
      while (k < count && lines[2 * k]! - c0 < DECODE_CHUNK) k++;
      const text = DECODER.decode(win.subarray(c0, k < count ? lines[2 * k]! : scan.consumed));
      let pos = 0;
      for (; j < k; j++) {
        let e = text.indexOf('\n', pos);
        if (e < 0) e = text.length;
        let end = e;
        if (end > pos && text.charCodeAt(end - 1) === 13) end--;
        if (end > pos) {
          h.mbase = j * nodeWords;
          h.sbase = j * SYSLOG_REC_WORDS;
          h.lineStart = lines[2 * j]!;
          fn(text.slice(pos, end), h);
        }
        pos = e + 1;
      }
    }
    return scan.consumed;
  }
}

function hasSyslogHeaderGrok(set: ParserSet): boolean {
  let found = false;
  const walk = (n: ParserSet['byStage'] extends ReadonlyMap<string, readonly (infer N)[]> ? N : never): void => {
    if (n.grok !== null && n.grok.applyOn === 'Line.Raw' && syslogHeaderReader(n.grok.grok) !== null) found = true;
    n.children.forEach(walk);
  };
  for (const st of set.stages) for (const n of set.byStage.get(st) ?? []) walk(n);
  return found;
}
