/**
 * Prometheus metrics of the Local API (cs_lapi_* names, as `cscli metrics` reads them,
 * spec §9), on a registry of their own, served on a separate listener so that /metrics is
 * never exposed on the API port. Label handles are resolved per (route, method) once and
 * cached: no label maps built per request.
 */
import { createServer, type Server } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { Counter, Gauge, Registry, type LabelValues } from 'prom-client';
import type { Store } from '../decisions/store.js';

type Inc = { inc(n?: number): void };

export class ApiMetrics {
  readonly registry = new Registry();
  private readonly route: Counter<'route' | 'method'>;
  private readonly machine: Counter<'machine' | 'route' | 'method'>;
  private readonly bouncer: Counter<'bouncer' | 'route' | 'method'>;
  private readonly decisionsOk: Counter<'bouncer'>;
  private readonly decisionsKo: Counter<'bouncer'>;
  private readonly handles = new Map<string, Inc>();

  constructor(store: Store | null, now: () => number = Date.now) {
    const registers = [this.registry];
    this.route = new Counter({ name: 'cs_lapi_route_requests_total', help: 'Number of calls to each route per method.', labelNames: ['route', 'method'], registers });
    this.machine = new Counter({ name: 'cs_lapi_machine_requests_total', help: 'Number of calls to each route per method grouped by machines.', labelNames: ['machine', 'route', 'method'], registers });
    this.bouncer = new Counter({ name: 'cs_lapi_bouncer_requests_total', help: 'Number of calls to each route per method grouped by bouncers.', labelNames: ['bouncer', 'route', 'method'], registers });
    this.decisionsOk = new Counter({ name: 'cs_lapi_decisions_ok_total', help: 'Number of calls to /decisions that returned non-nil result.', labelNames: ['bouncer'], registers });
    this.decisionsKo = new Counter({ name: 'cs_lapi_decisions_ko_total', help: 'Number of calls to /decisions that returned nil result.', labelNames: ['bouncer'], registers });
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

  private handle<L extends string>(c: Counter<L>, labels: LabelValues<L>): Inc {
    const key = `${counterName(c)}\u0000${Object.values(labels).join('\u0000')}`;
    let h = this.handles.get(key);
    if (!h) {
      h = c.labels(labels);
      this.handles.set(key, h);
    }
    return h;
  }

  request(req: FastifyRequest): void {
    this.handle(this.route, { route: routeOf(req), method: req.method }).inc();
  }

  machineRequest(machine: string, req: FastifyRequest): void {
    this.handle(this.machine, { machine, route: routeOf(req), method: req.method }).inc();
  }

  bouncerRequest(bouncer: string, req: FastifyRequest): void {
    this.handle(this.bouncer, { bouncer, route: routeOf(req), method: req.method }).inc();
  }

  decisionsServed(bouncer: string, any: boolean): void {
    this.handle(any ? this.decisionsOk : this.decisionsKo, { bouncer }).inc();
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

const names = new WeakMap<object, string>();
let nextName = 0;
function counterName(c: object): string {
  let n = names.get(c);
  if (n === undefined) names.set(c, (n = String(nextName++)));
  return n;
}

function routeOf(req: FastifyRequest): string {
  return req.routeOptions.url ?? 'unknown';
}
