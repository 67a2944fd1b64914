import { readFile } from "node:fs/promises";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { IgniteApi } from "../api/ignite-api.js";
import { BuildService } from "../gen/dodil/ignite/v1/build_pb.js";
import { RustCompilationTarget, type CodeSourceSchema, type RuntimeSchema } from "../gen/dodil/ignite/v1/common_pb.js";
import { ComputeService, type DraftInfo } from "../gen/dodil/ignite/v1/compute_pb.js";
import { ApiError, CliError } from "../errors.js";
import { appFields, formatAppRef, type AppRef } from "./app-ref.js";
import type { DraftSource } from "./draft-source.js";
import type { RuntimeName, RustOptions } from "./flag-choices.js";
import { sourceRuntime } from "./dependencies.js";
import { uploadBuildContext, uploadStreamedArchive, type ArchiveToUpload, type StreamedArchive } from "./upload.js";
import { updateApp } from "./apps.js";

/** Largest archive sent inline when the server has no UploadBuildContext (the documented path). */
const INLINE_LIMIT_BYTES = 60 * 1024 * 1024;

/** What `draft save` packed (or found) locally, before anything is sent. */
export interface PreparedArchive extends ArchiveToUpload {
  fileCount: number;
  totalBytes: number;
  files: Array<{ path: string; type: string; size: number; mode: number }>;
  excluded: Array<{ path: string; rule: string; source: string }>;
  warnings: string[];
  /** Deletes a temporary archive the CLI made; a no-op for the user's own archive. */
  cleanup(): Promise<void>;
}

export interface SaveDraftResult {
  draft: DraftInfo;
  archive?: {
    digest: string;
    archiveBytes: number;
    uploadedBytes: number;
    fileCount: number;
    totalBytes: number;
    contextId: string;
    /** False when the tree was unchanged since its last save and the server had it: nothing was packed. */
    packed: boolean;
  };
}

export type LocalSource = Extract<DraftSource, { kind: "directory" | "archive" | "file" }>;

export function isLocalSource(source: DraftSource): source is LocalSource {
  return source.kind === "directory" || source.kind === "archive" || source.kind === "file";
}

/** A local source's archive the server already holds (found by digest), so nothing is packed or sent. */
export interface ReusedContext {
  contextId: string;
  digest: string;
  archiveBytes: number;
  fileCount: number;
  totalBytes: number;
}

export interface SaveDraftOptions {
  source: DraftSource;
  /** The packed (or found) archive of a local source; the caller owns its cleanup. */
  archive?: PreparedArchive | undefined;
  /** Instead of `archive`: a context the server already has. */
  reuse?: ReusedContext | undefined;
  /** Instead of `archive`: a directory packed while it is uploaded. */
  stream?: StreamedArchive | undefined;
  onUploadProgress?: (sentBytes: number, totalBytes: number) => void;
  inputSchema?: string | undefined;
  outputSchema?: string | undefined;
  /** App settings the save also applies first (those a directory's info.yaml gives `draft save`). */
  appPatch?: { description?: string | undefined; mcpEnabled?: boolean | undefined };
  /** -d/--dependency: packages the python managed runtime installs (SaveDraftRequest.dependencies). */
  dependencies?: string[] | undefined;
}

/** draft save: pack and upload local code (or name a repo or image), then record the draft. */
export async function saveDraft(api: IgniteApi, ref: AppRef, options: SaveDraftOptions): Promise<SaveDraftResult> {
  const { source } = options;
  const patch = Object.fromEntries(Object.entries(options.appPatch ?? {}).filter(([, v]) => v !== undefined));
  if (Object.keys(patch).length) await updateApp(api, ref, patch);
  const schemas = { inputSchema: options.inputSchema ?? "", outputSchema: options.outputSchema ?? "", dependencies: options.dependencies ?? [] };
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

  const { archive, reuse, stream } = options;
  let sent: { contextId: string; inline: Uint8Array; uploadedBytes: number };
  let summary: Omit<ReusedContext, "contextId">;
  if (reuse) {
    sent = { contextId: reuse.contextId, inline: new Uint8Array(), uploadedBytes: 0 };
    summary = reuse;
  } else if (archive) {
    sent = await sendArchive(api, archive, options.onUploadProgress);
    summary = { digest: archive.digest, archiveBytes: archive.sizeBytes, fileCount: archive.fileCount, totalBytes: archive.totalBytes };
  } else if (stream) {
    const streamed = await sendStream(api, stream, options.onUploadProgress);
    sent = streamed;
    summary = { digest: streamed.digest, archiveBytes: streamed.archiveBytes, fileCount: stream.fileCount, totalBytes: stream.totalBytes };
  } else {
    throw new Error("saveDraft: a local source needs its prepared or streamed archive, or a reused context");
  }
  const runtime = sourceRuntime(source);
  const code: MessageInitShape<typeof CodeSourceSchema> =
    runtime !== undefined
      ? { source: { case: "compile", value: { runtime: runtimeMessage(runtime, source.rust), contextId: sent.contextId, sourceCode: sent.inline } } }
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
      digest: summary.digest,
      archiveBytes: summary.archiveBytes,
      uploadedBytes: sent.uploadedBytes,
      fileCount: summary.fileCount,
      totalBytes: summary.totalBytes,
      contextId: sent.contextId,
      packed: reuse === undefined,
    },
  };
}

