/**
 * `palisade lapi`: the Local API alone, serving the store in --data-dir (design.md §3).
 * Runs until SIGINT / SIGTERM; prints one line with the URL on stderr when ready.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDurationWithDays } from '../core/duration.js';
import { defaultDataDir } from '../core/paths.js';
import { SHIPPED_RULES_DIR } from '../config/rules-dir.js';
import { loadProfiles, type Profile } from '../decisions/profiles.js';
import { Store } from '../decisions/store.js';
import { createApiServer, parseListen, type ApiTlsOptions } from '../api/server.js';
import { OperationError, UsageError } from './errors.js';

export interface LapiOpts {
  listen?: string;
  dataDir?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsAgentsOu?: string;
  tlsBouncersOu?: string;
  metricsListen?: string;
  profiles?: string;
  trustedIps?: string;
  trustedProxies?: string;
  useForwardedFor?: boolean;
  bodyLimit?: string;
}

const list = (s: string | undefined) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));

export function profilesFromFile(file: string, store: Store): Profile[] {
  try {
    return loadProfiles(file, {
      decisionsCount: (v) => store.countDecisions(v),
      decisionsSinceCount: (v, since) => {
        const ns = parseDurationWithDays(since);
        return ns === null ? 0 : store.countDecisions(v, Date.now() - ns / 1e6);
      },
    });
  } catch (e) {
    throw new OperationError(`profiles ${file}: ${(e as Error).message}`);
  }
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new OperationError(`${flag} ${file}: ${(e as Error).message}`);
  }
}

export async function lapiCommand(o: LapiOpts): Promise<void> {
  const listen = o.listen ?? '127.0.0.1:8080';
  try {
    parseListen(listen);
    if (o.metricsListen) parseListen(o.metricsListen);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (o.tlsCa && !o.tlsCert) throw new UsageError('--tls-ca needs --tls-cert and --tls-key');
  const bodyLimit = o.bodyLimit !== undefined ? Number(o.bodyLimit) : undefined;
  if (bodyLimit !== undefined && !(Number.isInteger(bodyLimit) && bodyLimit > 0)) throw new UsageError('--body-limit takes a byte count');
  let tls: ApiTlsOptions | undefined;
  if (o.tlsCert && o.tlsKey) {
    tls = { cert: readPem(o.tlsCert, '--tls-cert'), key: readPem(o.tlsKey, '--tls-key') };
    if (o.tlsCa) {
      tls.ca = readPem(o.tlsCa, '--tls-ca');
      tls.agentsAllowedOu = list(o.tlsAgentsOu) ?? ['agent-ou'];
      tls.bouncersAllowedOu = list(o.tlsBouncersOu) ?? ['bouncer-ou'];
    }
  }
  const store = Store.open(o.dataDir ?? defaultDataDir());
  let server;
  try {
    const profiles = profilesFromFile(o.profiles ?? join(SHIPPED_RULES_DIR, 'profiles.yaml'), store);
    server = createApiServer({
      store, profiles, listen, tls, bodyLimit,
      trustedIps: list(o.trustedIps), trustedProxies: list(o.trustedProxies), useForwardedFor: o.useForwardedFor ?? false,
      maintenance: true,
    });
  } catch (e) {
    await store.close();
    throw e instanceof OperationError ? e : new UsageError((e as Error).message);
  }
  let metricsServer: import('node:http').Server | undefined;
  try {
    const { url } = await server.listen();
    process.stderr.write(`palisade lapi: listening on ${url}\n`);
    if (o.metricsListen && server.metrics) {
      const m = parseListen(o.metricsListen);
      const r = await server.metrics.listen(m.host, m.port);
      metricsServer = r.server;
      process.stderr.write(`palisade lapi: metrics on ${r.url}\n`);
    }
  } catch (e) {
    await server.close();
    await store.close();
    throw new OperationError(`cannot listen: ${(e as Error).message}`);
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  metricsServer?.close();
  await server.close();
  await store.close();
}
