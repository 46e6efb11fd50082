/**
 * Open-loop HTTP/1.1 load generator for bench/lapi-load.ts, built to stay out of its own
 * measurement: a late send or a late read of an answer is the generator's fault and shows
 * up as latency from the scheduled time.
 *
 * - Request k is due at t0 + k / rate, whatever earlier answers did (open loop: a slow
 *   answer does not delay the next request, so coordinated omission cannot hide a queue).
 *   It leaves on the first idle keep-alive connection, or waits (FIFO) for one to free up;
 *   the wait counts against its latency.
 * - Requests are pre-built byte buffers. Sockets read into one fixed buffer per connection
 *   (`onread`), so reading an answer allocates nothing; answers are framed by a byte-level
 *   scan of the status line and Content-Length (no header objects, strings or regexps).
 * - Latencies go into preallocated Float64Arrays; connections, the idle stack and the wait
 *   queue are preallocated too. What is left per iteration is Node's own (the Immediate of
 *   the spin loop, libuv's write request), measured by gc-watch.ts around the run.
 */
import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

/** How long one spin tick may wait for due sends before yielding to the event loop. */
const SPIN_SLICE_MS = 0.05;

/** Never notified: Atomics.wait on it is a precise sleep of the busy-wait. */
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

export interface PacedOptions {
  rate: number;
  durationS: number;
  warmupS: number;
  connections: number;
  /**
   * How sends are timed. `wait`: short futex sleeps (≤ SPIN_SLICE_MS) then a turn of the event
   * loop — punctual, but the generator is runnable almost all the time and holds a vCPU.
   * `timer`: a 1 ms timer (requests leave in groups). `thread`: a pacer thread sleeps until each
   * due time and wakes this event loop with a message; between sends this thread sleeps in
   * epoll like any server client, so both vCPUs stay free for the server when it needs one.
   */
  dispatch: 'wait' | 'timer' | 'thread';
  /** Answers still missing this long after the last request was due count as errors. */
  graceMs?: number;
}

export interface PacedSamples {
  /** Per recorded request: due time (ms since the first recorded request was due). */
  schedAt: Float64Array;
  /** Due time → last byte of the answer (ms). */
  fromSched: Float64Array;
  /** Write → last byte of the answer (ms). */
  fromSend: Float64Array;
  /** Due time → write (ms): the generator's own lateness plus waits for a connection. */
  lateness: Float64Array;
  sent: number;
  recorded: number;
  errors: number;
  non2xx: number;
  /** Requests that waited for a free connection. */
  queued: number;
  /** From the first recorded request's due time to the last answer (ms). */
  measuredMs: number;
}

const CONTENT_LENGTH = Buffer.from('content-length:', 'latin1');
const CL_LEN = CONTENT_LENGTH.length;

/** One keep-alive connection and its response-framing state (numbers only: no allocation per answer). */
class Conn {
  sock: Socket | null = null;
  busy = false;
  sched = 0; // k of the request in flight
  sent = 0; // performance.now() at its write
  // Framing state of the answer being read.
  headPos = 0; // bytes of the head read so far
  status = 0;
  lineLen = 0; // bytes of the current header line before its LF
  clMatch = 0; // bytes of "content-length:" matched at the start of this line
  inLength = false; // reading the digits of Content-Length
  length = 0;
  body = -1; // body bytes still to read; -1 while in the head
  constructor(readonly index: number) {}
  resetHead(): void {
    this.headPos = 0;
    this.status = 0;
    this.lineLen = 0;
    this.clMatch = 0;
    this.inLength = false;
    this.length = 0;
    this.body = -1;
  }
}

