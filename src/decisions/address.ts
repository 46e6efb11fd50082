/**
 * Address intervals of `Ip` / `Range` decisions and of `ip=` / `range=` queries (spec §7.5).
 *
 * Every address value is a CIDR block once parsed (a single IP is a /32 or /128), so an
 * interval is fully described by (family, prefix, start) with the prefix counted in the
 * 128-bit space (IPv4 lives in ::ffff:0:0/96, so an IPv4 /24 has prefix128 = 120). That
 * alignment is what lets the store index answer `contains` queries with one seek per prefix
 * length instead of a scan (see store.ts).
 */
import { parseIpOrCidr } from '../core/ip.js';

export interface AddrInterval {
  /** 4 for IPv4 and IPv4-mapped IPv6, 6 otherwise; intervals of different families never match. */
  family: 4 | 6;
  /** Prefix length in the 128-bit space (96..128 for IPv4). */
  prefix128: number;
  start: bigint;
  end: bigint;
}

const ALL128 = (1n << 128n) - 1n;

/** Scope names are compared case-insensitively when deciding whether to compute an interval (spec §7.3). */
export function isAddressScope(scope: string): boolean {
  const s = scope.toLowerCase();
  return s === 'ip' || s === 'range';
}

/** Interval of an IP or CIDR text; null when the text is neither. */
export function parseInterval(text: string): AddrInterval | null {
  const r = parseIpOrCidr(text.trim());
  if (!r) return null;
  const prefix128 = r.family === 4 ? r.prefix + 96 : r.prefix;
  return { family: r.family, prefix128, start: r.start, end: r.end };
}

/** The network of `addr` at `prefix128` bits (host bits cleared). */
export function maskTo(addr: bigint, prefix128: number): bigint {
  const hostMask = prefix128 >= 128 ? 0n : ALL128 >> BigInt(prefix128);
  return addr & ~hostMask & ALL128;
}

/** Last address of the block starting at `start` with `prefix128` bits. */
export function blockEnd(start: bigint, prefix128: number): bigint {
  return prefix128 >= 128 ? start : start | (ALL128 >> BigInt(prefix128));
}

/** `outer` holds the whole of `inner` (same family only, spec §7.5). */
export function intervalContains(outer: AddrInterval, inner: AddrInterval): boolean {
  return outer.family === inner.family && outer.start <= inner.start && outer.end >= inner.end;
}

/** Decision-side match of an ip/range query: contains=true wants decisions holding the query. */
export function addressMatches(decision: AddrInterval, query: AddrInterval, contains: boolean): boolean {
  return contains ? intervalContains(decision, query) : intervalContains(query, decision);
}

/** 16 big-endian bytes, so that byte order is numeric order in index keys. */
export function addrToBytes(v: bigint, out: Uint8Array = new Uint8Array(16), offset = 0): Uint8Array {
  let x = v;
  for (let i = 15; i >= 0; i--) {
    out[offset + i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

export function bytesToAddr(b: Uint8Array, offset = 0): bigint {
  // Two 64-bit halves keep this to two BigInt conversions instead of sixteen.
  let hi = 0n;
  let lo = 0n;
  const dv = new DataView(b.buffer, b.byteOffset + offset, 16);
  hi = dv.getBigUint64(0);
  lo = dv.getBigUint64(8);
  return (hi << 64n) | lo;
}
