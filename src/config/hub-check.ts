/**
 * `palisade hub check`: load every parser, scenario and postoverflow of a hub tree as if all
 * were installed together (pattern_syntax is shared, first definition wins) and report loaded
 * versus failed, with the reason for each failure. Shape: design.md §3.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { PatternLibrary } from '../grok/library.js';
import { LoadError } from '../core/errors.js';
import { DataFiles } from './data-files.js';
import { listStagedFiles, listYamlFiles, loadParserFiles, type LoadFailure } from './rules-dir.js';
import { loadScenarioFiles, loadHubIndex } from './scenario.js';

export interface HubCheckReport {
  parsers: { loaded: number; failed: number };
  scenarios: { loaded: number; failed: number };
  postoverflows: { loaded: number; failed: number };
  failures: LoadFailure[];
}

export interface HubCheckOptions {
  patternsDir: string;
  dataDir?: string;
  warn?: (m: string) => void;
}

export function checkHub(hubDir: string, opts: HubCheckOptions): HubCheckReport {
  if (!existsSync(hubDir)) throw new LoadError('IO', 'hub directory not found', { file: hubDir });
  const warn = opts.warn ?? (() => {});
  const failures: LoadFailure[] = [];
  const patterns = PatternLibrary.withBuiltins();
  try {
    patterns.loadDir(opts.patternsDir);
  } catch (e) {
    failures.push({ kind: 'patterns', file: opts.patternsDir, name: 'patterns', error: (e as Error).message });
  }
  const data = new DataFiles(opts.dataDir ?? null, warn);
  const helpers = { data, warn };
  const lo = { strict: false, patterns, data, helpers };
  const parsers = loadParserFiles(listStagedFiles(join(hubDir, 'parsers')), lo, 'parser');
  const post = loadParserFiles(listStagedFiles(join(hubDir, 'postoverflows')), lo, 'postoverflow');
  const indexPath = join(hubDir, '.index.json');
  const hubIndex = existsSync(indexPath) ? loadHubIndex(indexPath) : null;
  const scen = loadScenarioFiles(listYamlFiles(join(hubDir, 'scenarios')), { data, helpers, hubIndex });
  failures.push(...parsers.failures, ...post.failures);
  for (const f of scen.failures) failures.push({ kind: 'scenario', file: f.file, name: f.name, error: f.error.message });
  return {
    parsers: { loaded: parsers.loaded.length, failed: parsers.failures.length },
    scenarios: { loaded: scen.scenarios.length, failed: scen.failures.length },
    postoverflows: { loaded: post.loaded.length, failed: post.failures.length },
    failures,
  };
}
