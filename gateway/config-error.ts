/**
 * Contract §5: invalid configuration stops the gateway with a message that names the file or
 * variable, the place in it, and what is wrong. One error type for all of it, so `server.ts`
 * can print it plainly (no stack) and exit.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    /** The file path or environment variable at fault. */
    readonly source: string,
    /** Where in it: a JSON pointer (`/schools/3/devices/7/zone`), `line 4 column 9`, or `(file)`. */
    readonly where: string,
    /** What is wrong, in words an operator can act on. */
    readonly problem: string,
  ) {
    super(`${source} at ${where}: ${problem}`);
  }
}
