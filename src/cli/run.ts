/**
 * `palisade run [--config FILE]`: one process = live agent + Local API (design.md §1). The
 * agent's alerts go through the profiles straight into the store (src/pipeline/sink.ts),
 * flushed every second like CrowdSec's agent output loop; bouncers, remote agents and
 * operators use the API.
 *
 * Config file (YAML; relative paths are relative to the file):
 *   data_dir: /var/lib/palisade          # LMDB store and read positions
 *   config_dir: /etc/palisade/rules       # rules (default: the shipped rules/)
 *   acquisition: /etc/palisade/acquis.yaml   # or an inline list of acquis documents
 *   geoip_dir: /usr/share/GeoIP           # optional
 *   api:
 *     enabled: true                       # false: agent only, alerts to the store
 *     listen: 127.0.0.1:8080
 *     trusted_ips: [127.0.0.1, ::1]
 *     trusted_proxies: []
 *     use_forwarded_for_headers: false
 *     tls: {cert_file, key_file, ca_cert_path, agents_allowed_ou: [..], bouncers_allowed_ou: [..]}
 * Without --config: the default data dir, the shipped rules, Debian's default acquisition
 * restricted to the files that exist, API on 127.0.0.1:8080.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { acquisFromDocs, defaultAcquisition, loadAcquisFile, type AcquisitionSpec } from '../acquisition/acquis.js';
import { LoadError } from '../core/errors.js';
import { defaultDataDir } from '../core/paths.js';
import { readYamlDocs } from '../config/yaml-source.js';
import { SHIPPED_RULES_DIR } from '../config/rules-dir.js';
import { Store } from '../decisions/store.js';
import { createApiServer, type ApiServer, type ApiTlsOptions } from '../api/server.js';
import { LiveEngine } from '../pipeline/live.js';
import { AlertSink } from '../pipeline/sink.js';
import { UsageError } from './errors.js';

export interface RunConfig {
  dataDir: string;
  configDir: string;
  acquisition: AcquisitionSpec[];
  geoipDir: string | null;
  api: null | {
    listen: string;
    trustedIps?: string[];
    trustedProxies?: string[];
    useForwardedFor: boolean;
    tls?: ApiTlsOptions;
  };
}

const TOP_KEYS = ['data_dir', 'config_dir', 'acquisition', 'geoip_dir', 'api'];
const API_KEYS = ['enabled', 'listen', 'trusted_ips', 'trusted_proxies', 'use_forwarded_for_headers', 'tls'];
const TLS_KEYS = ['cert_file', 'key_file', 'ca_cert_path', 'agents_allowed_ou', 'bouncers_allowed_ou'];

export function defaultRunConfig(): RunConfig {
  return {
    dataDir: defaultDataDir(),
    configDir: SHIPPED_RULES_DIR,
    acquisition: defaultAcquisition(existsSync),
    geoipDir: null,
    api: { listen: '127.0.0.1:8080', useForwardedFor: false },
  };
}

/** Reads and validates a run config; every error names the file and key. */
export function loadRunConfig(file: string): RunConfig {
  const docs = readYamlDocs(file);
  const doc = docs[0]?.value ?? {};
  const fail = (msg: string): never => { throw new LoadError('SCHEMA', msg, { file }); };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('the run config must be a map');
  const m = doc as Record<string, unknown>;
  for (const k of Object.keys(m)) if (!TOP_KEYS.includes(k)) throw new LoadError('UNKNOWN_KEY', `unknown key '${k}' (known: ${TOP_KEYS.join(', ')})`, { file });
  const base = dirname(resolve(file));
  const path = (key: string, v: unknown): string => {
    if (typeof v !== 'string' || v === '') fail(`${key} must be a path`);
    return isAbsolute(v as string) ? (v as string) : join(base, v as string);
  };
  const strList = (key: string, v: unknown): string[] | undefined => {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(`${key} must be a list of strings`);
    return v as string[];
  };
  const cfg = defaultRunConfig();
  if (m.data_dir !== undefined) cfg.dataDir = path('data_dir', m.data_dir);
  if (m.config_dir !== undefined) cfg.configDir = path('config_dir', m.config_dir);
  if (m.geoip_dir !== undefined) cfg.geoipDir = path('geoip_dir', m.geoip_dir);
  if (m.acquisition !== undefined) {
    if (typeof m.acquisition === 'string') cfg.acquisition = loadAcquisFile(path('acquisition', m.acquisition));
    else if (Array.isArray(m.acquisition)) cfg.acquisition = acquisFromDocs(m.acquisition.map((value, index) => ({ value, index })), `${file} (acquisition)`);
    else fail('acquisition must be the path of an acquis.yaml or a list of acquisition documents');
  }
  if (m.api !== undefined && m.api !== null) {
    if (typeof m.api !== 'object' || Array.isArray(m.api)) fail('api must be a map');
    const a = m.api as Record<string, unknown>;
    for (const k of Object.keys(a)) if (!API_KEYS.includes(k)) throw new LoadError('UNKNOWN_KEY', `unknown key 'api.${k}' (known: ${API_KEYS.join(', ')})`, { file });
    if (a.enabled === false) cfg.api = null;
    else {
      if (a.listen !== undefined && typeof a.listen !== 'string') fail('api.listen must be host:port');
      cfg.api = {
        listen: (a.listen as string | undefined) ?? '127.0.0.1:8080',
        trustedIps: strList('api.trusted_ips', a.trusted_ips),
        trustedProxies: strList('api.trusted_proxies', a.trusted_proxies),
        useForwardedFor: a.use_forwarded_for_headers === true,
      };
      if (a.tls !== undefined && a.tls !== null) {
        if (typeof a.tls !== 'object' || Array.isArray(a.tls)) fail('api.tls must be a map');
        const t = a.tls as Record<string, unknown>;
        for (const k of Object.keys(t)) if (!TLS_KEYS.includes(k)) throw new LoadError('UNKNOWN_KEY', `unknown key 'api.tls.${k}' (known: ${TLS_KEYS.join(', ')})`, { file });
        const read = (key: string, v: unknown): Buffer => {
          const p = path(`api.tls.${key}`, v);
          try {
            return readFileSync(p);
          } catch (e) {
            return fail(`api.tls.${key}: cannot read ${p} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
          }
        };
        if (t.cert_file === undefined || t.key_file === undefined) fail('api.tls needs cert_file and key_file');
        cfg.api.tls = {
          cert: read('cert_file', t.cert_file),
          key: read('key_file', t.key_file),
          ...(t.ca_cert_path !== undefined ? { ca: read('ca_cert_path', t.ca_cert_path) } : {}),
          agentsAllowedOu: strList('api.tls.agents_allowed_ou', t.agents_allowed_ou),
          bouncersAllowedOu: strList('api.tls.bouncers_allowed_ou', t.bouncers_allowed_ou),
        };
      }
    }
  }
  return cfg;
}

export interface RunHandle {
  url: string | null;
  live: LiveEngine;
  sink: AlertSink;
  /** Graceful stop: sources read to what is written, last sweep, alerts flushed, API closed. */
  stop(): Promise<void>;
}

/** Starts agent + API in this process. Exposed for tests; the CLI wraps it with signals. */
export async function startRun(cfg: RunConfig, opts: { warn?: (m: string) => void; pollMs?: number } = {}): Promise<RunHandle> {
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`palisade: warning: ${m}\n`));
  if (cfg.acquisition.length === 0) warn('no acquisition source configured (or none of the default log files exists): the agent reads nothing');
  const store = Store.open(cfg.dataDir);
  let api: ApiServer | null = null;
  let live: LiveEngine | null = null;
  let flushTimer: NodeJS.Timeout | null = null;
  try {
    // Profiles need the rules' helpers, which the live engine loads; the sink exists before
    // live.start(), so no alert can arrive without it.
    let sink: AlertSink | null = null;
    live = await LiveEngine.create({
      configDir: cfg.configDir, acquisition: cfg.acquisition, dataDir: cfg.dataDir, geoipDir: cfg.geoipDir, pollMs: opts.pollMs, warn,
      onAlerts: (alerts) => { for (const a of alerts) sink!.add(a); },
    });
    const profiles = AlertSink.profilesFor(cfg.configDir, live.engine.rules.helpers, store);
    const s = (sink = new AlertSink(profiles, store));
    let flushing: Promise<void> | null = null;
    const flush = (): Promise<void> => {
      flushing ??= s.flush().catch((e: Error) => warn(`writing alerts failed: ${e.message}`)).finally(() => { flushing = null; });
      return flushing;
    };
    // spec §5.1: the agent's alerts are pushed every second.
    flushTimer = setInterval(() => void flush(), 1000);
    let url: string | null = null;
    if (cfg.api) {
      api = createApiServer({
        store, profiles, listen: cfg.api.listen, tls: cfg.api.tls, trustedIps: cfg.api.trustedIps,
        trustedProxies: cfg.api.trustedProxies, useForwardedFor: cfg.api.useForwardedFor, maintenance: true,
      });
      url = (await api.listen()).url;
    }
    await live.start();
    const l = live, a = api, t = flushTimer;
    let stopping: Promise<void> | null = null;
    return {
      url, live: l, sink: s,
      stop() {
        stopping ??= (async () => {
          await l.stop();
          clearInterval(t);
          if (flushing) await flushing;
          await s.flush().catch((e: Error) => warn(`writing alerts failed: ${e.message}`));
          if (a) await a.close();
          await store.close();
        })();
        return stopping;
      },
    };
  } catch (e) {
    if (flushTimer) clearInterval(flushTimer);
    await live?.stop().catch(() => {});
    await api?.close().catch(() => {});
    await store.close();
    throw e;
  }
}

/** Resolves when SIGINT or SIGTERM arrives (once). */
export function untilSignal(): Promise<string> {
  return new Promise((res) => {
    const on = (sig: string) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      res(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export async function runCommand(o: { config?: string }): Promise<void> {
  if (o.config !== undefined && !existsSync(o.config)) throw new UsageError(`--config: ${o.config} does not exist`);
  const cfg = o.config ? loadRunConfig(o.config) : defaultRunConfig();
  const h = await startRun(cfg);
  const sources = cfg.acquisition.map((s) => s.name).join('; ') || 'none';
  process.stderr.write(`palisade: running (data ${cfg.dataDir}; rules ${cfg.configDir}; acquisition: ${sources})\n`);
  if (h.url) process.stderr.write(`palisade: API listening on ${h.url}\n`);
  const sig = await untilSignal();
  process.stderr.write(`palisade: ${sig}, shutting down\n`);
  await h.stop();
  const st = h.live.stats();
  process.stderr.write(`palisade: stopped (lines ${st.lines}, alerts ${st.alerts}, decisions ${h.sink.decisions})\n`);
}
