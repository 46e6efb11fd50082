/**
 * A throw-away configuration directory for the Debian crowdsec 1.4.6 binaries (crowdsec, cscli),
 * pointing them at a Local API given by URL — Palisade's, or CrowdSec's own as a control.
 *
 *   <dir>/config.yaml                  own paths; api.server enabled only for `server`
 *   <dir>/local_api_credentials.yaml   url + login + password of the machine
 *   <dir>/acquis.yaml (empty), simulation.yaml, profiles.yaml (used only by a local server)
 *   <dir>/patterns -> the package's patterns; parsers/<stage>/, scenarios/ hold symlinks to
 *   the package's hub files, as cscli installs them
 *
 * Facts about 1.4.6 this relies on (spec §14, stack-notes §9): a missing acquis.yaml,
 * credentials file or hub `.index.json` is fatal even with `-dsn`, so hub_dir points at the
 * package's hub snapshot (read only); `cscli: {hub_branch: master}` keeps cscli offline.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { DebianReference } from '../../support/debian.js';

export interface CrowdsecHomeOptions {
  /** Local API the clients talk to, e.g. `http://127.0.0.1:8080`. */
  lapiUrl: string;
  login: string;
  password: string;
  /** Run a CrowdSec LAPI from this config (control runs only): listen address + DB in dir. */
  server?: { listen: string };
  /** Hub parser files as `<stage>/<author>/<file>` (relative to hub/parsers). */
  parsers?: string[];
  /** Hub scenario files as `<author>/<file>` (relative to hub/scenarios). */
  scenarios?: string[];
}

export interface CrowdsecHome {
  dir: string;
  configFile: string;
  credentialsFile: string;
  /** Minimal environment: TZ=UTC, HOME in dir, no proxies. */
  env: NodeJS.ProcessEnv;
  crowdsec: string;
  cscli: string;
  firewallBouncer: string;
  remove(): void;
}

export function makeCrowdsecHome(ref: DebianReference, o: CrowdsecHomeOptions): CrowdsecHome {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-clients-cs-'));
  const bin = dirname(ref.crowdsecBin);
  try {
    for (const d of ['parsers', 'scenarios', 'postoverflows', 'notifications', 'plugins', 'data']) mkdirSync(join(dir, d));
    symlinkSync(ref.patterns, join(dir, 'patterns'));
    for (const p of o.parsers ?? []) {
      const stage = p.split('/')[0]!;
      mkdirSync(join(dir, 'parsers', stage), { recursive: true });
      symlinkSync(join(ref.hub, 'parsers', p), join(dir, 'parsers', stage, basename(p)));
    }
    for (const s of o.scenarios ?? []) symlinkSync(join(ref.hub, 'scenarios', s), join(dir, 'scenarios', basename(s)));
    const lines = [
      'common:',
      '  daemonize: false',
      '  log_media: stdout',
      '  log_level: info',
      `  working_dir: ${dir}`,
      'config_paths:',
      `  config_dir: ${dir}/`,
      `  data_dir: ${ref.data}/`,
      `  simulation_path: ${dir}/simulation.yaml`,
      `  hub_dir: ${ref.hub}/`,
      `  index_path: ${ref.hub}/.index.json`,
      `  notification_dir: ${dir}/notifications/`,
      `  plugin_dir: ${dir}/plugins/`,
      'crowdsec_service:',
      `  acquisition_path: ${dir}/acquis.yaml`,
      '  parser_routines: 1',
      '  buckets_routines: 1',
      '  output_routines: 1',
      'cscli:',
      '  output: human',
      '  hub_branch: master',
      'api:',
      '  client:',
      '    insecure_skip_verify: false',
      `    credentials_path: ${dir}/local_api_credentials.yaml`,
      '  server:',
      ...(o.server
        ? ['    enable: true', '    log_level: info', `    listen_uri: ${o.server.listen}`, `    profiles_path: ${dir}/profiles.yaml`, '    trusted_ips: [127.0.0.1, "::1"]']
        : ['    enable: false']),
      ...(o.server ? ['db_config:', '  type: sqlite', `  db_path: ${dir}/crowdsec.db`, '  use_wal: false'] : []),
      'prometheus:',
      '  enabled: false',
      '',
    ];
    writeFileSync(join(dir, 'config.yaml'), lines.join('\n'));
    writeFileSync(join(dir, 'local_api_credentials.yaml'), `url: ${o.lapiUrl}\nlogin: ${o.login}\npassword: ${o.password}\n`);
    writeFileSync(join(dir, 'acquis.yaml'), '');
    writeFileSync(join(dir, 'simulation.yaml'), 'simulation: off\n');
    writeFileSync(
      join(dir, 'profiles.yaml'),
      'name: default_ip_remediation\nfilters:\n - Alert.Remediation == true && Alert.GetScope() == "Ip"\ndecisions:\n - type: ban\n   duration: 4h\non_success: break\n',
    );
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    configFile: join(dir, 'config.yaml'),
    credentialsFile: join(dir, 'local_api_credentials.yaml'),
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: dir, TZ: 'UTC', LANG: 'C' },
    crowdsec: ref.crowdsecBin,
    cscli: join(bin, 'cscli'),
    firewallBouncer: join(bin, 'crowdsec-firewall-bouncer'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