async function recordDraft(api: IgniteApi, ref: AppRef, code: MessageInitShape<typeof CodeSourceSchema>, schemas: { inputSchema: string; outputSchema: string; dependencies: string[] }): Promise<DraftInfo> {
  const response = await api.unary(ComputeService.method.saveDraft, { ...appFields(ref), code, ...schemas });
  if (!response.draft) throw new CliError("INTERNAL", `the server saved no draft for ${formatAppRef(ref)}`);
  return response.draft;
}

/**
 * Sends the archive unless the server already has it: GetBuildContext by digest first (0 bytes
 * uploaded when found), else UploadBuildContext, retried on UNAVAILABLE with backoff (safe: the
 * upload is keyed by its digest). A server without UploadBuildContext gets the archive inline in
 * SaveDraft instead (the documented path), as long as it fits in one message.
 */
async function sendArchive(api: IgniteApi, archive: PreparedArchive, onProgress?: (sent: number, total: number) => void): Promise<{ contextId: string; inline: Uint8Array; uploadedBytes: number }> {
  const known = await findUploadedContext(api, archive.digest);
  if (known) return { contextId: known, inline: new Uint8Array(), uploadedBytes: 0 };
  try {
    const uploaded = await withRetries(() => uploadBuildContext(api, archive, onProgress));
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

/**
 * Packs and uploads at once (UploadBuildContext with a trailer), retried on UNAVAILABLE by
 * packing again: the same files give the same bytes. A server without UploadBuildContext gets
 * the archive inline, packed into memory, as long as it fits in one message.
 */
async function sendStream(
  api: IgniteApi,
  archive: StreamedArchive,
  onProgress?: (sent: number, total: number) => void,
): Promise<{ contextId: string; inline: Uint8Array; uploadedBytes: number; digest: string; archiveBytes: number }> {
  try {
    const uploaded = await withRetries(() => uploadStreamedArchive(api, archive, onProgress));
    return { contextId: uploaded.contextId, inline: new Uint8Array(), uploadedBytes: uploaded.sizeBytes, digest: uploaded.digest, archiveBytes: uploaded.archiveBytes };
  } catch (error) {
    if (!(error instanceof ApiError && error.code === "UNIMPLEMENTED")) throw error;
  }
  const packing = archive.pack();
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of packing.chunks) {
    size += chunk.length;
    if (size > INLINE_LIMIT_BYTES) throw new CliError("RESOURCE_EXHAUSTED", `the server does not accept streamed uploads and the archive is over the ${INLINE_LIMIT_BYTES} bytes that can be sent inline`);
    parts.push(chunk);
  }
  const packed = await packing.done;
  onProgress?.(archive.totalBytes, archive.totalBytes);
  return { contextId: "", inline: Buffer.concat(parts, size), uploadedBytes: size, digest: packed.digest, archiveBytes: packed.archiveBytes };
}

/** The context id of an archive the org already uploaded, or undefined (also when the server cannot tell). */
export async function findUploadedContext(api: IgniteApi, digest: string): Promise<string | undefined> {
  try {
    return (await api.unary(BuildService.method.getBuildContext, { digest })).contextId || undefined;
  } catch (error) {
    if (error instanceof ApiError && (error.code === "NOT_FOUND" || error.code === "UNIMPLEMENTED")) return undefined;
    throw error;
  }
}

/** Upload attempts on UNAVAILABLE: 1 + 3 retries, 0.5 s, 1 s, 2 s apart (plus jitter). */
const UPLOAD_RETRIES = 3;

async function withRetries<T>(attempt: () => Promise<T>): Promise<T> {
  for (let retry = 0; ; retry += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "UNAVAILABLE") || retry >= UPLOAD_RETRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** retry * (0.8 + Math.random() * 0.4)));
    }
  }
}

/** The Runtime message; Rust's target is native unless --rust-target says wasm. */
function runtimeMessage(runtime: RuntimeName, rust: RustOptions | undefined): MessageInitShape<typeof RuntimeSchema> {
  if (runtime === "rust") {
    const target = rust?.target === "wasm" ? RustCompilationTarget.WASM : RustCompilationTarget.NATIVE;
    return { kind: { case: "rust", value: { target, toolchainVersion: rust?.toolchain ?? "" } } };
  }
  return { kind: { case: runtime, value: {} } };
}
