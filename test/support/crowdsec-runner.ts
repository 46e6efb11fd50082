/**
 * Runs the reference crowdsec 1.4.6 binary (unpacked from the Debian .deb, see debian.ts) in
 * time-machine mode over one log file and returns its `-dump-data` output, so tests can compare
 * Palisade with the real thing line by line.
 *
 * Each run gets a throw-away config dir under os.tmpdir():
 *   config.yaml            own paths, LAPI on a free 127.0.0.1 port, SQLite DB in the dir,
 *                          no CAPI, no prometheus, logs to stdout
 *   local_api_credentials.yaml, profiles.yaml, simulation.yaml, acquis.yaml (empty)
 *   patterns -> patternsDir, parsers/<stage>/<file> -> the chosen hub files (symlinks, as cscli
 *   installs them), scenarios/<file>, postoverflows/<stage>/<file>
 *
 * Quirks of the 1.4.6 binary found while building this (all reproduced here):
 * - `-no-api` does not work for replay: when acquisition ends, the output routine still logs in
 *   to the LAPI (`authenticate watcher ... connection refused`), exits fatally with status 1 and
 *   writes no dump. So the LAPI runs in-process on a free loopback port and a machine is
 *   registered first with the package's cscli (`machines add --password`), as hubtest does.
 * - A missing acquis.yaml, local_api_credentials.yaml or hub `.index.json` is fatal even with
 *   `-dsn`; hub_dir therefore points at the package's hub snapshot (read only).
 * - With `-dsn` all logging goes to stderr (stdout stays empty); fatal lines are printed twice.
 * - The GeoIP enrichers fail to register (no mmdb shipped); logged as errors, harmless.
 * - The parser dump is written only at exit: a run killed on timeout has no dump.
 * - parser-dump.yaml: stage -> node name -> [{evt, success}] with one entry per line that
 *   reached the node, in processing order (one parser routine keeps file order). Node names are
 *   sorted in the YAML, not in load order; an extra top-level key `success: {"": []}` exists.
 *   Scalars are dumped with YAML 1.1 quoting rules, so the dumps are read with the failsafe
 *   schema (every scalar a string, `success: "true"` included) to keep values such as `0o17`
 *   or `on` exactly as logged. bucket-dump.yaml holds overflow events (`Overflow.Alert` with
 *   lower-case JSON field names); bucketpour-dump.yaml maps `OK` and each scenario to events.
 * - Year-less dates get the year of the run (replayed alerts are therefore usually expired).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

/** A dumped Event: Go field names (`Line.Raw`, `Parsed`, `Meta`...), every scalar a string. */
export interface DumpEvent {
  Stage?: string;
  Whitelisted?: string;
  WhitelistReason?: string;
  Line?: { Raw?: string; Src?: string; Module?: string; Labels?: Record<string, string> };
  Parsed?: Record<string, string>;
  Meta?: Record<string, string>;
  Enriched?: Record<string, string>;
  StrTime?: string;
  MarshaledTime?: string;
  Process?: string;
  [k: string]: unknown;
}
export interface DumpEntry {
  evt: DumpEvent;
  success: boolean;
}
/** stage -> node name -> entries, one per line that reached the node, in processing order. */
export type ParserDump = Record<string, Record<string, DumpEntry[]>>;

export interface CrowdsecReplayOptions {
  logFile: string;
  /** `labels.type` of the acquisition (`-type`). */
  type: string;
  /** Parser files as `<stage>/<file>` relative to `<hubDir>/parsers` (e.g.
   *  `s01-parse/crowdsecurity/sshd-logs.yaml`), or absolute paths `.../<stage>/<file>`. */
  parsers: string[];
  /** Scenario files, relative to `<hubDir>/scenarios` or absolute. */
  scenarios?: string[];
  /** Postoverflow files as `<stage>/<file>` relative to `<hubDir>/postoverflows`, or absolute. */
  postoverflows?: string[];
  patternsDir: string;
  dataDir: string;
  timeoutMs: number;
  /** The Debian tree's binary (debianReference().crowdsecBin); cscli must sit beside it. */
  crowdsecBin: string;
  /** The hub snapshot (debianReference().hub): relative rule paths and hub_dir point there. */
  hubDir: string;
  /** Keep the temporary config dir (for debugging); its path is returned. */
  keepConfigDir?: boolean;
}

