/**
 * CLI exit contract (design.md §3): 0 success, 1 failed operation, 2 bad usage, each with a
 * one-line reason on stderr.
 */
export class UsageError extends Error {}
export class OperationError extends Error {}

export function fail(e: unknown): never {
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`palisade: ${msg.split('\n')[0]}\n`);
  process.exit(e instanceof UsageError ? 2 : 1);
}
