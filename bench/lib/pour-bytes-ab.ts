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
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { arg } from './args.js';

const args = process.argv.slice(2);
const [file, type, aDir, bDir] = args;
if (!file || !type || !aDir || !bDir) {
  console.error('usage: bench/lib/pour-bytes-ab.ts FILE TYPE A_DIST B_DIST [--lines N]');
  process.exit(2);
}
const maxLines = Number(arg(args, 'lines') ?? Infinity);

async function load(dir: string): Promise<{ run(batch: Uint8Array): Uint8Array; batchBytes: number }> {
  const at = (m: string): string => pathToFileURL(resolve(dir, m)).href;
  const { DetectionEngine } = (await import(at('pipeline/engine.js'))) as typeof import('../../src/pipeline/engine.js');
  const { PourRecordWriter } = (await import(at('pipeline/pour-records.js'))) as typeof import('../../src/pipeline/pour-records.js');
  const { fieldNeeds } = (await import(at('pipeline/field-needs.js'))) as typeof import('../../src/pipeline/field-needs.js');
  const { PreparedRoutes } = (await import(at('scenarios/engine.js'))) as typeof import('../../src/scenarios/engine.js');
  const { POOL_BATCH_BYTES } = (await import(at('pipeline/replay.js'))) as typeof import('../../src/pipeline/replay.js');
  const deferred = (await import(at('parse/deferred.js'))) as typeof import('../../src/parse/deferred.js');
  const { enableDeferral } = (await import(at('parse/stages.js'))) as typeof import('../../src/parse/stages.js');
  const engine = await DetectionEngine.create({ mode: 'replay', warn: () => {} });
  const set = engine.rules.parsers.set;
  const post = engine.rules.postoverflows.set;
  enableDeferral(set, deferred.planDeferral(set, engine.scenarios, post), deferred.planTails(set, engine.scenarios, post));
  const writer = new PourRecordWriter(fieldNeeds(engine.scenarios, post), engine.scenarios);
  const routes = new PreparedRoutes();
  const labels = new Map([['type', type!]]);
  return {
    run(batch) {
      engine.parseBatch(batch, file!, labels, (evt) => {
        const r = engine.buckets.routeInto(evt, routes);
        if (r.count > 0) deferred.runDeferred(evt);
        writer.add(evt, r);
      }, 'file', true);
      return writer.finish({ lines: 0, parsed: 0, unparsed: 0, whitelisted: 0, dropped: 0 });
    },
    batchBytes: POOL_BATCH_BYTES,
  };
}

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
  // Header: 12 Int32s, the 10th (index 9) the number of floats.
  const fEnd = 48 + 8 * new Int32Array(a.buffer, a.byteOffset, 12)[9]!;
  const same = (x: Uint8Array, y: Uint8Array): boolean => Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
  if (a.length !== b.length || !same(a.subarray(0, 48), b.subarray(0, 48)) || !same(a.subarray(fEnd), b.subarray(fEnd))) {
    let d = 0;
    while (d < Math.min(a.length, b.length) && (a[d] === b[d] || (d >= 48 && d < fEnd))) d++;
    console.log(`batch ${batches} (bytes ${off}..${end}): outputs differ (lengths ${a.length} / ${b.length}, first difference at byte ${d})`);
    process.exit(1);
  }
  batches++;
  bytes += a.length;
  off = end;
}
console.log(`${batches} batches, ${lines} lines: identical outputs (${bytes} bytes; Float64 columns not compared)`);
