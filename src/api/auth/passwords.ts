/**
 * Machine passwords. CrowdSec stores bcrypt hashes; our store is our own, so we use scrypt
 * from node:crypto (no dependency) in a self-describing PHC-like string:
 *   $scrypt$N=16384,r=8,p=1$<salt base64>$<hash base64>
 * Verification is constant-time, and an unknown machine still costs one scrypt run
 * (`burnPasswordCheck`) so that response time does not reveal which machine ids exist.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const DEFAULT = { N: 16384, r: 8, p: 1 };
const KEY_LEN = 32;
const PREFIX = '$scrypt$';

function scryptAsync(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem: N*r*128 bytes plus headroom; Node's 32 MiB default is enough only for N <= 2^15.
    scrypt(password, salt, KEY_LEN, { ...opts, maxmem: 256 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string, params = DEFAULT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, params);
  return `${PREFIX}N=${params.N},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface Parsed { N: number; r: number; p: number; salt: Buffer; key: Buffer }

function parseHash(stored: string): Parsed | null {
  if (!stored.startsWith(PREFIX)) return null;
  const [params, salt, key] = stored.slice(PREFIX.length).split('$');
  if (!params || !salt || !key) return null;
  const m = /^N=(\d+),r=(\d+),p=(\d+)$/.exec(params);
  if (!m) return null;
  return { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]), salt: Buffer.from(salt, 'base64'), key: Buffer.from(key, 'base64') };
}

/** True when `password` matches the stored hash; false for a wrong password or a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parseHash(stored);
  if (!h || h.key.length !== KEY_LEN) {
    await burnPasswordCheck(password);
    return false;
  }
  const key = await scryptAsync(password, h.salt, { N: h.N, r: h.r, p: h.p });
  return timingSafeEqual(key, h.key);
}

const BURN_SALT = randomBytes(16);
/** The cost of one verification, spent when there is no hash to verify against. */
export async function burnPasswordCheck(password: string): Promise<void> {
  await scryptAsync(password, BURN_SALT, DEFAULT);
}
