import { readFile, stat } from "node:fs/promises";
import { basename } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { IgniteApi } from "../api/ignite-api.js";
import type { CodeSourceSchema, RuntimeSchema } from "../gen/dodil/ignite/v1/common_pb.js";
import { ComputeService, type DraftInfo, type PublishDraftResponse, type StreamCompileLogsResponse } from "../gen/dodil/ignite/v1/compute_pb.js";
import { ApiError, CliError } from "../errors.js";
import { appFields, formatAppRef, type AppRef } from "./app-ref.js";
import type { DraftSource, RuntimeName } from "./draft-source.js";
import { uploadBuildContext, type ArchiveToUpload, type UploadedContext } from "./upload.js";

/** Largest archive sent inline when the server has no UploadBuildContext (the documented path). */
const INLINE_LIMIT_BYTES = 60 * 1024 * 1024;

/** What `draft save` packed (or found) locally, before anything is sent. */
export interface PreparedArchive extends ArchiveToUpload {
  fileCount: number;
  totalBytes: number;
  /** Deletes a temporary archive the CLI made; a no-op for the user's own archive. */
  cleanup(): Promise<void>;
}

export interface SaveDraftResult {
  draft: DraftInfo;
  archive?: { digest: string; archiveBytes: number; uploadedBytes: number; fileCount: number; totalBytes: number; contextId: string };
}

export interface SaveDraftOptions {
  source: DraftSource;
  /** Packs a directory (or wraps an archive/file) into an archive on disk. */
  prepare: (source: Extract<DraftSource, { kind: "directory" | "archive" | "file" }>) => Promise<PreparedArchive>;
  onUploadProgress?: (sentBytes: number, totalBytes: number) => void;
  inputSchema?: string | undefined;
  outputSchema?: string | undefined;
}

/** draft save: pack and upload local code (or name a repo or image), then record the draft. */
export async function saveDraft(api: IgniteApi, ref: AppRef, options: SaveDraftOptions): Promise<SaveDraftResult> {
  const { source } = options;
  const schemas = { inputSchema: options.inputSchema ?? "", outputSchema: options.outputSchema ?? "" };
  if (source.kind === "image") {
    const code: MessageInitShape<typeof CodeSourceSchema> = {
      source: { case: "image", value: { source: { case: "prebuilt", value: { imageRef: source.imageRef, registrySecretRef: source.registrySecretRef } } } },
    };
    return { draft: await recordDraft(api, ref, code, schemas) };
  }
  if (source.kind === "git") {
    const code: MessageInitShape<typeof CodeSourceSchema> = {
      source: {
        case: "image",
        value: {
          source: {
            case: "fromGit",
            value: { url: source.url, ref: source.ref, dockerfilePath: source.dockerfilePath ?? "", contextDir: source.contextDir, secretRef: source.secretRef, buildArgs: source.buildArgs },
          },
        },
      },
    };
    return { draft: await recordDraft(api, ref, code, schemas) };
  }

  const archive = await options.prepare(source);
  try {
    const sent = await sendArchive(api, archive, options.onUploadProgress);
    const runtime = source.runtime ?? (source.kind === "file" ? runtimeForFile(source.path) : undefined);
    const code: MessageInitShape<typeof CodeSourceSchema> =
      runtime !== undefined
        ? { source: { case: "compile", value: { runtime: runtimeMessage(runtime), contextId: sent.contextId, sourceCode: sent.inline } } }
        : {
            source: {
              case: "image",
              value: {
                source: {
                  case: "fromCode",
                  value: {
                    contextId: sent.contextId,
                    archive: sent.inline,
                    dockerfilePath: "dockerfilePath" in source ? (source.dockerfilePath ?? "") : "",
                    buildArgs: "buildArgs" in source ? source.buildArgs : {},
                  },
                },
              },
            },
          };
    const draft = await recordDraft(api, ref, code, schemas);
    return {
      draft,
      archive: {
        digest: archive.digest,
        archiveBytes: archive.sizeBytes,
        uploadedBytes: sent.uploadedBytes,
        fileCount: archive.fileCount,
        totalBytes: archive.totalBytes,
        contextId: sent.contextId,
      },
    };
  } finally {
    await archive.cleanup();
  }
}

