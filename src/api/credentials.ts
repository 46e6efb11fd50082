/**
 * Machines and bouncers (spec §7.8), kept in the decision store's LMDB env as two extra
 * tables plus a key-hash index, so operator commands in another process (`palisade bouncers
 * add --data-dir S`) and a running API see the same rows.
 *
 *   table              key                 value
 *   ext_machines       machine id          MachineRecord (password as a scrypt hash)
 *   ext_bouncers       bouncer name        BouncerRecord (API key as SHA-512 hex)
 *   ext_bouncer_keys   SHA-512 hex of key  bouncer name
 *
 * Secrets are never stored in clear: the key is hashed before it reaches LMDB and the
 * caller prints it once.
 */
import type { Database } from 'lmdb';
import type { Store } from '../decisions/store.js';
import { digestsEqual, generateApiKey, hashApiKey } from './auth/api-keys.js';
import { hashPassword } from './auth/passwords.js';

export type MachineAuthType = 'password' | 'tls';
export type BouncerAuthType = 'api-key' | 'tls';

export interface MachineRecord {
  machineId: string;
  passwordHash: string;
  ipAddress: string;
  /** Comma-joined scenario list sent at login. */
  scenarios: string;
  version: string;
  isValidated: boolean;
  authType: MachineAuthType;
  /** ms epoch; 0 = never. */
  createdAt: number;
  updatedAt: number;
  lastPush: number;
  lastHeartbeat: number;
}

export interface BouncerRecord {
  name: string;
  /** SHA-512 hex of the API key ('' for TLS bouncers). */
  keyHash: string;
  revoked: boolean;
  ipAddress: string;
  type: string;
  version: string;
  authType: BouncerAuthType;
  createdAt: number;
  updatedAt: number;
  /** ms epoch of the last pull (stream `last_pull`); 0 = never. */
  lastPull: number;
  /** Change-log cursor the last stream pull reflected (0 = none). */
  streamCursor: number;
}

export class CredentialError extends Error {
  constructor(readonly code: 'EXISTS' | 'NOT_FOUND' | 'INVALID', message: string) {
    super(message);
    this.name = 'CredentialError';
  }
}

const NAME_RE = /^[A-Za-z0-9@._:+-]{1,128}$/;

export class Credentials {
  private readonly machines: Database<MachineRecord, string>;
  private readonly bouncers: Database<BouncerRecord, string>;
  private readonly keys: Database<string, string>;
  private readonly deleteListeners = new Set<(name: string) => void>();
  private readonly envInfo: (() => { lastTxnId?: unknown }) | undefined;

  constructor(private readonly store: Store) {
    this.machines = store.openTable<MachineRecord>('machines');
    this.bouncers = store.openTable<BouncerRecord>('bouncers');
    this.keys = store.openTable<string>('bouncer_keys');
    // lmdb-js keeps the native env on each database (not in its typings).
    const env = (this.keys as unknown as { env?: { info?: () => { lastTxnId?: unknown } } }).env;
    this.envInfo = typeof env?.info === 'function' ? env.info.bind(env) : undefined;
  }

  // ---- machines ------------------------------------------------------------------------

  getMachine(id: string): MachineRecord | undefined {
    const m = this.machines.get(id);
    return m ? { ...m } : undefined;
  }

  listMachines(): MachineRecord[] {
    return Array.from(this.machines.getRange({}), ({ value }) => ({ ...value }));
  }

  /** Registers a machine; `validated` true for operator-created ones (cscli machines add). */
  async addMachine(id: string, password: string, opts: { validated: boolean; ip?: string; force?: boolean; authType?: MachineAuthType; now?: number }): Promise<MachineRecord> {
    checkName(id, 'machine id');
    const now = opts.now ?? Date.now();
    const passwordHash = opts.authType === 'tls' ? '' : await hashPassword(password);
    const rec: MachineRecord = {
      machineId: id, passwordHash, ipAddress: opts.ip ?? '', scenarios: '', version: '',
      isValidated: opts.validated, authType: opts.authType ?? 'password',
      createdAt: now, updatedAt: now, lastPush: 0, lastHeartbeat: 0,
    };
    await this.store.transact(() => {
      if (!opts.force && this.machines.get(id) !== undefined) throw new CredentialError('EXISTS', `user '${id}': user already exist`);
      this.machines.putSync(id, rec);
      this.store.credentialsChanged();
    });
    return rec;
  }

  /** Read-modify-write of one machine in a transaction; false if it does not exist. */
  updateMachine(id: string, patch: Partial<Omit<MachineRecord, 'machineId'>>, now = Date.now()): Promise<boolean> {
    return this.store.transact(() => {
      const m = this.machines.get(id);
      if (!m) return false;
      this.machines.putSync(id, { ...m, ...patch, updatedAt: now });
      // Heartbeat / last-push / login bookkeeping leaves authentication as it was.
      if (AUTH_MACHINE_FIELDS.some((f) => f in patch)) this.store.credentialsChanged();
      return true;
    });
  }

  async deleteMachine(id: string): Promise<boolean> {
    return this.store.transact(() => {
      const removed = this.machines.removeSync(id);
      if (removed) this.store.credentialsChanged();
      return removed;
    });
  }

  async validateMachine(id: string): Promise<boolean> {
    return this.updateMachine(id, { isValidated: true });
  }

  // ---- bouncers ------------------------------------------------------------------------

  getBouncer(name: string): BouncerRecord | undefined {
    const b = this.bouncers.get(name);
    return b ? { ...b } : undefined;
  }

