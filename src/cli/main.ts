/**
 * The `palisade` command line (design.md §3). Each command lives in its own module; this file
 * only declares the surface, loads the module of the verb that runs, and maps errors to exit codes.
 */
import { Command, CommanderError } from 'commander';
import { enableRegexpBacktrackGuard } from '../grok/regexp-guard.js';
import { fail, UsageError } from './errors.js';

// Verb modules load only when their verb runs: importing all of them (fastify, LMDB, the
// pipeline, ...) cost ~0.4 s on every start, `--help` included.
const explain = () => import('./explain.js');
const hubVerbs = () => import('./hub.js');
const replay = () => import('./replay.js');
const store = () => import('./store-commands.js');
const remote = () => import('./remote-commands.js');
const lapi = () => import('./lapi.js');
const credentials = () => import('./credentials-commands.js');
const run = () => import('./run.js');
const agent = () => import('./agent.js');

enableRegexpBacktrackGuard();

const program = new Command();
program
  .name('palisade')
  .description('Collaborative intrusion prevention, compatible with CrowdSec hub rules and Local API')
  .version('0.1.0')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: () => {} });

program
  .command('explain')
  .description('show how each log line goes through the parser stages')
  .option('--type <type>', 'acquisition label labels.type (syslog, nginx, apache2, mysql, ...)')
  .option('--line <line>', 'one log line')
  .option('--file <file>', 'a log file (plain, .gz, or - for stdin)')
  .option('--config-dir <dir>', 'CrowdSec-style rules directory (default: the shipped rules)')
  .option('--geoip-dir <dir>', 'directory holding GeoLite2-City.mmdb / GeoLite2-ASN.mmdb')
  .option('--json', 'one JSON object per input line')
  .action(async (o) => (await explain()).explainCommand(o));

program
  .command('replay')
  .description('time-machine replay of log files through parsers, scenarios and profiles')
  .argument('<files...>', 'log files (plain or .gz; - for stdin)')
  .option('--type <type>', 'acquisition label labels.type (syslog, nginx, apache2, mysql, ...)')
  .option('--config-dir <dir>', 'CrowdSec-style rules directory (default: the shipped rules)')
  .option('--data-dir <dir>', 'state directory holding the LMDB store')
  .option('--no-decisions', 'write nothing to the store')
  .option('--json', 'print each alert as one line of LAPI Alert JSON')
  .option('--geoip-dir <dir>', 'directory holding GeoLite2-City.mmdb / GeoLite2-ASN.mmdb')
  .option('--max-buckets <n>', 'bucket row cap (memory bound)')
  .option('--workers <n>', 'parse worker threads (default 0: parse on the main thread; the pool is opt-in, see bench/RESULTS-pipeline.md)')
  .action(async (files: string[], o) => (await replay()).replayCommand(files, o));

/** Filters shared by the list/delete verbs (cscli's names). */
function withFilters(c: Command): Command {
  return withRemote(c)
    .option('--data-dir <dir>', 'state directory holding the LMDB store')
    .option('-i, --ip <ip>', 'source IP (matches ranges holding it)')
    .option('-r, --range <cidr>', 'source range')
    .option('--contained', 'with --ip/--range: match decisions inside it instead of holding it')
    .option('-s, --scenario <name>', 'scenario name')
    .option('-t, --type <type>', 'decision type (ban, captcha, ...)')
    .option('--origin <origin>', 'origin (crowdsec, cscli, CAPI, ...)')
    .option('-v, --value <value>', 'exact value')
    .option('--since <dur>', 'created/started within this long (e.g. 4h, 2d)')
    .option('--until <dur>', 'created/started before this long ago')
    .option('-l, --limit <n>', 'at most N results')
    .option('--json', 'JSON output');
}

/** `--lapi URL` runs a verb against a running Local API instead of the local store. */
function withRemote(c: Command): Command {
  return c
    .option('--lapi <url>', 'talk to this Local API instead of the local store')
    .option('--machine-id <id>', 'machine login for --lapi (or PALISADE_MACHINE_ID)')
    .option('--password <password>', 'machine password for --lapi (or PALISADE_PASSWORD)');
}

const decisions = program.command('decisions').description('manage decisions in the local store');
withFilters(decisions.command('list').description('list active decisions').option('-a, --all', 'include expired and deleted decisions'))
  .action(async (o) => (o.lapi ? (await remote()).remoteDecisionsList(o) : (await store()).decisionsList(o)));
withRemote(decisions.command('add').description('add a manual decision'))
  .option('--data-dir <dir>', 'state directory holding the LMDB store')
  .option('-i, --ip <ip>', 'IP to act on').option('-r, --range <cidr>', 'range to act on')
  .option('--scope <scope>', 'scope with --value (Ip, Range, Username, ...)').option('-v, --value <value>', 'value with --scope')
  .option('-d, --duration <dur>', 'Go duration (default 4h)').option('-R, --reason <reason>', 'reason').option('-t, --type <type>', 'decision type (default ban)')
  .option('--json', 'JSON output')
  .action(async (o) => (o.lapi ? (await remote()).remoteDecisionsAdd(o) : (await store()).decisionsAdd(o)));
withFilters(decisions.command('delete').description('delete decisions (soft delete: bouncers see them as deleted)')
  .option('--id <id>', 'decision id').option('--all', 'every active decision'))
  .action(async (o) => (o.lapi ? (await remote()).remoteDecisionsDelete(o) : (await store()).decisionsDelete(o)));