export interface CrowdsecReplayResult {
  parserDump: ParserDump;
  /** bucket-dump.yaml: overflow events (empty without scenarios). */
  bucketDump: DumpEvent[];
  /** bucketpour-dump.yaml: bucket name -> events poured (`OK` = every event sent to buckets). */
  bucketPourDump: Record<string, DumpEvent[]>;
  /** Top-level parser node names per stage, in CrowdSec's load order (sorted stage names). */
  nodeOrder: { stage: string; nodes: string[] }[];
  stdout: string;
  stderr: string;
  /** Wall clock at start and end of the crowdsec run (yearless dates take the run's year; a
   *  date nothing can parse becomes "now"). */
  startedAt: Date;
  finishedAt: Date;
  configDir: string;
}

/** Thrown for a failed run; carries the output so a test can print the reason. */
export class CrowdsecRunError extends Error {
  constructor(
    message: string,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`${message}\n--- crowdsec stderr (tail) ---\n${stderr.split('\n').slice(-15).join('\n')}`);
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** `<stage>/<file>` of a rule path given relative to `base` or absolute (stage = parent dir). */
function stageAndFile(p: string, base: string): { abs: string; stage: string; file: string } {
  const abs = isAbsolute(p) ? p : join(base, p);
  if (!existsSync(abs)) throw new Error(`crowdsec-runner: rule file not found: ${abs}`);
  const rel = isAbsolute(p) ? null : p.split('/');
  // Hub paths are <stage>/<author>/<file>; CrowdSec only cares about the stage directory.
  const stage = rel ? rel[0] : basename(dirname(dirname(abs))).match(/^s\d\d-/) ? basename(dirname(dirname(abs))) : basename(dirname(abs));
  return { abs, stage, file: basename(abs) };
}

/** Names of the top-level nodes of one parser file, in document order (unnamed docs skipped,
 *  as CrowdSec skips documents without name/description/author). */
function nodeNames(file: string): string[] {
  const names: string[] = [];
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const v: unknown = doc.toJS();
    if (v && typeof v === 'object' && typeof (v as { name?: unknown }).name === 'string') names.push((v as { name: string }).name);
  }
  return names;
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, cwd: string): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((res) => {
    const child = spawn(bin, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    // The 1.4.6 binary sometimes hangs at exit on big replays: kill it hard.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      res({ code: null, signal: null, stdout: '', stderr: String(e), timedOut: false });
    });
  });
}

