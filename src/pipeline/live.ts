/**
 * The live engine of an agent: acquisition sources → DetectionEngine (mode 'live', wall
 * clock) → alerts, with a periodic sweep so counters and idle buckets expire on time. Where
 * alerts go is the caller's choice: the in-process sink (`palisade run`) or a LAPI client
 * (`palisade agent`). Everything runs on the main thread; a line is processed synchronously
 * when its source delivers it, so read positions saved by the file source never run ahead of
 * the engine.
 */
import type { AcquisitionSpec } from '../acquisition/acquis.js';
import { PositionStore } from '../acquisition/positions.js';
import { createSource, type LineSource } from '../acquisition/sources.js';
import type { LapiAlert } from '../scenarios/overflow.js';
import { DetectionEngine } from './engine.js';

export interface LiveOptions {
  configDir?: string;
  acquisition: AcquisitionSpec[];
  /** Where read positions are kept; null: tail from the end on every start. */
  dataDir: string | null;
  geoipDir?: string | null;
  maxBuckets?: number;
  onAlerts: (alerts: LapiAlert[]) => void;
  sweepMs?: number;
  pollMs?: number;
  journalctlBin?: string;
  warn?: (m: string) => void;
}

export interface LiveStats { lines: number; parsed: number; alerts: number; errors: number; sources: number }

export class LiveEngine {
  private readonly sources: LineSource[] = [];
  private sweepTimer: NodeJS.Timeout | null = null;
  private errors = 0;
  private running = false;

  private constructor(readonly engine: DetectionEngine, private readonly o: LiveOptions) {}

  /** Loads the rules (so a bad rule fails before anything listens) and builds the sources. */
  static async create(o: LiveOptions): Promise<LiveEngine> {
    const engine = await DetectionEngine.create({ configDir: o.configDir, mode: 'live', geoipDir: o.geoipDir, maxBuckets: o.maxBuckets, warn: o.warn });
    const positions = o.dataDir ? PositionStore.open(o.dataDir, o.warn) : null;
    const live = new LiveEngine(engine, o);
    for (const spec of o.acquisition) {
      live.sources.push(createSource(spec, {
        positions, warn: o.warn, pollMs: o.pollMs, journalctlBin: o.journalctlBin,
        onLine: (line, src, labels, module) => live.line(line, src, labels, module),
      }));
    }
    return live;
  }

  /** Names of the loaded scenarios (sent at machine login, spec §7.3). */
  scenarioNames(): string[] {
    return [...new Set(this.engine.scenarios.map((s) => s.name))];
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    for (const s of this.sources) {
      try {
        await s.start();
      } catch (e) {
        // A source that cannot start (port taken, ...) must not leave the others half-started.
        await this.stop();
        throw new Error(`acquisition ${s.spec.name}: ${(e as Error).message}`);
      }
    }
    this.sweepTimer = setInterval(() => this.sweep(), this.o.sweepMs ?? 1000);
  }

  /** Stops the sources (files are read up to what is written), sweeps once more, saves positions. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const s of this.sources) {
      try {
        await s.stop();
      } catch (e) {
        this.o.warn?.(`stopping ${s.spec.name}: ${(e as Error).message}`);
      }
    }
    this.sweep();
  }

  stats(): LiveStats {
    const c = this.engine.counters;
    return { lines: c.lines, parsed: c.parsed, alerts: c.alerts, errors: this.errors, sources: this.sources.length };
  }

  private line(line: string, src: string, labels: Map<string, string>, module: string): void {
    let alerts: LapiAlert[];
    try {
      alerts = this.engine.processLine(line, src, labels, module);
    } catch (e) {
      // One bad line must not stop the agent; count it and go on.
      if (this.errors++ < 10) this.o.warn?.(`${src}: line not processed: ${(e as Error).message}`);
      return;
    }
    if (alerts.length > 0) this.o.onAlerts(alerts);
  }

  private sweep(): void {
    try {
      const alerts = this.engine.sweep();
      if (alerts.length > 0) this.o.onAlerts(alerts);
    } catch (e) {
      if (this.errors++ < 10) this.o.warn?.(`bucket sweep failed: ${(e as Error).message}`);
    }
  }
}