const alerts = program.command('alerts').description('inspect alerts in the local store');
withFilters(alerts.command('list').description('list alerts (default limit 50)')).action(async (o) => (o.lapi ? (await remote()).remoteAlertsList(o) : (await store()).alertsList(o)));
withRemote(alerts.command('inspect').argument('<id>', 'alert id').option('--data-dir <dir>', 'state directory').option('--json', 'JSON output'))
  .action(async (id: string, o) => (o.lapi ? (await remote()).remoteAlertsInspect(id, o) : (await store()).alertsInspect(id, o)));
withFilters(alerts.command('delete').description('delete alerts and their decisions').option('--id <id>', 'alert id').option('--all', 'every alert'))
  .action(async (o) => (o.lapi ? (await remote()).remoteAlertsDelete(o) : (await store()).alertsDelete(o)));

program
  .command('lapi')
  .description('serve the Local API (CrowdSec-compatible) over the store in --data-dir')
  .option('--listen <addr>', 'host:port, [v6]:port or :port (default 127.0.0.1:8080)')
  .option('--data-dir <dir>', 'state directory holding the LMDB store')
  .option('--tls-cert <file>', 'server certificate (PEM)').option('--tls-key <file>', 'server key (PEM)')
  .option('--tls-ca <file>', 'CA of client certificates (enables certificate auth)')
  .option('--tls-agents-ou <list>', 'client-certificate OUs accepted as agents (default agent-ou)')
  .option('--tls-bouncers-ou <list>', 'client-certificate OUs accepted as bouncers (default bouncer-ou)')
  .option('--metrics-listen <addr>', 'serve Prometheus /metrics on this separate address')
  .option('--profiles <file>', 'profiles.yaml (default: the shipped one)')
  .option('--trusted-ips <list>', 'IPs/CIDRs allowed to delete alerts (loopback always is)')
  .option('--trusted-proxies <list>', 'proxies whose X-Forwarded-For is believed')
  .option('--use-forwarded-for', 'take the client IP from X-Forwarded-For / X-Real-IP of trusted proxies')
  .option('--body-limit <bytes>', 'max request body size (default 8 MiB)')
  .action(async (o) => (await lapi()).lapiCommand(o));

const bouncers = program.command('bouncers').description('manage bouncers (API keys) in the local store');
bouncers.command('add').argument('<name>', 'bouncer name').description('create a bouncer and print its API key once')
  .option('--data-dir <dir>', 'state directory').option('-k, --key <key>', 'use this key instead of a generated one').option('--json', 'print {"name","key"}')
  .action(async (name: string, o) => (await credentials()).bouncersAdd(name, o));
bouncers.command('list').description('list bouncers').option('--data-dir <dir>', 'state directory').option('--json', 'JSON output')
  .action(async (o) => (await credentials()).bouncersList(o));
bouncers.command('delete').argument('<names...>', 'bouncer names').description('delete bouncers').option('--data-dir <dir>', 'state directory').option('--json', 'JSON output')
  .action(async (names: string[], o) => (await credentials()).bouncersDelete(names, o));

const machines = program.command('machines').description('manage machines (agents) in the local store');
machines.command('add').argument('<name>', 'machine id').description('create a validated machine')
  .option('--data-dir <dir>', 'state directory').option('-p, --password <password>', 'its password').option('-a, --auto', 'generate a password and print it')
  .option('-f, --force', 'replace an existing machine').option('--json', 'JSON output')
  .action(async (name: string, o) => (await credentials()).machinesAdd(name, o));
machines.command('list').description('list machines').option('--data-dir <dir>', 'state directory').option('--json', 'JSON output')
  .action(async (o) => (await credentials()).machinesList(o));
machines.command('delete').argument('<names...>', 'machine ids').description('delete machines').option('--data-dir <dir>', 'state directory').option('--json', 'JSON output')
  .action(async (names: string[], o) => (await credentials()).machinesDelete(names, o));
machines.command('validate').argument('<name>', 'machine id').description('validate a registered machine').option('--data-dir <dir>', 'state directory').option('--json', 'JSON output')
  .action(async (name: string, o) => (await credentials()).machinesValidate(name, o));

program
  .command('run')
  .description('run the daemon: live acquisition + detection + Local API in one process')
  .option('--config <file>', 'YAML config (data_dir, config_dir, acquisition, api.listen, api.tls, ...); default: embedded defaults')
  .action(async (o) => (await run()).runCommand(o));

program
  .command('agent')
  .description('run a detection agent that pushes its alerts to a remote Local API')
  .option('--lapi <url>', 'Local API URL, e.g. http://10.0.0.1:8080')
  .option('--machine-id <id>', 'machine login (or PALISADE_MACHINE_ID)')
  .option('--password <password>', 'machine password (or PALISADE_PASSWORD)')
  .option('--config-dir <dir>', 'CrowdSec-style rules directory (default: the shipped rules)')
  .option('--acquis <file>', 'acquis.yaml (default: auth.log, syslog and nginx logs that exist)')
  .option('--data-dir <dir>', 'state directory (read positions)')
  .option('--geoip-dir <dir>', 'directory holding GeoLite2-City.mmdb / GeoLite2-ASN.mmdb')
  .action(async (o) => (await agent()).agentCommand(o));

const hub = program.command('hub').description('hub content tools');
hub
  .command('check')
  .description('load every parser, scenario and postoverflow of a hub tree and report failures')
  .argument('<hubdir>', 'hub directory (parsers/, scenarios/, postoverflows/)')
  .requiredOption('--patterns <dir>', 'grok pattern directory')
  .option('--data <dir>', 'data directory for data files')
  .option('--json', 'print one JSON object')
  .action(async (dir: string, o) => (await hubVerbs()).hubCheckCommand(dir, o));

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    if (e.exitCode === 0) process.exit(0); // --help, --version
    fail(new UsageError(e.message.replace(/^error: /, '')));
  }
  fail(e);
}
