/**
 * The parse pool (design.md §1): piscina workers running src/workers/parse-worker on
 * transferred batches. Results come back in submission order (a FIFO of promises), so
 * pours are applied in line order per source; at most `maxInFlight` batches are queued or
 * running, which bounds memory whatever the input size (the reader waits for the oldest).
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { Batch } from './batcher.js';
import type { ParseTask, ParseWorkerData } from '../workers/parse-worker.js';
import { decodePourRecords, type DecodedBatch } from './pour-records.js';
import type { StringMap } from '../core/event.js';
import { exportGeo, openGeoSources, type SharedGeo } from '../parse/enrichers/geoip.js';

export interface PoolOptions extends ParseWorkerData {
  /** Worker threads; default os.availableParallelism(). */
  workers?: number;
  /** Batches submitted and not yet consumed; default 2 per worker + 1. */
  maxInFlight?: number;
}

/** Under tsx the sources are .ts; after `npm run build` they are .js in dist/. */
const WORKER_FILE = new URL(`../workers/parse-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;


export class ParsePool {
  readonly workers: number;
  readonly maxInFlight: number;
  private readonly piscina: Piscina<ParseTask, Uint8Array>;

  /**
   * `geo`: the rules' parsers call GeoIP methods; the data is then opened once here, in shared
   * memory, instead of once per worker.
   */
  static async create(o: PoolOptions & { geo?: boolean; warn?: (m: string) => void } = {}): Promise<ParsePool> {
    let geoShared: SharedGeo | undefined;
    if (o.geo && o.geoipDir !== null) {
      geoShared = exportGeo(await openGeoSources(o.geoipDir, o.warn ?? ((m) => process.stderr.write(`warning: ${m}\n`)), true));
    }
    return new ParsePool({ ...o, geoShared });
  }

  constructor(o: PoolOptions = {}) {
    this.workers = Math.max(1, o.workers ?? availableParallelism());
    this.maxInFlight = Math.max(1, o.maxInFlight ?? this.workers * 2 + 1);
    const workerData: ParseWorkerData = { configDir: o.configDir, geoipDir: o.geoipDir, geoShared: o.geoShared, allFields: o.allFields };
    this.piscina = new Piscina({
      filename: WORKER_FILE,
      minThreads: this.workers,
      maxThreads: this.workers,
      // The FIFO below is the only queue; piscina's must never grow past it.
      maxQueue: this.maxInFlight,
      idleTimeout: 60_000,
      workerData,
      // No heap cap on workers: V8 lets a worker's old generation fill with garbage before it
      // collects (peak RSS), but a cap of 128 MB made a 1M-line replay die with
      // ERR_WORKER_OUT_OF_MEMORY, and a failed replay is worse than a large one.
    });
  }

  /**
   * Parses `batches` of one source in the pool; yields each batch's pour records in `seq`
   * order. Stops reading when `maxInFlight` batches are pending.
   */
  async *parse(batches: AsyncIterable<Batch>, src: string, labels: StringMap, mode: number): AsyncGenerator<DecodedBatch> {
    const pairs = [...labels];
    const pending: Promise<Uint8Array>[] = [];
    const submit = (b: Batch): void => {
      const task: ParseTask = { bytes: b.bytes, src, labels: pairs };
      const p = this.piscina.run(task, { transferList: [b.bytes] });
      // Errors surface when this promise is awaited in order; avoid an unhandled rejection before that.
      p.catch(() => {});
      pending.push(p);
    };
    for await (const b of batches) {
      submit(b);
      while (pending.length >= this.maxInFlight) yield decodePourRecords(await pending.shift()!, src, labels, mode);
    }
    while (pending.length > 0) yield decodePourRecords(await pending.shift()!, src, labels, mode);
  }

  async close(): Promise<void> {
    await this.piscina.close({ force: true });
  }
}
