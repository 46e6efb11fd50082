/**
 * The `palisade` command line (design.md §3). Each command lives in its own module; this file
 * only declares the surface and maps errors to exit codes.
 */
import { Command, CommanderError } from 'commander';
import { enableRegexpBacktrackGuard } from '../grok/regexp-guard.js';
import { explainCommand } from './explain.js';
import { hubCheckCommand } from './hub.js';
import { fail, UsageError } from './errors.js';

enableRegexpBacktrackGuard();

const program = new Command();
program
  .name('palisade')
  .description('Collaborative intrusion prevention, compatible with CrowdSec hub rules and Local API')
  .version('0.1.0')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

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
