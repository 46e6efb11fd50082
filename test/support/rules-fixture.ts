/** Builds throw-away rules directories for tests: { 'parsers/s01-parse/x.yaml': '...' } → temp dir. */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function makeRulesDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-rules-'));
  for (const [rel, text] of Object.entries(files)) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return dir;
}

/** A minimal s00 stage that promotes every line with its raw text as `message`. */
export const RAW_STAGE = `
name: test/raw
description: raw to message
filter: "1 == 1"
onsuccess: next_stage
statics:
  - parsed: message
    expression: evt.Line.Raw
`;
