/**
 * Byte identity of a parse worker's output between two builds: both run the worker's code
 * path (as worker-ab.ts) over the same batches, and every batch's PourRecordWriter.finish
 * buffer must be equal byte for byte, but for the Float64 column: it carries each event's
 * Line.Time, the wall clock when the line was read (differs between two runs of one build).
 * A proof for changes that only touch how the worker gets there (allocation, interning),
 * not what it sends.
 *
 *   node --import tsx bench/lib/pour-bytes-ab.ts FILE TYPE A_DIST B_DIST [--lines N]
 *
 * Exit status 1 at the first differing batch (its index and first differing byte).
 */
import { readFileSync } from 'node:fs';
import { arg } from './args.js';
import { loadWorkerBuild } from './worker-build.js';

const args = process.argv.slice(2);
const [file, type, aDir, bDir] = args;
if (!file || !type || !aDir || !bDir) {
  console.error('usage: bench/lib/pour-bytes-ab.ts FILE TYPE A_DIST B_DIST [--lines N]');
  process.exit(2);
}
const maxLines = Number(arg(args, 'lines') ?? Infinity);

/** Header bytes of a pour-record buffer, by its magic (wire versions 4 and 5). */
function headerBytes(buf: Uint8Array): number {
  const magic = new Int32Array(buf.buffer, buf.byteOffset, 1)[0];
  if (magic === 0x50520004) return 48;
  if (magic === 0x50520005) return 56;
  throw new Error(`pour records of an unknown wire version (magic 0x${(magic ?? 0).toString(16)})`);
}

const load = async (dir: string): Promise<{ run(batch: Uint8Array): Uint8Array; batchBytes: number }> => {
  const w = await loadWorkerBuild(dir);
  const labels = new Map([['type', type!]]);
  return { run: (batch) => w.run(batch, file!, labels), batchBytes: w.batchBytes };
};

const A = await load(aDir);
const B = await load(bDir);
const buf = readFileSync(file);
let batches = 0, bytes = 0, lines = 0;
for (let off = 0; off < buf.length && lines < maxLines;) {
  let end = Math.min(buf.length, off + A.batchBytes);
  if (end < buf.length) {
    const nl = buf.indexOf(10, end);
    end = nl < 0 ? buf.length : nl + 1;
  }
  const part = new Uint8Array(buf.buffer, buf.byteOffset + off, end - off);
  for (let i = 0; i < part.length; i++) if (part[i] === 10) lines++;
  const a = A.run(part), b = B.run(part);
  // Header: Int32s, the 10th (index 9) the number of floats; from version 5 the 13th is the
  // writer's id (thread id + writer number), not compared.
  const hb = headerBytes(a);
  if (headerBytes(b) !== hb) throw new Error('the two builds write different pour-record versions: nothing to compare byte for byte');
  const fEnd = hb + 8 * new Int32Array(a.buffer, a.byteOffset, 12)[9]!;
  const same = (x: Uint8Array, y: Uint8Array): boolean => Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
  if (a.length !== b.length || !same(a.subarray(0, 48), b.subarray(0, 48)) || !same(a.subarray(52, hb), b.subarray(52, hb)) || !same(a.subarray(fEnd), b.subarray(fEnd))) {
    let d = 0;
    while (d < Math.min(a.length, b.length) && (a[d] === b[d] || (d >= hb && d < fEnd) || (d >= 48 && d < 52 && hb > 48))) d++;
    console.log(`batch ${batches} (bytes ${off}..${end}): outputs differ (lengths ${a.length} / ${b.length}, first difference at byte ${d})`);
    process.exit(1);
  }
  batches++;
  bytes += a.length;
  off = end;
}
console.log(`${batches} batches, ${lines} lines: identical outputs (${bytes} bytes; Float64 columns not compared)`);
