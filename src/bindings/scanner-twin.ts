/**
 * Simple twins of the WebAssembly scanners: same interface (types.ts), same results, written
 * plainly (Buffer.indexOf, regular expressions) so the differential tests compare two
 * independent readings of the spec in assembly/README.md. Also the fallback where WASM is
 * unavailable. Lines are decoded as latin1 so string indices equal byte offsets.
 */
import * as abi from './abi.generated.js';
import type { PrefilterPlan } from './prefilter-plan.js';
import type { BatchScanner, LineScan, PrefilterResult } from './types.js';

const NONE = abi.NONE;

export function twinScanLines(batch: Uint8Array, final: boolean): LineScan {
  if (batch.length > abi.MAX_INPUT) {
    throw new RangeError(`scanLines: batch of ${batch.length} bytes, at most ${abi.MAX_INPUT} (MAX_INPUT)`);
  }
  const buf = Buffer.from(batch.buffer, batch.byteOffset, batch.length);
  const out: number[] = [];
  let start = 0;
  const push = (s: number, nl: number): void => {
    const e = nl > s && buf[nl - 1] === 0x0d ? nl - 1 : nl;
    out.push(s, e);
  };
  while (out.length / 2 < abi.MAX_LINES) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) break;
    push(start, nl);
    start = nl + 1;
  }
  if (final && start < buf.length && out.length / 2 < abi.MAX_LINES) {
    push(start, buf.length);
    start = buf.length;
  }
  return { count: out.length / 2, consumed: start, lines: Uint32Array.from(out) };
}

export function twinPrefilter(batch: Uint8Array, lines: Uint32Array, count: number, plan: PrefilterPlan): PrefilterResult {
  const buf = Buffer.from(batch.buffer, batch.byteOffset, batch.length);
  const lits = plan.literals.map((l) => Buffer.from(l));
  const litWords = Math.ceil(lits.length / 32);
  const nodeWords = Math.ceil(plan.nodeCount / 32);
  const literalMasks = new Uint32Array(count * litWords);
  const nodeMasks = new Uint32Array(count * nodeWords);
  let candidates = 0;
  for (let j = 0; j < count; j++) {
    const line = buf.subarray(lines[2 * j]!, lines[2 * j + 1]!);
    const has: boolean[] = lits.map((l) => line.indexOf(l) >= 0);
    has.forEach((h, k) => {
      if (h) literalMasks[j * litWords + (k >>> 5)] |= 1 << (k & 31);
    });
    let any = false;
    for (let n = 0; n < plan.nodeCount; n++) {
      let ok = true;
      for (let k = 0; k < lits.length; k++) {
        const needed = (plan.need[n * abi.LIT_WORDS_MAX + (k >>> 5)]! >>> (k & 31)) & 1;
        if (needed && !has[k]) ok = false;
      }
      if (ok) {
        nodeMasks[j * nodeWords + (n >>> 5)] |= 1 << (n & 31);
        any = true;
      }
    }
    if (any) candidates++;
  }
  return { candidates, litWords, nodeWords, literalMasks, nodeMasks };
}

