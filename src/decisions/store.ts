/**
 * The decision store: alerts and decisions in one LMDB environment, with secondary indexes
 * (value, until, address interval, alert), a change log keyed by a monotonically increasing
 * seq, and persisted id counters. Table and key layouts are drawn in records.ts.
 *
 * Concurrency: several processes may open the same directory (the daemon, the API, operator
 * commands). Every mutation runs inside one LMDB write transaction (LMDB holds a single
 * writer lock across processes), and everything it depends on — id and seq counters, which
 * decisions match a delete filter — is read inside that transaction, so two writers never
 * hand out the same id or emit changes out of order. Readers call `refresh()` to see other
 * processes' commits immediately.
 *
 * Durability: by default a write's promise resolves only once LMDB reports the commit
 * flushed to disk (`env.flushed`), so an acknowledged write survives `kill -9` and power
 * loss alike. `noSync` is for tests that do not test durability.
 */
import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { addrToBytes, blockEnd, bytesToAddr, isAddressScope, maskTo, parseInterval, type AddrInterval } from './address.js';
import {
  compileAlertFilter,
  compileDecisionFilter,
  isActive,
  matchAlert,
  matchDecision,
  parseDurationMs,
  type AlertFilter,
  type CompiledAlertFilter,
  type CompiledDecisionFilter,
  type DecisionFilter,
} from './filters.js';
import {
  addrKey,
  alertDecisionKey,
  capAlertMeta,
  getU48,
  parseRfc3339,
  prefixEnd,
  StoreError,
  timeKey,
  U48_MAX,
  valueKey,
  valueKeyIsExact,
  type AlertInput,
  type AlertSource,
  type Change,
  type DecisionInput,
  type DecisionRecord,
  type DiskAlert,
  type DiskChange,
  type DiskDecision,
  type KeyValue,
  type StoredAlert,
} from './records.js';
import { packEvents, unpackEvents, type PackedEvents, type StoredEvent } from './packed-events.js';

export interface StoreOptions {
  /** Skip fsync (tests only): commits survive a process crash but not a power loss. */
  noSync?: boolean;
  readOnly?: boolean;
  /** How long expired decisions and change-log entries are kept before `sweepExpired`
   *  hard-deletes them; the bouncer stream reports expired decisions as deleted meanwhile. */
  expiredRetentionMs?: number;
}

export interface AddAlertsResult {
  alertId: number;
  decisionIds: number[];
}

export interface ChangesResult {
  /** Pass back on the next call. */
  cursor: number;
  changes: Change[];
  /** The log was trimmed past `cursor`: changes were lost, reload with `activeSnapshot`. */
  truncated: boolean;
  /** Highest seq written so far; `cursor < latest` means more changes are waiting. */
  latest: number;
}

/** Identical for every opener, as msgpackr's shared structures require (stack-notes §4). */
const STRUCTURES_KEY = Symbol.for('palisade.structures');
/**
 * Resident memory of data.mdb (measured on a 1M-line sshd replay, 7,885 alerts). Writes go
 * through pwrite, but index inserts in random key order (value, address) read B-tree pages
 * scattered over the whole file (and, most likely, the kernel maps in cached pages around
 * each one it faults: fault-around ignores MADV_RANDOM, so noReadAhead did not help);
 * with those indexes nearly the whole file ended up resident (62 MB for a 51 MB file), without
 * them 8 MB. Three things bound it:
 * - alerts are LZ4-compressed: their events repeat the same metas (~6.5 KB each as msgpack,
 *   ~1 KB compressed; the file shrinks 4x). Values under 1000 bytes stay plain, and a plain
 *   record never starts with the compression marker (a byte >= 250: a negative fixint in
 *   msgpack), so alerts written before compression was enabled read back as they are.
 *   Every opener must use this same setting; all go through Store.open.
 * - the map starts at 1 GiB of address space (not disk: without writemap the file grows only
 *   as pages are written). lmdb-js grows a smaller map by remapping and keeps the old
 *   mappings with the pages they had touched, so growing from 128 KB by doubling held the
 *   file resident more than once. It still grows past 1 GiB if it must.
 * - a bulk writer (the replay) calls releaseMappedPages() between batches: the file is
 *   unmapped and mapped again, which drops what the last batch faulted in.
 */
const INITIAL_MAP_SIZE = 1 << 30;
const EMPTY = Buffer.alloc(0);
const DAY_MS = 86_400_000;
/** JS Date range; keeps absurd durations from overflowing the i64 key. */
const MAX_TIME = 8.64e15;

const M_ALERT_ID = 'nextAlertId';
const M_DECISION_ID = 'nextDecisionId';
const M_SEQ = 'seq';
const M_EXPIRED_THROUGH = 'expiredThrough';
const M_TRIMMED_THROUGH = 'trimmedThrough';
/** Bumped by every credential write that can change who authenticates (credentialsChanged). */
const M_CRED_SEQ = 'credSeq';

type Bin = Database<Buffer, Buffer>;

/** An alert as stored: events packed (packed-events.ts), or as a plain array in records written before that. */
type AlertRecord = Omit<DiskAlert, 'events'> & { events: PackedEvents | StoredEvent[] };

export type DecisionPlan = 'id' | 'address' | 'value' | 'alert' | 'until' | 'scan';

