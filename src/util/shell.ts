/** A word as a POSIX shell reads it back: bare when safe, else single-quoted. For printing commands (dry runs), never for running them. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./^*-][\w@%+=:,./^*~-]*$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** An argv as one shell line, for printing. */
export function shellLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