// Syslog: the shapes listed in assembly/syslog.ts, as regular expressions.
const PROG = String.raw`[\x21-\x5a\x5c\x5e-\x7e]`;
const TS_BSD = String.raw`(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d\d:\d\d:\d\d`;
const TS_ISO = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?`;
const RE_PRI = /^<(\d{1,3})>/d;
const RE_5424 = new RegExp(
  String.raw`^[1-9]\d{0,2} ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) (-|(?:\[(?:\\[^]|[^\]\\])*\])+)(?: ([^]*))?$`,
  'd',
);
const RE_5424_START = /^[1-9]\d{0,2} /;
const RE_3164 = new RegExp(String.raw`^(?:(${TS_BSD})|(${TS_ISO})) ([^ ]+) ([^]*)$`, 'd');
const RE_TAG = new RegExp(String.raw`^(?:(${PROG}+)\[(\d+)\]|(${PROG}+)):(?: |$)`, 'd');

type Indices = RegExpIndicesArray;

export function twinScanSyslog(batch: Uint8Array, lines: Uint32Array, count: number): Uint32Array {
  const W = abi.SYSLOG_REC_WORDS;
  const out = new Uint32Array(count * W).fill(NONE);
  const buf = Buffer.from(batch.buffer, batch.byteOffset, batch.length);
  for (let j = 0; j < count; j++) {
    const s = lines[2 * j]!;
    const line = buf.toString('latin1', s, lines[2 * j + 1]!);
    const r = j * W;
    out[r + abi.SL_KIND] = abi.SYSLOG_NONE;
    let kind: number = abi.SYSLOG_NONE;
    let body = 0; // offset within the line after the PRI
    const rec = new Uint32Array(W).fill(NONE);
    const pri = line.startsWith('<') ? RE_PRI.exec(line) : null;
    if (line.startsWith('<') && pri === null) continue;
    const sink = (field: number, ix: Indices, g: number, base: number): void => {
      const p = ix[g];
      if (p === undefined) return;
      rec[field] = s + base + p[0];
      rec[field + 1] = s + base + p[1];
    };
    if (pri) {
      sink(abi.SL_PRI, pri.indices!, 1, 0);
      body = pri[0].length;
    }
    const rest = line.slice(body);
    if (pri && RE_5424_START.test(rest)) {
      const m = RE_5424.exec(rest);
      if (m) {
        const ix = m.indices!;
        [abi.SL_TIMESTAMP, abi.SL_HOST, abi.SL_PROGRAM, abi.SL_PID, abi.SL_MSGID, abi.SL_SD, abi.SL_MESSAGE]
          .forEach((f, i) => sink(f, ix, i + 1, body));
        kind = abi.SYSLOG_5424;
      }
    } else {
      const m = RE_3164.exec(rest);
      if (m) {
        const ix = m.indices!;
        kind = m[1] !== undefined ? abi.SYSLOG_3164 : abi.SYSLOG_3164_ISO;
        sink(abi.SL_TIMESTAMP, ix, m[1] !== undefined ? 1 : 2, body);
        sink(abi.SL_HOST, ix, 3, body);
        const msgAt = body + ix[4]![0];
        const tag = RE_TAG.exec(m[4]!);
        if (tag) {
          const tx = tag.indices!;
          sink(abi.SL_PROGRAM, tx, tag[1] !== undefined ? 1 : 3, msgAt);
          sink(abi.SL_PID, tx, 2, msgAt);
          rec[abi.SL_MESSAGE] = s + msgAt + tag[0].length;
        } else {
          rec[abi.SL_MESSAGE] = s + msgAt;
        }
        rec[abi.SL_MESSAGE + 1] = s + line.length;
      }
    }
    if (kind !== abi.SYSLOG_NONE) {
      out.set(rec, r);
      out[r + abi.SL_KIND] = kind;
    }
  }
  return out;
}

// Access log: the shape in assembly/accesslog.ts.
const QUOTED = String.raw`"((?:\\[^]|[^"\\])*)"`;
const RE_ACCESS = new RegExp(String.raw`^([^ ]+) ([^ ]+) ([^ ]+) \[([^\]]*)\] ${QUOTED} (\d{3}) (-|\d+)(?= |$)`, 'd');
const RE_COMBINED = new RegExp(String.raw`^ ${QUOTED} ${QUOTED}`, 'd');
const RE_REQUEST = /^([^ ]+) ([^ ]+)(?: ([^ ]+))?$/d;

export function twinScanAccessLog(batch: Uint8Array, lines: Uint32Array, count: number): Uint32Array {
  const W = abi.ACCESS_REC_WORDS;
  const out = new Uint32Array(count * W).fill(NONE);
  const buf = Buffer.from(batch.buffer, batch.byteOffset, batch.length);
  for (let j = 0; j < count; j++) {
    const s = lines[2 * j]!;
    const line = buf.toString('latin1', s, lines[2 * j + 1]!);
    const r = j * W;
    out[r + abi.AL_KIND] = abi.ACCESS_NONE;
    const m = RE_ACCESS.exec(line);
    if (!m) continue;
    const put = (field: number, ix: Indices, g: number, base: number): void => {
      const p = ix[g];
      if (p === undefined) return;
      out[r + field] = s + base + p[0];
      out[r + field + 1] = s + base + p[1];
    };
    const ix = m.indices!;
    [abi.AL_CLIENT, abi.AL_IDENT, abi.AL_USER, abi.AL_TIME, abi.AL_REQUEST, abi.AL_STATUS, abi.AL_BYTES]
      .forEach((f, i) => put(f, ix, i + 1, 0));
    const req = RE_REQUEST.exec(m[5]!);
    if (req) {
      const base = ix[5]![0];
      put(abi.AL_VERB, req.indices!, 1, base);
      put(abi.AL_PATH, req.indices!, 2, base);
      put(abi.AL_PROTO, req.indices!, 3, base);
    }
    out[r + abi.AL_KIND] = abi.ACCESS_COMMON;
    const tail = RE_COMBINED.exec(line.slice(m[0].length));
    if (tail) {
      put(abi.AL_REFERER, tail.indices!, 1, m[0].length);
      put(abi.AL_AGENT, tail.indices!, 2, m[0].length);
      out[r + abi.AL_KIND] = abi.ACCESS_COMBINED;
    }
  }
  return out;
}

/** The twin with the BatchScanner interface (keeps the last batch and its lines). */
export function createTwinScanner(): BatchScanner {
  let batch: Uint8Array = new Uint8Array(0);
  let scan: LineScan = { count: 0, consumed: 0, lines: new Uint32Array(0) };
  return {
    impl: 'twin',
    scanLines(b: Uint8Array, final: boolean): LineScan {
      scan = twinScanLines(b, final);
      batch = b;
      return scan;
    },
    prefilter: (plan) => twinPrefilter(batch, scan.lines, scan.count, plan),
    scanSyslog: () => twinScanSyslog(batch, scan.lines, scan.count),
    scanAccessLog: () => twinScanAccessLog(batch, scan.lines, scan.count),
  };
}