export class Store {
  private closed = false;
  private writes = 0;

  // The env and its tables are replaced by releaseMappedPages(), hence not readonly.
  private env!: RootDatabase;
  private meta!: Database<number, string>;
  private alerts!: Database<AlertRecord, number>;
  private decisions!: Database<DiskDecision, number>;
  private changes!: Database<DiskChange, number>;
  private byValue!: Bin;
  private byUntil!: Bin;
  private byAddr!: Bin;
  private byAlert!: Bin;
  private alertTime!: Bin;
  /** openTable() was called: its handles would not survive releaseMappedPages(). */
  private extTables = false;

  private constructor(
    private readonly dir: string,
    private readonly noSync: boolean,
    private readonly readOnly: boolean,
    readonly expiredRetentionMs: number,
  ) {
    this.adopt(openTables(dir, noSync, readOnly));
  }

  /** Takes the env and table handles of one opening (constructor, releaseMappedPages). */
  private adopt(t: Tables): void {
    this.env = t.env;
    this.meta = t.meta;
    this.alerts = t.alerts;
    this.decisions = t.decisions;
    this.changes = t.changes;
    this.byValue = t.byValue;
    this.byUntil = t.byUntil;
    this.byAddr = t.byAddr;
    this.byAlert = t.byAlert;
    this.alertTime = t.alertTime;
  }

  static open(dir: string, opts: StoreOptions = {}): Store {
    const readOnly = opts.readOnly ?? false;
    try {
      if (!readOnly) mkdirSync(dir, { recursive: true });
      return new Store(dir, opts.noSync ?? false, readOnly, opts.expiredRetentionMs ?? DAY_MS);
    } catch (e) {
      throw new StoreError('OPEN_FAILED', `cannot open decision store at ${dir}: ${(e as Error).message}`);
    }
  }

  /**
   * Unmaps data.mdb and maps it again (closes the LMDB env and reopens it), so the file's
   * pages stop counting in this process's resident memory. Index inserts in random key order
   * read B-tree pages all over the file, and the kernel maps the cached pages around each one
   * it faults (fault-around, which MADV_RANDOM does not turn off), so without this the whole
   * file becomes resident as it grows (112 MB at the end of a 10M-line sshd replay). The pages
   * stay in the page cache: reading them again costs a minor fault, not I/O. Call it between
   * writes (it waits for none); not available once openTable() has handed out tables.
   */
  async releaseMappedPages(): Promise<void> {
    if (this.closed) throw new StoreError('CLOSED', 'decision store is closed');
    if (this.extTables) throw new StoreError('INVALID_INPUT', 'releaseMappedPages: tables from openTable() would be left closed');
    await this.env.close();
    try {
      this.adopt(openTables(this.dir, this.noSync, this.readOnly));
    } catch (e) {
      this.closed = true;
      throw new StoreError('OPEN_FAILED', `cannot reopen decision store at ${this.dir}: ${(e as Error).message}`);
    }
  }

  // -------------------------------------------------------------------------------------
  // Writes

  /**
   * Stores alerts with their decisions (one transaction for the whole batch) and resolves
   * with the new ids once the commit is durable. Input is validated before anything is
   * written; a bad field rejects the whole batch with a StoreError naming it.
   */
  async addAlerts(batch: { alert: AlertInput; decisions: DecisionInput[] }[], now = Date.now()): Promise<AddAlertsResult[]> {
    const prepared = batch.map((b, i) => prepareAlert(b, i, now));
    return this.addPrepared(prepared, now);
  }

  /**
   * addAlerts for alerts already validated and normalised by prepareAlert: what a bulk writer
   * (a replay's AlertSink) holds while a batch fills up is then the stored form, not the
   * alerts as built (their events, meta lists and copies die young instead of being promoted).
   * Each prepared alert is written once: its ids are set in place.
   */
  async addPrepared(batch: readonly PreparedAlertInput[], now = Date.now()): Promise<AddAlertsResult[]> {
    const prepared = batch as readonly Prepared[]; // only prepareAlert makes them
    return this.write(() => {
      const out: AddAlertsResult[] = [];
      if (prepared.length === 0) return out;
      // The id and seq counters move once per batch, not once per alert (or decision: CAPI
      // alerts carry tens of thousands): the same ids and seqs, handed out in batch order, and
      // the same counters at commit; a batch that would exhaust one fails whole, as before
      // (the child transaction rolls back). Three meta reads and writes per alert cost more
      // than the alert's own record on a replay's main thread.
      let decisionCount = 0;
      for (const p of prepared) decisionCount += p.decisions.length;
      let alertId = this.allocate(M_ALERT_ID, prepared.length);
      let first = this.allocate(M_DECISION_ID, decisionCount);
      let seq0 = this.reserveSeq(decisionCount);
      for (const { alert, decisions: decs } of prepared) {
        // The prepared records get their ids in place (they end with these keys, so they
        // encode as the copies `{ ...alert, id, createdAt }` did: same bytes); a failed batch
        // that is retried gets new ones.
        alert.id = alertId;
        alert.createdAt = now;
        this.alerts.putSync(alertId, alert);
        this.alertTime.putSync(timeKey(now, alertId), EMPTY);
        const decisionIds: number[] = [];
        for (let k = 0; k < decs.length; k++) {
          const id = first + k;
          const disk = decs[k]!;
          disk.id = id;
          disk.alertId = alertId;
          disk.createdAt = now;
          this.decisions.putSync(id, disk);
          this.index(disk);
          this.changes.putSync(seq0 + k, { seq: seq0 + k, kind: 0, id, at: now, d: null });
          decisionIds.push(id);
        }
        out.push({ alertId, decisionIds });
        alertId++;
        first += decs.length;
        seq0 += decs.length;
      }
      return out;
    });
  }

