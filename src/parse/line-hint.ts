import type { BatchScanner } from '../bindings/types.js';

/**
 * What the batch scanner (src/parse/batch.ts) learnt about the line being parsed, read by the
 * compiled nodes (node.ts). Only set while that line's event goes through the parser set the
 * plan was built for; `bitOf` is empty otherwise, so every test below says "unknown".
 */
export interface LineHint {
  /** Per grok site id (node.ts grokSiteOf): its node number in the prefilter plan, or -1. */
  bitOf: Int16Array;
  /** The prefilter's node masks of the batch, and the first word of this line's mask. */
  masks: Uint32Array;
  mbase: number;
  /**
   * The syslog scanner's records of the scanned window, this line's record at sbase: read
   * them through syslogRecords(), which scans the window on first use (a window of nginx
   * lines never reaches the syslog grok, so never pays for the scan).
   */
  syslog: Uint32Array | null;
  /** The scanner holding the window when its syslog records are not made yet, else null. */
  pendingSyslog: BatchScanner | null;
  sbase: number;
  /** Byte offset of the line in the scanned window (record spans are window offsets). */
  lineStart: number;
  /** The scanned window's bytes (the line's are from lineStart; syslog-fast.ts reads them). */
  bytes: Uint8Array;
}

export const NO_SITES = new Int16Array(0);

export function newLineHint(): LineHint {
  return { bitOf: NO_SITES, masks: new Uint32Array(0), mbase: 0, syslog: null, pendingSyslog: null, sbase: 0, lineStart: 0, bytes: new Uint8Array(0) };
}

/** The window's syslog records (scanned now if still pending), or null when there are none. */
export function syslogRecords(h: LineHint): Uint32Array | null {
  const s = h.pendingSyslog;
  if (s !== null) {
    h.syslog = s.scanSyslog();
    h.pendingSyslog = null;
  }
  return h.syslog;
}

/**
 * -1: no prefilter answer for this site on this line; 0: a literal its grok requires is
 * missing from the line (the grok cannot match its input, a substring of the line); 1: all present.
 */
export function prefiltered(h: LineHint | undefined, site: number): -1 | 0 | 1 {
  if (h === undefined) return -1;
  const bitOf = h.bitOf;
  if (site >= bitOf.length) return -1;
  const b = bitOf[site]!;
  if (b < 0) return -1;
  return (h.masks[h.mbase + (b >>> 5)]! >>> (b & 31)) & 1 ? 1 : 0;
}
