/** Helpers for the role tests: spawn the CLI, wait on its stderr, brute-force lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../support/debian.js';

export interface Proc { child: ChildProcess; stderr: () => string; exited: Promise<number | null> }

const procs: Proc[] = [];

export function palisade(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), ...args], {
    cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err += c.toString('utf8'); });
  child.stdout!.resume();
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const p = { child, stderr: () => err, exited };
  procs.push(p);
  return p;
}

/** For `after` hooks: every process still running is killed. */
export async function killAll(): Promise<void> {
  for (const p of procs) {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
  }
}

export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits for a line on the process's stderr; fails early if the process exits. */
export async function waitStderr(p: Proc, re: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  return waitFor(() => {
    if (p.child.exitCode !== null) throw new Error(`process exited (${p.child.exitCode}) before ${re}: ${p.stderr()}`);
    return re.exec(p.stderr());
  }, `${re} on stderr`, timeoutMs);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `n` sshd password failures from `ip`, stamped now (syslog format). */
export function bruteForce(ip: string, n: number): string {
  const d = new Date();
  const ts = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${d.toTimeString().slice(0, 8)}`;
  let s = '';
  for (let i = 0; i < n; i++) s += `${ts} web1 sshd[${1000 + i}]: Failed password for root from ${ip} port ${40000 + i} ssh2\n`;
  return s;
}

/** GET /v1/decisions?ip= as a bouncer; null when none. */
export async function bouncerDecisions(url: string, key: string, ip: string): Promise<{ value: string; type: string; origin: string; scenario: string }[] | null> {
  const r = await fetch(`${url}/v1/decisions?ip=${ip}`, { headers: { 'X-Api-Key': key } });
  if (r.status !== 200) throw new Error(`GET /v1/decisions: ${r.status} ${await r.text()}`);
  return (await r.json()) as { value: string; type: string; origin: string; scenario: string }[] | null;
}