  /** Soft delete (until = now) of the active decisions matching `f`; returns how many. */
  deleteDecisions(f: DecisionFilter, now = Date.now()): Promise<number> {
    const c = compileDecisionFilter({ ...f, status: 'active', limit: 0 });
    return this.write(() => {
      const hits = this.findDecisions(c, now, false);
      for (const d of hits) this.softDelete(d, now);
      return hits.length;
    });
  }

  /** Soft delete of one decision: false if no such id; true (and no change) if already inactive. */
  deleteDecision(id: number, now = Date.now()): Promise<boolean> {
    return this.write(() => {
      const d = this.getDisk(id);
      if (!d) return false;
      if (isActive(toRecord(d), now)) this.softDelete(d, now);
      return true;
    });
  }

  /** Hard delete of the alerts matching `f` (no default limit) with their decisions. */
  deleteAlerts(f: AlertFilter, now = Date.now()): Promise<number> {
    const c = compileAlertFilter(f);
    return this.write(() => {
      const ids = this.findAlerts(c, now).map((a) => a.id);
      for (const id of ids) this.removeAlert(id, now);
      return ids.length;
    });
  }

  deleteAlert(id: number, now = Date.now()): Promise<boolean> {
    return this.write(() => this.removeAlert(id, now));
  }

  /**
   * Expiry bookkeeping, meant to run periodically (the daemon: every few seconds):
   * 1. decisions whose `until` passed since the last sweep get a 'deleted' change, so change
   *    log readers learn about natural expiry too;
   * 2. decisions expired for longer than the retention are hard-deleted;
   * 3. change-log entries older than the retention are trimmed.
   * Resolves with the number of decisions hard-deleted.
   */
  async sweepExpired(now = Date.now(), retentionMs = this.expiredRetentionMs): Promise<number> {
    const cutoff = now - retentionMs;
    // Skip the write (and its fsync) when there is nothing to do, the usual case.
    this.refresh();
    const watermark = this.meta.get(M_EXPIRED_THROUGH) ?? -MAX_TIME;
    let oldest: DiskChange | undefined;
    for (const { value } of this.changes.getRange({ start: (this.meta.get(M_TRIMMED_THROUGH) ?? 0) + 1, limit: 1 })) oldest = value;
    const idle =
      this.untilRange(watermark, now, true, 1).length === 0 &&
      this.untilRange(-MAX_TIME, cutoff, false, 1).length === 0 &&
      (oldest === undefined || oldest.at >= cutoff);
    if (idle) return 0;
    return this.write(() => {
      const through = this.meta.get(M_EXPIRED_THROUGH) ?? -MAX_TIME;
      if (now > through) {
        for (const id of this.untilRange(through, now, true)) {
          const d = this.getDisk(id);
          if (d && d.deletedAt === null && d.until > through && d.until <= now) this.logChange(1, id, now, d);
        }
        this.meta.putSync(M_EXPIRED_THROUGH, now);
      }
      let removed = 0;
      for (const id of this.untilRange(-MAX_TIME, cutoff, false)) {
        const d = this.getDisk(id);
        if (d && !isActive(toRecord(d), now)) {
          this.removeDecision(d, now);
          removed++;
        }
      }
      let trimmed = this.meta.get(M_TRIMMED_THROUGH) ?? 0;
      const old: number[] = [];
      for (const { key, value } of this.changes.getRange({ start: trimmed + 1 })) {
        if (value.at >= cutoff) break;
        old.push(key);
      }
      for (const seq of old) this.changes.removeSync(seq);
      if (old.length) trimmed = old[old.length - 1]!;
      this.meta.putSync(M_TRIMMED_THROUGH, trimmed);
      return removed;
    });
  }

  /**
   * The LAPI flush job (spec §7.8): delete alerts created more than `maxAgeMs` ago, then the
   * oldest ones beyond `maxItems` (0 disables either). Returns the number of alerts deleted.
   */
  flushAlerts(opts: { maxItems: number; maxAgeMs: number }, now = Date.now()): Promise<number> {
    return this.write(() => {
      const doomed: number[] = [];
      if (opts.maxAgeMs > 0) {
        for (const k of this.alertTime.getKeys({ end: timeKey(now - opts.maxAgeMs) })) doomed.push(getU48(k, 8));
      }
      if (opts.maxItems > 0) {
        const excess = this.alertTime.getCount() - doomed.length - opts.maxItems;
        if (excess > 0) {
          const seen = new Set(doomed);
          let n = 0;
          for (const k of this.alertTime.getKeys({})) {
            if (n >= excess) break;
            const id = getU48(k, 8);
            if (seen.has(id)) continue;
            doomed.push(id);
            n++;
          }
        }
      }
      for (const id of doomed) this.removeAlert(id, now);
      return doomed.length;
    });
  }

