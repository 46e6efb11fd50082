/** The value after `--name` in a benchmark's argv, or undefined (flags without values: args.includes). */
export function arg(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}
