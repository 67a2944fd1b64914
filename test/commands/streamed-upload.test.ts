import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GrpcIgniteApi } from "../../src/api/grpc-ignite-api.js";
import { packBuildContext } from "../../src/build-context/pack-tar.js";
import { createApp } from "../../src/core/apps.js";
import type { DraftSource } from "../../src/core/draft-source.js";
import { findUploadedContext, saveDraft } from "../../src/core/drafts.js";
import { collectSource, prepareStreamedArchive } from "../../src/core/prepare-archive.js";
import { UsageError } from "../../src/errors.js";
import { ComputeService } from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { ACME_TOKEN, removeDir, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

// draft save of a large directory packs and uploads at once (UploadBuildContext with a trailer
// carrying the digest), against a real local control plane.
let cp: TestControlPlane;
let work: string;
let api: GrpcIgniteApi;

type DirectorySource = Extract<DraftSource, { kind: "directory" }>;
const directory = (path: string): DirectorySource => ({ kind: "directory", path, dockerfilePath: "Dockerfile", buildArgs: {}, runtime: undefined });

function tree(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "Dockerfile"), 'FROM python:3.12-slim\nCOPY . /app\nUSER 65534\nCMD ["python", "/app/x.py"]\n');
  writeFileSync(join(dir, "x.py"), "print('hello')\n".repeat(50_000));
  writeFileSync(join(dir, "blob.bin"), randomBytes(10 * 1024 * 1024));
  return dir;
}

beforeAll(async () => {
  cp = await startTestControlPlane({ label: "stream" });
  work = mkdtempSync(join(tmpdir(), "ignite-stream-"));
  api = new GrpcIgniteApi({ endpoint: cp.plane.grpcEndpoint, token: ACME_TOKEN, plaintext: true, timeoutMs: 120_000 });
});

afterAll(async () => {
  api?.close();
  await cp?.stop();
  removeDir(cp?.dataDir ?? "");
  removeDir(work ?? "");
});

describe("draft save of a large directory: packed while it is uploaded", () => {
  it("sends chunks before the pack is finished, and the plane holds the very archive packBuildContext makes", async () => {
    const dir = tree("big");
    await createApp(api, { org: "acme-corp", name: "streamed" }, {});
    const stream = prepareStreamedArchive(directory(dir), await collectSource(directory(dir)));
    expect(stream.maxBytes).toBeGreaterThan(10 * 1024 * 1024);
    const progress: number[] = [];
    const result = await saveDraft(api, { org: "acme-corp", name: "streamed" }, { source: directory(dir), stream, onUploadProgress: (sent) => progress.push(sent) });
    // The first chunk went out with a few MiB of the tree packed, not all of it (read-ahead is bounded).
    expect(progress[0]).toBeLessThan(stream.totalBytes / 2);
    expect(progress.at(-1)).toBe(stream.totalBytes);
    const packed = await packBuildContext(dir, { dockerfilePath: "Dockerfile" });
    try {
      expect(result.archive).toMatchObject({ digest: packed.digest, archiveBytes: packed.archiveBytes, uploadedBytes: packed.archiveBytes, packed: true });
      expect(packed.archiveBytes).toBeLessThanOrEqual(stream.maxBytes);
      expect(result.draft.codeHash).toBe(packed.digest);
      expect(await findUploadedContext(api, packed.digest)).toBe(result.archive?.contextId);
    } finally {
      await packed.cleanup();
    }
  });

  it("stops the upload with a usage error when a file changes while it is packed", async () => {
    const dir = tree("changing");
    await createApp(api, { org: "acme-corp", name: "changing" }, {});
    const stream = prepareStreamedArchive(directory(dir), await collectSource(directory(dir)));
    // The walk recorded 10 MiB; the file is shorter by the time it is read.
    truncateSync(join(dir, "blob.bin"), 1000);
    const error = await saveDraft(api, { org: "acme-corp", name: "changing" }, { source: directory(dir), stream }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/blob\.bin changed while the context was being packed/);
    expect((await api.unary(ComputeService.method.getDraftInfo, { organizationName: "acme-corp", appName: "changing" })).draft).toBeUndefined();
  });
});