  // -------------------------------------------------------------------------------------
  // Reads (synchronous, on the current read snapshot; see refresh())

  getDecision(id: number): DecisionRecord | undefined {
    const d = this.getDisk(id);
    return d ? toRecord(d) : undefined;
  }

  /** Decisions matching `f` in id order (status 'active' unless the filter says otherwise). */
  listDecisions(f: DecisionFilter, now = Date.now(), opts: { forceScan?: boolean } = {}): DecisionRecord[] {
    return this.findDecisions(compileDecisionFilter(f), now, opts.forceScan ?? false).map(toRecord);
  }

  /** Which index a decision query uses and how many candidates it yields (tests, debugging). */
  explainDecisions(f: DecisionFilter, now = Date.now()): { index: DecisionPlan; candidates: number } {
    const p = this.plan(compileDecisionFilter(f), now);
    return { index: p.index, candidates: p.ids ? p.ids.length : this.decisions.getKeysCount({ start: 0 }) };
  }

  /** Decisions with this value (all statuses), optionally only those created after `createdAfter` (profiles' GetDecisionsCount / GetDecisionsSinceCount). */
  countDecisions(value: string, createdAfter?: number): number {
    // Profiles call this for every alert: the index keys alone answer it when the value is
    // not cut in its key and no creation time is asked for (no record is read).
    if (createdAfter === undefined) {
      const pre = valueKey(value);
      if (valueKeyIsExact(pre)) return this.byValue.getKeysCount({ start: pre, end: prefixEnd(pre) });
    }
    let n = 0;
    for (const id of this.valueIds(value)) {
      const d = this.getDisk(id);
      if (d && d.value === value && (createdAfter === undefined || d.createdAt > createdAfter)) n++;
    }
    return n;
  }

  getAlert(id: number): StoredAlert | undefined {
    const a = this.getAlertRecord(id);
    return a ? this.toStoredAlert(a) : undefined;
  }

  listAlerts(f: AlertFilter, now = Date.now()): StoredAlert[] {
    return this.findAlerts(compileAlertFilter(f), now).map((a) => this.toStoredAlert(a));
  }

  /** Changes after `cursor`, oldest first, at most `limit`. */
  changesSince(cursor: number, limit = 1000): ChangesResult {
    const latest = this.meta.get(M_SEQ) ?? 0;
    const trimmed = this.meta.get(M_TRIMMED_THROUGH) ?? 0;
    const changes: Change[] = [];
    let last = cursor;
    for (const { key, value } of this.changes.getRange({ start: cursor + 1, limit })) {
      last = key;
      const c: Change = { seq: key, kind: value.kind === 0 ? 'new' : 'deleted', decisionId: value.id, at: value.at };
      const d = value.d ? toRecord(copyDisk(value.d)) : this.getDecision(value.id);
      if (d) c.decision = d;
      changes.push(c);
    }
    return { cursor: last, changes, truncated: cursor < trimmed, latest };
  }

  /**
   * Write transactions committed through this instance: a plain counter, so in-process
   * readers (the active set) see this process's writes at once without reading LMDB.
   */
  get localWrites(): number {
    return this.writes;
  }

  /** Highest change seq written so far (0 for a new store). */
  changeCursor(): number {
    return this.meta.get(M_SEQ) ?? 0;
  }

  /**
   * Credentials change counter: moves whenever a machine or bouncer is added, deleted or has
   * its secret / validation / revocation changed, by any process (0 for a new store). One
   * small meta get (~0.3 µs), cheap enough for the API to compare on every request.
   */
  credentialsCursor(): number {
    return this.meta.get(M_CRED_SEQ) ?? 0;
  }

  /** Bumps the credentials counter; call inside the write transaction that made the change. */
  credentialsChanged(): void {
    this.meta.putSync(M_CRED_SEQ, this.credentialsCursor() + 1);
  }

  /** Active decisions and the change cursor they reflect, read from one snapshot: load
   *  with this, then follow with changesSince(cursor). */
  activeSnapshot(now = Date.now(), f: DecisionFilter = {}): { cursor: number; decisions: DecisionRecord[] } {
    const cursor = this.changeCursor();
    return { cursor, decisions: this.listDecisions({ ...f, status: 'active' }, now) };
  }

  /**
   * A named table in this env for another module's records (the Local API's machines and
   * bouncers): string keys, msgpack values without shared structures, so its records never
   * touch the decision tables' structure list. Write to it inside `transact`.
   */
  openTable<V>(name: string): Database<V, string> {
    this.extTables = true;
    return this.env.openDB<V, string>({ name: `ext_${name}` });
  }

  /** Runs `fn` as one write transaction (rolled back if it throws), durable like every store write. */
  transact<T>(fn: () => T): Promise<T> {
    return this.write(fn);
  }

  /** Move the read snapshot to the latest commit (other processes' writes become visible). */
  refresh(): void {
    this.env.resetReadTxn();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.env.close();
  }

  // -------------------------------------------------------------------------------------
  // Internals

  private async write<T>(fn: () => T): Promise<T> {
    if (this.closed) throw new StoreError('CLOSED', 'decision store is closed');
    if (this.readOnly) throw new StoreError('READ_ONLY', 'decision store was opened read-only');
    // childTransaction rolls back if fn throws; a plain transaction would commit half a batch.
    const r = await this.env.childTransaction(fn);
    this.writes++;
    if (!this.noSync) await this.env.flushed;
    return r as T;
  }

