import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { collectFiles, type CollectResult } from "../build-context/collect-files.js";
import { BuildContextError } from "../build-context/errors.js";
import { maxArchiveBytes, packCollected, sha256File, streamCollected } from "../build-context/pack-tar.js";
import { UsageError } from "../errors.js";
import type { DraftSource } from "./draft-source.js";
import type { PreparedArchive } from "./drafts.js";
import type { StreamedArchive } from "./upload.js";

export interface PrepareOptions {
  /** Skip .git, node_modules, __pycache__, target and .venv at any depth (default true). */
  defaultExcludes?: boolean;
}

/**
 * Turns a local source into an archive on disk: a directory is packed (deterministic tar.gz,
 * default excludes and .dockerignore applied), an archive or a single file is sent as it is.
 * Problems with the tree (an escaping symlink, a bad ignore pattern) are usage errors.
 */
export async function prepareArchive(source: Extract<DraftSource, { kind: "directory" | "archive" | "file" }>, options: PrepareOptions = {}, walked?: CollectResult): Promise<PreparedArchive> {
  if (source.kind === "directory") {
    const collected = walked ?? (await collectSource(source, options));
    const packed = await packCollected(collected).catch(treeError(source.path));
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

/** Walks a directory source (default excludes and .dockerignore applied): what it would pack. */
export function collectSource(source: Extract<DraftSource, { kind: "directory" }>, options: PrepareOptions = {}): Promise<CollectResult> {
  return collectFiles(source.path, { dockerfilePath: source.dockerfilePath, defaultExcludes: options.defaultExcludes ?? true }).catch(treeError(source.path));
}

/** Problems with the tree (an escaping symlink, a file that changed while packed) are usage errors. */
function treeError(root: string): (error: unknown) => never {
  return (error) => {
    throw error instanceof BuildContextError ? new UsageError(`--code ${root}: ${error.message}`) : error;
  };
}

/** A directory walked but not packed yet: it is packed while it is uploaded (see uploadStreamedArchive). */
export interface StreamedDirectory extends StreamedArchive {
  files: PreparedArchive["files"];
  excluded: PreparedArchive["excluded"];
  warnings: string[];
}

/**
 * A walked directory (collectSource), not packed yet; `pack()` packs the listing each time it is
 * called, so a retried upload sends the same bytes again.
 */
export function prepareStreamedArchive(source: Extract<DraftSource, { kind: "directory" }>, collected: CollectResult): StreamedDirectory {
  const files = collected.files;
  return {
    name: `${basename(source.path)}.tar.gz`,
    contentType: "application/gzip",
    fileCount: files.filter((f) => f.type === "file").length,
    totalBytes: collected.totalBytes,
    maxBytes: maxArchiveBytes(files),
    files: files.map((f) => ({ path: f.path, type: f.type, size: f.size, mode: f.mode })),
    excluded: collected.excluded.map((e) => ({ path: e.path, rule: e.rule, source: e.source })),
    warnings: collected.warnings,
    pack() {
      const packing = streamCollected(collected);
      async function* chunks(): AsyncGenerator<Buffer, void, undefined> {
        try {
          yield* packing.chunks;
        } catch (error) {
          treeError(source.path)(error);
        }
      }
      const done = packing.done.then((summary) => ({ digest: summary.digest, archiveBytes: summary.archiveBytes }));
      done.catch(() => {}); // rejected when the upload stops early; the upload reports why
      return { chunks: chunks(), packedBytes: packing.packedBytes, done };
    },
  };
}
