/** BuildService (standalone builds), SecretService and ModelService on the local control plane. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { statSync } from "node:fs";
import * as path from "node:path";
import {
  BuildService,
  CancelBuildRequestSchema,
  CreateBuildRequestSchema,
  GetBuildRequestSchema,
  ListBuildsRequestSchema,
  SaveBuildSecretsRequestSchema,
  StreamBuildLogsRequestSchema,
  UploadBuildContextRequestSchema,
  type CancelBuildResponse,
  type CreateBuildResponse,
  type GetBuildResponse,
  type ListBuildsResponse,
  type StreamBuildLogsResponse,
  type UploadBuildContextResponse,
} from "../../src/gen/dodil/ignite/v1/build_pb.js";
import { BuildStatus } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import {
  ComputeService,
  CreateAppRequestSchema,
  InvokeRequestSchema,
  PublishDraftRequestSchema,
  SaveDraftRequestSchema,
  StreamCompileLogsRequestSchema,
  type InvokeResponse,
  type SaveDraftResponse,
  type StreamCompileLogsResponse,
} from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import {
  EmbedRequestSchema,
  GetModelRequestSchema,
  ListModelsRequestSchema,
  ModelService,
  ChatCompletionRequestSchema,
  type GetModelResponse,
  type ListModelsResponse,
} from "../../src/gen/dodil/ignite/v1/model_pb.js";
import {
  CreateSecretRequestSchema,
  DeleteSecretRequestSchema,
  GetSecretRequestSchema,
  ListSecretsRequestSchema,
  SecretService,
  type CreateSecretResponse,
  type GetSecretResponse,
  type ListSecretsResponse,
} from "../../src/gen/dodil/ignite/v1/secret_pb.js";
import { startControlPlane, type RunningControlPlane } from "../../src/local/control-plane.js";
import { cleanup, greeterContext, grpcCode, makeTarGz, TestClient, tempDir, rpcError } from "./helpers.js";

const TOKEN = "tok-acme";
const tokens = { [TOKEN]: "acme-corp", "tok-other": "other-org" };
let cp: RunningControlPlane;
let dataDir: string;
let b: TestClient;
let s: TestClient;
let m: TestClient;
let c: TestClient;

beforeAll(async () => {
  dataDir = tempDir("builds");
  cp = await startControlPlane({ listen: "127.0.0.1:0", gatewayListen: "127.0.0.1:0", dataDir, driver: "host", tokens, readyTimeoutMs: 20_000 });
  b = new TestClient(BuildService, cp.grpcEndpoint, TOKEN);
  s = new TestClient(SecretService, cp.grpcEndpoint, TOKEN);
  m = new TestClient(ModelService, cp.grpcEndpoint, TOKEN);
  c = new TestClient(ComputeService, cp.grpcEndpoint, TOKEN);
});

afterAll(async () => {
  for (const x of [b, s, m, c]) x?.close();
  await cp?.stop();
  cleanup(dataDir);
});

const logs = (id: string, fromStart = true) => b.stream<StreamBuildLogsResponse>("streamBuildLogs", create(StreamBuildLogsRequestSchema, { buildId: id, fromStart }));
const lines = (msgs: StreamBuildLogsResponse[]) => msgs.filter((x) => x.item.case === "entry").map((x) => (x.item.value as { line: string }).line);

describe("BuildService", () => {
  it("CreateBuild from zipped_code returns PENDING at once; logs replay and end with the finished build", async () => {
    await b.unary("saveBuildSecrets", create(SaveBuildSecretsRequestSchema, { buildSecrets: { NPM_TOKEN: "s3cr3t-value" }, gitCredentials: { username: "u", password: "p" } }));
    const r = await b.unary<CreateBuildResponse>(
      "createBuild",
      create(CreateBuildRequestSchema, { name: "greeter-img", tags: ["1.0", "latest"], buildArgs: { APP_ENV: "prod" }, source: { case: "zippedCode", value: await greeterContext("b1") } }),
    );
    expect(r.buildId).toMatch(/^bld_[0-9A-Z]{26}$/);
    expect(r.status).toBe(BuildStatus.PENDING);
    const out = await logs(r.buildId);
    const last = out[out.length - 1]!;
    expect(last.item.case).toBe("finished");
    const fin = last.item.value as GetBuildResponse["build"] & object;
    expect(fin.status).toBe(BuildStatus.SUCCEEDED);
    expect(fin.imageRefs).toEqual(["local.ignite/acme-corp/greeter-img:1.0", "local.ignite/acme-corp/greeter-img:latest"]);
    expect(fin.buildArgs).toEqual({ APP_ENV: "prod", NPM_TOKEN: "***" });
    expect(fin.tags).toEqual(["1.0", "latest"]);
    expect(fin.dockerfile).toBe("Dockerfile");
    const text = lines(out).join("\n");
    expect(text).toContain("NPM_TOKEN=***");
    expect(text).not.toContain("s3cr3t-value");
    const g = await b.unary<GetBuildResponse>("getBuild", create(GetBuildRequestSchema, { buildId: r.buildId }));
    expect(g.build?.status).toBe(BuildStatus.SUCCEEDED);
    // without from_start a finished build's stream carries only the end
    const tail = await logs(r.buildId, false);
    expect(tail.map((x) => x.item.case)).toEqual(["finished"]);
    const other = await rpcError(b.unary("getBuild", create(GetBuildRequestSchema, { buildId: r.buildId }), "tok-other"));
    expect(grpcCode(other)).toBe(grpc.status.NOT_FOUND);
    // the secret file is private
    expect(statSync(path.join(dataDir, "orgs", "acme-corp", "build-secrets.json")).mode & 0o777).toBe(0o600);
  });

  it("builds from an uploaded context_id", async () => {
    const bytes = await greeterContext("b2");
    const up = await b.clientStream<UploadBuildContextResponse>("uploadBuildContext", [
      create(UploadBuildContextRequestSchema, { payload: { case: "metadata", value: { name: "ctx.tar.gz", expectedSizeBytes: BigInt(bytes.length) } } }),
      create(UploadBuildContextRequestSchema, { payload: { case: "chunk", value: bytes } }),
    ]);
    const r = await b.unary<CreateBuildResponse>("createBuild", create(CreateBuildRequestSchema, { name: "from-ctx", source: { case: "contextId", value: up.contextId } }));
    const out = await logs(r.buildId);
    const fin = out[out.length - 1]!.item.value as { status: number; imageRefs: string[] };
    expect(fin.status).toBe(BuildStatus.SUCCEEDED);
    expect(fin.imageRefs).toEqual(["local.ignite/acme-corp/from-ctx:latest"]);
  });

  it("rejects bad requests", async () => {
    const cases: [Record<string, unknown>, number, string][] = [
      [{ name: "x" }, grpc.status.INVALID_ARGUMENT, "a source is required"],
      [{ source: { case: "zippedCode", value: Buffer.from("x") } }, grpc.status.INVALID_ARGUMENT, "name is required"],
      [{ name: "Bad Name", source: { case: "zippedCode", value: Buffer.from("x") } }, grpc.status.INVALID_ARGUMENT, "invalid image name"],
      [{ name: "ok", tags: ["-bad"], source: { case: "zippedCode", value: Buffer.from("x") } }, grpc.status.INVALID_ARGUMENT, "invalid tag"],
      [{ name: "ok", source: { case: "zippedCode", value: Buffer.alloc(4 * 1024 * 1024) } }, grpc.status.RESOURCE_EXHAUSTED, "under 4 MB"],
      [{ name: "ok", source: { case: "contextId", value: "ctx_000000000000000000000000" } }, grpc.status.NOT_FOUND, "not found"],
      [{ name: "ok", source: { case: "gitSource", value: { url: "file:///nowhere", secretRef: "reg" } } }, grpc.status.FAILED_PRECONDITION, "secret 'reg' not found"],
    ];
    for (const [req, code, msg] of cases) {
      const e = await rpcError(b.unary("createBuild", create(CreateBuildRequestSchema, req as never)));
      expect(grpcCode(e), msg).toBe(code);
      expect(e.details).toContain(msg);
    }
    const noDf = await rpcError(b.unary("createBuild", create(CreateBuildRequestSchema, { name: "ok", source: { case: "zippedCode", value: await makeTarGz({ "a.txt": "x" }) } })));
    expect(grpcCode(noDf)).toBe(grpc.status.INVALID_ARGUMENT);
    expect(noDf.details).toContain("Dockerfile 'Dockerfile' not found");
  });

  it("CancelBuild cancels a running build; a finished build cannot be cancelled", async () => {
    const steps = Array.from({ length: 1500 }, (_, i) => `COPY f /d/f${i}`).join("\n");
    const ctx = await makeTarGz({ Dockerfile: `FROM scratch\n${steps}\nCMD ["true"]\n`, f: "x" });
    const r = await b.unary<CreateBuildResponse>("createBuild", create(CreateBuildRequestSchema, { name: "slow", source: { case: "zippedCode", value: ctx } }));
    const cancelled = await b.unary<CancelBuildResponse>("cancelBuild", create(CancelBuildRequestSchema, { buildId: r.buildId }));
    expect(cancelled.build?.status).toBe(BuildStatus.CANCELLED);
    expect(cancelled.build?.error).toContain("cancelled");
    expect(cancelled.build?.imageRefs).toEqual([]);
    const again = await b.unary<CancelBuildResponse>("cancelBuild", create(CancelBuildRequestSchema, { buildId: r.buildId }));
    expect(again.build?.status).toBe(BuildStatus.CANCELLED);
    const ok = await b.unary<ListBuildsResponse>("listBuilds", create(ListBuildsRequestSchema, { status: BuildStatus.SUCCEEDED, limit: 1 }));
    const e = await rpcError(b.unary("cancelBuild", create(CancelBuildRequestSchema, { buildId: ok.builds[0]!.buildId })));
    expect(grpcCode(e)).toBe(grpc.status.FAILED_PRECONDITION);
  });

  it("ListBuilds filters by status and name and pages newest first", async () => {
    const all = await b.unary<ListBuildsResponse>("listBuilds", create(ListBuildsRequestSchema, {}));
    expect(all.builds.length).toBeGreaterThanOrEqual(3);
    const ids = all.builds.map((x) => x.buildId);
    expect([...ids].sort().reverse()).toEqual(ids);
    const byName = await b.unary<ListBuildsResponse>("listBuilds", create(ListBuildsRequestSchema, { name: "greeter-img" }));
    expect(byName.builds.map((x) => x.name)).toEqual(["greeter-img"]);
    const cancelled = await b.unary<ListBuildsResponse>("listBuilds", create(ListBuildsRequestSchema, { status: BuildStatus.CANCELLED }));
    expect(cancelled.builds.every((x) => x.status === BuildStatus.CANCELLED)).toBe(true);
    const p1 = await b.unary<ListBuildsResponse>("listBuilds", create(ListBuildsRequestSchema, { limit: 1 }));
    expect(p1.builds.length).toBe(1);
    const p2 = await b.unary<ListBuildsResponse>("listBuilds", create(ListBuildsRequestSchema, { limit: 1, cursor: p1.nextCursor }));
    expect(p2.builds[0]!.buildId < p1.builds[0]!.buildId).toBe(true);
    const other = await b.unary<ListBuildsResponse>("listBuilds", create(ListBuildsRequestSchema, {}), "tok-other");
    expect(other.builds).toEqual([]);
  });
});

describe("SecretService", () => {
  const git = (name: string, token: string) => create(CreateSecretRequestSchema, { name, value: { value: { case: "gitSecret", value: { username: "me", token } } } });
  it("creates, overwrites, lists without values, gets with the value, deletes idempotently", async () => {
    const c1 = await s.unary<CreateSecretResponse>("createSecret", git("gh-token", "t1"));
    expect(c1.secret).toMatchObject({ name: "gh-token", type: "git_secret" });
    await new Promise((r) => setTimeout(r, 5));
    const c2 = await s.unary<CreateSecretResponse>("createSecret", git("gh-token", "t2"));
    expect(c2.secret!.createdAtMs).toBe(c1.secret!.createdAtMs);
    expect(c2.secret!.updatedAtMs > c1.secret!.updatedAtMs).toBe(true);
    await s.unary(
      "createSecret",
      create(CreateSecretRequestSchema, { name: "reg", value: { value: { case: "registrySecret", value: { username: "u", password: "pw", serverAddress: "ghcr.io" } } } }),
    );
    const list = await s.unary<ListSecretsResponse>("listSecrets", create(ListSecretsRequestSchema, {}));
    expect(list.secrets.map((x) => [x.name, x.type])).toEqual([
      ["gh-token", "git_secret"],
      ["reg", "registry_secret"],
    ]);
    expect(JSON.stringify(list, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain("t2");
    const g = await s.unary<GetSecretResponse>("getSecret", create(GetSecretRequestSchema, { name: "gh-token" }));
    expect(g.value?.value).toMatchObject({ case: "gitSecret", value: { username: "me", token: "t2" } });
    expect(statSync(path.join(dataDir, "orgs", "acme-corp", "secrets", "gh-token.json")).mode & 0o777).toBe(0o600);
    const other = await rpcError(s.unary("getSecret", create(GetSecretRequestSchema, { name: "gh-token" }), "tok-other"));
    expect(grpcCode(other)).toBe(grpc.status.NOT_FOUND);
    await s.unary("deleteSecret", create(DeleteSecretRequestSchema, { name: "gh-token" }));
    await s.unary("deleteSecret", create(DeleteSecretRequestSchema, { name: "gh-token" }));
    const gone = await rpcError(s.unary("getSecret", create(GetSecretRequestSchema, { name: "gh-token" })));
    expect(grpcCode(gone)).toBe(grpc.status.NOT_FOUND);
  });

  it("validates names and values", async () => {
    for (const name of ["", "a".repeat(65), "bad name", "../x"]) {
      const e = await rpcError(s.unary("createSecret", git(name, "t")));
      expect(grpcCode(e), name).toBe(grpc.status.INVALID_ARGUMENT);
    }
    const noValue = await rpcError(s.unary("createSecret", create(CreateSecretRequestSchema, { name: "x" })));
    expect(grpcCode(noValue)).toBe(grpc.status.INVALID_ARGUMENT);
    const unauth = await rpcError(s.unary("listSecrets", create(ListSecretsRequestSchema, {}), null));
    expect(grpcCode(unauth)).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("rejects a registry slot used as a git secret_ref and the reverse", async () => {
    await s.unary("createSecret", git("gitslot", "t"));
    await c.unary("createApp", create(CreateAppRequestSchema, { name: "sref" }));
    const viaGit = await rpcError(c
      .unary("saveDraft", create(SaveDraftRequestSchema, { appName: "sref", code: { source: { case: "image", value: { source: { case: "fromGit", value: { url: "file:///x", secretRef: "reg" } } } } } })));
    expect(grpcCode(viaGit)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(viaGit.details).toContain("is a registry secret, but a git secret is required");
    const viaReg = await rpcError(c
      .unary(
        "saveDraft",
        create(SaveDraftRequestSchema, { appName: "sref", code: { source: { case: "image", value: { source: { case: "prebuilt", value: { imageRef: "ghcr.io/a/b:1", registrySecretRef: "gitslot" } } } } } }),
      ));
    expect(grpcCode(viaReg)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(viaReg.details).toContain("is a git secret, but a registry secret is required");
    const build = await rpcError(b
      .unary("createBuild", create(CreateBuildRequestSchema, { name: "g", source: { case: "gitSource", value: { url: "file:///x", secretRef: "reg" } } })));
    expect(grpcCode(build)).toBe(grpc.status.FAILED_PRECONDITION);
  });
});

describe("ModelService", () => {
  it("serves a small catalog without a token", async () => {
    const l = await m.unary<ListModelsResponse>("listModels", create(ListModelsRequestSchema, {}), null);
    expect(l.object).toBe("list");
    const ids = l.data.map((x) => x.id);
    for (const id of ["kimi-k2.5", "jina-embeddings-v4", "bge-reranker-v2", "embeddinggemma-300m"]) expect(ids).toContain(id);
    const emb = await m.unary<ListModelsResponse>("listModels", create(ListModelsRequestSchema, { family: "jina" }), null);
    expect(emb.data.map((x) => x.id)).toEqual(["jina-embeddings-v4"]);
    const g = await m.unary<GetModelResponse>("getModel", create(GetModelRequestSchema, { model: "bge-reranker-v2" }), null);
    expect(g.data).toMatchObject({ id: "bge-reranker-v2", object: "model", family: "bge", input: { format: "rerank" } });
    const nf = await rpcError(m.unary("getModel", create(GetModelRequestSchema, { model: "gpt-9" }), null));
    expect(grpcCode(nf)).toBe(grpc.status.NOT_FOUND);
  });

  it("answers inference with UNIMPLEMENTED naming the method", async () => {
    const e = await rpcError(m.unary("embed", create(EmbedRequestSchema, { model: "jina-embeddings-v4" })));
    expect(grpcCode(e)).toBe(grpc.status.UNIMPLEMENTED);
    expect(e.details).toBe("model 'jina-embeddings-v4' has no local model; ModelService.Embed is not available on the local control plane (use the hosted platform for inference)");
    const st = await rpcError(m.stream("streamChatCompletion", create(ChatCompletionRequestSchema, { model: "kimi-k2.5" })));
    expect(grpcCode(st)).toBe(grpc.status.UNIMPLEMENTED);
    expect(st.details).toContain("ModelService.StreamChatCompletion");
  });
});

describe("python requirements", () => {
  it("pip-installs requirements.txt into the version (or logs that it skipped)", async () => {
    await c.unary("createApp", create(CreateAppRequestSchema, { name: "deps" }));
    const handler = "def handler(payload, ctx):\n    try:\n        import six\n        return {'six': six.__version__}\n    except ImportError:\n        return {'six': None}\n";
    const d = await c.unary<SaveDraftResponse>(
      "saveDraft",
      create(SaveDraftRequestSchema, {
        appName: "deps",
        code: { source: { case: "compile", value: { runtime: { kind: { case: "python", value: {} } }, sourceCode: await makeTarGz({ "handler.py": handler, "requirements.txt": "six\n" }) } } },
      }),
    );
    const out = await c.stream<StreamCompileLogsResponse>("streamCompileLogs", create(StreamCompileLogsRequestSchema, { deployId: d.draft!.deployId, follow: true }));
    const text = out.filter((x) => x.item.case === "entry").map((x) => (x.item.value as { line: string }).line).join("\n");
    expect(text).toContain("Installing 1 requirement(s)");
    const installed = text.includes("requirements installed");
    if (!installed) expect(text).toContain("skipping");
    await c.unary("publishDraft", create(PublishDraftRequestSchema, { appName: "deps" }));
    const frames = await c.stream<InvokeResponse>("invoke", create(InvokeRequestSchema, { appName: "deps", body: Buffer.from("{}") }));
    const body = JSON.parse(Buffer.concat(frames.filter((f) => f.frame.case === "bodyChunk").map((f) => f.frame.value as Uint8Array)).toString("utf8"));
    if (installed) expect(typeof body.six).toBe("string");
  });
});