function execOk(bin: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<void> {
  return new Promise((res, rej) => {
    execFile(bin, args, { env, timeout: timeoutMs }, (e, stdout, stderr) => {
      if (e) rej(new CrowdsecRunError(`${basename(bin)} ${args.join(' ')} failed: ${e.message}`, String(stdout), String(stderr)));
      else res();
    });
  });
}

function readDump(file: string): unknown {
  if (!existsSync(file)) return null;
  // The dumps are large and have no anchors worth guarding against; failsafe keeps every
  // scalar a string (see the header).
  return parseYaml(readFileSync(file, 'utf8'), { schema: 'failsafe', maxAliasCount: -1, prettyErrors: false });
}

function normaliseParserDump(raw: unknown, stages: Set<string>): ParserDump {
  const out: ParserDump = {};
  if (!raw || typeof raw !== 'object') return out;
  for (const [stage, nodes] of Object.entries(raw as Record<string, unknown>)) {
    if (!stages.has(stage) || !nodes || typeof nodes !== 'object') continue; // skips `success`
    out[stage] = {};
    for (const [node, list] of Object.entries(nodes as Record<string, unknown>)) {
      out[stage][node] = (Array.isArray(list) ? list : []).map((e: { evt?: DumpEvent; success?: string }) => ({
        evt: e.evt ?? {},
        success: e.success === 'true',
      }));
    }
  }
  return out;
}

/** config.yaml and the LAPI credentials for one run (port changes on a retry). */
function writeConfig(cfg: string, port: number, opts: CrowdsecReplayOptions): void {
  const hub = resolve(opts.hubDir);
  writeFileSync(
    join(cfg, 'config.yaml'),
    [
      'common:',
      '  daemonize: false',
      '  log_media: stdout',
      '  log_level: info',
      `  working_dir: ${cfg}`,
      'config_paths:',
      `  config_dir: ${cfg}/`,
      `  data_dir: ${resolve(opts.dataDir)}/`,
      `  simulation_path: ${cfg}/simulation.yaml`,
      `  hub_dir: ${hub}/`,
      `  index_path: ${hub}/.index.json`,
      `  notification_dir: ${cfg}/notifications/`,
      `  plugin_dir: ${cfg}/plugins/`,
      'crowdsec_service:',
      `  acquisition_path: ${cfg}/acquis.yaml`,
      // One routine keeps the dump lists in file order.
      '  parser_routines: 1',
      '  buckets_routines: 1',
      '  output_routines: 1',
      'db_config:',
      '  type: sqlite',
      `  db_path: ${cfg}/crowdsec.db`,
      '  use_wal: false',
      'api:',
      '  client:',
      `    credentials_path: ${cfg}/local_api_credentials.yaml`,
      '  server:',
      '    log_level: warning',
      `    listen_uri: 127.0.0.1:${port}`,
      `    profiles_path: ${cfg}/profiles.yaml`,
      '    trusted_ips: [127.0.0.1, "::1"]',
      'prometheus:',
      '  enabled: false',
      '',
    ].join('\n'),
  );
  writeFileSync(join(cfg, 'local_api_credentials.yaml'), `url: http://127.0.0.1:${port}\nlogin: testMachine\npassword: testPassword\n`);
}

export async function runCrowdsecReplay(opts: CrowdsecReplayOptions): Promise<CrowdsecReplayResult> {
  const cfg = mkdtempSync(join(tmpdir(), 'palisade-crowdsec-'));
  const cscli = join(dirname(opts.crowdsecBin), 'cscli');
  const dumpDir = join(cfg, 'dump');
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cfg, TZ: 'UTC', LANG: 'C' };
  try {
    for (const d of ['parsers', 'scenarios', 'postoverflows', 'dump', 'notifications', 'plugins']) mkdirSync(join(cfg, d));
    symlinkSync(resolve(opts.patternsDir), join(cfg, 'patterns'));

    const stageNodes = new Map<string, { path: string; names: string[] }[]>();
    for (const p of opts.parsers) {
      const { abs, stage, file } = stageAndFile(p, join(opts.hubDir, 'parsers'));
      mkdirSync(join(cfg, 'parsers', stage), { recursive: true });
      const link = join(cfg, 'parsers', stage, file);
      // cscli installs items flat per stage, so two authors' files with one name collide there too.
      if (existsSync(link)) throw new Error(`crowdsec-runner: two parser files named ${stage}/${file}`);
      symlinkSync(abs, link);
      const list = stageNodes.get(stage) ?? [];
      list.push({ path: link, names: nodeNames(abs) });
      stageNodes.set(stage, list);
    }
    for (const p of opts.scenarios ?? []) {
      const abs = isAbsolute(p) ? p : join(opts.hubDir, 'scenarios', p);
      symlinkSync(abs, join(cfg, 'scenarios', basename(abs)));
    }
    for (const p of opts.postoverflows ?? []) {
      const { abs, stage, file } = stageAndFile(p, join(opts.hubDir, 'postoverflows'));
      mkdirSync(join(cfg, 'postoverflows', stage), { recursive: true });
      symlinkSync(abs, join(cfg, 'postoverflows', stage, file));
    }
    // CrowdSec loads files sorted by full path and orders stages by name (spec §2.1).
    const nodeOrder = [...stageNodes.keys()].sort().map((stage) => ({
      stage,
      nodes: stageNodes
        .get(stage)!
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
        .flatMap((f) => f.names),
    }));

    writeFileSync(join(cfg, 'acquis.yaml'), '');
    writeFileSync(join(cfg, 'simulation.yaml'), 'simulation: off\n');
    writeFileSync(
      join(cfg, 'profiles.yaml'),
      'name: default_ip_remediation\nfilters:\n - Alert.Remediation == true && Alert.GetScope() == "Ip"\ndecisions:\n - type: ban\n   duration: 4h\non_success: break\n',
    );
    const cfgFile = join(cfg, 'config.yaml');
    const logFile = resolve(opts.logFile);
    let r: Awaited<ReturnType<typeof run>>;
    let startedAt: Date;
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      writeConfig(cfg, port, opts);
      if (attempt === 1) {
        await execOk(cscli, ['-c', cfgFile, 'machines', 'add', 'testMachine', '--password', 'testPassword', '-f', join(cfg, 'local_api_credentials.yaml'), '--force'], env, Math.min(opts.timeoutMs, 60_000));
      }
      rmSync(dumpDir, { recursive: true, force: true });
      mkdirSync(dumpDir);
      startedAt = new Date();
      r = await run(opts.crowdsecBin, ['-c', cfgFile, '-dsn', `file://${logFile}`, '-type', opts.type, '-dump-data', dumpDir], env, opts.timeoutMs, cfg);
      // Another process may take the probed port before the LAPI binds it: try another one.
      if (r.code !== 0 && !r.timedOut && attempt < 3 && /address already in use/.test(r.stderr)) continue;
      break;
    }
    const finishedAt = new Date();
    if (r.timedOut) throw new CrowdsecRunError(`crowdsec replay of ${logFile} timed out after ${opts.timeoutMs} ms (killed)`, r.stdout, r.stderr);
    if (r.code !== 0) throw new CrowdsecRunError(`crowdsec replay of ${logFile} exited with ${r.code ?? r.signal}`, r.stdout, r.stderr);
    const parserRaw = readDump(join(dumpDir, 'parser-dump.yaml'));
    if (parserRaw === null) throw new CrowdsecRunError(`crowdsec wrote no parser-dump.yaml in ${dumpDir}`, r.stdout, r.stderr);
    const bucketRaw = readDump(join(dumpDir, 'bucket-dump.yaml'));
    const pourRaw = readDump(join(dumpDir, 'bucketpour-dump.yaml'));
    return {
      parserDump: normaliseParserDump(parserRaw, new Set(nodeOrder.map((s) => s.stage))),
      bucketDump: Array.isArray(bucketRaw) ? (bucketRaw as DumpEvent[]) : [],
      bucketPourDump: pourRaw && typeof pourRaw === 'object' ? (pourRaw as Record<string, DumpEvent[]>) : {},
      nodeOrder,
      stdout: r.stdout,
      stderr: r.stderr,
      startedAt,
      finishedAt,
      configDir: cfg,
    };
  } finally {
    if (!opts.keepConfigDir) rmSync(cfg, { recursive: true, force: true });
  }
}

