/**
 * The syslog source: a UDP and TCP listener (default 127.0.0.1:514) that accepts RFC 3164
 * and RFC 5424 messages and hands each one to the engine as a classic syslog line
 * `Mmm _d hh:mm:ss host program[pid]: message`, the shape the s00 syslog parser reads,
 * whatever the sender's format. CrowdSec 1.4.6 listens on UDP only; TCP is added because
 * rsyslog/syslog-ng forward over TCP for reliability.
 * TCP framing (RFC 6587): octet counting (`<len> <msg>`) when a frame starts with a digit,
 * otherwise one message per line. Messages longer than `maxMessageLength` are dropped
 * (UDP) or cut (TCP lines), and counted.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface SyslogOptions {
  listenAddr?: string;
  listenPort?: number;
  protocols?: ('udp' | 'tcp')[];
  maxMessageLength?: number;
  onLine: (line: string, src: string) => void;
  warn?: (m: string) => void;
  now?: () => Date;
}

export interface SyslogStats { messages: number; invalid: number; tooLong: number }

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const RFC3164_TS = /^([A-Z][a-z]{2}) ([ \d]\d) (\d\d:\d\d:\d\d) /;
const TAG = /^([^\s:[\]]+)(?:\[([^\]]*)\])?: ?/;

/** Go's time.Stamp layout `Jan _2 15:04:05` in local time, as syslog daemons write it. */
function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function build(ts: string, host: string, app: string, pid: string, msg: string): string {
  const tag = app ? (pid ? `${app}[${pid}]: ` : `${app}: `) : '';
  return `${ts} ${host || 'localhost'} ${tag}${msg}`;
}

/**
 * Parses one message (without transport framing). Returns the normalised line, or null when
 * the message has no valid `<PRI>` header.
 */
