/**
 * The `highlander` CLI's exit codes, and the one error class that carries one. Scripts may rely on
 * them; `highlander --help` lists them.
 */
export const EXIT = {
  /** Done. */
  OK: 0,
  /** The admin API refused the request or could not carry it out (it said why: its code and message are printed). */
  FAILED: 1,
  /** Unknown command or option, missing or bad value. */
  USAGE: 2,
  /** The admin API could not be reached, did not answer in time, or is not the admin API. */
  UNREACHABLE: 3,
  /** The admin API refused the token: 401 (missing or unknown) or 403 (its role may not do this, or the API is read-only). */
  AUTH: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  the action failed: the admin API said why (its error code and message are printed)
  2  usage error: unknown command or option, missing or bad value
  3  cannot reach the admin API (wrong --api URL, not running, no answer in time, not the admin API)
  4  authentication refused: 401 (no token or an unknown one) or 403 (a viewer token asked for an action, or the API is read-only)`;

/** A failure the CLI reports and exits with: `message` on stderr; `body`, the admin API's answer, on stdout with `--json`. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    readonly body?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
