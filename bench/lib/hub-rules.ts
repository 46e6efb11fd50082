/**
 * The Debian hub rules a default CrowdSec 1.4.6 install runs for sshd and nginx, laid out
 * twice from the same files: as a Palisade `--config-dir` and as a crowdsec config dir
 * (both as cscli installs items: symlinks per stage).
 *
 * The set: collection crowdsecurity/linux (syslog-logs, dateparse-enrich, sshd-logs, ssh-bf,
 * ssh-slow-bf), the whitelists parser, crowdsecurity/nginx (nginx-logs,
 * nginx-req-limit-exceeded) and base-http-scenarios (http-logs and its scenarios). Left out:
 * geoip-enrich (no GeoLite2 database in the package; it only adds enrichment) and the
 * http-cve collection (CVE-specific probes the generated logs never contain).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface HubTree {
  hub: string;
  patterns: string;
  data: string;
}

export const HUB_PARSERS = [
  's00-raw/crowdsecurity/syslog-logs.yaml',
  's01-parse/crowdsecurity/sshd-logs.yaml',
  's01-parse/crowdsecurity/nginx-logs.yaml',
  's02-enrich/crowdsecurity/dateparse-enrich.yaml',
  's02-enrich/crowdsecurity/http-logs.yaml',
  's02-enrich/crowdsecurity/whitelists.yaml',
];

export const HUB_SCENARIOS = [
  'crowdsecurity/ssh-bf.yaml',
  'crowdsecurity/ssh-slow-bf.yaml',
  'crowdsecurity/nginx-req-limit-exceeded.yaml',
  'crowdsecurity/http-crawl-non_statics.yaml',
  'crowdsecurity/http-probing.yaml',
  'crowdsecurity/http-bad-user-agent.yaml',
  'crowdsecurity/http-path-traversal-probing.yaml',
  'crowdsecurity/http-sensitive-files.yaml',
  'crowdsecurity/http-sqli-probing.yaml',
  'crowdsecurity/http-xss-probing.yaml',
  'crowdsecurity/http-backdoors-attempts.yaml',
  'crowdsecurity/http-generic-bf.yaml',
  'crowdsecurity/http-open-proxy.yaml',
];

/** The package's data files, plus the name http-path-traversal-probing asks for (stack-notes §9). */
export function hubDataDir(ref: HubTree, dir: string): string {
  const d = join(dir, 'data');
  mkdirSync(d, { recursive: true });
  for (const f of readdirSync(ref.data)) copyFileSync(join(ref.data, f), join(d, f));
  if (existsSync(join(ref.data, 'path_traversal.txt'))) copyFileSync(join(ref.data, 'path_traversal.txt'), join(d, 'http_path_traversal.txt'));
  return d;
}

/** parsers/<stage>/<file>, scenarios/<file> and patterns as symlinks into the hub. */
export function linkRules(ref: HubTree, cfg: string): void {
  mkdirSync(join(cfg, 'scenarios'), { recursive: true });
  if (!existsSync(join(cfg, 'patterns'))) symlinkSync(ref.patterns, join(cfg, 'patterns'));
  for (const p of HUB_PARSERS) {
    const [stage, , file] = p.split('/');
    mkdirSync(join(cfg, 'parsers', stage!), { recursive: true });
    symlinkSync(join(ref.hub, 'parsers', p), join(cfg, 'parsers', stage!, file!));
  }
  for (const s of HUB_SCENARIOS) symlinkSync(join(ref.hub, 'scenarios', s), join(cfg, 'scenarios', s.split('/')[1]!));
}

/** A Palisade rules dir with the hub set; no profiles.yaml (replay runs --no-decisions). */
export function palisadeHubConfig(ref: HubTree, dir: string, data: string): string {
  const cfg = join(dir, 'palisade-hub');
  mkdirSync(cfg, { recursive: true });
  linkRules(ref, cfg);
  symlinkSync(data, join(cfg, 'data'));
  writeFileSync(join(cfg, 'simulation.yaml'), 'simulation: off\n');
  return cfg;
}
