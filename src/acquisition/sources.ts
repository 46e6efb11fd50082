/** One interface over the acquisition sources, built from parsed acquis specs. */
import type { AcquisitionSpec } from './acquis.js';
import { FileTailer } from './file-tail.js';
import { JournalctlSource } from './journalctl.js';
import type { PositionStore } from './positions.js';
import { SyslogServer } from './syslog.js';

/** `module` is the datasource name CrowdSec puts in evt.Line.Module (file, journalctl, syslog). */
export type LineHandler = (line: string, src: string, labels: Map<string, string>, module: string) => void;

export interface LineSource {
  readonly spec: AcquisitionSpec;
  start(): Promise<void>;
  /** Reads what is pending where that is cheap (files), then releases everything. */
  stop(): Promise<void>;
  /** Lines delivered so far. */
  lines(): number;
}

export interface SourceContext {
  onLine: LineHandler;
  positions?: PositionStore | null;
  warn?: (m: string) => void;
  pollMs?: number;
  journalctlBin?: string;
}

export function createSource(spec: AcquisitionSpec, ctx: SourceContext): LineSource {
  const labels = spec.labels;
  switch (spec.source) {
    case 'file': {
      const t = new FileTailer({
        patterns: spec.filenames,
        mode: spec.mode,
        exclude: spec.exclude,
        positions: ctx.positions,
        pollMs: ctx.pollMs,
        onLine: (line, path) => ctx.onLine(line, path, labels, 'file'),
        warn: ctx.warn,
      });
      return { spec, start: async () => t.start(), stop: () => t.stop(), lines: () => t.stats.lines };
    }
    case 'journalctl': {
      const j = new JournalctlSource({
        filters: spec.filters, mode: spec.mode, bin: ctx.journalctlBin, warn: ctx.warn,
        onLine: (line, src) => ctx.onLine(line, src, labels, 'journalctl'),
      });
      return { spec, start: async () => j.start(), stop: () => j.stop(), lines: () => j.lines };
    }
    case 'syslog': {
      const s = new SyslogServer({
        listenAddr: spec.listenAddr, listenPort: spec.listenPort, protocols: spec.protocols,
        maxMessageLength: spec.maxMessageLength, warn: ctx.warn,
        onLine: (line, src) => ctx.onLine(line, src, labels, 'syslog'),
      });
      return { spec, start: async () => { await s.start(); }, stop: () => s.stop(), lines: () => s.stats.messages };
    }
  }
}
