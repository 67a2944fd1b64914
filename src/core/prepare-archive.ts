import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { BuildContextError } from "../build-context/errors.js";
import { packBuildContext, sha256File } from "../build-context/pack-tar.js";
import { UsageError } from "../errors.js";
import type { DraftSource } from "./draft-source.js";
import type { PreparedArchive } from "./drafts.js";

export interface PrepareOptions {
  /** Skip .git, node_modules, __pycache__, target and .venv at any depth (default true). */
  defaultExcludes?: boolean;
}

/**
 * Turns a local source into an archive on disk: a directory is packed (deterministic tar.gz,
 * default excludes and .dockerignore applied), an archive or a single file is sent as it is.
 * Problems with the tree (an escaping symlink, a bad ignore pattern) are usage errors.
 */
export async function prepareArchive(source: Extract<DraftSource, { kind: "directory" | "archive" | "file" }>, options: PrepareOptions = {}): Promise<PreparedArchive> {
  if (source.kind === "directory") {
    const packed = await packBuildContext(source.path, { dockerfilePath: source.dockerfilePath, defaultExcludes: options.defaultExcludes ?? true }).catch((error: unknown) => {
      throw error instanceof BuildContextError ? new UsageError(`--code ${source.path}: ${error.message}`) : error;
    });
    return {
      path: packed.archivePath,
      name: `${basename(source.path)}.tar.gz`,
      sizeBytes: packed.archiveBytes,
      digest: packed.digest,
      contentType: "application/gzip",
      fileCount: packed.fileCount,
      totalBytes: packed.totalBytes,
      files: packed.files.map((f) => ({ path: f.path, type: f.type, size: f.size, mode: f.mode })),
      excluded: packed.excluded.map((e) => ({ path: e.path, rule: e.rule, source: e.source })),
      warnings: packed.warnings,
      cleanup: packed.cleanup,
    };
  }
  const size = (await stat(source.path)).size;
  const name = basename(source.path);
  return {
    path: source.path,
    name,
    sizeBytes: size,
    digest: await sha256File(source.path),
    contentType: source.kind === "file" ? "application/octet-stream" : /\.zip$/i.test(name) ? "application/zip" : /\.tar$/i.test(name) ? "application/x-tar" : "application/gzip",
    fileCount: 1,
    totalBytes: size,
    files: [{ path: name, type: "file", size, mode: 0o644 }],
    excluded: [],
    warnings: [],
    cleanup: async () => {},
  };
}
