/**
 * Exit codes scripts can rely on. They are part of the CLI's interface: never renumber one.
 */
export const EXIT = {
  /** Everything asked for was done. */
  ok: 0,
  /** The command line was wrong (unknown command or option, missing argument, unreadable file). */
  usage: 1,
  /** Not logged in, the session ended, wrong email or password, or the account may not do this. */
  auth: 2,
  /** The task does not exist (or belongs to someone else, which the service does not distinguish). */
  notFound: 3,
  /** `ocr`: at least one task ended `failed` (each file's error code is printed). */
  taskFailed: 4,
  /** The service could not be reached, or answered with a server error (5xx): worth retrying. */
  unavailable: 5,
  /** The service refused the request as asked (validation, quota, not ready yet, upload refused). */
  refused: 6,
  /** Interrupted with Ctrl-C. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one readable message and ends with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** The service's problem code (or one of ours), for `--json` output. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** What an HTTP error status means for a script. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status >= 500) return EXIT.unavailable;
  return EXIT.refused;
}

export const EXIT_CODE_HELP = `Exit codes:
  0    ok
  1    usage: unknown command or option, missing argument, unreadable file
  2    authentication: not logged in, session ended, wrong credentials, not allowed
  3    not found: no such task (or not yours)
  4    task failed: at least one OCR task ended failed
  5    network or server error: unreachable, timed out, 5xx (worth retrying)
  6    refused: the service rejected the request (validation, quota, result not ready, upload refused)
  130  interrupted (Ctrl-C)`;
