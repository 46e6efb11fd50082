/**
 * The bouncer stream's deltas (spec §7.4), computed from the store.
 *
 * CrowdSec's algorithm is time based (T = request time, P = the bouncer's last pull):
 *   startup:  new = until > T;                   deleted = until < T
 *   else:     new = created_at > P, until > T;   deleted = P − 2 s < until < T
 * then dedup: keep a decision only if no decision with the same (value, type, scope) has a
 * strictly later `until`, then the first of each key.
 *
 * "created_at > P" misses a decision whose transaction started before T but committed after
 * the pull read its snapshot (its created_at is < T = the next P). Our writes wait for an
 * fsync, so that window is real. So after the first pull the `new` side follows the store's
 * change log instead: everything that appeared between the previous pull's snapshot and
 * this one, exactly once. The time-based query stays as the fallback (new bouncer, or the
 * log was trimmed past the bouncer's cursor). The `deleted` side keeps the time window
 * (its 2 s margin covers late commits) and adds decisions hard-deleted since the last pull,
 * which CrowdSec would never report.
 */
import type { ActiveDecisionSet } from '../decisions/active-set.js';
import type { Store } from '../decisions/store.js';
import { compileDecisionFilter, isActive, matchDecision, type CompiledDecisionFilter, type StreamQuery } from '../decisions/filters.js';
import type { DecisionRecord } from '../decisions/records.js';

export interface StreamState {
  /** ms epoch of the previous pull; 0 = never. */
  lastPull: number;
  /** Change-log seq the previous pull's snapshot reflected; 0 = none. */
  cursor: number;
}

export interface StreamDelta {
  new: DecisionRecord[];
  deleted: DecisionRecord[];
  /** The state to store for this bouncer. */
  next: StreamState;
}

const DELETED_MARGIN_MS = 2000;
/** Beyond this many changes to replay, one time-based query is cheaper. */
const MAX_LOG_REPLAY = 50_000;

/**
 * Call after `store.refresh()`: everything reads the same snapshot. With the API's
 * in-memory active set, a startup pull limited to Ip/Range scopes takes the active side from
 * memory instead of decoding every stored decision.
 */
export function streamDelta(store: Store, q: StreamQuery, state: StreamState, now: number, activeSet?: ActiveDecisionSet | null): StreamDelta {
  const c = compileDecisionFilter({ ...q.filter, status: 'all' });
  if (q.startup && activeSet?.ready && onlyAddressScopes(q)) {
    if (activeSet.cursor !== store.changeCursor()) activeSet.sync(); // also refreshes the snapshot
    const cursor = store.changeCursor();
    if (activeSet.cursor === cursor) return { ...startupFromSet(store, activeSet, c, q.dedup, now), next: { lastPull: now, cursor } };
  }
  const cursor = store.changeCursor();
  const next = { lastPull: now, cursor };
  if (q.startup) return { ...startup(store, c, q.dedup, now), next };

  let fresh: DecisionRecord[] | null = null;
  const gone = new Map<number, DecisionRecord>();
  // A cursor ahead of the log (store replaced) also falls back to the time-based query.
  if (state.cursor > 0 && state.cursor <= cursor && cursor - state.cursor <= MAX_LOG_REPLAY) {
    const log = readLog(store, state.cursor, cursor);
    if (log) {
      fresh = [];
      for (const d of log.fresh.values()) if (isActive(d, now) && matchDecision(c, d, now)) fresh.push(d);
      for (const d of log.gone.values()) if (matchDecision(c, d, now)) gone.set(d.id, d);
    }
  }
  if (fresh === null) {
    fresh = store.listDecisions({ ...q.filter, status: 'active', createdGt: state.lastPull }, now);
  }
  for (const d of store.listDecisions({ ...q.filter, status: 'expired', untilGt: state.lastPull - DELETED_MARGIN_MS, untilLt: now }, now)) {
    gone.set(d.id, d);
  }
  const deleted = [...gone.values()].sort((a, b) => a.id - b.id);
  if (!q.dedup) return { new: fresh, deleted, next };
  const keys = new KeyIndex(latestStored(store, now));
  return { new: keys.dedup(fresh), deleted: keys.dedup(deleted), next };
}

