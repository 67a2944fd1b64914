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
  type GetBuildResponse,
  type StreamBuildLogsResponse,
} from "../../src/gen/dodil/ignite/v1/build_pb.js";
import { BuildStatus } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import {
  ComputeService,
  CreateAppRequestSchema,
  InvokeRequestSchema,
  PublishDraftRequestSchema,
  SaveDraftRequestSchema,
  StreamCompileLogsRequestSchema,
} from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import {
  EmbedRequestSchema,
  GetModelRequestSchema,
  ListModelsRequestSchema,
  ModelService,
  ChatCompletionRequestSchema,
} from "../../src/gen/dodil/ignite/v1/model_pb.js";
import {
  CreateSecretRequestSchema,
  DeleteSecretRequestSchema,
  GetSecretRequestSchema,
  ListSecretsRequestSchema,
  SecretService,
} from "../../src/gen/dodil/ignite/v1/secret_pb.js";
import { OTHER_TOKEN, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { grpcCode, rpcError, type RpcClient } from "../helpers/rpc-client.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { greeterContext, makeTarGz } from "./helpers.js";

/** The plane's clock: a secret's updatedAtMs moves when the test moves it, not after a sleep. */
const clock = new FakeClock();
let fixture: TestControlPlane;
let dataDir: string;
let b: RpcClient<typeof BuildService>;
let s: RpcClient<typeof SecretService>;
let m: RpcClient<typeof ModelService>;
let c: RpcClient<typeof ComputeService>;

beforeAll(async () => {
  fixture = await startTestControlPlane({ label: "builds", clock });
  ({ dataDir, build: b, secret: s, model: m, compute: c } = fixture);
});

afterAll(async () => {
  await fixture?.stop();
});

const logs = (id: string, fromStart = true) => b.streamBuildLogs(create(StreamBuildLogsRequestSchema, { buildId: id, fromStart }));
const lines = (msgs: StreamBuildLogsResponse[]) => msgs.filter((x) => x.item.case === "entry").map((x) => (x.item.value as { line: string }).line);

describe("BuildService", () => {
  it("CreateBuild from zipped_code returns PENDING at once; logs replay and end with the finished build", async () => {
    await b.saveBuildSecrets(create(SaveBuildSecretsRequestSchema, { buildSecrets: { NPM_TOKEN: "s3cr3t-value" }, gitCredentials: { username: "u", password: "p" } }));
    const r = await b.createBuild(
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
    const g = await b.getBuild(create(GetBuildRequestSchema, { buildId: r.buildId }));
    expect(g.build?.status).toBe(BuildStatus.SUCCEEDED);
    // without from_start a finished build's stream carries only the end
    const tail = await logs(r.buildId, false);
    expect(tail.map((x) => x.item.case)).toEqual(["finished"]);
    const other = await rpcError(b.getBuild(create(GetBuildRequestSchema, { buildId: r.buildId }), { token: OTHER_TOKEN }));
    expect(grpcCode(other)).toBe(grpc.status.NOT_FOUND);
    // the secret file is private
    expect(statSync(path.join(dataDir, "orgs", "acme-corp", "build-secrets.json")).mode & 0o777).toBe(0o600);
  });

  it("builds from an uploaded context_id", async () => {
    const bytes = await greeterContext("b2");
    const up = await b.uploadBuildContext([
      create(UploadBuildContextRequestSchema, { payload: { case: "metadata", value: { name: "ctx.tar.gz", expectedSizeBytes: BigInt(bytes.length) } } }),
      create(UploadBuildContextRequestSchema, { payload: { case: "chunk", value: bytes } }),
    ]);
    const r = await b.createBuild(create(CreateBuildRequestSchema, { name: "from-ctx", source: { case: "contextId", value: up.contextId } }));
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
      const e = await rpcError(b.createBuild(create(CreateBuildRequestSchema, req as never)));
      expect(grpcCode(e), msg).toBe(code);
      expect(e.details).toContain(msg);
    }
    const noDf = await rpcError(b.createBuild(create(CreateBuildRequestSchema, { name: "ok", source: { case: "zippedCode", value: await makeTarGz({ "a.txt": "x" }) } })));
    expect(grpcCode(noDf)).toBe(grpc.status.INVALID_ARGUMENT);
    expect(noDf.details).toContain("Dockerfile 'Dockerfile' not found");
  });

  it("CancelBuild cancels a running build; a finished build cannot be cancelled", async () => {
    const steps = Array.from({ length: 1500 }, (_, i) => `COPY f /d/f${i}`).join("\n");
    const ctx = await makeTarGz({ Dockerfile: `FROM scratch\n${steps}\nCMD ["true"]\n`, f: "x" });
    const r = await b.createBuild(create(CreateBuildRequestSchema, { name: "slow", source: { case: "zippedCode", value: ctx } }));
    const cancelled = await b.cancelBuild(create(CancelBuildRequestSchema, { buildId: r.buildId }));
    expect(cancelled.build?.status).toBe(BuildStatus.CANCELLED);
    expect(cancelled.build?.error).toContain("cancelled");
    expect(cancelled.build?.imageRefs).toEqual([]);
    const again = await b.cancelBuild(create(CancelBuildRequestSchema, { buildId: r.buildId }));
    expect(again.build?.status).toBe(BuildStatus.CANCELLED);
    const ok = await b.listBuilds(create(ListBuildsRequestSchema, { status: BuildStatus.SUCCEEDED, limit: 1 }));
    const e = await rpcError(b.cancelBuild(create(CancelBuildRequestSchema, { buildId: ok.builds[0]!.buildId })));
    expect(grpcCode(e)).toBe(grpc.status.FAILED_PRECONDITION);
  });

  it("ListBuilds filters by status and name and pages newest first", async () => {
    const all = await b.listBuilds(create(ListBuildsRequestSchema, {}));
    expect(all.builds.length).toBeGreaterThanOrEqual(3);
    const ids = all.builds.map((x) => x.buildId);
    expect([...ids].sort().reverse()).toEqual(ids);
    const byName = await b.listBuilds(create(ListBuildsRequestSchema, { name: "greeter-img" }));
    expect(byName.builds.map((x) => x.name)).toEqual(["greeter-img"]);
    const cancelled = await b.listBuilds(create(ListBuildsRequestSchema, { status: BuildStatus.CANCELLED }));
    expect(cancelled.builds.every((x) => x.status === BuildStatus.CANCELLED)).toBe(true);
    const p1 = await b.listBuilds(create(ListBuildsRequestSchema, { limit: 1 }));
    expect(p1.builds.length).toBe(1);
    const p2 = await b.listBuilds(create(ListBuildsRequestSchema, { limit: 1, cursor: p1.nextCursor }));
    expect(p2.builds[0]!.buildId < p1.builds[0]!.buildId).toBe(true);
    const other = await b.listBuilds(create(ListBuildsRequestSchema, {}), { token: OTHER_TOKEN });
    expect(other.builds).toEqual([]);
  });
});

describe("SecretService", () => {
  const git = (name: string, token: string) => create(CreateSecretRequestSchema, { name, value: { value: { case: "gitSecret", value: { username: "me", token } } } });
  it("creates, overwrites, lists without values, gets with the value, deletes idempotently", async () => {
    const c1 = await s.createSecret(git("gh-token", "t1"));
    expect(c1.secret).toMatchObject({ name: "gh-token", type: "git_secret" });
    clock.advance(5);
    const c2 = await s.createSecret(git("gh-token", "t2"));
    expect(c2.secret!.createdAtMs).toBe(c1.secret!.createdAtMs);
    expect(c2.secret!.updatedAtMs > c1.secret!.updatedAtMs).toBe(true);
    await s.createSecret(
      create(CreateSecretRequestSchema, { name: "reg", value: { value: { case: "registrySecret", value: { username: "u", password: "pw", serverAddress: "ghcr.io" } } } }),
    );
    const list = await s.listSecrets(create(ListSecretsRequestSchema, {}));
    expect(list.secrets.map((x) => [x.name, x.type])).toEqual([
      ["gh-token", "git_secret"],
      ["reg", "registry_secret"],
    ]);
    expect(JSON.stringify(list, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain("t2");
    const g = await s.getSecret(create(GetSecretRequestSchema, { name: "gh-token" }));
    expect(g.value?.value).toMatchObject({ case: "gitSecret", value: { username: "me", token: "t2" } });
    expect(statSync(path.join(dataDir, "orgs", "acme-corp", "secrets", "gh-token.json")).mode & 0o777).toBe(0o600);
    const other = await rpcError(s.getSecret(create(GetSecretRequestSchema, { name: "gh-token" }), { token: OTHER_TOKEN }));
    expect(grpcCode(other)).toBe(grpc.status.NOT_FOUND);
    await s.deleteSecret(create(DeleteSecretRequestSchema, { name: "gh-token" }));
    await s.deleteSecret(create(DeleteSecretRequestSchema, { name: "gh-token" }));
    const gone = await rpcError(s.getSecret(create(GetSecretRequestSchema, { name: "gh-token" })));
    expect(grpcCode(gone)).toBe(grpc.status.NOT_FOUND);
  });

  it("validates names and values", async () => {
    for (const name of ["", "a".repeat(65), "bad name", "../x"]) {
      const e = await rpcError(s.createSecret(git(name, "t")));
      expect(grpcCode(e), name).toBe(grpc.status.INVALID_ARGUMENT);
    }
    const noValue = await rpcError(s.createSecret(create(CreateSecretRequestSchema, { name: "x" })));
    expect(grpcCode(noValue)).toBe(grpc.status.INVALID_ARGUMENT);
    const unauth = await rpcError(s.listSecrets(create(ListSecretsRequestSchema, {}), { token: null }));
    expect(grpcCode(unauth)).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("rejects a registry slot used as a git secret_ref and the reverse", async () => {
    await s.createSecret(git("gitslot", "t"));
    await c.createApp(create(CreateAppRequestSchema, { name: "sref" }));
    const viaGit = await rpcError(c
      .saveDraft(create(SaveDraftRequestSchema, { appName: "sref", code: { source: { case: "image", value: { source: { case: "fromGit", value: { url: "file:///x", secretRef: "reg" } } } } } })));
    expect(grpcCode(viaGit)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(viaGit.details).toContain("is a registry secret, but a git secret is required");
    const viaReg = await rpcError(c
      .saveDraft(
        create(SaveDraftRequestSchema, { appName: "sref", code: { source: { case: "image", value: { source: { case: "prebuilt", value: { imageRef: "ghcr.io/a/b:1", registrySecretRef: "gitslot" } } } } } }),
      ));
    expect(grpcCode(viaReg)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(viaReg.details).toContain("is a git secret, but a registry secret is required");
    const build = await rpcError(b
      .createBuild(create(CreateBuildRequestSchema, { name: "g", source: { case: "gitSource", value: { url: "file:///x", secretRef: "reg" } } })));
    expect(grpcCode(build)).toBe(grpc.status.FAILED_PRECONDITION);
  });
});

describe("ModelService", () => {
  it("serves a small catalog without a token", async () => {
    const l = await m.listModels(create(ListModelsRequestSchema, {}), { token: null });
    expect(l.object).toBe("list");
    const ids = l.data.map((x) => x.id);
    for (const id of ["kimi-k2.5", "jina-embeddings-v4", "bge-reranker-v2", "embeddinggemma-300m"]) expect(ids).toContain(id);
    const emb = await m.listModels(create(ListModelsRequestSchema, { family: "jina" }), { token: null });
    expect(emb.data.map((x) => x.id)).toEqual(["jina-embeddings-v4"]);
    const g = await m.getModel(create(GetModelRequestSchema, { model: "bge-reranker-v2" }), { token: null });
    expect(g.data).toMatchObject({ id: "bge-reranker-v2", object: "model", family: "bge", input: { format: "rerank" } });
    const nf = await rpcError(m.getModel(create(GetModelRequestSchema, { model: "gpt-9" }), { token: null }));
    expect(grpcCode(nf)).toBe(grpc.status.NOT_FOUND);
  });

  it("answers inference with UNIMPLEMENTED naming the method", async () => {
    const e = await rpcError(m.embed(create(EmbedRequestSchema, { model: "jina-embeddings-v4" })));
    expect(grpcCode(e)).toBe(grpc.status.UNIMPLEMENTED);
    expect(e.details).toBe("model 'jina-embeddings-v4' has no local model; ModelService.Embed is not available on the local control plane (use the hosted platform for inference)");
    const st = await rpcError(m.streamChatCompletion(create(ChatCompletionRequestSchema, { model: "kimi-k2.5" })));
    expect(grpcCode(st)).toBe(grpc.status.UNIMPLEMENTED);
    expect(st.details).toContain("ModelService.StreamChatCompletion");
  });
});

describe("python requirements", () => {
  it("pip-installs requirements.txt into the version (or logs that it skipped)", async () => {
    await c.createApp(create(CreateAppRequestSchema, { name: "deps" }));
    const handler = "def handler(payload, ctx):\n    try:\n        import six\n        return {'six': six.__version__}\n    except ImportError:\n        return {'six': None}\n";
    const d = await c.saveDraft(
      create(SaveDraftRequestSchema, {
        appName: "deps",
        code: { source: { case: "compile", value: { runtime: { kind: { case: "python", value: {} } }, sourceCode: await makeTarGz({ "handler.py": handler, "requirements.txt": "six\n" }) } } },
      }),
    );
    const out = await c.streamCompileLogs(create(StreamCompileLogsRequestSchema, { deployId: d.draft!.deployId, follow: true }));
    const text = out.filter((x) => x.item.case === "entry").map((x) => (x.item.value as { line: string }).line).join("\n");
    expect(text).toContain("Installing 1 requirement(s)");
    const installed = text.includes("requirements installed");
    if (!installed) expect(text).toContain("skipping");
    await c.publishDraft(create(PublishDraftRequestSchema, { appName: "deps" }));
    const frames = await c.invoke(create(InvokeRequestSchema, { appName: "deps", body: Buffer.from("{}") }));
    const body = JSON.parse(Buffer.concat(frames.filter((f) => f.frame.case === "bodyChunk").map((f) => f.frame.value as Uint8Array)).toString("utf8"));
    if (installed) expect(typeof body.six).toBe("string");
  });
});
