/**
 * JWT HS256 for machines (spec §7.2), with node:crypto only. Claims as CrowdSec's gin-jwt
 * issues them: `id` (machine id), `exp` and `orig_iat` (Unix seconds). Lifetime 1 hour;
 * a token may be refreshed while `orig_iat` is within the refresh window (1 hour too).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_TTL_S = 3600;
export const REFRESH_WINDOW_S = 3600;

export interface JwtClaims {
  id: string;
  exp: number;
  orig_iat: number;
}

export type JwtFailure = 'malformed' | 'algorithm' | 'signature' | 'expired' | 'claims';

/** The messages jwt-go / gin-jwt put in the 401 body for each failure. */
export const JWT_MESSAGES: Record<JwtFailure, string> = {
  malformed: 'token contains an invalid number of segments',
  algorithm: 'invalid signing algorithm',
  signature: 'signature is invalid',
  expired: 'Token is expired',
  claims: 'invalid token claims',
};

const HEADER = b64url(Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));

function b64url(b: Buffer): string {
  return b.toString('base64url');
}

/** CS_LAPI_SECRET when set (CrowdSec requires >= 64 bytes), else random per process: tokens die on restart. */
export function jwtSecretFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer {
  const s = env.CS_LAPI_SECRET;
  if (s !== undefined && s !== '') {
    if (Buffer.byteLength(s) < 64) throw new Error('CS_LAPI_SECRET must be at least 64 bytes');
    return Buffer.from(s);
  }
  return randomBytes(64);
}

export function signJwt(claims: JwtClaims, secret: Buffer): string {
  const payload = b64url(Buffer.from(JSON.stringify(claims)));
  const sig = createHmac('sha256', secret).update(`${HEADER}.${payload}`).digest();
  return `${HEADER}.${payload}.${b64url(sig)}`;
}

export function issueToken(machineId: string, secret: Buffer, nowMs: number, origIat?: number): { token: string; exp: number } {
  const now = Math.floor(nowMs / 1000);
  const exp = now + TOKEN_TTL_S;
  return { token: signJwt({ id: machineId, exp, orig_iat: origIat ?? now }, secret), exp };
}

/** Verifies signature (constant-time), algorithm and expiry; never throws. */
export function verifyJwt(token: string, secret: Buffer, nowMs: number): { ok: true; claims: JwtClaims } | { ok: false; failure: JwtFailure } {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, failure: 'malformed' };
  const [h, p, s] = parts as [string, string, string];
  let header: unknown, payload: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, failure: 'malformed' };
  }
  if (!isObj(header) || header.alg !== 'HS256') return { ok: false, failure: 'algorithm' };
  const want = createHmac('sha256', secret).update(`${h}.${p}`).digest();
  const got = Buffer.from(s, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, failure: 'signature' };
  if (!isObj(payload) || typeof payload.id !== 'string' || typeof payload.exp !== 'number') return { ok: false, failure: 'claims' };
  if (payload.exp <= Math.floor(nowMs / 1000)) return { ok: false, failure: 'expired' };
  const origIat = typeof payload.orig_iat === 'number' ? payload.orig_iat : payload.exp - TOKEN_TTL_S;
  return { ok: true, claims: { id: payload.id, exp: payload.exp, orig_iat: origIat } };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC3339 (seconds, UTC) of a Unix-seconds time: the login response's `expire`. */
export function rfc3339Seconds(unixSec: number): string {
  return new Date(unixSec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
