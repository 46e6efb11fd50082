/**
 * The `reverse_dns` enricher (spec §2.6): the first PTR name of an IP, with the trailing dot
 * Go's resolver returns (`dns.google.`).
 *
 * CrowdSec resolves synchronously inside the parser; Node's resolver is asynchronous and an
 * event must never wait on the network. So this is a cache-backed lookup: a known answer is
 * returned at once; an unknown address starts one background query and yields nothing for
 * this event (later events from the same address get the name). Answers and failures are
 * kept for `ttlMs`; the cache holds at most `maxEntries` addresses (oldest dropped first).
 * Queries go through c-ares (`dns.promises.Resolver#reverse`), not getaddrinfo, so they
 * never occupy libuv's thread pool. Disabled unless EnricherOptions.rdns is set.
 */
import { Resolver } from 'node:dns/promises';
import { parseIp } from '../../core/ip.js';

export interface ReverseDnsOptions {
  /** Resolves an IP to its PTR names (default: a c-ares Resolver with a 2 s timeout). */
  resolve?: (ip: string) => Promise<string[]>;
  ttlMs?: number;
  negativeTtlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

interface Entry { name: string | null; expires: number }

export interface ReverseDns {
  /** Cached name (with trailing dot), or null while unknown / when there is none. */
  lookup(ip: string): string | null;
  /** Resolves when every query started so far has settled (tests, shutdown). */
  settle(): Promise<void>;
  readonly size: number;
}

export function createReverseDns(opts: ReverseDnsOptions = {}): ReverseDns {
  const ttl = opts.ttlMs ?? 3_600_000;
  const negTtl = opts.negativeTtlMs ?? 300_000;
  const max = opts.maxEntries ?? 10_000;
  const now = opts.now ?? Date.now;
  let resolve = opts.resolve;
  if (!resolve) {
    const r = new Resolver({ timeout: 2000, tries: 1 });
    resolve = (ip) => r.reverse(ip);
  }
  const cache = new Map<string, Entry>();
  const pending = new Map<string, Promise<void>>();

  const store = (ip: string, e: Entry): void => {
    cache.delete(ip);
    if (cache.size >= max) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(ip, e);
  };

  const start = (ip: string): void => {
    if (pending.has(ip)) return;
    const p = resolve!(ip).then(
      (names) => {
        const n = names[0];
        store(ip, n ? { name: n.endsWith('.') ? n : n + '.', expires: now() + ttl } : { name: null, expires: now() + negTtl });
      },
      () => store(ip, { name: null, expires: now() + negTtl }),
    ).finally(() => pending.delete(ip));
    pending.set(ip, p);
  };

  return {
    lookup(ip: string): string | null {
      const hit = cache.get(ip);
      if (hit !== undefined && hit.expires > now()) return hit.name;
      if (parseIp(ip) === null) return null; // Go: not an address => no lookup
      start(ip);
      return hit?.name ?? null; // a stale answer is still better than none while refreshing
    },
    async settle(): Promise<void> {
      while (pending.size > 0) await Promise.allSettled([...pending.values()]);
    },
    get size(): number {
      return cache.size;
    },
  };
}
