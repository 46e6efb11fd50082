/**
 * Line scanner: splits the batch in INPUT into lines, writing (start, end) per line to LINES.
 *
 * 16 bytes per step: compare against a splat of '\n', turn the lanes into a 16-bit mask
 * (i8x16.bitmask) and walk its set bits with ctz. A scalar loop would lose to V8's
 * Buffer.indexOf (stack-notes §2); the SIMD one beats it.
 */
import {
  INPUT_OFFSET, LINES_OFFSET, MAX_LINES, STATUS_OFFSET, STATUS_CONSUMED,
} from './abi';

const NL: u8 = 0x0a;
const CR: u8 = 0x0d;

/**
 * Records one line [start, nl) with a trailing \r dropped; returns false when LINES is full.
 * `start`/`nl` are offsets into INPUT.
 */
// @ts-ignore: decorator
@inline
function emit(index: u32, start: u32, nl: u32): void {
  let end = nl;
  if (end > start && load<u8>(INPUT_OFFSET + end - 1) == CR) end--;
  const rec = LINES_OFFSET + (index << 3);
  store<u32>(rec, start);
  store<u32>(rec, end, 4);
}

/**
 * Splits INPUT[0, len). Without `final`, bytes after the last '\n' are not a line yet: they are
 * left unconsumed so the caller can prepend them to the next batch. With `final`, a non-empty
 * tail becomes the last line. Stops early when MAX_LINES lines are recorded. Writes the number
 * of bytes consumed (up to and including the last recorded line's '\n') to STATUS; returns the
 * number of lines.
 */
export function scanLines(len: u32, final: u32): u32 {
  const base = INPUT_OFFSET;
  const nlv = i8x16.splat(<i8>NL);
  let count: u32 = 0;
  let start: u32 = 0; // offset of the current line's first byte
  let p: u32 = 0;
  while (p + 16 <= len) {
    let m = i8x16.bitmask(i8x16.eq(v128.load(base + p), nlv));
    while (m != 0) {
      const nl = p + <u32>ctz(m);
      emit(count, start, nl);
      count++;
      start = nl + 1;
      if (count == MAX_LINES) return finish(count, start);
      m &= m - 1;
    }
    p += 16;
  }
  while (p < len) {
    if (load<u8>(base + p) == NL) {
      emit(count, start, p);
      count++;
      start = p + 1;
      if (count == MAX_LINES) return finish(count, start);
    }
    p++;
  }
  if (final != 0 && start < len) {
    emit(count, start, len);
    count++;
    start = len;
  }
  return finish(count, start);
}

// @ts-ignore: decorator
@inline
function finish(count: u32, consumed: u32): u32 {
  store<u32>(STATUS_OFFSET + (STATUS_CONSUMED << 2), consumed);
  return count;
}