  /** Reserves `n` consecutive values of a counter (inside the write transaction). */
  private allocate(name: string, n: number): number {
    const first = this.meta.get(name) ?? 1;
    if (first + n - 1 > U48_MAX) throw new StoreError('INVALID_INPUT', `${name} counter exhausted`);
    this.meta.putSync(name, first + n);
    return first;
  }

  /** Reserves `n` change seqs; returns the first. M_SEQ holds the last one written. */
  private reserveSeq(n: number): number {
    const first = (this.meta.get(M_SEQ) ?? 0) + 1;
    if (n > 0) this.meta.putSync(M_SEQ, first + n - 1);
    return first;
  }

  private logChange(kind: 0 | 1, id: number, at: number, d: DiskDecision | null): void {
    const seq = this.reserveSeq(1);
    this.changes.putSync(seq, { seq, kind, id, at, d });
  }

  /** Reads an alert, its events unpacked whatever the layout they were stored in. */
  private getAlertRecord(id: number): DiskAlert | undefined {
    const a = this.alerts.get(id);
    return a ? { ...a, events: unpackEvents(a.events) } : undefined;
  }

  /** Reads a decision and copies its bytes out of LMDB's reused read buffer. */
  private getDisk(id: number): DiskDecision | undefined {
    const d = this.decisions.get(id);
    return d ? copyDisk(d) : undefined;
  }

  private index(d: DiskDecision): void {
    this.byValue.putSync(valueKey(d.value, d.id), EMPTY);
    this.byUntil.putSync(timeKey(d.until, d.id), EMPTY);
    if (d.family !== 0 && d.start) this.byAddr.putSync(addrKey(d.family, d.prefix, d.start, d.id), EMPTY);
    this.byAlert.putSync(alertDecisionKey(d.alertId, d.id), EMPTY);
  }

  private unindex(d: DiskDecision): void {
    this.byValue.removeSync(valueKey(d.value, d.id));
    this.byUntil.removeSync(timeKey(d.until, d.id));
    if (d.family !== 0 && d.start) this.byAddr.removeSync(addrKey(d.family, d.prefix, d.start, d.id));
    this.byAlert.removeSync(alertDecisionKey(d.alertId, d.id));
  }

  private softDelete(d: DiskDecision, now: number): void {
    this.byUntil.removeSync(timeKey(d.until, d.id));
    const next: DiskDecision = { ...d, until: Math.min(d.until, now), deletedAt: now };
    this.decisions.putSync(d.id, next);
    this.byUntil.putSync(timeKey(next.until, d.id), EMPTY);
    this.logChange(1, d.id, now, next);
  }

  /** Hard delete; readers of the change log hear about it unless they already did. */
  private removeDecision(d: DiskDecision, now: number): void {
    this.unindex(d);
    this.decisions.removeSync(d.id);
    const through = this.meta.get(M_EXPIRED_THROUGH) ?? -MAX_TIME;
    if (d.deletedAt === null && d.until > through) {
      this.logChange(1, d.id, now, { ...d, until: Math.min(d.until, now), deletedAt: now });
    }
  }

  private removeAlert(id: number, now: number): boolean {
    const a = this.alerts.get(id);
    if (!a) return false;
    for (const did of this.alertDecisionIds(id)) {
      const d = this.getDisk(did);
      if (d) this.removeDecision(d, now);
    }
    this.alertTime.removeSync(timeKey(a.createdAt, id));
    this.alerts.removeSync(id);
    return true;
  }

  private alertDecisionIds(alertId: number): number[] {
    const pre = alertDecisionKey(alertId);
    const out: number[] = [];
    for (const k of this.byAlert.getKeys({ start: pre, end: prefixEnd(pre) })) out.push(getU48(k, 6));
    return out;
  }

  private valueIds(value: string): number[] {
    const pre = valueKey(value);
    const out: number[] = [];
    for (const k of this.byValue.getKeys({ start: pre, end: prefixEnd(pre) })) out.push(getU48(k, k.length - 6));
    return out;
  }

  /** Ids with until in (lo, hi] (or [lo, hi) when !inclusiveHi), in until order. */
  private untilRange(lo: number, hi: number, inclusiveHi: boolean, limit?: number): number[] {
    const start = timeKey(clampTime(lo), U48_MAX); // past every id at `lo` itself: lo is exclusive
    const end = inclusiveHi ? timeKey(clampTime(hi), U48_MAX) : timeKey(clampTime(hi));
    const out: number[] = [];
    for (const k of this.byUntil.getKeys({ start, end, ...(limit ? { limit } : {}) })) out.push(getU48(k, 8));
    return out;
  }

