#!/usr/bin/env node
// Entry point installed as `palisade`. Runs the compiled CLI from dist/ (npm run build).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const compiled = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(compiled))) {
  process.stderr.write('palisade: dist/ is missing; run `npm run build` first\n');
  process.exit(1);
}
await import(compiled.href);