function startup(store: Store, c: CompiledDecisionFilter, dedupOn: boolean, now: number): { new: DecisionRecord[]; deleted: DecisionRecord[] } {
  // Dedup looks at the whole table, not only the filtered rows (a longer decision of another
  // origin still hides a shorter one), so read everything once.
  const all = store.listDecisions({ status: 'all' }, now);
  const fresh: DecisionRecord[] = [];
  const deleted: DecisionRecord[] = [];
  const keys = new KeyIndex();
  for (const d of all) {
    if (dedupOn) keys.note(d);
    if (!matchDecision(c, d, now)) continue;
    if (isActive(d, now)) fresh.push(d);
    else if (d.until < now || d.deletedAt !== undefined) deleted.push(d);
  }
  if (!dedupOn) return { new: fresh, deleted };
  return { new: keys.dedup(fresh), deleted: keys.dedup(deleted) };
}

function onlyAddressScopes(q: StreamQuery): boolean {
  const s = q.filter.scopes;
  return s !== undefined && s.length > 0 && s.every((x) => x === 'Ip' || x === 'Range');
}

/**
 * Startup from the active set (all active Ip/Range decisions) plus the store's expired
 * decisions (until index). Dedup keys include the scope, so for Ip/Range rows these two
 * sources hold every decision that can out-last another.
 */
function startupFromSet(store: Store, set: ActiveDecisionSet, c: CompiledDecisionFilter, dedupOn: boolean, now: number): { new: DecisionRecord[]; deleted: DecisionRecord[] } {
  const active = set.all().filter((d) => isActive(d, now)).sort((a, b) => a.id - b.id);
  const expired = store.listDecisions({ status: 'expired' }, now);
  const fresh = active.filter((d) => matchDecision(c, d, now));
  const deleted = expired.filter((d) => (d.until < now || d.deletedAt !== undefined) && matchDecision(c, d, now));
  if (!dedupOn) return { new: fresh, deleted };
  const keys = new KeyIndex();
  for (const d of active) keys.note(d);
  for (const d of expired) keys.note(d);
  return { new: keys.dedup(fresh), deleted: keys.dedup(deleted) };
}

/**
 * Latest `until` per dedup key (value, type, scope), grouped by value: the value strings
 * already exist (decoded once), so keying a Map by them avoids building and hashing a
 * concatenated key per decision, which dominated a 100k-row startup.
 */
interface KeyEntry { scope: string; type: string; until: number; mark: number; next: KeyEntry | null }

class KeyIndex {
  private readonly byValue = new Map<string, KeyEntry>();
  private pass = 0;
  /** `load` gives the latest until for a key seen for the first time (default: the row's own). */
  constructor(private readonly load: ((d: DecisionRecord) => number) | null = null) {}

  entry(d: DecisionRecord): KeyEntry {
    const head = this.byValue.get(d.value);
    for (let e = head ?? null; e !== null; e = e.next) if (e.scope === d.scope && e.type === d.type) return e;
    const e: KeyEntry = { scope: d.scope, type: d.type, until: this.load ? this.load(d) : d.until, mark: 0, next: head ?? null };
    this.byValue.set(d.value, e);
    return e;
  }

  note(d: DecisionRecord): void {
    const e = this.entry(d);
    if (d.until > e.until) e.until = d.until;
  }

  /** Rows no other row of their key out-lasts, then the first of each key (spec §7.4). */
  dedup(list: readonly DecisionRecord[]): DecisionRecord[] {
    const pass = ++this.pass;
    const out: DecisionRecord[] = [];
    for (const d of list) {
      const e = this.entry(d);
      if (d.until < e.until || e.mark === pass) continue;
      e.mark = pass;
      out.push(d);
    }
    return out;
  }
}

/** Latest `until` among all stored decisions with d's key (value index; once per key). */
function latestStored(store: Store, now: number): (d: DecisionRecord) => number {
  return (d) => {
    let u = d.until;
    for (const o of store.listDecisions({ value: d.value, status: 'all' }, now)) {
      if (o.scope === d.scope && o.type === d.type && o.until > u) u = o.until;
    }
    return u;
  };
}

/** Changes in (from, to]: decisions that appeared, and ones that stopped being active. Null when trimmed. */
function readLog(store: Store, from: number, to: number): { fresh: Map<number, DecisionRecord>; gone: Map<number, DecisionRecord> } | null {
  const fresh = new Map<number, DecisionRecord>();
  const gone = new Map<number, DecisionRecord>();
  let at = from;
  while (at < to) {
    const r = store.changesSince(at, 5000);
    if (r.truncated) return null;
    if (r.changes.length === 0) break;
    for (const ch of r.changes) {
      if (ch.seq > to) return { fresh, gone };
      if (!ch.decision) continue;
      if (ch.kind === 'new') fresh.set(ch.decisionId, ch.decision);
      else gone.set(ch.decisionId, ch.decision);
    }
    at = r.cursor;
  }
  return { fresh, gone };
}
