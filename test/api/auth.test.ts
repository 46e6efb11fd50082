/** Unit tests of the credential primitives: JWT HS256, API key hashing, scrypt passwords. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { digestsEqual, generateApiKey, hashApiKey } from '../../src/api/auth/api-keys.js';
import { issueToken, jwtSecretFromEnv, signJwt, verifyJwt } from '../../src/api/auth/jwt.js';
import { hashPassword, verifyPassword } from '../../src/api/auth/passwords.js';

const secret = Buffer.alloc(64, 3);

test('JWT: HS256 round trip, claims id/exp/orig_iat, expiry at exp, tampering and alg checks', () => {
  const t0 = Date.UTC(2026, 0, 1);
  const { token, exp } = issueToken('m1', secret, t0);
  assert.equal(exp, t0 / 1000 + 3600);
  const [h, p] = token.split('.') as [string, string];
  assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url').toString()), { alg: 'HS256', typ: 'JWT' });
  assert.deepEqual(JSON.parse(Buffer.from(p, 'base64url').toString()), { id: 'm1', exp, orig_iat: t0 / 1000 });
  assert.deepEqual(verifyJwt(token, secret, t0 + 3599_000), { ok: true, claims: { id: 'm1', exp, orig_iat: t0 / 1000 } });
  assert.deepEqual(verifyJwt(token, secret, t0 + 3600_000), { ok: false, failure: 'expired' });
  assert.deepEqual(verifyJwt(token, Buffer.alloc(64, 4), t0), { ok: false, failure: 'signature' });
  assert.deepEqual(verifyJwt('a.b', secret, t0), { ok: false, failure: 'malformed' });
  assert.deepEqual(verifyJwt('!!.??.xx', secret, t0), { ok: false, failure: 'malformed' });
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
  assert.deepEqual(verifyJwt(none, secret, t0), { ok: false, failure: 'algorithm' });
  const other = signJwt({ id: 'm2', exp, orig_iat: 0 }, secret);
  const spliced = `${other.split('.')[0]}.${other.split('.')[1]}.${token.split('.')[2]}`;
  assert.deepEqual(verifyJwt(spliced, secret, t0), { ok: false, failure: 'signature' });
});

test('JWT secret: CS_LAPI_SECRET must be >= 64 bytes; random otherwise', () => {
  assert.throws(() => jwtSecretFromEnv({ CS_LAPI_SECRET: 'short' }), /at least 64 bytes/);
  assert.equal(jwtSecretFromEnv({ CS_LAPI_SECRET: 'x'.repeat(64) }).toString(), 'x'.repeat(64));
  const a = jwtSecretFromEnv({}), b = jwtSecretFromEnv({});
  assert.equal(a.length, 64);
  assert.notDeepEqual(a, b);
});

test('API keys: 32 hex chars, stored as SHA-512 hex, digest comparison', () => {
  const k = generateApiKey();
  assert.match(k, /^[0-9a-f]{32}$/);
  assert.notEqual(generateApiKey(), k);
  assert.equal(hashApiKey(k), createHash('sha512').update(k).digest('hex'));
  assert.match(hashApiKey(k), /^[0-9a-f]{128}$/);
  assert.equal(digestsEqual(hashApiKey(k), hashApiKey(k)), true);
  assert.equal(digestsEqual(hashApiKey(k), hashApiKey(k + 'x')), false);
  assert.equal(digestsEqual('ab', 'abc'), false);
});

test('passwords: scrypt hash with salt, verify, wrong password, malformed hash', async () => {
  const h1 = await hashPassword('s3cret');
  const h2 = await hashPassword('s3cret');
  assert.match(h1, /^\$scrypt\$N=16384,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.notEqual(h1, h2); // salted
  assert.ok(!h1.includes('s3cret'));
  assert.equal(await verifyPassword('s3cret', h1), true);
  assert.equal(await verifyPassword('s3cret!', h1), false);
  assert.equal(await verifyPassword('', h1), false);
  assert.equal(await verifyPassword('s3cret', 'plain'), false);
  assert.equal(await verifyPassword('s3cret', '$scrypt$N=16384,r=8,p=1$AAAA$AAAA'), false);
});
