/** `palisade replay FILE... --type T`: alerts as JSON lines on stdout (--json), summary on stderr. */
import { defaultReplayWorkers, runReplay } from '../pipeline/replay.js';
import { defaultDataDir } from '../core/paths.js';
import { decisionJson } from './format.js';
import { UsageError } from './errors.js';
import { isTTY } from './tty.js';

export interface ReplayCliOptions {
  type?: string;
  configDir?: string;
  dataDir?: string;
  decisions?: boolean; // commander's --no-decisions
  json?: boolean;
  geoipDir?: string;
  maxBuckets?: string;
  /** Parse worker threads; absent: defaultReplayWorkers (one per core, inline for small inputs); 0: parse inline. */
  workers?: string;
}

export async function replayCommand(files: string[], o: ReplayCliOptions): Promise<void> {
  if (!o.type) throw new UsageError('replay needs --type T (syslog, nginx, apache2, mysql, ...)');
  if (files.length === 0) throw new UsageError('replay needs at least one FILE (or - for stdin)');
  const maxBuckets = o.maxBuckets !== undefined ? Number(o.maxBuckets) : undefined;
  if (maxBuckets !== undefined && !(Number.isInteger(maxBuckets) && maxBuckets > 0)) throw new UsageError('--max-buckets takes a positive integer');
  const workers = o.workers !== undefined ? Number(o.workers) : undefined;
  if (workers !== undefined && !(o.workers!.trim() !== '' && Number.isInteger(workers) && workers >= 0 && workers <= 256)) throw new UsageError('--workers takes an integer from 0 to 256');
  const progress = isTTY(process.stderr);
  const summary = await runReplay({
    files,
    type: o.type,
    configDir: o.configDir,
    dataDir: o.decisions === false ? null : (o.dataDir ?? defaultDataDir()),
    geoipDir: o.geoipDir,
    maxBuckets,
    // One parse worker per core by default (inline below 8 MiB of input); --workers 0 parses inline.
    workers: workers ?? defaultReplayWorkers(files),
    onAlert: o.json
      ? ({ alert, decisions }) => {
        const now = Date.now();
        process.stdout.write(JSON.stringify({ ...alert, decisions: decisions.length ? decisions.map((d) => decisionJson(d, alert.stop_at, now)) : null }) + '\n');
      }
      : undefined,
    onProgress: progress
      ? (p) => {
        const rate = p.lines / (p.elapsedMs / 1000);
        const pct = p.bytesTotal ? ` ${((100 * p.bytesDone) / p.bytesTotal).toFixed(1)}%` : '';
        const left = p.bytesTotal && p.bytesDone ? ` ~${Math.max(0, ((p.bytesTotal - p.bytesDone) / p.bytesDone) * p.elapsedMs / 1000).toFixed(0)}s left` : '';
        process.stderr.write(`\r${(p.bytesDone / 1e6).toFixed(1)}/${(p.bytesTotal / 1e6).toFixed(1)} MB${pct} ${Math.round(rate)} lines/s${left}   `);
      }
      : undefined,
  });
  if (progress) process.stderr.write('\r\x1b[K');
  const s = summary;
  process.stderr.write(
    `lines ${s.lines}, parsed ${s.parsed}, unparsed ${s.unparsed}, whitelisted ${s.whitelisted}` +
    (s.dropped ? `, dropped ${s.dropped}` : '') + (s.truncatedLines ? `, truncated ${s.truncatedLines}` : '') +
    `, alerts ${s.alerts}, decisions ${s.decisions}, ${Math.round(s.linesPerSec)} lines/s (${(s.elapsedMs / 1000).toFixed(2)} s)\n`,
  );
}
