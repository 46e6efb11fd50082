/**
 * The parse pool (design.md §1): piscina workers running src/workers/parse-worker on
 * transferred batches. Results come back in submission order (a FIFO of promises), so
 * pours are applied in line order per source; at most `maxInFlight` batches are queued or
 * running, which bounds memory whatever the input size (the reader waits for the oldest).
 */
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Piscina } from 'piscina';
import type { Worker } from 'node:worker_threads';
import type { Batch } from './batcher.js';
import type { ParseTask, ParseWorkerData } from '../workers/parse-worker.js';
import { forgetBlocks, PourBatch } from './pour-records.js';
import type { StringMap } from '../core/event.js';
import { exportGeo, openGeoSources, type SharedGeo } from '../parse/enrichers/geoip.js';
import { packRuleDocs } from '../config/rule-docs.js';
import { SHIPPED_RULES_DIR } from '../config/rules-dir.js';

export interface PoolOptions extends ParseWorkerData {
  /** Worker threads; default os.availableParallelism(). */
  workers?: number;
  /** Batches submitted and not yet consumed; default one per worker + 1 (POOL_IN_FLIGHT_EXTRA). */
  maxInFlight?: number;
}

/** Under tsx the sources are .ts; after `npm run build` they are .js in dist/. */
const WORKER_FILE = new URL(`../workers/parse-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;

/** Old-generation cap of each parse worker (MB): ~8x its measured live heap (~16 MB). */
export const WORKER_OLD_GENERATION_MB = 128;

/**
 * Young-generation cap of each parse worker (MB; V8 makes the semi-spaces a third of it,
 * rounded up to a power of two: 12 -> 4 MB, 8 -> 4 MB, 6 -> 2 MB).
 * Uncapped, each worker's young generation grows to 48 MB (16 MB semi-spaces). With the pool's
 * 256 KiB batches (POOL_BATCH_BYTES in replay.ts) little survives a scavenge (the batch text,
 * decoded in ~32 KB pieces by BatchParser, is dead by the next one), so the smaller semi-spaces cost more scavenges, not
 * more copying: 1M sshd lines, 2 workers, ~-55 MB peak RSS, CPU time within the noise.
 * 6 (2 MB semi-spaces) was measured too: twice the scavenges, each worker's heap 6-8 MB
 * smaller, peak RSS -10..-15 MB on 1M sshd and nginx lines, sshd CPU within the noise but
 * nginx +8-11% user+sys (A/B alternated, 1M lines: 25.7/26.8 s -> 29.2/29.4 s), so not taken.
 */
export const WORKER_YOUNG_GENERATION_MB = 12;

/** The semi-space size V8 gives a worker for WORKER_YOUNG_GENERATION_MB (a third, rounded up to a power of two). */
export const WORKER_SEMI_SPACE_MB = 2 ** Math.ceil(Math.log2(WORKER_YOUNG_GENERATION_MB / 3));

/**
 * In flight beyond one batch per worker: the next batch is ready when a worker finishes
 * (results are consumed in order, so one slow batch can hold at most this many finished ones).
 */
export const POOL_IN_FLIGHT_EXTRA = 1;


/** V8's default `--interrupt-budget` in Node 20 (V8 11.3): bytecode run between tier-up checks of a function. */
export const V8_INTERRUPT_BUDGET = 67584;
/** The budget while a replay's rules load in the main thread and the workers (see loadTimeTierUp). */
export const LOAD_INTERRUPT_BUDGET = V8_INTERRUPT_BUDGET * (Number(process.env.PALISADE_LOAD_BUDGET_X ?? 16) || 1);

export interface LoadTimeTierUp { end(): void }

/**
 * Loading the rules (YAML, expressions, grok, GeoIP/ASN data) runs code once per isolate, yet
 * long enough for V8 to optimize much of it with TurboFan on the helper threads, in each of
 * the three isolates of a pooled replay. A 16x interrupt budget while they load keeps that code
 * in the lower tiers: a 2,000-line replay with 2 workers 1.66 -> 1.35 s of CPU (helper threads
 * 0.61 -> 0.30 s), wall 1.66 -> 1.36 s (bench/RESULTS-pipeline.md, session 8, h6).
 * Process-wide (V8 flags are), so it covers the workers' loading; V8 reads it whenever it
 * resets a function's budget. Must end before lines are parsed: ended after the first batch
 * instead, some hot worker functions (syslog header, deferred statics) were never optimized
 * and the worker ran ~0.3 us/line slower. PALISADE_LOAD_BUDGET_X=1 turns it off (A/B runs).
 */
export function loadTimeTierUp(): LoadTimeTierUp {
  if (LOAD_INTERRUPT_BUDGET === V8_INTERRUPT_BUDGET) return { end() {} };
  setFlagsFromString(`--interrupt-budget=${LOAD_INTERRUPT_BUDGET}`);
  let done = false;
  return { end() { if (!done) { done = true; endLoadTimeTierUp(); } } };
}

/** Back to V8's default budget (a parse worker calls it once its rules are loaded); nothing when the load-time budget is off. */
export function endLoadTimeTierUp(): void {
  if (LOAD_INTERRUPT_BUDGET === V8_INTERRUPT_BUDGET) return;
  setFlagsFromString(`--interrupt-budget=${V8_INTERRUPT_BUDGET}`);
}

export class ParsePool {
  readonly workers: number;
  readonly maxInFlight: number;
  private readonly piscina: Piscina<ParseTask, Uint8Array>;
  /** Pour-record writers (workers) whose batches this pool read: their blocks are dropped at close. */
  private readonly writers = new Set<number>();
  /**
   * Settles once every worker thread has started running JavaScript (its isolate and heap are
   * set up; young-gen.ts needs that moment) or has failed to start: never rejects (a failed
   * worker shows in the tasks).
   */
  readonly online: Promise<void>;

  /**
   * `geo`: the rules' parsers call GeoIP methods; the data is then opened once here, in shared
   * memory, instead of once per worker.
   */
  static async create(o: PoolOptions & { geo?: boolean; warn?: (m: string) => void } = {}): Promise<ParsePool> {
    let geoShared: SharedGeo | undefined;
    if (o.geo && o.geoipDir !== null) {
      geoShared = exportGeo(await openGeoSources(o.geoipDir, o.warn ?? ((m) => process.stderr.write(`warning: ${m}\n`)), true));
    }
    // The rules' YAML, parsed once here (much of it by this thread's own load) rather than in every worker.
    const yamlDocs = o.yamlDocs ?? packRuleDocs(o.configDir ?? SHIPPED_RULES_DIR);
    return new ParsePool({ ...o, geoShared, yamlDocs });
  }

  constructor(o: PoolOptions = {}) {
    this.workers = Math.max(1, o.workers ?? availableParallelism());
    this.maxInFlight = Math.max(1, o.maxInFlight ?? this.workers + POOL_IN_FLIGHT_EXTRA);
    const workerData: ParseWorkerData = { configDir: o.configDir, geoipDir: o.geoipDir, geoShared: o.geoShared, allFields: o.allFields, deferStatics: o.deferStatics, yamlDocs: o.yamlDocs };
    this.piscina = new Piscina({
      filename: WORKER_FILE,
      minThreads: this.workers,
      maxThreads: this.workers,
      // The FIFO below is the only queue; piscina's must never grow past it.
      maxQueue: this.maxInFlight,
      idleTimeout: 60_000,
      workerData,
      // Uncapped, V8 lets a worker's heap grow to ~3x its live size before a full GC
      // (measured: ~110 MB of heap for ~40 MB live; 1M nginx lines, 2 workers: ~620 MB peak
      // RSS uncapped, ~520 MB capped, same throughput). The live heap is the rules plus bounded
      // memos, now that GeoIP data is shared and memo keys no longer pin whole batch texts
      // (detach() in parse/enrichers/geo-memo.ts); the OOM once seen at this cap predates both.
      // How far the old generation grows past the live heap between full GCs is set for the
      // whole process by runReplay (--heap-growing-percent); their young generation starts at
      // its cap there (young-gen.ts).
      resourceLimits: { maxOldGenerationSizeMb: WORKER_OLD_GENERATION_MB, maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    // Piscina starts its minThreads in the constructor; 'online' is emitted later (a message).
    const started = (w: Worker): Promise<void> =>
      new Promise((res) => {
        w.once('online', () => res());
        w.once('exit', () => res());
      });
    this.online = Promise.all(this.piscina.threads.map(started)).then(() => {});
  }

  /**
   * Parses `batches` of one source in the pool; yields each batch's pour records in `seq`
   * order (apply them with PourBatch.apply(engine, src, labels, mode)). Stops reading when
   * `maxInFlight` batches are pending.
   */
  async *parse(batches: AsyncIterable<Batch>, src: string, labels: StringMap): AsyncGenerator<PourBatch> {
    const pairs = [...labels];
    const pending: Promise<Uint8Array>[] = [];
    const submit = (b: Batch): void => {
      const task: ParseTask = { bytes: b.bytes, src, labels: pairs };
      const p = this.piscina.run(task, { transferList: [b.bytes] });
      // Errors surface when this promise is awaited in order; avoid an unhandled rejection before that.
      p.catch(() => {});
      pending.push(p);
    };
    const read = async (): Promise<PourBatch> => {
      const batch = PourBatch.read(await pending.shift()!);
      this.writers.add(batch.writer);
      return batch;
    };
    for await (const b of batches) {
      submit(b);
      while (pending.length >= this.maxInFlight) yield await read();
    }
    while (pending.length > 0) yield await read();
  }

  async close(): Promise<void> {
    await this.piscina.close({ force: true });
    forgetBlocks(this.writers);
    this.writers.clear();
  }
}
