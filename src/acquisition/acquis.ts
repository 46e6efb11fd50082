/**
 * acquis.yaml (spec §1.1): multi-document YAML, one data source per document, decoded
 * strictly (an unknown key is an error naming file:line). Supported sources: `file`,
 * `journalctl`, `syslog`. `source` may be omitted when `filename(s)` or `journalctl_filter`
 * says which; a document with neither labels nor source is skipped, as CrowdSec does.
 */
import { LoadError, type Where } from '../core/errors.js';
import { keyPosOf, parseYamlDocs, posOf, readYamlDocs, whereAt } from '../config/yaml-source.js';

interface Common {
  name: string;
  labels: Map<string, string>;
  mode: 'tail' | 'cat';
  where: Where;
}
export interface FileAcquisition extends Common { source: 'file'; filenames: string[]; exclude: RegExp[]; forceInotify: boolean }
export interface JournalctlAcquisition extends Common { source: 'journalctl'; filters: string[] }
export interface SyslogAcquisition extends Common {
  source: 'syslog';
  listenAddr: string;
  listenPort: number;
  maxMessageLength: number;
  protocols: ('udp' | 'tcp')[];
}
export type AcquisitionSpec = FileAcquisition | JournalctlAcquisition | SyslogAcquisition;

const COMMON_KEYS = ['source', 'labels', 'mode', 'name', 'log_level', 'use_time_machine'];
const KEYS: Record<string, string[]> = {
  file: ['filename', 'filenames', 'exclude_regexps', 'force_inotify'],
  journalctl: ['journalctl_filter'],
  syslog: ['listen_addr', 'listen_port', 'max_message_len', 'protocols'],
};
/** CrowdSec sources Palisade does not implement: named so the error says so instead of "unknown". */
const NOT_IMPLEMENTED = new Set(['docker', 'cloudwatch', 'kinesis', 'kafka', 'wineventlog', 'k8s-audit', 's3', 'http', 'loki']);

export function loadAcquisFile(file: string): AcquisitionSpec[] {
  return acquisFromDocs(readYamlDocs(file).map((d) => ({ value: d.value, index: d.index })), file);
}

export function parseAcquisText(text: string, file = '<acquis>'): AcquisitionSpec[] {
  return acquisFromDocs(parseYamlDocs(text, file).map((d) => ({ value: d.value, index: d.index })), file);
}

/** Documents already read (from acquis.yaml, or an inline list in a `palisade run` config). */
export function acquisFromDocs(docs: { value: unknown; index: number }[], file: string): AcquisitionSpec[] {
  const out: AcquisitionSpec[] = [];
  for (const d of docs) {
    const spec = parseOne(d.value, file, d.index);
    if (spec) out.push(spec);
  }
  return out;
}