export async function pacedLoad(host: string, port: number, requests: readonly Buffer[], o: PacedOptions): Promise<PacedSamples> {
  const warm = Math.round(o.rate * o.warmupS);
  const total = warm + Math.round(o.rate * o.durationS);
  const interval = 1000 / o.rate;
  const n = total - warm;
  const schedAt = new Float64Array(n);
  const fromSched = new Float64Array(n);
  const fromSend = new Float64Array(n);
  const lateness = new Float64Array(n);
  const reqs = requests.slice();
  const nReqs = reqs.length;
  let recorded = 0, errors = 0, non2xx = 0, done = 0, queued = 0, nextK = 0, t0 = 0, lastDone = 0;
  const conns: Conn[] = [];
  for (let i = 0; i < o.connections; i++) conns.push(new Conn(i));
  const idle = new Int32Array(o.connections);
  let nIdle = 0;
  // Waiting requests are consecutive k's (a free connection always drains the queue first).
  let waitHead = 0, waitTail = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));

  const send = (c: Conn, k: number, now: number): void => {
    c.busy = true;
    c.sched = k;
    c.sent = now;
    c.sock!.write(reqs[k % nReqs]!);
  };
  const complete = (c: Conn): void => {
    const now = performance.now();
    const k = c.sched;
    if (k >= warm) {
      const due = t0 + k * interval;
      schedAt[recorded] = (k - warm) * interval;
      fromSched[recorded] = now - due;
      fromSend[recorded] = now - c.sent;
      lateness[recorded] = c.sent - due;
      recorded++;
    }
    if (c.status !== 200) non2xx++;
    c.resetHead();
    done++;
    lastDone = now;
    c.busy = false;
    if (waitHead < waitTail) send(c, waitHead++, now);
    else idle[nIdle++] = c.index;
    if (done === total) finish();
  };
  /** Frames answers in buf[0, len): "HTTP/1.1 SSS ...\r\n", headers, "\r\n", Content-Length body bytes. */
  const feed = (c: Conn, buf: Uint8Array, len: number): void => {
    let i = 0;
    while (i < len) {
      if (c.body >= 0) {
        const take = Math.min(c.body, len - i);
        c.body -= take;
        i += take;
        if (c.body === 0) complete(c);
        continue;
      }
      const b = buf[i++]!;
      const pos = c.headPos++;
      if (pos >= 9 && pos <= 11) c.status = c.status * 10 + (b - 48); // "HTTP/1.1 200"
      if (b === 10) {
        if (c.lineLen === 1) {
          // the empty line (just CR) ends the head
          if (c.length === 0) complete(c);
          else c.body = c.length;
          continue;
        }
        c.lineLen = 0;
        c.clMatch = 0;
        c.inLength = false;
        continue;
      }
      const at = c.lineLen++;
      if (c.inLength) {
        if (b >= 48 && b <= 57) c.length = c.length * 10 + (b - 48);
      } else if (c.clMatch === at && at < CL_LEN && (b | 0x20) === CONTENT_LENGTH[at]) {
        if (++c.clMatch === CL_LEN) c.inLength = true;
      }
    }
  };

  await Promise.all(conns.map((c) => new Promise<void>((resolve, reject) => {
    const buffer = Buffer.allocUnsafe(16384);
    const sock = connect({ host, port, noDelay: true, onread: { buffer, callback: (nread: number, buf: Uint8Array) => { feed(c, buf, nread); return true; } } }, () => resolve());
    c.sock = sock;
    sock.on('error', (e) => { errors++; reject(e); });
    sock.on('close', () => { if (c.busy) errors++; });
  })));
  for (let i = o.connections - 1; i >= 0; i--) idle[nIdle++] = i;

  t0 = performance.now();
  /** Sends every request due by `now` (queued FIFO when no connection is idle); false once all are sent. */
  const sendDue = (now: number): boolean => {
    while (nextK < total && t0 + nextK * interval <= now) {
      if (nIdle > 0) send(conns[idle[--nIdle]!]!, nextK, now);
      else {
        if (waitTail === waitHead) waitHead = waitTail = nextK;
        waitTail = nextK + 1;
        queued++;
      }
      nextK++;
    }
    return nextK < total;
  };
  let pacer: Worker | null = null;
  if (o.dispatch === 'thread') {
    pacer = startPacer(performance.timeOrigin + t0, interval, total);
    pacer.on('message', () => { if (!sendDue(performance.now())) pacer?.unref(); });
    sendDue(performance.now());
  } else {
    const spin = o.dispatch === 'wait';
    const tick = (): void => {
      let now = performance.now();
      // Spinning, a tick waits up to SPIN_SLICE_MS for due sends before it yields to the event
      // loop (answers wait at most that long to be read): a few clock reads per slice instead of
      // an Immediate and a clock read (a boxed double in Node 20) per ~1 µs iteration, whose
      // garbage made the generator scavenge ~6 times a second and send late (p99 ~1.1 ms).
      const sliceEnd = spin ? now + SPIN_SLICE_MS : now;
      for (;;) {
        if (!sendDue(now)) return;
        if (now >= sliceEnd) break;
        // Sleep (futex) rather than spin until the next send or the slice's end: a spinning
        // generator slowed the server on the sibling vCPU (~+20% CPU per request) and was not
        // more punctual. Answers are read when the tick yields, at most a slice later.
        const wait = Math.min(sliceEnd, t0 + nextK * interval) - now;
        if (wait > 0.005) Atomics.wait(sleepCell, 0, 0, wait);
        now = performance.now();
      }
      if (spin) setImmediate(tick);
      else setTimeout(tick, Math.max(0, t0 + nextK * interval - performance.now()));
    };
    tick();
  }
  const deadline = t0 + total * interval + (o.graceMs ?? 5000);
  await Promise.race([finished, new Promise<void>((r) => {
    const t = setInterval(() => {
      if (performance.now() > deadline || done === total) { clearInterval(t); r(); }
    }, 100);
  })]);
  errors += total - done;
  if (pacer) await pacer.terminate();
  for (const c of conns) c.sock!.destroy();
  return {
    schedAt, fromSched, fromSend, lateness, sent: nextK, recorded, errors, non2xx, queued,
    measuredMs: lastDone - (t0 + warm * interval),
  };
}

/**
 * The `thread` dispatch's clock: a worker that sleeps (Atomics.wait on a cell nobody notifies:
 * a futex with a timeout, precise to tens of µs) until each request's due time, then posts a
 * message that wakes the generator's event loop (libuv async). `originMs` is the absolute
 * due time of request 0 (performance.timeOrigin-based: each thread has its own origin).
 */
function startPacer(originMs: number, interval: number, total: number): Worker {
  const code = `
    const { parentPort, workerData: { originMs, interval, total } } = require('node:worker_threads');
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const base = originMs - performance.timeOrigin;
    for (let k = 1; k < total; k++) {
      const wait = base + k * interval - performance.now();
      if (wait > 0.002) Atomics.wait(cell, 0, 0, wait);
      parentPort.postMessage(0);
    }`;
  return new Worker(code, { eval: true, workerData: { originMs, interval, total } });
}