/** What CrowdSec did with one input line, recovered from the parser dump. */
export interface ReplayLine {
  raw: string;
  /** Passed every stage (whitelisted lines included: they are parsed, then dropped). */
  success: boolean;
  whitelisted: boolean;
  /** First stage no node accepted, for failed lines. */
  failedStage?: string;
  /** The event after the last node that processed the line (null if it reached no node). */
  final: DumpEvent | null;
}

/**
 * The log lines as CrowdSec's file source in cat mode reads them: split on `\n`, a trailing
 * `\r` removed, empty lines skipped (spec §1.1).
 */
export function readLogLines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
    .filter((l) => l !== '');
}

/**
 * Per input line: did it pass all stages, and its final event. Each node's list holds one entry
 * per line that reached it, in order, so the k-th occurrence of a raw line in the file is the
 * k-th entry with that raw text in every list (identical lines parse identically). The final
 * event is the entry of the last node, in load order, that saw the line in the last stage it
 * reached; success means some node of the last stage accepted it.
 */
export function replayLines(result: Pick<CrowdsecReplayResult, 'parserDump' | 'nodeOrder'>, lines: string[]): ReplayLine[] {
  // key = raw + NUL + occurrence -> stage index -> node index -> entry
  const seen = new Map<string, Map<number, Map<number, DumpEntry>>>();
  result.nodeOrder.forEach(({ stage, nodes }, si) => {
    nodes.forEach((node, ni) => {
      const entries = result.parserDump[stage]?.[node] ?? [];
      const occ = new Map<string, number>();
      for (const e of entries) {
        const raw = e.evt.Line?.Raw ?? '';
        const k = occ.get(raw) ?? 0;
        occ.set(raw, k + 1);
        const key = `${raw}\0${k}`;
        let byStage = seen.get(key);
        if (!byStage) seen.set(key, (byStage = new Map()));
        let byNode = byStage.get(si);
        if (!byNode) byStage.set(si, (byNode = new Map()));
        byNode.set(ni, e);
      }
    });
  });
  const lastStage = result.nodeOrder.length - 1;
  const occ = new Map<string, number>();
  return lines.map((raw) => {
    const k = occ.get(raw) ?? 0;
    occ.set(raw, k + 1);
    const byStage = seen.get(`${raw}\0${k}`);
    if (!byStage || byStage.size === 0) return { raw, success: false, whitelisted: false, failedStage: result.nodeOrder[0]?.stage, final: null };
    const reached = Math.max(...byStage.keys());
    const byNode = byStage.get(reached)!;
    const final = byNode.get(Math.max(...byNode.keys()))!.evt;
    const accepted = [...byNode.values()].some((e) => e.success);
    const success = reached === lastStage && accepted;
    return {
      raw,
      success,
      whitelisted: final.Whitelisted === 'true',
      // A stage that accepted a line without promoting it still drops it there.
      ...(success ? {} : { failedStage: result.nodeOrder[reached]?.stage }),
      final,
    };
  });
}
