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
import type { ArchiveInfo } from "../../wire/archive.js";
import type { Platform } from "../apps/platform.js";
import { ArchiveError, invalidArgument, resourceExhausted } from "../errors.js";
import { toStatus } from "./handlers.js";
import type { RpcKit } from "./rpc-kit.js";

export const MAX_CONTEXT_BYTES = 2 * 1024 ** 3;

interface UploadMeta {
  name: string;
  contentType: string;
  expected: bigint;
  digest: string;
}

/**
 * One upload's state: the temp file, the running hash and size, and the listing. Each message
 * either advances it or throws the error the upload fails with.
 */
class ReceivedContext {
  out: WriteStream | undefined;
  meta: UploadMeta | undefined;
  size = 0;
  readonly inspector = new ArchiveStreamInspector();
  private readonly hash = createHash("sha256");
  // A client that packs while it uploads announces the digest and size last, in a trailer.
  private trailer: { digest: string; size: bigint } | undefined;

  constructor(
    readonly tmp: string,
    private readonly fail: (e: unknown) => void,
  ) {}

  /** Takes one message; returns a promise to wait for before reading more, if the sinks are full. */
  take(m: UploadBuildContextRequest): Promise<void> | undefined {
    const { payload } = m;
    if (payload.case === "metadata") return this.metadata(payload.value);
    if (!this.meta || !this.out) throw invalidArgument("the first message must carry metadata");
    if (payload.case === "trailer") {
      if (this.trailer) throw invalidArgument("the trailer may only be sent once, as the last message");
      const d = payload.value.digest;
      if (!/^sha256:[0-9a-f]{64}$/.test(d)) throw invalidArgument(`invalid trailer digest '${d}': expected sha256:<64 hex>`);
      this.trailer = { digest: d, size: payload.value.sizeBytes };
      return undefined;
    }
    if (payload.case === "chunk") return this.chunk(this.out, payload.value);
    return undefined;
  }

  private metadata(v: { name: string; contentType: string; expectedSizeBytes: bigint; digest: string }): undefined {
    if (this.meta) throw invalidArgument("metadata may only be sent once, as the first message");
    const d = v.digest;
    if (d && !/^sha256:[0-9a-f]{64}$/.test(d)) throw invalidArgument(`invalid digest '${d}': expected sha256:<64 hex>`);
    if (v.expectedSizeBytes > BigInt(MAX_CONTEXT_BYTES)) throw resourceExhausted(`the build context is ${v.expectedSizeBytes} bytes; the limit is ${MAX_CONTEXT_BYTES}`);
    this.meta = { name: v.name, contentType: v.contentType, expected: v.expectedSizeBytes, digest: d };
    this.out = createWriteStream(this.tmp, { mode: 0o600 });
    this.out.on("error", this.fail);
    return undefined;
  }

  private chunk(file: WriteStream, bytes: Uint8Array): Promise<void> | undefined {
    if (this.trailer) throw invalidArgument("no chunk may follow the trailer");
    this.size += bytes.length;
    if (this.size > MAX_CONTEXT_BYTES) throw resourceExhausted(`the build context exceeds ${MAX_CONTEXT_BYTES} bytes`);
    this.hash.update(bytes);
    const written = file.write(bytes);
    const listed = this.inspector.write(bytes);
    if (written && listed) return undefined;
    const fileDrained = written ? Promise.resolve() : new Promise<void>((resolve) => file.once("drain", resolve));
    return Promise.all([fileDrained, this.inspector.drain()]).then(() => undefined);
  }

  /** After the last byte is on disk: the digest, checked against what the client announced, and the listing. */
  async verify(): Promise<{ digest: string; listing: ArchiveInfo }> {
    const meta = this.meta!;
    const size = this.size;
    const digest = `sha256:${this.hash.digest("hex")}`;
    if (meta.expected && meta.expected !== BigInt(size)) throw invalidArgument(`expected ${meta.expected} bytes but received ${size}`);
    if (meta.digest && meta.digest !== digest) throw invalidArgument(`digest mismatch: the client announced ${meta.digest} but the received bytes hash to ${digest}`);
    if (this.trailer && this.trailer.size !== BigInt(size)) throw invalidArgument(`the trailer announced ${this.trailer.size} bytes but ${size} were received`);
    if (this.trailer && this.trailer.digest !== digest) throw invalidArgument(`digest mismatch: the trailer announced ${this.trailer.digest} but the received bytes hash to ${digest}`);
    try {
      return { digest, listing: await this.inspector.finish(this.tmp, meta.name) };
    } catch (e) {
      if (e instanceof ArchiveError) throw invalidArgument(`invalid build context: ${e.message}`);
      throw e;
    }
  }

  /** Stops writing and listing and removes the temp file. */
  discard(): void {
    this.out?.destroy();
    this.inspector.abort();
    void fsp.rm(this.tmp, { force: true });
  }
}

export function uploadBuildContext(platform: Platform, kit: RpcKit, call: ServerReadableStream<UploadBuildContextRequest, unknown>, cb: sendUnaryData<unknown>): void {
  const { authOrg, log } = kit;
  let org: string;
  try {
    org = authOrg(call.metadata);
  } catch (e) {
    cb(toStatus(e, log, "UploadBuildContext"));
    return;
  }
  let failed = false;
  const fail = (e: unknown) => {
    if (failed) return;
    failed = true;
    call.removeAllListeners("data");
    call.pause();
    upload.discard();
    cb(toStatus(e, log, "UploadBuildContext"));
  };
  const upload = new ReceivedContext(platform.store.tmpPath("upload"), fail);
  call.on("data", (m: UploadBuildContextRequest) => {
    if (failed) return;
    try {
      const full = upload.take(m);
      if (!full) return;
      call.pause();
      void full.then(() => {
        if (!failed) call.resume();
      });
    } catch (e) {
      fail(e);
    }
  });
  call.on("error", (e) => fail(e));
  call.on("cancelled", () => {
    failed = true;
    upload.discard();
  });
  call.on("end", () => {
    if (failed) return;
    const { meta, out } = upload;
    if (!meta || !out) return fail(invalidArgument("the upload carried no metadata"));
    out.end(() => {
      void (async () => {
        const { digest, listing } = await upload.verify();
        await platform.store.adoptBlob(upload.tmp, digest);
        // SaveDraft from this context needs the same listing: it need not decompress the blob again.
        platform.drafts.rememberListing(digest, meta.name, listing);
        const contextId = `ctx_${digest.slice(7, 31)}`;
        const size = upload.size;
        await platform.store.putContext(org, { contextId, digest, sizeBytes: size, name: meta.name, contentType: meta.contentType, createdAtMs: Date.now() });
        log(`context ${contextId} uploaded by ${org} (${size} bytes)`);
        cb(null, create(UploadBuildContextResponseSchema, { contextId, sizeBytes: BigInt(size), digest }));
      })().catch(fail);
    });
  });
}
