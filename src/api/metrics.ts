/**
 * Prometheus metrics of the Local API (cs_lapi_* names, as `cscli metrics` reads them,
 * spec §9), on a registry of their own, served on a separate listener so that /metrics is
 * never exposed on the API port. Requests are counted into plain numbers found through
 * nested maps keyed by the label values (no key string or label hash per request), and
 * handed to prom-client's counters when /metrics is scraped.
 */
import { createServer, type Server } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { Counter, Gauge, Registry, type LabelValues } from 'prom-client';
import type { Store } from '../decisions/store.js';

/** One label combination's count, kept as a plain number and handed to prom-client at scrape time. */
export interface Cell { labels: Record<string, string>; n: number }

/** Nested maps keyed by the label values themselves (no key string built per request). */
type Tree = Map<string, Tree | Cell>;

function cell(root: Tree, values: readonly string[], names: readonly string[]): Cell {
  let t = root;
  for (let i = 0; i < values.length - 1; i++) t = subtree(t, values[i]!);
  return leaf(t, values, names);
}

function subtree(t: Tree, value: string): Tree {
  let next = t.get(value) as Tree | undefined;
  if (next === undefined) t.set(value, (next = new Map()));
  return next;
}

/** The cell under the last of `values` in `t`, created on first use. */
function leaf(t: Tree, values: readonly string[], names: readonly string[]): Cell {
  const last = values[values.length - 1]!;
  let c = t.get(last) as Cell | undefined;
  if (c === undefined) {
    const labels: Record<string, string> = {};
    names.forEach((n, i) => (labels[n] = values[i]!));
    t.set(last, (c = { labels, n: 0 }));
  }
  return c;
}

// The per-request counters find their cell without building an array of label values: the
// array is made only when a label combination is seen for the first time.
function cell1(root: Tree, a: string, names: readonly string[]): Cell {
  return (root.get(a) as Cell | undefined) ?? leaf(root, [a], names);
}
function cell2(root: Tree, a: string, b: string, names: readonly string[]): Cell {
  const t = subtree(root, a);
  return (t.get(b) as Cell | undefined) ?? leaf(t, [a, b], names);
}
function cell3(root: Tree, a: string, b: string, c: string, names: readonly string[]): Cell {
  const t = subtree(subtree(root, a), b);
  return (t.get(c) as Cell | undefined) ?? leaf(t, [a, b, c], names);
}

function* cells(t: Tree): Generator<Cell> {
  for (const v of t.values()) {
    if (v instanceof Map) yield* cells(v);
    else yield v;
  }
}

/**
 * A counter whose per-request increments are plain additions: prom-client's own `inc`
 * hashes the label set on every call, which costs more than a whole cached lookup.
 */
function countedCounter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], tree: Tree): Counter<L> {
  return new Counter<L>({
    name, help, labelNames, registers: [registry],
    collect() {
      this.reset();
      for (const c of cells(tree)) if (c.n > 0) this.inc(c.labels as LabelValues<L>, c.n);
    },
  });
}

/**
 * The counters one bouncer's `GET /v1/decisions` lookup bumps (its request per route and
 * method, its ok / ko answers), found together so a fast-path lookup does one map lookup
 * instead of one per label. Counting through them is counting through the methods below.
 */
export interface LookupCounters {
  readonly request: Cell;
  readonly ok: Cell;
  readonly ko: Cell;
}

export class ApiMetrics {
  readonly registry = new Registry();
  private readonly routes: Tree = new Map();
  private readonly machines: Tree = new Map();
  private readonly bouncers: Tree = new Map();
  private readonly decisionsOk: Tree = new Map();
  private readonly decisionsKo: Tree = new Map();
  private readonly lookups = new Map<string, LookupCounters>();
  private lookupRoute: Cell | null = null;

