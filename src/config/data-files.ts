/**
 * Data files named by rules (`data: [{source_url, dest_file, type}]`, spec §2.10). The engine
 * only reads `<dataDir>/<dest_file>`; cscli's download step is not ours. `#` lines and blank
 * lines are skipped; loading a file twice appends twice, as CrowdSec does.
 */
import { readFileSync } from 'node:fs';
import { join, isAbsolute } from 'node:path';
import type { DataFileStore } from '../expr/index.js';
import { compileRe2 } from '../grok/re2.js';
import { LoadError, type Where } from '../core/errors.js';

export interface DataEntry { source_url?: string; dest_file?: string; type?: string }

export class DataFiles implements DataFileStore {
  private readonly lists = new Map<string, string[]>();
  private readonly regs = new Map<string, RegExp[]>();
  readonly missing: string[] = [];

  constructor(readonly dataDir: string | null, private readonly warn: (m: string) => void = () => {}) {}

  strings(name: string): readonly string[] | undefined {
    return this.lists.get(name);
  }

  regexps(name: string): readonly RegExp[] | undefined {
    return this.regs.get(name);
  }

  /** Loads one `data:` entry. A missing file is logged (CrowdSec goes on); a bad regex line is a load error. */
  load(entry: DataEntry, where: Where): void {
    const dest = entry.dest_file;
    if (!dest) throw new LoadError('DATA_FILE', 'data entry without dest_file', where);
    const type = entry.type ?? 'string';
    if (!['string', 'regexp', 'regex'].includes(type)) {
      throw new LoadError('DATA_FILE', `data file ${dest}: unknown type '${type}' (string, regexp or regex)`, where);
    }
    const path = isAbsolute(dest) || !this.dataDir ? dest : join(this.dataDir, dest);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      this.missing.push(dest);
      this.warn(`data file ${path} not found (needed by ${where.item ?? where.file ?? 'a rule'})`);
      return;
    }
    const lines = text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== '' && !l.startsWith('#'));
    if (type === 'string') {
      const list = this.lists.get(dest) ?? [];
      list.push(...lines);
      this.lists.set(dest, list);
    } else {
      const list = this.regs.get(dest) ?? [];
      lines.forEach((l, i) => {
        try {
          list.push(compileRe2(l));
        } catch (e) {
          throw new LoadError('REGEX_COMPILE', `data file ${dest} line ${i + 1}: ${(e as Error).message}`, where);
        }
      });
      this.regs.set(dest, list);
    }
  }
}
