import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { packBuildContext, sha256File } from "../build-context/pack-tar.js";
import type { DraftSource } from "./draft-source.js";
import type { PreparedArchive } from "./drafts.js";

export interface PrepareOptions {
  onWarning?: (message: string) => void;
  defaultExcludes?: boolean;
}

/**
 * Turns a local source into an archive on disk: a directory is packed (deterministic tar.gz,
 * default excludes and .dockerignore applied), an archive or a single file is sent as it is.
 */
export async function prepareArchive(source: Extract<DraftSource, { kind: "directory" | "archive" | "file" }>, options: PrepareOptions = {}): Promise<PreparedArchive> {
  if (source.kind === "directory") {
    const packed = await packBuildContext(source.path, { dockerfilePath: source.dockerfilePath, defaultExcludes: options.defaultExcludes ?? true });
    for (const warning of packed.warnings) options.onWarning?.(warning);
    return {
      path: packed.archivePath,
      name: `${basename(source.path)}.tar.gz`,
      sizeBytes: packed.archiveBytes,
      digest: packed.digest,
      contentType: "application/gzip",
      fileCount: packed.fileCount,
      totalBytes: packed.totalBytes,
      cleanup: packed.cleanup,
    };
  }
  const size = (await stat(source.path)).size;
  return {
    path: source.path,
    name: basename(source.path),
    sizeBytes: size,
    digest: await sha256File(source.path),
    contentType: source.kind === "file" ? "application/octet-stream" : /\.zip$/i.test(source.path) ? "application/zip" : /\.tar$/i.test(source.path) ? "application/x-tar" : "application/gzip",
    fileCount: 1,
    totalBytes: size,
    cleanup: async () => {},
  };
}
