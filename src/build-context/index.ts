export * from "./dockerignore.js";
export * from "./collect-files.js";
export * from "./pack-tar.js";
export { DEFAULT_GZIP_MEMBER_SIZE, defaultGzipConcurrency } from "./parallel-gzip.js";
export { BuildContextError } from "./errors.js";
export type { BuildContextErrorCode } from "./errors.js";
export { FIXED_MTIME } from "./tar-writer.js";
