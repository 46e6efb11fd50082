/**
 * The API side of an agent's alerts, in process: profiles turn each alert into decisions
 * (spec §5.2) and the batch is written to the store. Writes are batched; `flush` resolves
 * when the batch is durable.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { HelperContext } from '../expr/index.js';
import { parseDurationWithDays } from '../core/duration.js';
import { evaluateProfiles, loadProfiles, type Profile } from '../decisions/profiles.js';
import { prepareAlert, type PreparedAlertInput, type Store } from '../decisions/store.js';
import type { DecisionInput } from '../decisions/records.js';
import type { LapiAlert } from '../scenarios/overflow.js';

export interface SinkedAlert {
  alert: LapiAlert;
  decisions: DecisionInput[];
}

/** AlertSink.add calls so far, and the one running (0: none): what profilesFor's GetDecisionsCount memo is valid for. */
let addSeq = 0;
let runningAdd = 0;

/**
 * An alert waiting for its write batch: in the store's form, prepared as it arrives (what
 * waits is then the stored record, not the alert as built: its events and their meta lists
 * die young instead of being promoted and traced by full GCs), or the error preparing it
 * raised, which rejects the batch at flush as Store.addAlerts would have.
 */
type PendingAlert = { prepared: PreparedAlertInput; error?: undefined } | { prepared?: undefined; error: unknown };

export class AlertSink {
  private pending: PendingAlert[] = [];
  decisions = 0;
  written = 0;
  readonly machineId = hostname();

  constructor(readonly profiles: readonly Profile[], private readonly store: Store | null, private readonly batchSize = 500) {}

  /** Loads `<configDir>/profiles.yaml`, with GetDecisionsCount wired to the store when there is one. */
  static profilesFor(configDir: string, helpers: HelperContext, store: Store | null): Profile[] {
    const file = join(configDir, 'profiles.yaml');
    if (!existsSync(file)) return [];
    // The default profiles ask GetDecisionsCount twice per alert for the same value: within
    // one AlertSink.add (synchronous, so on one store snapshot) the second call reuses the first.
    const memo = { add: -1, value: '', count: 0 };
    return loadProfiles(file, {
      ...helpers,
      decisionsCount: (v) => {
        if (runningAdd !== 0 && memo.add === runningAdd && memo.value === v) return memo.count;
        const count = store?.countDecisions(v) ?? 0;
        memo.add = runningAdd;
        memo.value = v;
        memo.count = count;
        return count;
      },
      decisionsSinceCount: (v, since) => {
        const ns = parseDurationWithDays(since);
        return store && ns !== null ? store.countDecisions(v, Date.now() - ns / 1e6) : 0;
      },
    });
  }

  /** Runs the profiles; returns the alert with its decisions (what `--json` prints). */
  add(alert: LapiAlert): SinkedAlert {
    // Synchronous: no other add can start before this one ends.
    runningAdd = ++addSeq;
    let decisions: DecisionInput[];
    try {
      decisions = evaluateProfiles(this.profiles, alert).decisions;
    } finally {
      runningAdd = 0;
    }
    this.decisions += decisions.length;
    const item = { alert, decisions };
    if (this.store) this.pending.push(this.prepare(item));
    return item;
  }

  private prepare(item: SinkedAlert): PendingAlert {
    try {
      return { prepared: prepareAlert(item, this.pending.length, Date.now(), this.machineId) };
    } catch (error) {
      return { error };
    }
  }

  shouldFlush(): boolean {
    return this.pending.length >= this.batchSize;
  }

  async flush(): Promise<void> {
    if (!this.store || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      const prepared: PreparedAlertInput[] = [];
      for (const p of batch) {
        if (p.prepared === undefined) throw p.error;
        prepared.push(p.prepared);
      }
      await this.store.addPrepared(prepared);
    } catch (e) {
      // Nothing is lost on a failed write (e.g. a full disk): the batch goes back in front of
      // what arrived meanwhile, and the caller decides whether to retry or stop.
      this.pending = batch.concat(this.pending);
      throw e;
    }
    this.written += batch.length;
  }
}

/**
 * Runs an AlertSink behind the producer of alerts (a replay's pour loop), so the producer
 * does not stop while a batch commits (fsync: tens of ms, during which a replay's parse
 * workers would run dry, since the pour loop is what hands them input). Alerts go through
 * `sink.add` and `sink.flush` in arrival order with the same interleaving as a direct
 * caller (add, add, ..., flush when full, awaited before the next add), so profiles that
 * read the store (GetDecisionsCount) see exactly the commits they would see otherwise.
 * A failure of add or flush stops the queue and is rethrown by the next push, settle or
 * drain.
 */
export class SinkQueue {
  private queue: LapiAlert[] = [];
  private head = 0;
  /** The run in progress while it waits for a flush (null when idle or done synchronously). */
  private running: Promise<void> | null = null;
  private active = false;
  private failure: { error: unknown } | null = null;

  /** `afterFlush` runs after each write batch, before the next alert goes through the sink. */
  constructor(
    private readonly sink: AlertSink,
    private readonly onAlert?: (a: SinkedAlert) => void,
    private readonly afterFlush?: () => Promise<void>,
  ) {}

  /** Alerts queued and not yet through `sink.add`. */
  get backlog(): number {
    return this.queue.length - this.head;
  }

  /** Queues alerts; runs them at once up to the next flush that has to wait. */
  push(alerts: readonly LapiAlert[]): void {
    this.check();
    for (const a of alerts) this.queue.push(a);
    if (this.active) return;
    this.active = true;
    const run = this.run();
    // A run that needed no flush has already finished (and cleared `active`).
    if (this.active) this.running = run;
    else this.check();
  }

  /**
   * The producer's memory bound: when more than `max` alerts are queued, waits until the
   * queue has run through all of them (or failed).
   */
  async settle(max: number): Promise<void> {
    while (this.backlog > max && this.running) await this.running;
    this.check();
  }

  /** Waits until every queued alert went through the sink (the last partial batch is not flushed). */
  async drain(): Promise<void> {
    await this.settle(0);
  }

  /** Waits for the queue to stop, ignoring its failure (cleanup before closing the store). */
  async stopped(): Promise<void> {
    while (this.running) await this.running.catch(() => {});
  }

  private check(): void {
    if (this.failure) throw this.failure.error;
  }

  private async run(): Promise<void> {
    try {
      while (this.head < this.queue.length) {
        const alert = this.queue[this.head]!;
        this.queue[this.head++] = undefined as unknown as LapiAlert;
        if (this.head === this.queue.length) {
          this.queue.length = 0;
          this.head = 0;
        }
        const item = this.sink.add(alert);
        this.onAlert?.(item);
        if (this.sink.shouldFlush()) {
          await this.sink.flush();
          await this.afterFlush?.();
        }
      }
    } catch (e) {
      this.failure = { error: e };
    } finally {
      this.active = false;
      this.running = null;
    }
  }
}
