import { createReadStream } from "node:fs";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { IgniteApi } from "../api/ignite-api.js";
import { BuildService, type UploadBuildContextRequestSchema } from "../gen/dodil/ignite/v1/build_pb.js";

/** ~1 MiB per message: large enough to be fast, far below every gRPC message limit. */
export const UPLOAD_CHUNK_BYTES = 1024 * 1024;

export interface UploadedContext {
  contextId: string;
  sizeBytes: number;
  digest: string;
}

export interface ArchiveToUpload {
  path: string;
  name: string;
  sizeBytes: number;
  digest: string;
  contentType: string;
}

/**
 * Streams an archive file to BuildService.UploadBuildContext: one metadata message, then chunks
 * (~1 MiB; `build upload` uses 512 KB) read from disk, so memory stays bounded whatever the archive size.
 */
export async function uploadBuildContext(
  api: IgniteApi,
  archive: ArchiveToUpload,
  onProgress?: (sentBytes: number, totalBytes: number) => void,
  chunkBytes = UPLOAD_CHUNK_BYTES,
): Promise<UploadedContext> {
  async function* messages(): AsyncGenerator<MessageInitShape<typeof UploadBuildContextRequestSchema>> {
    yield {
      payload: {
        case: "metadata",
        value: { contentType: archive.contentType, name: archive.name, expectedSizeBytes: BigInt(archive.sizeBytes), digest: archive.digest },
      },
    };
    let sent = 0;
    for await (const chunk of createReadStream(archive.path, { highWaterMark: chunkBytes })) {
      const bytes = chunk as Buffer;
      yield { payload: { case: "chunk", value: bytes } };
      sent += bytes.length;
      onProgress?.(sent, archive.sizeBytes);
    }
  }
  const response = await api.clientStream(BuildService.method.uploadBuildContext, messages());
  return { contextId: response.contextId, sizeBytes: Number(response.sizeBytes), digest: response.digest };
}
