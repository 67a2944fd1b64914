/**
 * The CLI's error vocabulary and the one exit-code table. Commands throw these; only bin/ turns the
 * resulting code into the process exit status.
 */

/** Documented exit codes (reference §2.7) plus 1 for anything else. */
export const EXIT_CODES = {
  OK: 0,
  FAILURE: 1,
  INVALID_ARGUMENT: 2,
  UNAUTHENTICATED: 3,
  PERMISSION_DENIED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 7,
  DEADLINE_EXCEEDED: 8,
  UNAVAILABLE: 9,
  INTERNAL: 10,
} as const;

export type ErrorCode = keyof typeof EXIT_CODES | "USAGE" | "FAILED_PRECONDITION" | "UNIMPLEMENTED" | "CANCELLED" | "UNKNOWN" | "ABORTED" | "OUT_OF_RANGE" | "DATA_LOSS";

export function exitCodeFor(code: ErrorCode): number {
  if (code === "USAGE") return EXIT_CODES.INVALID_ARGUMENT;
  return (EXIT_CODES as Record<string, number>)[code] ?? EXIT_CODES.FAILURE;
}

export interface CliErrorOptions {
  /** A next step for the user, printed on its own line. */
  hint?: string;
  cause?: unknown;
}

/** An error the user can act on: printed as one line, never with a stack trace (except --debug). */
export class CliError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: CliErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CliError";
    this.code = code;
    this.hint = options.hint;
  }

  get exitCode(): number {
    return exitCodeFor(this.code);
  }
}

/** Bad flags, arguments or local input, detected before any network call: exit 2. */
export class UsageError extends CliError {
  constructor(message: string, options: CliErrorOptions = {}) {
    super("USAGE", message, options);
    this.name = "UsageError";
  }
}

/** A failure reported by (or while reaching) the Ignite API. */
export class ApiError extends CliError {
  constructor(code: ErrorCode, message: string, options: CliErrorOptions = {}) {
    super(code, message, options);
    this.name = "ApiError";
  }
}

/**
 * A failure of the machine around the CLI (a Node system error: EACCES, ENOENT, EPERM, ENOSPC …
 * from a syscall on a path the user named or the CLI keeps) as a CliError: one line naming the
 * call, the path and the reason, never a stack trace, because it is not a bug. Undefined for
 * anything else.
 */
export function environmentalError(error: unknown): CliError | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, syscall, path, dest } = error as NodeJS.ErrnoException & { dest?: string };
  if (typeof code !== "string" || !/^E[A-Z0-9]+$/.test(code) || typeof syscall !== "string") return undefined;
  // Node's message is "EACCES: permission denied, readlink '/proc/1/cwd'"; keep its reason text.
  const reason = /^E[A-Z0-9]+: ([^,]+)/.exec(error.message)?.[1] ?? code;
  const target = path ? ` ${path}${dest ? ` -> ${dest}` : ""}` : "";
  const exit: ErrorCode = code === "ENOSPC" || code === "EDQUOT" ? "RESOURCE_EXHAUSTED" : "FAILURE";
  return new CliError(exit, `cannot ${syscall}${target}: ${reason} (${code})`, { cause: error });
}