export function syslogToLine(raw: string, now: Date = new Date()): string | null {
  const m = /^<(\d{1,3})>/.exec(raw);
  if (!m || Number(m[1]) > 191) return null;
  let rest = raw.slice(m[0].length).replace(/[\r\n]+$/, '');
  if (/^1 /.test(rest)) {
    // RFC 5424: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]
    const f = /^1 (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(rest);
    if (!f) return null;
    rest = rest.slice(f[0].length);
    const sd = skipStructuredData(rest);
    if (sd < 0) return null;
    let msg = rest.slice(sd).replace(/^ /, '');
    if (msg.startsWith('\uFEFF')) msg = msg.slice(1); // BOM marks UTF-8 MSG
    const t = f[1] === '-' ? now : new Date(f[1]!);
    const nil = (s: string) => (s === '-' ? '' : s);
    return build(stamp(Number.isNaN(t.getTime()) ? now : t), nil(f[2]!), nil(f[3]!), nil(f[4]!), msg);
  }
  // RFC 3164: TIMESTAMP HOSTNAME TAG[PID]: MSG; senders often omit parts, so each is optional.
  let ts = stamp(now);
  const t = RFC3164_TS.exec(rest);
  if (t) {
    ts = `${t[1]} ${t[2]!.padStart(2, ' ')} ${t[3]}`;
    rest = rest.slice(t[0].length);
    const h = /^(\S+) /.exec(rest);
    // A host field is present unless what follows the stamp is already the tag.
    if (h && !/[:[]/.test(h[1]!)) {
      const tagAfter = TAG.exec(rest.slice(h[0].length));
      if (tagAfter) return build(ts, h[1]!, tagAfter[1]!, tagAfter[2] ?? '', rest.slice(h[0].length + tagAfter[0].length));
    }
  }
  const tag = TAG.exec(rest);
  if (tag) return build(ts, '', tag[1]!, tag[2] ?? '', rest.slice(tag[0].length));
  return build(ts, '', '', '', rest);
}

/** Length of the STRUCTURED-DATA field (`-` or `[..][..]`, with `\]` escapes), or -1. */
function skipStructuredData(s: string): number {
  if (s.startsWith('-')) return 1;
  let i = 0;
  while (s[i] === '[') {
    i++;
    let inQuote = false;
    for (; i < s.length; i++) {
      const c = s[i];
      if (c === '\\') { i++; continue; }
      if (c === '"') inQuote = !inQuote;
      else if (c === ']' && !inQuote) break;
    }
    if (i >= s.length) return -1;
    i++;
  }
  return i === 0 ? -1 : i;
}

export class SyslogServer {
  readonly stats: SyslogStats = { messages: 0, invalid: 0, tooLong: 0 };
  private udp: Socket | null = null;
  private tcp: Server | null = null;
  private readonly conns = new Set<TcpSocket>();
  private readonly max: number;

  constructor(private readonly o: SyslogOptions) {
    this.max = o.maxMessageLength ?? 2048;
  }

  /** Binds the listeners; resolves with the bound ports (useful with port 0). */
  async start(): Promise<{ udpPort?: number; tcpPort?: number }> {
    const host = this.o.listenAddr ?? '127.0.0.1';
    const port = this.o.listenPort ?? 514;
    const protocols = this.o.protocols ?? ['udp', 'tcp'];
    const out: { udpPort?: number; tcpPort?: number } = {};
    if (protocols.includes('udp')) {
      const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      sock.on('message', (msg, rinfo) => {
        if (msg.length > this.max) { this.stats.tooLong++; return; }
        this.handle(msg.toString('utf8'), `udp:${rinfo.address}`);
      });
      await new Promise<void>((res, rej) => {
        sock.once('error', rej);
        sock.bind(port, host, () => { sock.off('error', rej); res(); });
      });
      sock.on('error', (e) => this.o.warn?.(`syslog udp: ${e.message}`));
      this.udp = sock;
      out.udpPort = sock.address().port;
    }
    if (protocols.includes('tcp')) {
      const srv = createServer((c) => this.accept(c));
      // The same number as UDP when it was chosen by the OS, so both listen on one port.
      const tcpPort = port === 0 && out.udpPort ? out.udpPort : port;
      await new Promise<void>((res, rej) => {
        srv.once('error', rej);
        srv.listen(tcpPort, host, () => { srv.off('error', rej); res(); });
      });
      this.tcp = srv;
      out.tcpPort = (srv.address() as AddressInfo).port;
    }
    return out;
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    await Promise.all([
      this.udp ? new Promise<void>((r) => this.udp!.close(() => r())) : undefined,
      this.tcp ? new Promise<void>((r) => this.tcp!.close(() => r())) : undefined,
    ]);
    this.udp = null;
    this.tcp = null;
  }

  private handle(msg: string, src: string): void {
    const line = syslogToLine(msg, this.o.now?.() ?? new Date());
    if (line === null) { this.stats.invalid++; return; }
    this.stats.messages++;
    this.o.onLine(line, src);
  }

  private accept(c: TcpSocket): void {
    this.conns.add(c);
    const src = `tcp:${c.remoteAddress ?? ''}`;
    let buf: Buffer = Buffer.alloc(0);
    c.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        if (buf.length === 0) break;
        const first = buf[0]!;
        if (first >= 0x30 && first <= 0x39) {
          // octet counting: "<len> <msg>"
          const sp = buf.indexOf(0x20);
          if (sp < 0) {
            if (buf.length > 10) { this.stats.invalid++; c.destroy(); return; }
            break;
          }
          const len = Number(buf.subarray(0, sp).toString('latin1'));
          if (!Number.isInteger(len) || len <= 0 || len > 1024 * 1024) { this.stats.invalid++; c.destroy(); return; }
          if (buf.length < sp + 1 + len) break;
          const msg = buf.subarray(sp + 1, sp + 1 + len);
          buf = buf.subarray(sp + 1 + len);
          if (len > this.max) this.stats.tooLong++;
          else this.handle(msg.toString('utf8'), src);
        } else {
          const nl = buf.indexOf(0x0a);
          if (nl < 0) {
            // Unframed data past the limit: cut the message here rather than buffer forever.
            if (buf.length > this.max) { this.stats.tooLong++; this.handle(buf.subarray(0, this.max).toString('utf8'), src); buf = Buffer.alloc(0); }
            break;
          }
          const msg = buf.subarray(0, nl);
          buf = buf.subarray(nl + 1);
          if (msg.length > 0) this.handle(msg.toString('utf8'), src);
        }
      }
    });
    c.on('error', () => c.destroy());
    c.on('close', () => this.conns.delete(c));
  }
}
