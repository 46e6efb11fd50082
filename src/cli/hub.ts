/** `palisade hub check`: JSON report or a readable summary; exit 1 when anything failed to load. */
import { checkHub } from '../config/hub-check.js';

export async function hubCheckCommand(dir: string, o: { patterns: string; data?: string; json?: boolean }): Promise<void> {
  const r = checkHub(dir, { patternsDir: o.patterns, dataDir: o.data });
  if (o.json) {
    process.stdout.write(JSON.stringify(r) + '\n');
  } else {
    const line = (k: string, v: { loaded: number; failed: number }) => `${k.padEnd(14)} loaded ${String(v.loaded).padStart(4)}  failed ${v.failed}`;
    process.stdout.write([line('parsers', r.parsers), line('scenarios', r.scenarios), line('postoverflows', r.postoverflows)].join('\n') + '\n');
    for (const f of r.failures) process.stdout.write(`  ${f.kind} ${f.name}: ${f.error}\n`);
  }
  if (r.failures.length > 0) process.exitCode = 1;
}