  /**
   * Ids of Ip/Range decisions whose interval matches `q`. Intervals are CIDR blocks, so
   * with contains=true a match is the block of q's start at some prefix p <= q's prefix: one
   * exact-prefix seek per prefix length present. With contains=false the matches are blocks
   * of prefix p >= q's prefix starting inside q: one key-range scan per prefix length.
   * Prefix lengths with no entries are skipped by seeking to the next one present.
   */
  private addrIds(q: AddrInterval, contains: boolean): number[] {
    const out: number[] = [];
    const famEnd = prefixEnd(addrKey(q.family));
    const lo = contains ? 0 : q.prefix128;
    const hi = contains ? q.prefix128 : 128;
    const startBytes = addrToBytes(q.start);
    const endBytes = addrToBytes(q.end);
    for (let p = lo; p <= hi; p++) {
      let nextP = -1;
      for (const k of this.byAddr.getKeys({ start: addrKey(q.family, p), end: famEnd, limit: 1 })) nextP = k[1]!;
      if (nextP < 0 || nextP > hi) break;
      p = nextP;
      if (contains) {
        const pre = addrKey(q.family, p, addrToBytes(maskTo(q.start, p)));
        for (const k of this.byAddr.getKeys({ start: pre, end: prefixEnd(pre) })) out.push(getU48(k, 18));
      } else {
        const end = prefixEnd(addrKey(q.family, p, endBytes));
        for (const k of this.byAddr.getKeys({ start: addrKey(q.family, p, startBytes), end })) out.push(getU48(k, 18));
      }
    }
    return out;
  }

  /** Candidate ids for a filter and the index that produced them (null ids: full scan). */
  private plan(c: CompiledDecisionFilter, now: number): { index: DecisionPlan; ids: number[] | null } {
    const f = c.f;
    if (f.id !== undefined) return { index: 'id', ids: [f.id] };
    if (c.addr) return { index: 'address', ids: this.addrIds(c.addr, c.contains) };
    if (f.value !== undefined) return { index: 'value', ids: this.valueIds(f.value) };
    if (f.alertId !== undefined) return { index: 'alert', ids: this.alertDecisionIds(f.alertId) };
    if (c.status === 'active') return { index: 'until', ids: this.untilRange(Math.max(now, f.untilGt ?? -MAX_TIME), MAX_TIME, true) };
    if (f.untilLt !== undefined || f.untilGt !== undefined || c.status === 'expired') {
      // Expired decisions have until <= now (a soft delete sets until = deletion time).
      const hi = Math.min(f.untilLt ?? MAX_TIME, c.status === 'expired' ? now : MAX_TIME);
      return { index: 'until', ids: this.untilRange(f.untilGt ?? -MAX_TIME, hi, true) };
    }
    return { index: 'scan', ids: null };
  }

  /**
   * Query planner: pick the narrowest index for the filter, then re-check every candidate
   * with matchDecision (the same function a full scan uses, so both paths agree).
   */
  private findDecisions(c: CompiledDecisionFilter, now: number, forceScan: boolean): DiskDecision[] {
    const f = c.f;
    const limit = f.limit && f.limit > 0 ? f.limit : Infinity;
    const out: DiskDecision[] = [];
    const take = (d: DiskDecision | undefined): boolean => {
      if (d && matchDecision(c, toRecord(d), now)) out.push(d);
      return out.length < limit;
    };
    const ids = forceScan ? null : this.plan(c, now).ids;
    if (ids === null) {
      for (const { value } of this.decisions.getRange({ start: f.idGt !== undefined ? f.idGt + 1 : 0 })) {
        if (!take(copyDisk(value))) break;
      }
      return out;
    }
    const sorted = Array.from(new Set(ids)).sort((a, b) => a - b);
    for (const id of sorted) if (!take(this.getDisk(id))) break;
    return out;
  }

  private decisionsOfAlert(alertId: number): DecisionRecord[] {
    const out: DecisionRecord[] = [];
    for (const id of this.alertDecisionIds(alertId)) {
      const d = this.getDisk(id);
      if (d) out.push(toRecord(d));
    }
    return out;
  }

  private findAlerts(c: CompiledAlertFilter, now: number): DiskAlert[] {
    const f = c.f;
    const limit = f.limit && f.limit > 0 ? f.limit : Infinity;
    const desc = f.sort !== 'ASC';
    const out: DiskAlert[] = [];
    const consider = (a: DiskAlert | undefined): boolean => {
      if (a && matchAlert(c, a, () => this.decisionsOfAlert(a.id), now)) out.push(a);
      return out.length < limit;
    };
    let ids: number[] | null = null;
    if (f.id !== undefined) ids = [f.id];
    else if (c.addr) {
      // Through the decisions' address index: alerts of matching decisions only.
      ids = [];
      for (const did of this.addrIds(c.addr, c.contains)) {
        const d = this.getDisk(did);
        if (d) ids.push(d.alertId);
      }
    }
    if (ids === null) {
      for (const k of this.alertTime.getKeys({ reverse: desc })) {
        if (!consider(this.getAlertRecord(getU48(k, 8)))) break;
      }
      return out;
    }
    const alerts = Array.from(new Set(ids))
      .map((id) => this.getAlertRecord(id))
      .filter((a): a is DiskAlert => a !== undefined)
      .sort((a, b) => (a.createdAt - b.createdAt || a.id - b.id) * (desc ? -1 : 1));
    for (const a of alerts) if (!consider(a)) break;
    return out;
  }

  private toStoredAlert(a: DiskAlert): StoredAlert {
    const { uuid, ...rest } = a;
    const s: StoredAlert = { ...rest, decisions: this.decisionsOfAlert(a.id) };
    if (uuid !== null) s.uuid = uuid;
    return s;
  }
}

