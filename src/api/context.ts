/** What every route module receives: the store, credentials, clock and settings. */
import type { FastifyBaseLogger } from 'fastify';
import type { IpRange } from '../core/ip.js';
import type { ActiveDecisionSet } from '../decisions/active-set.js';
import type { Profile } from '../decisions/profiles.js';
import type { Store } from '../decisions/store.js';
import type { BouncerKeyCache } from './auth/bouncer-cache.js';
import type { BouncerRecord, Credentials } from './credentials.js';
import type { ApiMetrics } from './metrics.js';
import type { JwtClaims } from './auth/jwt.js';

export interface TlsAuthSettings {
  /** Client certificates whose OU is listed authenticate as agents / bouncers. */
  agentsAllowedOu: string[];
  bouncersAllowedOu: string[];
}

export interface ApiContext {
  store: Store;
  creds: Credentials;
  profiles: readonly Profile[];
  now: () => number;
  jwtSecret: Buffer;
  /** May call DELETE /v1/alerts* (loopback is always allowed). */
  trustedIps: IpRange[];
  trustedProxies: IpRange[];
  useForwardedFor: boolean;
  tlsAuth: TlsAuthSettings | null;
  metrics: ApiMetrics | null;
  log: FastifyBaseLogger;
  /** Bouncers authenticated by API key, cached in memory (re-read when the credentials counter moves). */
  bouncers: BouncerKeyCache;
  /**
   * Moves the store's read snapshot to the latest commit (store.refresh). lmdb-js already
   * starts a fresh snapshot on each event-loop turn that reads; routes call this before
   * reads that must not straddle an older snapshot (machine auth, stream pulls, store queries).
   */
  refresh: () => void;
  /** In-memory set of active Ip/Range decisions (decisions/active-set.ts): answers
   *  `GET /v1/decisions?ip=|range=` without a store query; null/absent = ask the store. */
  activeSet?: ActiveDecisionSet | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the bouncer auth hook. */
    bouncer?: BouncerRecord;
    /** Set by the machine (JWT) auth hook. */
    machineId?: string;
    /** The verified token's claims (absent for machines authenticated otherwise). */
    jwtClaims?: JwtClaims;
    /** Peer address, or the forwarded one from a trusted proxy. */
    clientIp: string;
    /** The matched route's pattern, set by the metrics hook ('' when metrics are off or no route matched). */
    metricsRoute: string;
  }
}
