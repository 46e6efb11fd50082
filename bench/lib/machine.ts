/** What a result was measured on and with: printed beside every table, stored in every JSON. */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, loadavg } from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  node: string;
  platform: string;
  gitCommit: string;
  gitDirty: boolean;
  loadAvg: number[];
  date: string;
  command: string;
}

export function machineInfo(cwd: string): MachineInfo {
  const git = (args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    gitCommit: git(['rev-parse', 'HEAD']) || 'unknown',
    gitDirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
    loadAvg: loadavg().map((x) => Math.round(x * 100) / 100),
    date: new Date().toISOString(),
    command: ['node', ...process.execArgv, ...process.argv.slice(1)].join(' '),
  };
}

export function machineLine(m: MachineInfo): string {
  return `machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GiB; node ${m.node}; commit ${m.gitCommit.slice(0, 12)}${m.gitDirty ? '+dirty' : ''}; load ${m.loadAvg.join(' ')}; ${m.date}\ncommand: ${m.command}`;
}

/** A fixed-width text table: first row is the header. */
export function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const w = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  // Numbers right-aligned, text left-aligned.
  const numeric = w.map((_, i) => cells.slice(1).every((r) => /^[-\d,.×x ]*$/.test(r[i] ?? '')));
  const line = (r: string[]): string => r.map((c, i) => (numeric[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ').trimEnd();
  return [line(cells[0]!), w.map((n) => '-'.repeat(n)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export const fmtInt = (n: number | null | undefined): string => (n === null || n === undefined || !Number.isFinite(n) ? '-' : Math.round(n).toLocaleString('en-US'));