// ---------------------------------------------------------------------------------------
// Opening

interface Tables {
  env: RootDatabase;
  meta: Database<number, string>;
  alerts: Database<AlertRecord, number>;
  decisions: Database<DiskDecision, number>;
  changes: Database<DiskChange, number>;
  byValue: Bin;
  byUntil: Bin;
  byAddr: Bin;
  byAlert: Bin;
  alertTime: Bin;
}

function openTables(dir: string, noSync: boolean, readOnly: boolean): Tables {
  // noSubdir false: `dir` is always a directory, even when its name has a dot (lmdb would
  // otherwise take `/tmp/tmp.x1y2` for a file name and fail with EISDIR).
  const env = open({ path: dir, noSubdir: false, maxDbs: 16, noSync, readOnly, mapSize: INITIAL_MAP_SIZE });
  const bin = (name: string): Bin => env.openDB<Buffer, Buffer>({ name, keyEncoding: 'binary', encoding: 'binary' });
  const rec = <V>(name: string, compression = false) =>
    env.openDB<V, number>({ name, sharedStructuresKey: STRUCTURES_KEY, ...(compression ? { compression: true } : {}) });
  return {
    env,
    meta: env.openDB<number, string>({ name: 'meta' }),
    alerts: rec<AlertRecord>('alerts', true),
    decisions: rec<DiskDecision>('decisions'),
    changes: rec<DiskChange>('changes'),
    byValue: bin('dec_value'),
    byUntil: bin('dec_until'),
    byAddr: bin('dec_addr'),
    byAlert: bin('dec_alert'),
    alertTime: bin('alert_time'),
  };
}

// ---------------------------------------------------------------------------------------
// Record conversion and input normalisation

function clampTime(ms: number): number {
  return Math.max(-MAX_TIME, Math.min(MAX_TIME, Math.trunc(ms)));
}

function copyDisk(d: DiskDecision): DiskDecision {
  return { ...d, start: d.start ? Buffer.from(d.start) : null };
}

export function toRecord(d: DiskDecision): DecisionRecord {
  const r: DecisionRecord = {
    id: d.id,
    alertId: d.alertId,
    origin: d.origin,
    type: d.type,
    scope: d.scope,
    value: d.value,
    scenario: d.scenario,
    simulated: d.simulated,
    createdAt: d.createdAt,
    until: d.until,
    family: d.family,
  };
  if (d.family !== 0 && d.start) {
    r.start = bytesToAddr(d.start);
    r.end = blockEnd(r.start, d.prefix);
    r.prefix128 = d.prefix;
  }
  if (d.uuid !== null) r.uuid = d.uuid;
  if (d.deletedAt !== null) r.deletedAt = d.deletedAt;
  return r;
}

// `where` is built only on failure: these run for every field of every alert written.
function str(v: unknown, alert: number, field: string, optional = false, decision?: number): string {
  if (typeof v === 'string') return v;
  if (optional && (v === undefined || v === null)) return '';
  throw new StoreError('INVALID_INPUT', `expected a string, got ${v === null ? 'null' : typeof v}`, decision === undefined ? { alert, field } : { alert, decision, field });
}

function num(v: unknown, alert: number, field: string, optional = false): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (optional && (v === undefined || v === null)) return 0;
  throw new StoreError('INVALID_INPUT', `expected a number, got ${v === null ? 'null' : typeof v}`, { alert, field });
}

function kvList(v: unknown, i: number, field: string): KeyValue[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new StoreError('INVALID_INPUT', 'expected an array of {key, value}', { alert: i, field });
  return v.map((m: unknown, k) => {
    const o = (m ?? {}) as Record<string, unknown>;
    return { key: str(o.key, i, `${field}[${k}].key`, true), value: str(o.value, i, `${field}[${k}].value`, true) };
  });
}

/** An alert with its decisions, validated and normalised (prepareAlert), for Store.addPrepared. */
export interface PreparedAlertInput {
  /** The record as it will be stored (the write sets its id and createdAt). */
  readonly alert: Readonly<Omit<DiskAlert, 'events'>>;
  readonly decisions: readonly Readonly<DiskDecision>[];
}

interface Prepared {
  alert: PreparedAlert;
  decisions: PreparedDecision[];
}

/**
 * Validates and normalises one `{alert, decisions}` of a batch (`i`: its index, named in
 * errors) as Store.addAlerts does before writing; `now` stands in for unparseable start/stop
 * times. `machineId`, when given, is stored as the alert's machine_id whatever the input says
 * (an agent's own alerts: no copy of the alert to set it).
 */
export function prepareAlert(b: { alert: AlertInput; decisions: DecisionInput[] }, i: number, now: number, machineId?: string): PreparedAlertInput {
  if (!b || typeof b !== 'object') throw new StoreError('INVALID_INPUT', 'expected {alert, decisions}', { alert: i });
  const alert = normalizeAlert(b.alert, i, now, machineId);
  const decisions = (b.decisions ?? []).map((d, j) => normalizeDecision(d, i, j, alert.stoppedAt));
  const p: Prepared = { alert, decisions };
  return p;
}

/**
 * An alert or decision ready to write: the stored record, its ids and creation time (the
 * last keys, as `{ ...prepared, id, createdAt }` had them: msgpackr's record structures
 * follow key order) set by the write transaction.
 */
