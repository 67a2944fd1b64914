/**
 * BuildService.UploadBuildContext: a client stream of metadata then chunks, written to a temp file
 * while hashed and listed (one pass over the bytes as they arrive), checked (size, digest, a
 * readable archive) and adopted as a content-addressed blob.
 */
import { createHash } from "node:crypto";
import { createWriteStream, promises as fsp, type WriteStream } from "node:fs";
import { create } from "@bufbuild/protobuf";
import type { sendUnaryData, ServerReadableStream } from "@grpc/grpc-js";
import { UploadBuildContextResponseSchema, type UploadBuildContextRequest } from "../../gen/dodil/ignite/v1/build_pb.js";
import { ArchiveStreamInspector } from "../../wire/archive-stream-inspector.js";
import type { Platform } from "../apps/platform.js";
import { ArchiveError, invalidArgument, resourceExhausted } from "../errors.js";
import { toStatus } from "./handlers.js";
import type { RpcKit } from "./rpc-kit.js";

export const MAX_CONTEXT_BYTES = 2 * 1024 ** 3;

export function uploadBuildContext(platform: Platform, kit: RpcKit, call: ServerReadableStream<UploadBuildContextRequest, unknown>, cb: sendUnaryData<unknown>): void {
  const { authOrg, log } = kit;
  let org: string;
  try {
    org = authOrg(call.metadata);
  } catch (e) {
    cb(toStatus(e, log, "UploadBuildContext"));
    return;
  }
  const tmp = platform.store.tmpPath("upload");
  let out: WriteStream | undefined;
  const hash = createHash("sha256");
  let size = 0;
  let meta: { name: string; contentType: string; expected: bigint; digest: string } | undefined;
  // A client that packs while it uploads announces the digest and size last, in a trailer.
  let trailer: { digest: string; size: bigint } | undefined;
  const inspector = new ArchiveStreamInspector();
  let failed = false;
  const fail = (e: unknown) => {
    if (failed) return;
    failed = true;
    call.removeAllListeners("data");
    call.pause();
    out?.destroy();
    inspector.abort();
    void fsp.rm(tmp, { force: true });
    cb(toStatus(e, log, "UploadBuildContext"));
  };
  call.on("data", (m: UploadBuildContextRequest) => {
    if (failed) return;
    if (m.payload.case === "metadata") {
      if (meta) return fail(invalidArgument("metadata may only be sent once, as the first message"));
      const d = m.payload.value.digest;
      if (d && !/^sha256:[0-9a-f]{64}$/.test(d)) return fail(invalidArgument(`invalid digest '${d}': expected sha256:<64 hex>`));
      if (m.payload.value.expectedSizeBytes > BigInt(MAX_CONTEXT_BYTES)) {
        return fail(resourceExhausted(`the build context is ${m.payload.value.expectedSizeBytes} bytes; the limit is ${MAX_CONTEXT_BYTES}`));
      }
      meta = { name: m.payload.value.name, contentType: m.payload.value.contentType, expected: m.payload.value.expectedSizeBytes, digest: d };
      out = createWriteStream(tmp, { mode: 0o600 });
      out.on("error", fail);
      return;
    }
    if (m.payload.case === "trailer") {
      if (!meta || !out) return fail(invalidArgument("the first message must carry metadata"));
      if (trailer) return fail(invalidArgument("the trailer may only be sent once, as the last message"));
      const d = m.payload.value.digest;
      if (!/^sha256:[0-9a-f]{64}$/.test(d)) return fail(invalidArgument(`invalid trailer digest '${d}': expected sha256:<64 hex>`));
      trailer = { digest: d, size: m.payload.value.sizeBytes };
      return;
    }
    if (m.payload.case === "chunk") {
      if (!meta || !out) return fail(invalidArgument("the first message must carry metadata"));
      if (trailer) return fail(invalidArgument("no chunk may follow the trailer"));
      size += m.payload.value.length;
      if (size > MAX_CONTEXT_BYTES) return fail(resourceExhausted(`the build context exceeds ${MAX_CONTEXT_BYTES} bytes`));
      hash.update(m.payload.value);
      const file = out;
      const written = file.write(m.payload.value);
      const listed = inspector.write(m.payload.value);
      if (!written || !listed) {
        call.pause();
        const fileDrained = written ? Promise.resolve() : new Promise<void>((resolve) => file.once("drain", resolve));
        void Promise.all([fileDrained, inspector.drain()]).then(() => {
          if (!failed) call.resume();
        });
      }
    }
  });
  call.on("error", (e) => fail(e));
  call.on("cancelled", () => {
    failed = true;
    out?.destroy();
    inspector.abort();
    void fsp.rm(tmp, { force: true });
  });
  call.on("end", () => {
    if (failed) return;
    if (!meta || !out) return fail(invalidArgument("the upload carried no metadata"));
    const w = out;
    w.end(() => {
      void (async () => {
        const digest = `sha256:${hash.digest("hex")}`;
        if (meta!.expected && meta!.expected !== BigInt(size)) throw invalidArgument(`expected ${meta!.expected} bytes but received ${size}`);
        if (meta!.digest && meta!.digest !== digest) throw invalidArgument(`digest mismatch: the client announced ${meta!.digest} but the received bytes hash to ${digest}`);
        if (trailer && trailer.size !== BigInt(size)) throw invalidArgument(`the trailer announced ${trailer.size} bytes but ${size} were received`);
        if (trailer && trailer.digest !== digest) throw invalidArgument(`digest mismatch: the trailer announced ${trailer.digest} but the received bytes hash to ${digest}`);
        let listing;
        try {
          listing = await inspector.finish(tmp, meta!.name);
        } catch (e) {
          if (e instanceof ArchiveError) throw invalidArgument(`invalid build context: ${e.message}`);
          throw e;
        }
        await platform.store.adoptBlob(tmp, digest);
        // SaveDraft from this context needs the same listing: it need not decompress the blob again.
        platform.drafts.rememberListing(digest, meta!.name, listing);
        const contextId = `ctx_${digest.slice(7, 31)}`;
        await platform.store.putContext(org, {
          contextId,
          digest,
          sizeBytes: size,
          name: meta!.name,
          contentType: meta!.contentType,
          createdAtMs: Date.now(),
        });
        log(`context ${contextId} uploaded by ${org} (${size} bytes)`);
        cb(null, create(UploadBuildContextResponseSchema, { contextId, sizeBytes: BigInt(size), digest }));
      })().catch(fail);
    });
  });
}