  listBouncers(): BouncerRecord[] {
    return Array.from(this.bouncers.getRange({}), ({ value }) => ({ ...value }));
  }

  /** Creates a bouncer and returns its key (generated unless given); only the hash is stored. */
  async addBouncer(name: string, opts: { key?: string; authType?: BouncerAuthType; ip?: string; now?: number } = {}): Promise<{ bouncer: BouncerRecord; key: string }> {
    checkName(name, 'bouncer name');
    const authType = opts.authType ?? 'api-key';
    const key = authType === 'tls' ? '' : opts.key ?? generateApiKey();
    if (authType === 'api-key' && key.length === 0) throw new CredentialError('INVALID', 'API key must not be empty');
    const keyHash = key ? hashApiKey(key) : '';
    const now = opts.now ?? Date.now();
    const rec: BouncerRecord = {
      name, keyHash, revoked: false, ipAddress: opts.ip ?? '', type: '', version: '', authType,
      createdAt: now, updatedAt: now, lastPull: 0, streamCursor: 0,
    };
    await this.store.transact(() => {
      if (this.bouncers.get(name) !== undefined) throw new CredentialError('EXISTS', `bouncer '${name}' already exists`);
      if (keyHash && this.keys.get(keyHash) !== undefined) throw new CredentialError('EXISTS', 'this API key is already in use by another bouncer');
      this.bouncers.putSync(name, rec);
      if (keyHash) this.keys.putSync(keyHash, name);
      this.store.credentialsChanged();
    });
    return { bouncer: rec, key };
  }

  async deleteBouncer(name: string): Promise<boolean> {
    const done = await this.store.transact(() => {
      const b = this.bouncers.get(name);
      if (!b) return false;
      if (b.keyHash) this.keys.removeSync(b.keyHash);
      this.bouncers.removeSync(name);
      this.store.credentialsChanged();
      return true;
    });
    if (done) for (const l of this.deleteListeners) l(name);
    return done;
  }

  /**
   * The store's credentials change counter: moves (in the same transaction) with every add,
   * delete, or change of a secret / validation / revocation, made by any process.
   */
  changeCursor(): number {
    return this.store.credentialsCursor();
  }

  /**
   * LMDB's last committed transaction id in this env (any process, any table), read from the
   * env's meta page with no read transaction (lmdb-js `env.info()`: ~1.5 µs, no snapshot
   * renewal and no reset timer, unlike a get); undefined when the binding does not expose it.
   * Every credential change commits a transaction, so while this id stands still the
   * credentials counter does too (bouncer-cache.ts reads the counter only when it moved).
   */
  lastTxnId(): number | undefined {
    const id = this.envInfo?.().lastTxnId;
    return typeof id === 'number' ? id : undefined;
  }

  /**
   * Write transactions committed through this process's store (any table): a plain counter,
   * so a reader that reads changeCursor() only now and then still sees this process's own
   * credential writes at once (bouncer-cache.ts).
   */
  localWrites(): number {
    return this.store.localWrites;
  }

  /** Calls `fn` after a bouncer was deleted through this instance (the API's auth cache drops it). */
  onBouncerDeleted(fn: (name: string) => void): () => void {
    this.deleteListeners.add(fn);
    return () => this.deleteListeners.delete(fn);
  }

  /**
   * The bouncer owning `key`, or undefined. Looked up by the key's SHA-512 (timing depends
   * only on the hash), then the stored digest is compared in constant time.
   */
  findBouncerByKey(key: string): BouncerRecord | undefined {
    return this.findBouncerByHash(hashApiKey(key));
  }

  /** As findBouncerByKey, for a key already hashed (`hashApiKey`) by the caller. */
  findBouncerByHash(hash: string): BouncerRecord | undefined {
    const name = this.keys.get(hash);
    const b = name !== undefined ? this.bouncers.get(name) : undefined;
    // Compare even when nothing was found, so both paths do the same work.
    const ok = digestsEqual(hash, b?.keyHash ?? DUMMY_DIGEST);
    if (!b || !ok || b.revoked || b.authType !== 'api-key') return undefined;
    return { ...b };
  }

  /**
   * Records pull metadata without waiting for durability: last_pull / ip / user agent are
   * bookkeeping, and a stream pull must not wait on an fsync. Lost on a crash at worst,
   * which only makes the next pull resend a few decisions. Authentication is unchanged, so
   * the credentials counter does not move (the API's key cache stays valid).
   */
  touchBouncer(name: string, patch: Partial<Pick<BouncerRecord, 'lastPull' | 'streamCursor' | 'ipAddress' | 'type' | 'version'>>, now = Date.now()): Promise<boolean> {
    return this.bouncers.transaction(() => {
      const b = this.bouncers.get(name);
      if (!b) return false;
      this.bouncers.putSync(name, { ...b, ...patch, updatedAt: now });
      return true;
    }) as Promise<boolean>;
  }
}

const DUMMY_DIGEST = hashApiKey('palisade-no-such-bouncer');

/** Machine fields that decide whether a machine authenticates (a change bumps the store's
 *  credentials counter); the rest is bookkeeping. */
const AUTH_MACHINE_FIELDS = ['passwordHash', 'isValidated', 'authType'] as const;

function checkName(name: string, what: string): void {
  if (!NAME_RE.test(name)) throw new CredentialError('INVALID', `invalid ${what} '${name}' (1-128 chars of letters, digits and @._:+-)`);
}
