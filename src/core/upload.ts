import { createReadStream } from "node:fs";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { IgniteApi } from "../api/ignite-api.js";
import { CliError } from "../errors.js";
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

/** A directory that is packed while it is sent: its digest and size are known only at the end. */
export interface StreamedArchive {
  name: string;
  contentType: string;
  fileCount: number;
  totalBytes: number;
  /** An upper bound of the archive's size (the tar plus deflate's worst case), for the size guard. */
  maxBytes: number;
  /**
   * Packs the listing afresh (the same files give the same bytes): the archive's chunks, the
   * context bytes packed so far, and, once the chunks are consumed, the digest and size.
   */
  pack(): { chunks: AsyncIterable<Buffer>; packedBytes(): number; done: Promise<{ digest: string; archiveBytes: number }> };
}

/**
 * Packs and streams a directory to BuildService.UploadBuildContext at once: the metadata (no
 * digest or size yet), each gzip member as it is compressed, then a trailer with the digest and
 * size, which the server checks against what it received. The response's digest is checked too,
 * so a server that ignores the trailer still cannot store other bytes unnoticed. Memory stays
 * bounded: gRPC's back-pressure holds the packer, a few members are in flight.
 * `onProgress` gets the context bytes packed (and sent) so far and the context's size.
 */
export async function uploadStreamedArchive(
  api: IgniteApi,
  archive: StreamedArchive,
  onProgress?: (sentBytes: number, totalBytes: number) => void,
): Promise<UploadedContext & { archiveBytes: number }> {
  const packing = archive.pack();
  let packed: { digest: string; archiveBytes: number } | undefined;
  async function* messages(): AsyncGenerator<MessageInitShape<typeof UploadBuildContextRequestSchema>> {
    yield { payload: { case: "metadata", value: { contentType: archive.contentType, name: archive.name } } };
    for await (const chunk of packing.chunks) {
      yield { payload: { case: "chunk", value: chunk } };
      onProgress?.(Math.min(packing.packedBytes(), archive.totalBytes), archive.totalBytes);
    }
    packed = await packing.done;
    yield { payload: { case: "trailer", value: { digest: packed.digest, sizeBytes: BigInt(packed.archiveBytes) } } };
  }
  const response = await api.clientStream(BuildService.method.uploadBuildContext, messages());
  if (!packed) throw new CliError("INTERNAL", "the server answered the upload before the whole archive was sent");
  if (response.digest && response.digest !== packed.digest) {
    throw new CliError("DATA_LOSS", `the server stored different bytes: it received ${response.digest}, the CLI sent ${packed.digest}`);
  }
  return { contextId: response.contextId, sizeBytes: Number(response.sizeBytes), digest: packed.digest, archiveBytes: packed.archiveBytes };
}
