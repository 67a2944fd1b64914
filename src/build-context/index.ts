export * from "./dockerignore.js";
export * from "./collect-files.js";
export * from "./pack-tar.js";
export { BuildContextError } from "./errors.js";
export type { BuildContextErrorCode } from "./errors.js";
export { FIXED_MTIME } from "./tar-writer.js";