function parseOne(doc: unknown, file: string, index: number): AcquisitionSpec | null {
  const path = `document ${index + 1}`;
  const at = (key?: string): Where => whereAt(file, key ? keyPosOf(doc, key) : posOf(doc), { path: key ? `${path}.${key}` : path });
  const fail = (msg: string, key?: string): never => { throw new LoadError('SCHEMA', msg, at(key)); };
  if (doc === null || doc === undefined) return null;
  if (typeof doc !== 'object' || Array.isArray(doc)) fail('an acquisition document must be a map');
  const m = doc as Record<string, unknown>;
  let source = m.source;
  if (source === undefined) {
    if (m.filename !== undefined || m.filenames !== undefined) source = 'file';
    else if (m.journalctl_filter !== undefined) source = 'journalctl';
    else if (m.labels === undefined) return null;
    else fail('labels given but no source (file, journalctl or syslog) and none can be guessed');
  }
  if (typeof source !== 'string') return fail('source must be a string', 'source');
  if (NOT_IMPLEMENTED.has(source)) fail(`source '${source}' is not supported by palisade (supported: file, journalctl, syslog)`, 'source');
  const allowed = KEYS[source];
  if (!allowed) return fail(`unknown source '${source}' (supported: file, journalctl, syslog)`, 'source');
  for (const k of Object.keys(m)) {
    if (!COMMON_KEYS.includes(k) && !allowed.includes(k)) throw new LoadError('UNKNOWN_KEY', `unknown key '${k}' for source ${source}`, at(k));
  }
  const labels = new Map<string, string>();
  if (m.labels === undefined || m.labels === null) fail('labels are mandatory (labels.type selects the parsers)');
  if (typeof m.labels !== 'object' || Array.isArray(m.labels)) fail('labels must be a map', 'labels');
  for (const [k, v] of Object.entries(m.labels as Record<string, unknown>)) {
    if (v === null || typeof v === 'object') fail(`label '${k}' must be a scalar`, 'labels');
    labels.set(k, String(v));
  }
  if (!labels.get('type')) fail('labels.type is mandatory (e.g. syslog, nginx)', 'labels');
  const mode = m.mode ?? 'tail';
  if (mode !== 'tail' && mode !== 'cat') fail(`mode must be tail or cat, not '${String(mode)}'`, 'mode');
  const common = { labels, mode: mode as 'tail' | 'cat', where: at() };
  const str = (key: string): string | undefined => {
    const v = m[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') fail(`${key} must be a non-empty string`, key);
    return v as string;
  };
  const strList = (key: string): string[] => {
    const v = m[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) fail(`${key} must be a list of non-empty strings`, key);
    return v as string[];
  };
  switch (source) {
    case 'file': {
      const filenames = [...(str('filename') !== undefined ? [str('filename')!] : []), ...strList('filenames')];
      if (filenames.length === 0) fail('file source needs filename or filenames');
      const exclude = strList('exclude_regexps').map((r) => {
        try {
          return new RegExp(r);
        } catch (e) {
          return fail(`exclude_regexps: ${(e as Error).message}`, 'exclude_regexps');
        }
      });
      return { source, name: str('name') ?? `file:${filenames.join(',')}`, ...common, filenames, exclude, forceInotify: m.force_inotify === true };
    }
    case 'journalctl': {
      const filters = strList('journalctl_filter');
      if (filters.length === 0) fail('journalctl source needs journalctl_filter (e.g. [_SYSTEMD_UNIT=ssh.service])');
      // Filters go to journalctl as argv, never through a shell; an option-looking filter is refused
      // so a config cannot smuggle flags such as --file or --directory in.
      for (const f of filters) if (f.startsWith('-')) fail(`journalctl_filter entry '${f}' must be a match (FIELD=value), not an option`, 'journalctl_filter');
      return { source, name: str('name') ?? `journalctl:${filters.join(' ')}`, ...common, filters };
    }
    default: {
      const port = m.listen_port ?? 514;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) fail('listen_port must be a port number (0-65535)', 'listen_port');
      const max = m.max_message_len ?? 2048;
      if (typeof max !== 'number' || !Number.isInteger(max) || max <= 0) fail('max_message_len must be a positive integer', 'max_message_len');
      const protocols = m.protocols === undefined ? ['udp', 'tcp'] : strList('protocols');
      for (const p of protocols) if (p !== 'udp' && p !== 'tcp') fail(`protocols: '${p}' is neither udp nor tcp`, 'protocols');
      const listenAddr = str('listen_addr') ?? '127.0.0.1';
      return { source: 'syslog', name: str('name') ?? `syslog:${listenAddr}:${String(port)}`, ...common, listenAddr, listenPort: port as number, maxMessageLength: max as number, protocols: protocols as ('udp' | 'tcp')[] };
    }
  }
}

/**
 * What `palisade run` / `palisade agent` read with no acquisition configured: Debian's
 * defaults (spec §0.1) restricted to what exists on this host — /var/log/auth.log and
 * /var/log/syslog as syslog, /var/log/nginx/*.log as nginx.
 */
export function defaultAcquisition(exists: (p: string) => boolean): AcquisitionSpec[] {
  const out: AcquisitionSpec[] = [];
  const where = { file: '<built-in defaults>' };
  const syslogFiles = ['/var/log/auth.log', '/var/log/syslog'].filter(exists);
  if (syslogFiles.length > 0) out.push({ source: 'file', name: 'system logs', labels: new Map([['type', 'syslog']]), mode: 'tail', where, filenames: syslogFiles, exclude: [], forceInotify: false });
  if (exists('/var/log/nginx')) out.push({ source: 'file', name: 'nginx logs', labels: new Map([['type', 'nginx']]), mode: 'tail', where, filenames: ['/var/log/nginx/*.log'], exclude: [], forceInotify: false });
  return out;
}
