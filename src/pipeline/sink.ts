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
import type { Store } from '../decisions/store.js';
import type { DecisionInput } from '../decisions/records.js';
import type { LapiAlert } from '../scenarios/overflow.js';

export interface SinkedAlert {
  alert: LapiAlert;
  decisions: DecisionInput[];
}

export class AlertSink {
  private pending: SinkedAlert[] = [];
  decisions = 0;
  written = 0;
  readonly machineId = hostname();

  constructor(readonly profiles: readonly Profile[], private readonly store: Store | null, private readonly batchSize = 500) {}

  /** Loads `<configDir>/profiles.yaml`, with GetDecisionsCount wired to the store when there is one. */
  static profilesFor(configDir: string, helpers: HelperContext, store: Store | null): Profile[] {
    const file = join(configDir, 'profiles.yaml');
    if (!existsSync(file)) return [];
    return loadProfiles(file, {
      ...helpers,
      decisionsCount: (v) => store?.countDecisions(v) ?? 0,
      decisionsSinceCount: (v, since) => {
        const ns = parseDurationWithDays(since);
        return store && ns !== null ? store.countDecisions(v, Date.now() - ns / 1e6) : 0;
      },
    });
  }

  /** Runs the profiles; returns the alert with its decisions (what `--json` prints). */
  add(alert: LapiAlert): SinkedAlert {
    const { decisions } = evaluateProfiles(this.profiles, alert);
    this.decisions += decisions.length;
    const item = { alert, decisions };
    if (this.store) this.pending.push(item);
    return item;
  }

  shouldFlush(): boolean {
    return this.pending.length >= this.batchSize;
  }

  async flush(): Promise<void> {
    if (!this.store || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.store.addAlerts(batch.map(({ alert, decisions }) => ({ alert: { ...alert, machine_id: this.machineId }, decisions })));
    } catch (e) {
      // Nothing is lost on a failed write (e.g. a full disk): the batch goes back in front of
      // what arrived meanwhile, and the caller decides whether to retry or stop.
      this.pending = batch.concat(this.pending);
      throw e;
    }
    this.written += batch.length;
  }
}