  constructor(store: Store | null, now: () => number = Date.now) {
    const registers = [this.registry];
    countedCounter(this.registry, 'cs_lapi_route_requests_total', 'Number of calls to each route per method.', ['route', 'method'], this.routes);
    countedCounter(this.registry, 'cs_lapi_machine_requests_total', 'Number of calls to each route per method grouped by machines.', ['machine', 'route', 'method'], this.machines);
    countedCounter(this.registry, 'cs_lapi_bouncer_requests_total', 'Number of calls to each route per method grouped by bouncers.', ['bouncer', 'route', 'method'], this.bouncers);
    countedCounter(this.registry, 'cs_lapi_decisions_ok_total', 'Number of calls to /decisions that returned non-nil result.', ['bouncer'], this.decisionsOk);
    countedCounter(this.registry, 'cs_lapi_decisions_ko_total', 'Number of calls to /decisions that returned nil result.', ['bouncer'], this.decisionsKo);
    if (store) {
      new Gauge({
        name: 'cs_active_decisions',
        help: 'Number of active decisions.',
        registers,
        collect() {
          store.refresh();
          // Counted on the until index (keys only), not by loading every record.
          this.set(store.explainDecisions({ status: 'active' }, now()).candidates);
        },
      });
    }
  }

  /** A request to `route` (the route's pattern, 'unknown' when none matched). */
  request(route: string, method: string): void {
    cell2(this.routes, route, method, ROUTE_LABELS).n++;
  }

  machineRequest(machine: string, req: FastifyRequest): void {
    cell(this.machines, [machine, routeOf(req), req.method], MACHINE_LABELS).n++;
  }

  bouncerRequest(bouncer: string, req: FastifyRequest): void {
    this.bouncerRequestOn(bouncer, routeOf(req), req.method);
  }

  /** A bouncer's request to `route` (its pattern), for callers without a fastify request. */
  bouncerRequestOn(bouncer: string, route: string, method: string): void {
    cell3(this.bouncers, bouncer, route, method, BOUNCER_LABELS).n++;
  }

  decisionsServed(bouncer: string, any: boolean): void {
    cell1(any ? this.decisionsOk : this.decisionsKo, bouncer, BOUNCER_ONLY).n++;
  }

  /** request('/v1/decisions', 'GET'), its cell found once (the fast paths' lookups). */
  lookupRequest(): void {
    (this.lookupRoute ??= cell2(this.routes, LOOKUP_ROUTE, 'GET', ROUTE_LABELS)).n++;
  }

  /** Bouncer `bouncer`'s counters of a `GET /v1/decisions` lookup: see LookupCounters. */
  lookupCounters(bouncer: string): LookupCounters {
    let c = this.lookups.get(bouncer);
    if (c === undefined) {
      c = { request: cell3(this.bouncers, bouncer, LOOKUP_ROUTE, 'GET', BOUNCER_LABELS), ok: cell1(this.decisionsOk, bouncer, BOUNCER_ONLY), ko: cell1(this.decisionsKo, bouncer, BOUNCER_ONLY) };
      // Bounded like the bouncer cache: names of deleted bouncers do not pile up for ever.
      if (this.lookups.size >= 10_000) this.lookups.clear();
      this.lookups.set(bouncer, c);
    }
    return c;
  }

  /** Serves GET /metrics on its own listener; resolves with the bound URL. */
  async listen(host: string, port: number): Promise<{ url: string; server: Server }> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (e: Error) => res.writeHead(500).end(e.message),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address();
    const p = typeof addr === 'object' && addr ? addr.port : port;
    return { url: `http://${host.includes(':') ? `[${host}]` : host}:${p}/metrics`, server };
  }
}

/** The live bouncer's lookup route, counted through lookupRequest / lookupCounters. */
const LOOKUP_ROUTE = '/v1/decisions';
const ROUTE_LABELS = ['route', 'method'] as const;
const MACHINE_LABELS = ['machine', 'route', 'method'] as const;
const BOUNCER_LABELS = ['bouncer', 'route', 'method'] as const;
const BOUNCER_ONLY = ['bouncer'] as const;

/** The matched route's pattern: set by the per-route counting hook (server.ts), else read from fastify. */
function routeOf(req: FastifyRequest): string {
  return req.metricsRoute || (req.routeOptions.url ?? 'unknown');
}
