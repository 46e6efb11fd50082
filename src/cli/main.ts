/**
 * The `palisade` command line (design.md §3). Each command lives in its own module; this file
 * only declares the surface and maps errors to exit codes.
 */
import { Command, CommanderError } from 'commander';
import { enableRegexpBacktrackGuard } from '../grok/regexp-guard.js';
import { explainCommand } from './explain.js';
import { hubCheckCommand } from './hub.js';
import { replayCommand } from './replay.js';
import { alertsDelete, alertsInspect, alertsList, decisionsAdd, decisionsDelete, decisionsList } from './store-commands.js';
import { fail, UsageError } from './errors.js';

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
  .action(async (o) => explainCommand(o));

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
  .action(async (files: string[], o) => replayCommand(files, o));

/** Filters shared by the list/delete verbs (cscli's names). */
function withFilters(c: Command): Command {
  return c
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

const decisions = program.command('decisions').description('manage decisions in the local store');
withFilters(decisions.command('list').description('list active decisions').option('-a, --all', 'include expired and deleted decisions'))
  .action(async (o) => decisionsList(o));
decisions.command('add').description('add a manual decision')
  .option('--data-dir <dir>', 'state directory holding the LMDB store')
  .option('-i, --ip <ip>', 'IP to act on').option('-r, --range <cidr>', 'range to act on')
  .option('--scope <scope>', 'scope with --value (Ip, Range, Username, ...)').option('-v, --value <value>', 'value with --scope')
  .option('-d, --duration <dur>', 'Go duration (default 4h)').option('-R, --reason <reason>', 'reason').option('-t, --type <type>', 'decision type (default ban)')
  .option('--json', 'JSON output')
  .action(async (o) => decisionsAdd(o));
withFilters(decisions.command('delete').description('delete decisions (soft delete: bouncers see them as deleted)')
  .option('--id <id>', 'decision id').option('--all', 'every active decision'))
  .action(async (o) => decisionsDelete(o));

const alerts = program.command('alerts').description('inspect alerts in the local store');
withFilters(alerts.command('list').description('list alerts (default limit 50)')).action(async (o) => alertsList(o));
alerts.command('inspect').argument('<id>', 'alert id').option('--data-dir <dir>', 'state directory').option('--json', 'JSON output')
  .action(async (id: string, o) => alertsInspect(id, o));
withFilters(alerts.command('delete').description('delete alerts and their decisions').option('--id <id>', 'alert id').option('--all', 'every alert'))
  .action(async (o) => alertsDelete(o));

const hub = program.command('hub').description('hub content tools');
hub
  .command('check')
  .description('load every parser, scenario and postoverflow of a hub tree and report failures')
  .argument('<hubdir>', 'hub directory (parsers/, scenarios/, postoverflows/)')
  .requiredOption('--patterns <dir>', 'grok pattern directory')
  .option('--data <dir>', 'data directory for data files')
  .option('--json', 'print one JSON object')
  .action(async (dir: string, o) => hubCheckCommand(dir, o));

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    if (e.exitCode === 0) process.exit(0); // --help, --version
    fail(new UsageError(e.message.replace(/^error: /, '')));
  }
  fail(e);
}
