/** Terminal manners: colour and decorations only on a TTY; plain text when piped. */
export const isTTY = (stream: NodeJS.WriteStream = process.stdout): boolean => Boolean(stream.isTTY) && !process.env.NO_COLOR;

export function mark(ok: boolean, tty: boolean): string {
  if (!tty) return ok ? 'ok  ' : 'fail';
  return ok ? '\x1b[32m✔\x1b[0m' : '\x1b[31m✘\x1b[0m';
}
