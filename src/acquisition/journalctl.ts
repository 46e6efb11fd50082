/**
 * The journalctl source: runs `journalctl --follow -n 0 -o short-iso FILTER...` (argv, no
 * shell) and reads its stdout as lines. short-iso lines (`2026-11-27T19:19:21+0000 host
 * sshd[1]: ...`) are syslog-shaped, so the syslog parser chain reads them. If journalctl exits
 * it is restarted after a pause, as long as the source runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';

export interface JournalctlOptions {
  filters: string[];
  mode?: 'tail' | 'cat';
  /** The binary; tests point it at a stand-in. */
  bin?: string;
  restartMs?: number;
  maxLineBytes?: number;
  onLine: (line: string, src: string) => void;
  onDone?: () => void;
  warn?: (m: string) => void;
}

export class JournalctlSource {
  private child: ChildProcess | null = null;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | null = null;
  lines = 0;

  constructor(private readonly o: JournalctlOptions) {}

  /** argv for journalctl; cat mode reads the whole journal for the filters once. */
  args(): string[] {
    const follow = (this.o.mode ?? 'tail') === 'tail' ? ['--follow', '-n', '0'] : [];
    return [...follow, '-o', 'short-iso', '-q', ...this.o.filters];
  }

  start(): void {
    if (this.stopped || this.child) return;
    const bin = this.o.bin ?? 'journalctl';
    const child = spawn(bin, this.args(), { stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    this.child = child;
    const src = `journalctl-${this.o.filters.join('-')}`;
    const dec = new StringDecoder('utf8');
    const max = this.o.maxLineBytes ?? 1024 * 1024;
    let carry = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const parts = (carry + dec.write(chunk)).split('\n');
      carry = parts.pop() ?? '';
      if (carry.length > max) carry = carry.slice(0, max);
      for (const l of parts) {
        // journalctl prints "-- No entries --" style markers between real lines.
        if (l === '' || l.startsWith('-- ')) continue;
        this.lines++;
        this.o.onLine(l.length > max ? l.slice(0, max) : l, src);
      }
    });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => { if (err.length < 2000) err += c.toString('utf8'); });
    child.on('error', (e) => this.o.warn?.(`journalctl: ${e.message}`));
    child.on('close', (code) => {
      this.child = null;
      if (this.stopped) return;
      if ((this.o.mode ?? 'tail') === 'cat') { this.o.onDone?.(); return; }
      this.o.warn?.(`journalctl exited (${code ?? 'signal'})${err ? `: ${err.trim().split('\n')[0]}` : ''}; restarting`);
      err = '';
      this.restartTimer = setTimeout(() => this.start(), this.o.restartMs ?? 5000);
      this.restartTimer.unref?.();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const c = this.child;
    if (!c) return;
    await new Promise<void>((res) => {
      c.once('close', () => res());
      c.kill('SIGTERM');
      setTimeout(() => { c.kill('SIGKILL'); res(); }, 2000).unref();
    });
  }
}
