/**
 * Cuts a byte stream into batches of whole lines for the worker pool (design.md §1).
 *
 * Batch layout: `bytes` is a standalone ArrayBuffer (transferable, never shared with Node's
 * Buffer pool) holding complete lines, each ended by '\n':
 *
 *   bytes: | line 0 ...\n | line 1 ...\n | ... | line k ...\n |
 *
 * Lines keep their raw bytes ('\r' and empty lines are dealt with by the reader of the
 * batch, exactly as readLines does). A line longer than `maxLineBytes` is cut there and the
 * rest skipped up to its '\n', as readLines does; `truncated` counts those lines.
 */
import type { Readable } from 'node:stream';

export interface Batch {
  seq: number;
  bytes: ArrayBuffer;
}

export interface BatcherOptions {
  /** Target batch size; a batch is emitted once it holds at least this many bytes. Default 1 MiB. */
  batchBytes?: number;
  maxLineBytes?: number;
  onTruncated?: () => void;
}

const NL = 10;

export async function* batchLines(stream: Readable, opts: BatcherOptions = {}): AsyncGenerator<Batch> {
  const target = opts.batchBytes ?? 1 << 20;
  const max = opts.maxLineBytes ?? 4 * 1024 * 1024;
  let seq = 0;
  // Complete lines waiting to be emitted, as views on the source chunks (copied once, at emit).
  let parts: Uint8Array[] = [];
  let partsBytes = 0;
  // The line being read, not yet ended by '\n'.
  let open: Uint8Array[] = [];
  let openBytes = 0;
  let skipping = false;

  const take = (piece: Uint8Array): void => {
    if (skipping || piece.length === 0) return;
    if (openBytes + piece.length > max) {
      piece = piece.subarray(0, max - openBytes);
      skipping = true;
      opts.onTruncated?.();
    }
    if (piece.length > 0) {
      open.push(piece);
      openBytes += piece.length;
    }
  };
  const endLine = (): void => {
    for (const p of open) parts.push(p);
    parts.push(NEWLINE);
    partsBytes += openBytes + 1;
    open = [];
    openBytes = 0;
    skipping = false;
  };
  const emit = (): Batch => {
    const bytes = new ArrayBuffer(partsBytes);
    const view = new Uint8Array(bytes);
    let at = 0;
    for (const p of parts) {
      view.set(p, at);
      at += p.length;
    }
    parts = [];
    partsBytes = 0;
    return { seq: seq++, bytes };
  };

  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const last = chunk.lastIndexOf(NL);
    if (last < 0) {
      take(chunk);
      continue;
    }
    const first = chunk.indexOf(NL);
    take(chunk.subarray(0, first));
    endLine();
    // Lines strictly inside one chunk: copy as one block unless one of them may be too long.
    if (last > first) {
      if (last - first - 1 <= max) {
        parts.push(chunk.subarray(first + 1, last + 1));
        partsBytes += last - first;
      } else {
        for (let s = first + 1; s <= last;) {
          const nl = chunk.indexOf(NL, s);
          take(chunk.subarray(s, nl));
          endLine();
          s = nl + 1;
        }
      }
    }
    take(chunk.subarray(last + 1));
    if (partsBytes >= target) yield emit();
  }
  if (openBytes > 0 || skipping) endLine();
  if (partsBytes > 0) yield emit();
}

const NEWLINE = Uint8Array.of(NL);

/**
 * The lines of a batch, as readLines yields them: split on '\n', one trailing '\r' removed,
 * empty lines skipped. The batch is decoded once (invalid UTF-8 becomes U+FFFD).
 */
export function batchText(bytes: ArrayBuffer): string {
  return DECODER.decode(new Uint8Array(bytes));
}

// ignoreBOM: a BOM stays in the line, as with readLines' StringDecoder.
const DECODER = new TextDecoder('utf-8', { ignoreBOM: true });

export function forEachLine(text: string, fn: (line: string) => void): void {
  let s = 0;
  const n = text.length;
  while (s < n) {
    let e = text.indexOf('\n', s);
    if (e < 0) e = n;
    let end = e;
    if (end > s && text.charCodeAt(end - 1) === 13) end--;
    if (end > s) fn(text.slice(s, end));
    s = e + 1;
  }
}
