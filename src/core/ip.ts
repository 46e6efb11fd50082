/**
 * IP values without dependencies: parse IPv4/IPv6 text into a 128-bit BigInt in the IPv6
 * space (IPv4 mapped into ::ffff:0:0/96, as CrowdSec and Go's net package treat them), and
 * CIDR ranges as [start, end] intervals. Used by whitelists, expr helpers, and decisions.
 */

export interface IpValue {
  /** 4 for IPv4 and IPv4-mapped IPv6, 6 otherwise. */
  family: 4 | 6;
  /** The address in the 128-bit space (IPv4 mapped to ::ffff:a.b.c.d). */
  value: bigint;
}

export interface IpRange {
  family: 4 | 6;
  start: bigint;
  end: bigint;
  /** Prefix length in the address's own family (0-32 for v4, 0-128 for v6). */
  prefix: number;
}

const V4_MAPPED = 0xffffn << 32n;
const ALL128 = (1n << 128n) - 1n;

/** Parses dotted-quad IPv4 into a u32 number; null when invalid (no leading zeros > 1 digit, like Go). */
export function parseIPv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (p.length === 0 || p.length > 3) return null;
    if (p.length > 1 && p[0] === '0') return null;
    let v = 0;
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return null;
      v = v * 10 + c;
    }
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

/** Parses an IPv6 address (with optional embedded IPv4 tail and optional %zone) into 128 bits. */
export function parseIPv6(s: string): bigint | null {
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  if (s.length < 2 || s.indexOf(':') < 0) return null;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = parseIPv4(last);
    if (v4 === null) return null;
    tail = [(v4 >>> 16) & 0xffff, v4 & 0xffff];
    s = s.slice(0, lastColon + 1) + '0';
    // placeholder group replaced below
  }
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.length === 0 || g.length > 4 || !/^[0-9a-fA-F]+$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const head = parseGroups(s.slice(0, dbl));
    const rest = parseGroups(s.slice(dbl + 2));
    if (!head || !rest) return null;
    const restG = tail.length ? rest.slice(0, -1).concat(tail) : rest;
    const missing = 8 - head.length - restG.length;
    if (missing < 1) return null;
    groups = head.concat(new Array(missing).fill(0), restG);
  } else {
    const all = parseGroups(s);
    if (!all) return null;
    groups = tail.length ? all.slice(0, -1).concat(tail) : all;
    if (groups.length !== 8) return null;
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

export function parseIp(s: string): IpValue | null {
  if (s.includes(':')) {
    const v = parseIPv6(s);
    if (v === null) return null;
    return { family: v >> 32n === 0xffffn ? 4 : 6, value: v };
  }
  const v4 = parseIPv4(s);
  if (v4 === null) return null;
  return { family: 4, value: V4_MAPPED | BigInt(v4) };
}

export function isIp(s: string): boolean {
  return parseIp(s) !== null;
}

/** Parses `a.b.c.d/n` or `x::/n`; the address part is masked (Go's ParseCIDR network). */
export function parseCidr(s: string): IpRange | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIp(s.slice(0, slash));
  const bitsText = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(bitsText)) return null;
  const bits = Number(bitsText);
  const isV6Text = s.slice(0, slash).includes(':');
  const max = isV6Text ? 128 : 32;
  if (bits > max) return null;
  const bits128 = isV6Text ? bits : bits + 96;
  const hostMask = bits128 === 128 ? 0n : ALL128 >> BigInt(bits128);
  const start = ip.value & ~hostMask & ALL128;
  // A v6-written prefix shorter than /96 over a mapped address spans beyond IPv4.
  const family: 4 | 6 = isV6Text ? (bits128 >= 96 && start >> 32n === 0xffffn ? 4 : 6) : 4;
  return { family, start, end: start | hostMask, prefix: isV6Text && family === 4 ? bits - 96 : bits };
}

/** A single address or a CIDR as a range. */
export function parseIpOrCidr(s: string): IpRange | null {
  if (s.includes('/')) return parseCidr(s);
  const ip = parseIp(s);
  if (!ip) return null;
  return { family: ip.family, start: ip.value, end: ip.value, prefix: ip.family === 4 ? 32 : 128 };
}

export function rangeContains(r: IpRange, v: bigint): boolean {
  return v >= r.start && v <= r.end;
}

/** Text form, Go-style: IPv4 (and mapped) as dotted quad, IPv6 compressed lower-case. */
export function formatIp(v: bigint, family: 4 | 6): string {
  if (family === 4) {
    const n = Number(v & 0xffffffffn);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  // Longest run of zeros (length >= 2) becomes '::' (RFC 5952).
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}

/** Network of `ip` with `prefix` bits (prefix counted in the address's own family), as CIDR text. */
export function ipToRange(ip: IpValue, prefix: number): string | null {
  const max = ip.family === 4 ? 32 : 128;
  if (prefix < 0 || prefix > max) return null;
  const bits128 = ip.family === 4 ? prefix + 96 : prefix;
  const hostMask = bits128 === 128 ? 0n : ALL128 >> BigInt(bits128);
  const start = ip.value & ~hostMask & ALL128;
  return `${formatIp(start, ip.family)}/${prefix}`;
}