type PreparedAlert = AlertRecord;
type PreparedDecision = DiskDecision;

function normalizeAlert(a: AlertInput, i: number, now: number, machineId?: string): PreparedAlert {
  if (!a || typeof a !== 'object') throw new StoreError('INVALID_INPUT', 'missing alert', { alert: i });
  const w = (field: string) => ({ alert: i, field });
  const src = a.source as AlertSource | undefined;
  if (!src || typeof src !== 'object') throw new StoreError('INVALID_INPUT', 'missing source', w('source'));
  const source: Required<AlertSource> = {
    scope: str(src.scope, i, 'source.scope'),
    value: str(src.value, i, 'source.value'),
    ip: str(src.ip, i, 'source.ip', true),
    range: str(src.range, i, 'source.range', true),
    as_number: str(src.as_number, i, 'source.as_number', true),
    as_name: str(src.as_name, i, 'source.as_name', true),
    cn: str(src.cn, i, 'source.cn', true),
    latitude: num(src.latitude, i, 'source.latitude', true),
    longitude: num(src.longitude, i, 'source.longitude', true),
  };
  const events = packEvents(a.events, i);
  if (a.labels !== undefined && a.labels !== null && !(Array.isArray(a.labels) && a.labels.every((l) => typeof l === 'string'))) {
    throw new StoreError('INVALID_INPUT', 'expected an array of strings', w('labels'));
  }
  const start_at = str(a.start_at, i, 'start_at');
  const stop_at = str(a.stop_at, i, 'stop_at');
  if (typeof a.simulated !== 'boolean') throw new StoreError('INVALID_INPUT', 'expected a boolean', w('simulated'));
  return {
    machineId: machineId ?? str(a.machine_id, i, 'machine_id', true),
    scenario: str(a.scenario, i, 'scenario'),
    scenario_hash: str(a.scenario_hash, i, 'scenario_hash', true),
    scenario_version: str(a.scenario_version, i, 'scenario_version', true),
    message: str(a.message, i, 'message', true),
    events_count: num(a.events_count, i, 'events_count', true),
    start_at,
    stop_at,
    // Unparseable times fall back to now, as the LAPI does (spec §7.3).
    startedAt: parseRfc3339(start_at) ?? now,
    stoppedAt: parseRfc3339(stop_at) ?? now,
    capacity: num(a.capacity, i, 'capacity', true),
    leakspeed: str(a.leakspeed, i, 'leakspeed', true),
    simulated: a.simulated,
    remediation: a.remediation === true,
    source,
    events,
    meta: capAlertMeta(kvList(a.meta, i, 'meta')),
    labels: a.labels ?? null,
    uuid: typeof a.uuid === 'string' ? a.uuid : null,
    id: 0,
    createdAt: 0,
  };
}

function normalizeDecision(d: DecisionInput, i: number, j: number, stoppedAt: number): PreparedDecision {
  const w = (field: string) => ({ alert: i, decision: j, field });
  if (!d || typeof d !== 'object') throw new StoreError('INVALID_INPUT', 'missing decision', { alert: i, decision: j });
  const scope = str(d.scope, i, 'scope', false, j);
  const value = str(d.value, i, 'value', false, j);
  const given = [d.until, d.durationMs, d.duration].filter((x) => x !== undefined).length;
  if (given > 1) throw new StoreError('INVALID_INPUT', 'give exactly one of until, durationMs or duration', w('duration'));
  let until: number;
  if (d.until !== undefined) {
    if (typeof d.until !== 'number' || !Number.isFinite(d.until)) throw new StoreError('INVALID_INPUT', 'until must be a finite ms timestamp', w('until'));
    until = d.until;
  } else if (d.durationMs !== undefined) {
    if (typeof d.durationMs !== 'number' || !Number.isFinite(d.durationMs)) throw new StoreError('INVALID_DURATION', 'durationMs must be a finite number', w('durationMs'));
    until = stoppedAt + d.durationMs;
  } else if (d.duration !== undefined) {
    const ms = typeof d.duration === 'string' ? parseDurationMs(d.duration) : null;
    if (ms === null) throw new StoreError('INVALID_DURATION', `invalid duration '${String(d.duration)}'`, w('duration'));
    until = stoppedAt + ms;
  } else {
    throw new StoreError('INVALID_INPUT', 'one of until, durationMs or duration is required', w('duration'));
  }
  let family: 0 | 4 | 6 = 0;
  let prefix = 0;
  let start: Buffer | null = null;
  if (isAddressScope(scope)) {
    const iv = parseInterval(value);
    if (!iv) throw new StoreError('INVALID_ADDRESS', `invalid ip address / range '${value}'`, w('value'));
    family = iv.family;
    prefix = iv.prefix128;
    start = Buffer.from(addrToBytes(iv.start));
  }
  return {
    origin: str(d.origin, i, 'origin', false, j),
    type: str(d.type, i, 'type', false, j),
    scope,
    value,
    scenario: str(d.scenario, i, 'scenario', true, j),
    simulated: d.simulated === true,
    until: clampTime(Math.floor(until)),
    family,
    prefix,
    start,
    uuid: typeof d.uuid === 'string' ? d.uuid : null,
    deletedAt: null,
    id: 0,
    alertId: 0,
    createdAt: 0,
  };
}
