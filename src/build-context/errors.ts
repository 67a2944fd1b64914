export type BuildContextErrorCode =
  | "CONTEXT_NOT_DIRECTORY"
  | "SYMLINK_ESCAPE"
  | "SYMLINK_LOOP"
  | "INVALID_IGNORE_FILE"
  | "UNREADABLE_PATH"
  | "FILE_CHANGED"
  | "ABORTED";

/** A failure to collect or pack a build context. `path` is relative to the context root when known. */
export class BuildContextError extends Error {
  override name = "BuildContextError";
  constructor(
    readonly code: BuildContextErrorCode,
    message: string,
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
