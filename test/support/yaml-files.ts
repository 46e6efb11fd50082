import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every .yaml / .yml file under dir, walking entries in sorted order (directories in place). */
export function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}
