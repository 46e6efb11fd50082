/** `palisade explain`: per-line parser trace, as JSON lines or a readable tree like `cscli explain`. */
import { resolve } from 'node:path';
import { createExplainer, type ExplainLine } from '../parse/explain.js';
import { openSource, readLines } from '../acquisition/lines.js';
import { UsageError } from './errors.js';
import { isTTY, mark } from './tty.js';

export interface ExplainCliOptions {
  type?: string;
  line?: string;
  file?: string;
  configDir?: string;
  json?: boolean;
  geoipDir?: string;
}

export function renderExplain(r: ExplainLine, tty: boolean): string {
  const out: string[] = [`line: ${r.line.length > 300 ? r.line.slice(0, 300) + '…' : r.line}`];
  let stage = '';
  for (const p of r.parsers) {
    if (p.stage !== stage) {
      stage = p.stage;
      out.push(`  ├ ${stage}`);
    }
    out.push(`  │   ${mark(p.success, tty)} ${p.name}`);
  }
  out.push(`  ├── parser ${r.success ? 'success' : 'failure'}${r.whitelisted ? ' (whitelisted)' : ''} ${mark(r.success, tty)}`);
  if (r.error) out.push(`  ├── error: ${r.error}`);
  if (r.success) {
    const meta = Object.entries(r.meta).map(([k, v]) => `${k}=${v}`).join(' ');
    out.push(`  ├ meta: ${meta}`);
    out.push(`  └ scenarios: ${r.scenarios.length ? r.scenarios.join(', ') : '(none)'}`);
  }
  return out.join('\n');
}

export async function explainCommand(o: ExplainCliOptions): Promise<void> {
  if (!o.type) throw new UsageError('explain needs --type T');
  if ((o.line === undefined) === (o.file === undefined)) throw new UsageError('explain needs exactly one of --line L or --file F');
  const src = o.file ? (o.file === '-' ? 'stdin' : resolve(o.file)) : 'explain';
  const ex = await createExplainer({ type: o.type, configDir: o.configDir, src, geoipDir: o.geoipDir ?? undefined });
  const tty = isTTY();
  const emit = (r: ExplainLine): void => {
    process.stdout.write(o.json ? JSON.stringify(r) + '\n' : renderExplain(r, tty) + '\n\n');
  };
  if (o.line !== undefined) {
    emit(ex.explain(o.line));
    return;
  }
  for await (const line of readLines(openSource(o.file!))) emit(ex.explain(line));
}
