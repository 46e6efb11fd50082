/**
 * One build's parse-worker code path, loaded in this process as src/workers/parse-worker.ts
 * sets it up: the engine (rules loaded), deferred statics enabled when the build has them,
 * the pour-record writer and the routes object. For the in-process tools that run or compare
 * builds (worker-ab.ts, pour-bytes-ab.ts, worker-phases.ts).
 *
 * `dir`: a compiled tree (a build's dist/), or null for this tree's src/ through tsx.
 * Typed as this tree's modules: another build has the same API (or its A/B is moot).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DetectionEngine } from '../../src/pipeline/engine.js';
import type { PourRecordWriter } from '../../src/pipeline/pour-records.js';
import type { PreparedRoutes } from '../../src/scenarios/engine.js';
import type { PEvent } from '../../src/core/event.js';

export interface WorkerBuild {
  engine: DetectionEngine;
  writer: PourRecordWriter;
  routes: PreparedRoutes;
  /** The build's runDeferred (a no-op without deferral). */
  runDeferred: (evt: PEvent) => void;
  /** The pool's batch size in this build (pipeline/replay.ts POOL_BATCH_BYTES). */
  batchBytes: number;
  /** The worker's whole per-batch path (parse, route, deferred statics, pour records); returns the records. */
  run(batch: Uint8Array, src: string, labels: Map<string, string>): Uint8Array;
}

export async function loadWorkerBuild(dir: string | null, o: { configDir?: string; defer?: boolean } = {}): Promise<WorkerBuild> {
  const at = (m: string): string => (dir ? pathToFileURL(resolve(dir, `${m}.js`)).href : new URL(`../../src/${m}.js`, import.meta.url).href);
  const { DetectionEngine } = (await import(at('pipeline/engine'))) as typeof import('../../src/pipeline/engine.js');
  const { PourRecordWriter } = (await import(at('pipeline/pour-records'))) as typeof import('../../src/pipeline/pour-records.js');
  const { fieldNeeds } = (await import(at('pipeline/field-needs'))) as typeof import('../../src/pipeline/field-needs.js');
  const { PreparedRoutes } = (await import(at('scenarios/engine'))) as typeof import('../../src/scenarios/engine.js');
  const { POOL_BATCH_BYTES } = (await import(at('pipeline/replay'))) as typeof import('../../src/pipeline/replay.js');
  const engine = await DetectionEngine.create({ mode: 'replay', configDir: o.configDir, warn: () => {} });
  let runDeferred: (evt: PEvent) => void = () => {};
  // Older builds have no deferred statics (no module) or no children tails (no planTails).
  const deferred = (await import(at('parse/deferred')).catch(() => null)) as typeof import('../../src/parse/deferred.js') | null;
  if (deferred && o.defer !== false) {
    const { enableDeferral } = (await import(at('parse/stages'))) as typeof import('../../src/parse/stages.js');
    const set = engine.rules.parsers.set;
    const post = engine.rules.postoverflows.set;
    enableDeferral(set, deferred.planDeferral(set, engine.scenarios, post), deferred.planTails?.(set, engine.scenarios, post) ?? []);
    runDeferred = deferred.runDeferred;
  }
  const writer = new PourRecordWriter(fieldNeeds(engine.scenarios, engine.rules.postoverflows.set), engine.scenarios);
  const routes = new PreparedRoutes();
  return {
    engine, writer, routes, runDeferred, batchBytes: POOL_BATCH_BYTES,
    run(batch, src, labels) {
      engine.parseBatch(batch, src, labels, (evt) => {
        const r = engine.buckets.routeInto(evt, routes);
        if (r.count > 0) runDeferred(evt);
        writer.add(evt, r);
      }, 'file', true);
      return writer.finish({ lines: 0, parsed: 0, unparsed: 0, whitelisted: 0, dropped: 0 });
    },
  };
}
