/** The machines / bouncers tables: lookups, validation of names, and what stays secret. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/decisions/store.js';
import { CredentialError, Credentials } from '../../src/api/credentials.js';
import { hashApiKey } from '../../src/api/auth/api-keys.js';

async function withCreds(fn: (c: Credentials, store: Store, dir: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'palisade-creds-'));
  const store = Store.open(join(root, 'data'), { noSync: true });
  try {
    await fn(new Credentials(store), store, join(root, 'data'));
  } finally {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  }
}

test('bouncers: key lookup by hash, duplicate names and keys refused, delete revokes, TLS bouncers have no key', async () => {
  await withCreds(async (c) => {
    const { key, bouncer } = await c.addBouncer('fw');
    assert.equal(bouncer.keyHash, hashApiKey(key));
    assert.equal(c.findBouncerByKey(key)?.name, 'fw');
    assert.equal(c.findBouncerByKey(key + ' '), undefined);
    assert.equal(c.findBouncerByKey(''), undefined);
    await assert.rejects(c.addBouncer('fw'), (e: unknown) => e instanceof CredentialError && e.code === 'EXISTS');
    await assert.rejects(c.addBouncer('fw-b', { key }), /already in use/);
    await assert.rejects(c.addBouncer('bad name'), (e: unknown) => e instanceof CredentialError && e.code === 'INVALID');
    const tls = await c.addBouncer('cert@127.0.0.1', { authType: 'tls' });
    assert.equal(tls.key, '');
    assert.equal(c.findBouncerByKey(''), undefined);
    assert.equal(await c.touchBouncer('fw', { lastPull: 42, streamCursor: 7 }), true);
    assert.equal(c.getBouncer('fw')?.lastPull, 42);
    assert.equal(await c.deleteBouncer('fw'), true);
    assert.equal(await c.deleteBouncer('fw'), false);
    assert.equal(c.findBouncerByKey(key), undefined);
    assert.deepEqual(c.listBouncers().map((b) => b.name), ['cert@127.0.0.1']);
  });
});

test('machines: add (validated or not), duplicate refused unless forced, validate, update, delete', async () => {
  await withCreds(async (c) => {
    await c.addMachine('m1', 'pw', { validated: false });
    assert.equal(c.getMachine('m1')?.isValidated, false);
    assert.match(c.getMachine('m1')!.passwordHash, /^\$scrypt\$/);
    await assert.rejects(c.addMachine('m1', 'pw', { validated: true }), /user 'm1': user already exist/);
    await c.addMachine('m1', 'pw2', { validated: true, force: true });
    assert.equal(c.getMachine('m1')?.isValidated, true);
    await assert.rejects(c.addMachine('no spaces', 'pw', { validated: true }), /invalid machine id/);
    assert.equal(await c.validateMachine('ghost'), false);
    assert.equal(await c.updateMachine('m1', { version: 'v1' }), true);
    assert.equal(c.getMachine('m1')?.version, 'v1');
    assert.equal(await c.deleteMachine('m1'), true);
    assert.equal(c.getMachine('m1'), undefined);
  });
});

test('writes through another opener of the same directory are visible after store.refresh()', async () => {
  await withCreds(async (c, _store, dir) => {
    const other = Store.open(dir, { noSync: true });
    try {
      const c2 = new Credentials(other);
      assert.equal(c.getBouncer('late'), undefined);
      const { key } = await c2.addBouncer('late');
      _store.refresh();
      assert.equal(c.findBouncerByKey(key)?.name, 'late');
    } finally {
      await other.close();
    }
  });
});

test('a data directory whose name has a dot is still a directory (mktemp -d names)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'palisade-creds-'));
  const dir = join(root, 'state.d');
  try {
    const store = Store.open(dir, { noSync: true });
    const { key } = await new Credentials(store).addBouncer('fw');
    await store.close();
    const again = Store.open(dir, { noSync: true });
    assert.equal(new Credentials(again).findBouncerByKey(key)?.name, 'fw');
    await again.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
