/**
 * Runs one command and measures it from the outside: wall time, CPU time and peak resident
 * memory of the process tree's main process. With GNU time (/usr/bin/time, Debian's `time`
 * package) the kernel's rusage maxrss is read at exit, the same way for every tool compared;
 * without it /proc/PID/status VmHWM is polled (it is a high-water mark, so a late read still
 * sees the peak, but the last interval before exit can be missed).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Measured {
  command: string;
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Killed by idleKillMs: wallS is up to the last CPU activity. */
  idleKilled: boolean;
  wallS: number;
  userS: number | null;
  sysS: number | null;
  /** Peak RSS in MB (1e6 bytes). */
  peakRssMb: number | null;
  stdout: string;
  stderr: string;
}

export interface MeasureOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** A file to feed on stdin (sshg-parser reads the log there). */
  stdinFile?: string;
  /** Keep at most this many bytes of stdout (some tools print a line per match). */
  maxStdout?: number;
  /** Kill the tool once its CPU time has not moved for this long (crowdsec 1.4.6 can hang
   *  at exit after finishing its work, stack-notes §9). The run then counts as finished at
   *  its last CPU activity: wall time up to then, CPU and peak RSS from /proc. */
  idleKillMs?: number;
}

const GNU_TIME = '/usr/bin/time';

export function quote(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export async function measure(bin: string, args: readonly string[], o: MeasureOptions): Promise<Measured> {
  const useTime = existsSync(GNU_TIME);
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-'));
  const timeFile = join(dir, 'time');
  const argv = useTime ? ['-f', '%e %U %S %M', '-o', timeFile, bin, ...args] : [...args];
  const command = quote([bin, ...args]) + (o.stdinFile ? ` < ${quote([o.stdinFile])}` : '');
  const maxOut = o.maxStdout ?? 64 * 1024 * 1024;
  const { openSync, closeSync } = await import('node:fs');
  const stdinFd = o.stdinFile ? openSync(o.stdinFile, 'r') : null;
  const t0 = performance.now();
  const child = spawn(useTime ? GNU_TIME : bin, argv, { cwd: o.cwd, env: o.env ?? process.env, stdio: [stdinFd ?? 'ignore', 'pipe', 'pipe'], detached: true });
  if (stdinFd !== null) closeSync(stdinFd);
  const out: Buffer[] = [];
  let outLen = 0;
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => {
    if (outLen < maxOut) {
      out.push(b);
      outLen += b.length;
    }
  });
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  let hwmKb = 0;
  // The process doing the work: `time`'s child, or the spawned tool itself.
  const toolPid = (): number | null => {
    if (!useTime) return child.pid ?? null;
    try {
      const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      return kids.length ? Number(kids[0]) : null;
    } catch {
      return null;
    }
  };
  const ticks = 100; // USER_HZ on Linux
  let cpuTicks = -1;
  let lastActive = performance.now();
  let idleKilled = false;
  // Sampler: VmHWM (fallback peak without GNU time) and CPU progress (for idleKillMs).
  const poll = !useTime || o.idleKillMs ? setInterval(() => {
    const pid = toolPid();
    if (pid === null) return;
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) hwmKb = Math.max(hwmKb, Number(m[1]));
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const t = Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
      const now = performance.now();
      if (t !== cpuTicks) {
        cpuTicks = t;
        lastActive = now;
      } else if (o.idleKillMs && now - lastActive > o.idleKillMs && !idleKilled) {
        idleKilled = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch { /* gone */ }
      }
    } catch { /* exited */ }
  }, o.idleKillMs ? 500 : 50) : null;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    // The tool runs under `time` in its own process group (detached): kill the whole group,
    // since crowdsec 1.4.6 may hang at exit and `time` alone forwards no signal.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch { /* already gone */ }
  }, o.timeoutMs);
  const [code, signal] = await new Promise<[number | null, string | null]>((res) => {
    child.on('close', (c, s) => res([c, s]));
    child.on('error', (e) => {
      err.push(Buffer.from(String(e)));
      res([null, null]);
    });
  });
  clearTimeout(timer);
  if (poll) clearInterval(poll);
  const wallS = ((idleKilled ? lastActive : performance.now()) - t0) / 1000;
  let userS: number | null = idleKilled && cpuTicks >= 0 ? cpuTicks / ticks : null;
  let sysS: number | null = idleKilled && cpuTicks >= 0 ? 0 : null;
  let peakKb: number | null = hwmKb || null;
  let stderr = Buffer.concat(err).toString('utf8');
  if (useTime && existsSync(timeFile)) {
    // GNU time writes "Command exited with non-zero status N" before the format line.
    const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
    const f = last.split(' ').map(Number);
    if (f.length === 4 && f.every((x) => Number.isFinite(x))) {
      userS = f[1]!;
      sysS = f[2]!;
      peakKb = f[3]!;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  // `time` reports the tool's status as its own.
  if (stderr.length > 4 * 1024 * 1024) stderr = stderr.slice(-4 * 1024 * 1024);
  return {
    command, code, signal, timedOut, idleKilled, wallS, userS, sysS,
    peakRssMb: peakKb === null ? null : (peakKb * 1024) / 1e6,
    stdout: Buffer.concat(out).toString('utf8'), stderr,
  };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** This process's CPU time (user + system) in milliseconds, for in-process phase timing. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Starts a CPU profile of this thread when `file` is given; the returned function stops it
 * and writes the .cpuprofile there (both do nothing without a file).
 */
export async function startCpuProfile(file: string | undefined): Promise<() => Promise<void>> {
  if (!file) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}