async function recordDraft(api: IgniteApi, ref: AppRef, code: MessageInitShape<typeof CodeSourceSchema>, schemas: { inputSchema: string; outputSchema: string }): Promise<DraftInfo> {
  const response = await api.unary(ComputeService.method.saveDraft, { ...appFields(ref), code, ...schemas });
  if (!response.draft) throw new CliError("INTERNAL", `the server saved no draft for ${formatAppRef(ref)}`);
  return response.draft;
}

/**
 * Streams the archive with UploadBuildContext; a server that does not know that RPC gets the
 * archive inline in SaveDraft instead (the documented path), as long as it fits in one message.
 */
async function sendArchive(api: IgniteApi, archive: PreparedArchive, onProgress?: (sent: number, total: number) => void): Promise<{ contextId: string; inline: Uint8Array; uploadedBytes: number }> {
  try {
    const uploaded: UploadedContext = await uploadBuildContext(api, archive, onProgress);
    return { contextId: uploaded.contextId, inline: new Uint8Array(), uploadedBytes: uploaded.sizeBytes };
  } catch (error) {
    if (!(error instanceof ApiError && error.code === "UNIMPLEMENTED")) throw error;
    if (archive.sizeBytes > INLINE_LIMIT_BYTES) {
      throw new CliError("RESOURCE_EXHAUSTED", `the server does not accept streamed uploads and the ${archive.sizeBytes} byte archive is too large to send inline`);
    }
    const inline = await readFile(archive.path);
    onProgress?.(inline.length, inline.length);
    return { contextId: "", inline, uploadedBytes: inline.length };
  }
}

function runtimeForFile(path: string): RuntimeName {
  const match: Array<[RegExp, RuntimeName]> = [
    [/\.py$/, "python"],
    [/\.go$/, "go"],
    [/\.rs$/, "rust"],
    [/\.(ts|js)$/, "deno"],
  ];
  const found = match.find(([pattern]) => pattern.test(path));
  if (!found) throw new CliError("USAGE", `cannot tell the runtime of ${basename(path)}: pass --runtime python|go|rust|deno`);
  return found[1];
}

function runtimeMessage(runtime: RuntimeName): MessageInitShape<typeof RuntimeSchema> {
  return { kind: { case: runtime, value: {} } };
}

export async function getDraftInfo(api: IgniteApi, ref: AppRef): Promise<DraftInfo | undefined> {
  return (await api.unary(ComputeService.method.getDraftInfo, appFields(ref))).draft;
}

export function publishDraft(api: IgniteApi, ref: AppRef): Promise<PublishDraftResponse> {
  return api.unary(ComputeService.method.publishDraft, appFields(ref));
}

/** The build log of the app's current draft; `follow` keeps streaming until the build ends. */
export async function* streamDraftBuildLog(api: IgniteApi, ref: AppRef, options: { follow: boolean; fromOffset?: number }): AsyncGenerator<StreamCompileLogsResponse["item"]> {
  const draft = await getDraftInfo(api, ref);
  if (!draft) throw new CliError("NOT_FOUND", `${formatAppRef(ref)} has no draft`, { hint: `save one with \`dodil ignite draft save ${formatAppRef(ref)} --code <dir> --dockerfile-path Dockerfile\`` });
  if (!draft.deployId) throw new CliError("NOT_FOUND", `the draft of ${formatAppRef(ref)} has no build log (nothing to build for this source)`);
  const stream = api.serverStream(ComputeService.method.streamCompileLogs, { deployId: draft.deployId, follow: options.follow, fromOffset: BigInt(options.fromOffset ?? 0) });
  for await (const message of stream) yield message.item;
}

export async function archiveSize(path: string): Promise<number> {
  return (await stat(path)).size;
}
