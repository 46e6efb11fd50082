/**
 * The lines of the generated 100k nginx benchmark log (.cache/bench/nginx-100000-s20260105.log
 * is this same first block), built in memory so that tests do not depend on the benchmark
 * cache being there. Built once per test process.
 */
import { DEFAULT_SEED, largeBlock } from '../../fixtures/generate-large.js';

let lines: string[] | null = null;

export function generatedNginx(): readonly string[] {
  if (!lines) {
    lines = largeBlock('nginx', 100_000, DEFAULT_SEED, 0, 0).text.split('\n');
    lines.pop(); // after the last newline
  }
  return lines;
}
