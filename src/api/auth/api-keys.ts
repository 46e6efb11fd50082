/**
 * Bouncer API keys (spec §7.2). Keys are stored only as SHA-512 hex, as CrowdSec stores
 * them, and looked up by that hash: the lookup's timing depends on the hash of the
 * presented key, which reveals nothing about how many leading characters it shares with a
 * real key. The final comparison is constant-time anyway.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 hex chars (16 random bytes), the length `cscli bouncers add` generates. */
export function generateApiKey(bytes = 16): string {
  return randomBytes(bytes).toString('hex');
}

export function hashApiKey(key: string): string {
  // One-shot crypto.hash: half the cost of a Hash object, and it runs on every bouncer request.
  return hash('sha512', key, 'hex');
}

/** Constant-time equality of two hex digests (false, without early exit, on length mismatch). */
export function digestsEqual(a: string, b: string | Buffer): boolean {
  const ba = Buffer.from(a, 'utf8');
  const bb = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  if (ba.length !== bb.length) {
    timingSafeEqual(ba, ba); // same work as a real comparison
    return false;
  }
  return timingSafeEqual(ba, bb);
}

/**
 * Constant-time equality of two hex digest strings without allocating (the cached path of
 * every bouncer request, auth/bouncer-cache.ts): every character of `a` is compared, with
 * no branch on the data; a length mismatch is folded into the result, not returned early.
 */
export function hexDigestsEqual(a: string, b: string): boolean {
  const n = a.length;
  // The lengths are not secret (digests have one length): a mismatch does the same work on `a` alone.
  const other = b.length === n ? b : a;
  let diff = b.length ^ n;
  for (let i = 0; i < n; i++) diff |= a.charCodeAt(i) ^ other.charCodeAt(i);
  return diff === 0;
}
