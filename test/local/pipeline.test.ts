import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { execSync } from "node:child_process";
import * as http from "node:http";
import {
  ComputeService,
  CreateAppRequestSchema,
  GetAppRequestSchema,
  GetDraftInfoRequestSchema,
  InvokeRequestSchema,
  ListAppVersionsRequestSchema,
  PublishDraftRequestSchema,
  RollbackAppRequestSchema,
  SaveDraftRequestSchema,
  StreamCompileLogsRequestSchema,
  GetAppCodeRequestSchema,
  UpdateAppConfigRequestSchema,
} from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { BuildService, UploadBuildContextRequestSchema } from "../../src/gen/dodil/ignite/v1/build_pb.js";
import { BuildStatus, DeploymentState, VersionStatus } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import { ACME_TOKEN, OTHER_TOKEN, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { grpcCode, rpcError, type RpcClient } from "../helpers/rpc-client.js";
import { greeterContext, makeTarGz, tempDir } from "./helpers.js";

let fixture: TestControlPlane;
let cp: TestControlPlane["plane"];
let dataDir: string;
let c: RpcClient<typeof ComputeService>;
let b: RpcClient<typeof BuildService>;

/** Starts (or restarts) the plane on the same data dir. */
async function start() {
  fixture = await startTestControlPlane({ dataDir });
  ({ plane: cp, compute: c, build: b } = fixture);
}

beforeAll(async () => {
  dataDir = tempDir("pipeline");
  await start();
});

afterAll(async () => {
  await fixture?.stop();
});

async function invoke(app: string, body: unknown, extra: Partial<{ path: string; headers: Record<string, string> }> = {}) {
  const frames = await c.invoke(
    create(InvokeRequestSchema, {
      appName: app,
      http: { method: "POST", path: extra.path ?? "/", headers: extra.headers ?? {} },
      body: Buffer.from(JSON.stringify(body)),
    }),
  );
  const head = frames[0]?.frame.case === "head" ? frames[0].frame.value : undefined;
  const chunks = frames.filter((f) => f.frame.case === "bodyChunk").map((f) => f.frame.value as Uint8Array);
  const trailer = frames[frames.length - 1]?.frame.case === "trailer" ? frames[frames.length - 1]!.frame.value : undefined;
  return { head: head!, json: JSON.parse(Buffer.concat(chunks).toString("utf8")), trailer: trailer as { durationMs: bigint; bodyBytes: bigint; error: string } };
}

async function saveContext(app: string, bytes: Buffer, buildArgs: Record<string, string> = {}) {
  const up = await b.uploadBuildContext([
    create(UploadBuildContextRequestSchema, { payload: { case: "metadata", value: { name: "app.tar.gz", expectedSizeBytes: BigInt(bytes.length) } } }),
    create(UploadBuildContextRequestSchema, { payload: { case: "chunk", value: bytes } }),
  ]);
  return c.saveDraft(
    create(SaveDraftRequestSchema, {
      appName: app,
      code: { source: { case: "image", value: { source: { case: "fromCode", value: { contextId: up.contextId, dockerfilePath: "Dockerfile", buildArgs } } } } },
    }),
  );
}

function gatewayRequest(host: string, token?: string, body = "{}"): Promise<{ status: number; json: Record<string, unknown> }> {
  const u = new URL(cp.gatewayUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method: "POST", path: "/hello?x=1", headers: { host, "content-type": "application/json", "x-ignite-function-id": "spoof", ...(token ? { authorization: `Bearer ${token}` } : {}) } },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(parts).toString("utf8") || "{}") }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("draft -> build -> publish -> invoke", () => {
  it("runs the seed recipe end to end", async () => {
    await c.createApp(create(CreateAppRequestSchema, { name: "greeter", healthPath: "/health", env: { GREETING: "from app env" } }));
    const saved = await saveContext("greeter", await greeterContext("v1"), { APP_ENV: "prod" });
    expect(saved.draft?.deployId).toMatch(/^bld_[0-9A-Z]{26}$/);
    expect(saved.draft?.codeHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect([BuildStatus.PENDING, BuildStatus.RUNNING]).toContain(saved.draft?.buildStatus);

    // follow the build log to its end
    const items = await c.streamCompileLogs(create(StreamCompileLogsRequestSchema, { deployId: saved.draft!.deployId, follow: true }));
    const lines = items.filter((i) => i.item.case === "entry").map((i) => (i.item.value as { line: string }).line);
    const outcome = items[items.length - 1]!.item;
    expect(outcome.case).toBe("outcome");
    expect(outcome.case === "outcome" && outcome.value.status).toBe(BuildStatus.SUCCEEDED);
    expect(lines).toContain("STEP 3/10: WORKDIR /app");
    expect(lines.some((l) => /RUN pip install .* skipped: the host driver does not run build commands/.test(l))).toBe(true);
    expect(lines.some((l) => /FROM python:3.12-slim: not honoured/.test(l))).toBe(true);
    expect(lines.some((l) => /USER 65534: recorded/.test(l))).toBe(true);
    // offsets are contiguous and resumable
    const again = await c.streamCompileLogs(create(StreamCompileLogsRequestSchema, { deployId: saved.draft!.deployId, fromOffset: 3n }));
    expect(again[0]!.item.case === "entry" && again[0]!.item.value.offset).toBe(3n);
    const other = await rpcError(c.streamCompileLogs(create(StreamCompileLogsRequestSchema, { deployId: saved.draft!.deployId }), { token: OTHER_TOKEN }));
    expect(grpcCode(other)).toBe(grpc.status.NOT_FOUND);

    const draft = await c.getDraftInfo(create(GetDraftInfoRequestSchema, { appName: "greeter" }));
    expect(draft.draft?.buildStatus).toBe(BuildStatus.SUCCEEDED);
    expect(draft.draft?.imageRef).toMatch(/^local\.ignite\/acme-corp\/greeter:/);

    const pub = await c.publishDraft(create(PublishDraftRequestSchema, { appName: "greeter" }));
    expect(pub.version).toBe(1);
    expect(pub.app?.activeVersion).toBe(1);
    expect(pub.app?.deploymentState).toBe(DeploymentState.ACTIVE);
    const port = new URL(cp.gatewayUrl).port;
    expect(pub.app?.publicUrls).toEqual([`http://greeter-acme-corp.ignite.localhost:${port}`]);

    const r = await invoke("greeter", { name: "ada" }, { headers: { "x-ignite-spoof": "evil", "x-custom": "kept" } });
    expect(r.head.statusCode).toBe(200);
    expect(r.head.coldStart).toBe(false);
    expect(r.head.version).toBe(1);
    expect(r.head.executionId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(r.json.greeting).toBe("Hello, ada!");
    expect(r.json.execution_id).toBe(r.head.executionId);
    expect(r.json.function_id).toBe("acme-corp/greeter");
    expect(r.json.organization_id).toBe(r.head.organizationId);
    expect(r.json.spoofed).toBe("");
    expect(r.json.custom).toBe("kept");
    expect(r.json.greeting_env).toBe("from app env");
    // as root the app runs as its own user with $HOME outside the data dir, which it cannot open
    expect(String(r.json.home).startsWith(process.getuid?.() === 0 ? "/run/dodil-ignite/" : dataDir)).toBe(true);
    expect(Number(r.trailer.bodyBytes)).toBeGreaterThan(10);
    const r2 = await invoke("greeter", {});
    expect(r2.head.executionId > r.head.executionId).toBe(true);

    // gateway: host routing, auth, header injection
    const host = `greeter-acme-corp.ignite.localhost:${port}`;
    expect((await gatewayRequest(host)).status).toBe(401);
    expect((await gatewayRequest(host, OTHER_TOKEN)).status).toBe(403);
    expect((await gatewayRequest("nope-acme-corp.ignite.localhost")).status).toBe(404);
    const g = await gatewayRequest(host, ACME_TOKEN, JSON.stringify({ name: "gw" }));
    expect(g.status).toBe(200);
    expect(g.json.greeting).toBe("Hello, gw!");
    expect(g.json.path).toBe("/hello?x=1");
    expect(g.json.function_id).toBe("acme-corp/greeter");
    expect(String(g.json.execution_id)).toMatch(/^[0-9A-Z]{26}$/);
  });

  it("publishes v2, rolls back to v1, keeps state across a restart and cold-starts", async () => {
    await saveContext("greeter", await greeterContext("v2"));
    const pub = await c.publishDraft(create(PublishDraftRequestSchema, { appName: "greeter" }));
    expect(pub.version).toBe(2);
    expect((await invoke("greeter", {})).json.tag).toBe("v2");
    const versions = await c.listAppVersions(create(ListAppVersionsRequestSchema, { appName: "greeter" }));
    expect(versions.versions.map((v) => [v.version, v.status])).toEqual([
      [1, VersionStatus.SUPERSEDED],
      [2, VersionStatus.ACTIVE],
    ]);
    const rb = await c.rollbackApp(create(RollbackAppRequestSchema, { appName: "greeter", version: 1 }));
    expect(rb.previousVersion).toBe(2);
    expect(rb.app?.activeVersion).toBe(1);
    const r1 = await invoke("greeter", {});
    expect(r1.json.tag).toBe("v1");
    expect(r1.head.version).toBe(1);
    const missing = await rpcError(c.rollbackApp(create(RollbackAppRequestSchema, { appName: "greeter", version: 9 })));
    expect(grpcCode(missing)).toBe(grpc.status.NOT_FOUND);
    const code = await c.getAppCode(create(GetAppCodeRequestSchema, { appName: "greeter" }));
    expect(code.version).toBe(1);
    expect(code.contentType).toBe("application/gzip");

    // restart on the same data dir
    await fixture.stop();
    await start();
    const got = await c.getApp(create(GetAppRequestSchema, { appName: "greeter" }));
    expect(got.app?.activeVersion).toBe(1);
    expect(got.app?.deploymentState).toBe(DeploymentState.SCALED_TO_ZERO);
    const cold = await invoke("greeter", { name: "again" });
    expect(cold.head.coldStart).toBe(true);
    expect(cold.json.tag).toBe("v1");
    expect((await invoke("greeter", {})).head.coldStart).toBe(false);
    const after = await c.getApp(create(GetAppRequestSchema, { appName: "greeter" }));
    expect(after.app?.deploymentState).toBe(DeploymentState.ACTIVE);
  });

  it("reports failed builds and unready apps clearly", async () => {
    await c.createApp(create(CreateAppRequestSchema, { name: "broken" }));
    await saveContext("broken", await makeTarGz({ Dockerfile: "FROM alpine\nFROBNICATE now\n" }));
    const e = await rpcError(c.publishDraft(create(PublishDraftRequestSchema, { appName: "broken" })));
    expect(grpcCode(e)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(e.details).toMatch(/unknown instruction 'FROBNICATE'/);

    await saveContext("broken", await makeTarGz({ Dockerfile: 'FROM alpine\nCMD ["/bin/sh", "-c", "echo booting; echo cannot bind >&2; exit 3"]\n' }));
    const e2 = await rpcError(c.publishDraft(create(PublishDraftRequestSchema, { appName: "broken" })));
    expect(grpcCode(e2)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(e2.details).toMatch(/exited before it was ready[\s\S]*cannot bind/);

    const inv = await rpcError(c.invoke(create(InvokeRequestSchema, { appName: "broken" })));
    expect(grpcCode(inv)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(inv.details).toMatch(/no published version/);

    // a config change on a running app takes effect at the next (cold) start
    await c.updateAppConfig(create(UpdateAppConfigRequestSchema, { appName: "greeter", envSet: { GREETING: "changed" } }));
    const r = await invoke("greeter", {});
    expect(r.head.coldStart).toBe(true);
    expect(r.json.greeting_env).toBe("changed");
  });

  it("leaves no process behind after stop", async () => {
    await fixture.stop();
    const ps = execSync("ps -eo pid,args").toString();
    expect(ps).not.toContain(dataDir);
    await start();
  });
});
