import { isAbsolute, join } from "node:path";
import { readEnv } from "../config/env.js";
import { tuneHeapForStreaming } from "../heap-growth.js";
import { checkContextSize, MAX_ARCHIVE_BYTES } from "../core/context-size.js";
import type { DraftSource } from "../core/draft-source.js";
import type { PreparedArchive, ReusedContext, SaveDraftResult } from "../core/drafts.js";
import type { StreamedDirectory } from "../core/prepare-archive.js";
import { formatBytes } from "../output/format-bytes.js";
import type { Output } from "../output/output.js";
import type { CommandContext } from "./command-context.js";
import { loadDeps } from "./load-deps.js";

/** The local source of `draft save` / `app deploy`, ready to send: packed, or found on the server. */
export interface LocalContext {
  archive?: PreparedArchive | undefined;
  reuse?: ReusedContext | undefined;
  /** A large directory: packed while it is uploaded. */
  stream?: StreamedDirectory | undefined;
  /** Call once the server accepted the draft: remembers the tree's digest for the next save. */
  saved(result: SaveDraftResult): Promise<void>;
  /** Deletes the temporary archive. */
  close(): Promise<void>;
}

export interface LocalContextOptions {
  defaultExcludes: boolean;
  warnBytes: number;
  /** Pack locally even if the server has this tree already (`--dry-run`). */
  alwaysPack: boolean;
}

/**
 * Below this archive bound a directory is packed before anything is sent, so that the server can
 * be asked for its digest first (an unchanged small tree is never sent twice, even when the cache
 * cannot vouch for it); above it, packing and uploading overlap (a re-upload costs less than
 * packing first would).
 */
export const STREAM_ABOVE_BYTES = 8 * 1024 * 1024;

/**
 * Packs a local source, printing its warnings and applying the size guard. An unchanged directory
 * (same files, sizes, modes and mtimes as at its last successful save) whose archive the server
 * already holds is not even packed: the cached digest names it. A large directory is only walked
 * here and packed while it is uploaded (`stream`), unless it might exceed the archive limit.
 */
export async function openLocalContext(ctx: CommandContext, source: DraftSource, options: LocalContextOptions): Promise<LocalContext> {
  const none: LocalContext = { saved: async () => {}, close: async () => {} };
  const deps = await loadDeps.packing();
  if (!deps.isLocalSource(source)) return none;
  const key = source.kind === "directory" ? { root: source.path, dockerfilePath: source.dockerfilePath, defaultExcludes: options.defaultExcludes } : undefined;
  // The XDG spec ignores a relative XDG_CACHE_HOME.
  const xdg = readEnv(ctx.env, "XDG_CACHE_HOME");
  const cacheDir = join(xdg && isAbsolute(xdg) ? xdg : join(ctx.home, ".cache"), "dodil", "ignite", "contexts");
  // This process may now pack (and upload) a tree: see heap-growth.ts. Before the walk, whose
  // per-file objects would otherwise grow the young generation for good.
  await tuneHeapForStreaming();
  // One walk serves the cache's signature and the pack; a tree it cannot read is a usage error.
  const walkedAtMs = Date.now();
  const walked = source.kind === "directory" ? await deps.collectSource(source, { defaultExcludes: options.defaultExcludes }) : undefined;
  const signature = walked && !options.alwaysPack ? deps.contextSignature(walked, walkedAtMs) : undefined;
  const cached = key && signature ? await deps.lookupContext(cacheDir, key, signature) : undefined;
  if (cached) {
    const contextId = await deps.findUploadedContext(await ctx.api(), cached.digest);
    if (contextId) return { ...none, reuse: { contextId, ...cached } };
  }
  const remember = async (packed: { digest: string; archiveBytes: number; fileCount: number; totalBytes: number }) => {
    if (key && signature) await deps.rememberContext(cacheDir, key, signature, packed);
  };
  if (source.kind === "directory" && walked && !options.alwaysPack) {
    const stream = deps.prepareStreamedArchive(source, walked);
    if (stream.maxBytes > STREAM_ABOVE_BYTES && stream.maxBytes <= MAX_ARCHIVE_BYTES) {
      for (const warning of stream.warnings) ctx.output.warn(warning);
      warnIfLarge(ctx.output, { ...stream, sizeBytes: stream.maxBytes }, options.warnBytes);
      return {
        stream,
        saved: async (result) => {
          if (result.archive) await remember(result.archive);
        },
        close: async () => {},
      };
    }
  }
  const archive = await deps.prepareArchive(source, { defaultExcludes: options.defaultExcludes }, walked);
  for (const warning of archive.warnings) ctx.output.warn(warning);
  try {
    warnIfLarge(ctx.output, archive, options.warnBytes);
  } catch (error) {
    await archive.cleanup();
    throw error;
  }
  return {
    archive,
    saved: () => remember({ digest: archive.digest, archiveBytes: archive.sizeBytes, fileCount: archive.fileCount, totalBytes: archive.totalBytes }),
    close: () => archive.cleanup(),
  };
}

/** The size guard's warning: the five largest top-level paths with the ignore line for each. */
function warnIfLarge(output: Output, archive: Pick<PreparedArchive, "sizeBytes" | "totalBytes" | "files">, warnBytes: number): void {
  const size = checkContextSize(archive, warnBytes);
  if (!size.overWarning) return;
  output.warn(`the build context is ${formatBytes(archive.totalBytes)} (over ${formatBytes(warnBytes)}); the largest paths:`);
  for (const path of size.largest) output.info(`  ${formatBytes(path.bytes).padStart(8)}  ${path.path}    (to leave it out, add "${path.ignoreLine}" to .dockerignore)`);
}
