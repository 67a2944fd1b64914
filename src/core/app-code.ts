import { mkdtemp, readdir, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { IgniteApi } from "../api/ignite-api.js";
import { ComputeService, type GetAppCodeResponse } from "../gen/dodil/ignite/v1/compute_pb.js";
import { CliError, UsageError } from "../errors.js";
import { appFields, type AppRef } from "./app-ref.js";

/** GetAppCode: the source snapshot of a version (0 = the active one). */
export function getAppCode(api: IgniteApi, ref: AppRef, version: number): Promise<GetAppCodeResponse> {
  return api.unary(ComputeService.method.getAppCode, { ...appFields(ref), version });
}

/** The file name a snapshot is saved under when no --output-file is given. */
export function defaultCodeFileName(ref: AppRef, code: GetAppCodeResponse): string {
  const ext: Record<string, string> = { "application/gzip": ".tar.gz", "application/x-tar": ".tar", "application/zip": ".zip" };
  return `${ref.name}-v${code.version}${ext[code.contentType] ?? ""}`;
}

/** Where `version code` writes: checked before the download starts. */
export type CodeTarget = { kind: "file"; path: string; shown: string; force: boolean } | { kind: "directory"; path: string; shown: string };

export async function checkCodeTarget(target: CodeTarget): Promise<void> {
  const info = await stat(target.path).catch(() => undefined);
  if (target.kind === "file") {
    if (info?.isDirectory()) throw new UsageError(`--output-file ${target.shown} is a directory: use -O/--output-dir to extract into it`);
    if (info && !target.force) throw new UsageError(`${target.shown} already exists: pass --force to overwrite it`);
    await assertDirectory(dirname(resolve(target.path)), "--output-file");
    return;
  }
  if (info && !info.isDirectory()) throw new UsageError(`-O ${target.shown} is not a directory`);
  if (info && (await readdir(target.path)).length > 0) throw new UsageError(`-O ${target.shown} is not empty: extract into a new or empty directory`);
  await assertDirectory(dirname(resolve(target.path)), "-O");
}

async function assertDirectory(dir: string, flag: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`${flag}: the directory ${dir} does not exist`);
}

/** Writes the snapshot as one file (atomically: a temporary file renamed into place). */
export async function writeCodeFile(code: GetAppCodeResponse, path: string): Promise<number> {
  const temp = join(dirname(resolve(path)), `.${basename(path)}.partial-${process.pid}`);
  try {
    await writeFile(temp, code.archive, { mode: 0o644 });
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
  return code.archive.length;
}

/**
 * Extracts the snapshot into `dir` (new or empty) safely: every entry is checked before anything is
 * written (no absolute paths, no `..`, no links leaving the directory, no devices), into a
 * temporary sibling that is renamed into place, so a refused archive leaves nothing behind. A
 * single-file snapshot is written as one file in `dir`.
 */
export async function extractCode(code: GetAppCodeResponse, dir: string, singleFileName: string): Promise<{ files: number; bytes: number }> {
  const parent = dirname(resolve(dir));
  const work = await mkdtemp(join(parent, `.${basename(dir)}.partial-`));
  const archiveFile = join(work, "snapshot");
  const tree = join(work, "tree");
  try {
    await writeFile(archiveFile, code.archive);
    // The project's one safe extractor (also what the local control plane checks uploads with).
    const { extractArchive } = await import("../wire/archive.js");
    const info = await extractArchive(archiveFile, tree, { singleFileName }).catch((error: unknown) => {
      if (error instanceof Error && error.name === "ArchiveError") throw new CliError("DATA_LOSS", `the code snapshot cannot be extracted safely: ${error.message}`);
      throw error;
    });
    const existing = await stat(dir).catch(() => undefined);
    if (existing) await rmdir(dir);
    await rename(tree, dir);
    const files = info.entries.filter((e) => e.type === "file");
    return { files: files.length, bytes: files.reduce((sum, e) => sum + e.size, 0) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
