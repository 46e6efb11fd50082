/**
 * The YAML documents of a rules directory, parsed once for a whole pool: the main thread of a
 * pooled replay packs the documents of every file a parse worker's DetectionEngine.create
 * parses (parsers, postoverflows, scenarios, simulation.yaml) and hands them over in
 * workerData (yaml-source.ts packDocs/preloadYamlDocs), so no worker parses YAML or loads
 * the `yaml` package. Files its own load parsed already (DetectionEngine.create with role
 * 'pour' records them) are not parsed again.
 *
 * A worker uses a packed document only for the text it reads from the file itself, and a
 * file that cannot be packed (unreadable, a YAML error, a `__proto__` key) is left out: the
 * worker then reads and parses it as it would without a pack, so errors are reported by the
 * same code, with the same file and position.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listStagedFiles, listYamlFiles } from './rules-dir.js';
import { packDocs, parseYamlDocs, type PackedYamlFile } from './yaml-source.js';

/** Every YAML file a full load of `dir` parses (DetectionEngine.create), in load order. */
export function ruleYamlFiles(dir: string): string[] {
  const files = [
    ...listStagedFiles(join(dir, 'parsers')).map((f) => f.file),
    ...listStagedFiles(join(dir, 'postoverflows')).map((f) => f.file),
    ...listYamlFiles(join(dir, 'scenarios')),
  ];
  const sim = join(dir, 'simulation.yaml');
  if (existsSync(sim)) files.push(sim);
  return files;
}

/** Documents recorded by the last load of each rules directory in this isolate (rememberRuleDocs). */
const remembered = new Map<string, Map<string, PackedYamlFile>>();

/** Keeps the documents a load of `dir` parsed (yaml-source.ts takeRecordedDocs) for packRuleDocs; replaces older ones. */
export function rememberRuleDocs(dir: string, docs: Map<string, PackedYamlFile>): void {
  remembered.clear();
  remembered.set(dir, docs);
}

/**
 * The packed documents of every YAML file of `dir` a worker's load parses: those remembered
 * from this thread's load when the file still has the same text, the others parsed now.
 * Never throws: a file that cannot be packed is left out (see the module comment).
 */
export function packRuleDocs(dir: string): PackedYamlFile[] {
  const known = remembered.get(dir);
  remembered.clear();
  const out: PackedYamlFile[] = [];
  let files: string[];
  try {
    files = ruleYamlFiles(dir);
  } catch {
    return out;
  }
  for (const file of files) {
    try {
      const text = readFileSync(file, 'utf8');
      const rec = known?.get(file);
      const packed = rec !== undefined && rec.text === text ? rec : packDocs(file, text, parseYamlDocs(text, file));
      if (packed !== null) out.push(packed);
    } catch {
      // Unreadable or invalid: the worker meets the same error and reports it as usual.
    }
  }
  return out;
}
