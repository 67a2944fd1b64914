/**
 * The rest of the command surface on the local control plane (issue 6), through real gRPC calls:
 * the Python managed runtime (compile path), InvokeAsync and executions, app logs and events,
 * CompileDraft/TestDraft/TestAppVersion, MCP tools and the catalog.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  ComputeService,
  CompileDraftRequestSchema,
  CreateAppRequestSchema,
  GetAppRequestSchema,
  GetAppEventsRequestSchema,
  GetAppLogsRequestSchema,
  GetExecutionRequestSchema,
  GetExecutionStatsRequestSchema,
  GetMcpToolDefinitionRequestSchema,
  GetPublicCatalogDetailRequestSchema,
  InvokeRequestSchema,
  ListCatalogRequestSchema,
  ListMcpToolsRequestSchema,
  ListPublicCatalogRequestSchema,
  PublishDraftRequestSchema,
  SaveDraftRequestSchema,
  StreamCompileLogsRequestSchema,
  TestAppVersionRequestSchema,
  TestDraftRequestSchema,
  UpdateAppConfigRequestSchema,
  type AppEvent,
  type AppLogLine,
} from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { BuildStatus, DeploymentMode, ExecutionStatus, RustCompilationTarget, type CodeSourceSchema } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import { OTHER_TOKEN, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { grpcCode, rpcError, type RpcClient } from "../helpers/rpc-client.js";
import { makeTarGz, untilLogLine } from "./helpers.js";

let fixture: TestControlPlane;
let c: RpcClient<typeof ComputeService>;

export const HANDLER_PY = `
import json

def handler(payload, ctx):
    req = json.loads(payload) if payload else {}
    mode = req.get("mode")
    if mode == "bytes":
        return b"\\x00\\x01raw"
    if mode == "str":
        return "h\\u00e9llo"
    if mode == "boom":
        raise ValueError("bad input")
    if mode == "print":
        print("log line from handler", req.get("n"), flush=True)
    return {"tag": "__TAG__", "payload_type": type(payload).__name__, "ctx": ctx, "echo": req}
`;

const handlerPy = (tag: string) => HANDLER_PY.replace("__TAG__", tag);

type CompileRuntime = "python" | "rust-wasm" | "deno";

function compileSource(bytes: Uint8Array, runtime: CompileRuntime = "python"): MessageInitShape<typeof CodeSourceSchema> {
  return {
    source: {
      case: "compile" as const,
      value: {
        runtime:
          runtime === "python"
            ? { kind: { case: "python" as const, value: {} } }
            : runtime === "deno"
              ? { kind: { case: "deno" as const, value: {} } }
              : { kind: { case: "rust" as const, value: { target: RustCompilationTarget.WASM } } },
        sourceCode: bytes,
      },
    },
  };
}

async function createApp(name: string, extra: Record<string, unknown> = {}) {
  await c.createApp(create(CreateAppRequestSchema, { name, ...extra }));
}

async function saveCompile(app: string, bytes: Uint8Array, runtime: CompileRuntime = "python") {
  return c.saveDraft(create(SaveDraftRequestSchema, { appName: app, code: compileSource(bytes, runtime) }));
}

async function invoke(app: string, body: unknown) {
  const frames = await c.invoke(
    create(InvokeRequestSchema, { appName: app, http: { method: "POST", path: "/" }, body: Buffer.from(JSON.stringify(body)) }),
  );
  const head = frames[0]?.frame.case === "head" ? frames[0].frame.value : undefined;
  const body_ = Buffer.concat(frames.filter((f) => f.frame.case === "bodyChunk").map((f) => f.frame.value as Uint8Array));
  return { head: head!, body: body_ };
}

beforeAll(async () => {
  fixture = await startTestControlPlane({ label: "surface" });
  c = fixture.compute;
  // one published Python app shared by most tests
  await createApp("py", { description: "echoes its payload", mcpEnabled: true, inputSchema: '{"type":"object"}' });
  await saveCompile("py", await makeTarGz({ "handler.py": handlerPy("v1"), "requirements.txt": "# nothing\n" }));
  await c.publishDraft(create(PublishDraftRequestSchema, { appName: "py" }));
});

afterAll(async () => {
  await fixture?.stop();
});

describe("python managed runtime (compile path)", () => {
  it("runs handler(payload, ctx) through the bootstrap: raw bytes, exactly three ctx keys, JSON return", async () => {
    const r = await invoke("py", { name: "x" });
    expect(r.head.statusCode).toBe(200);
    expect(r.head.headers["content-type"]).toBe("application/json");
    const j = JSON.parse(r.body.toString("utf8"));
    expect(j.payload_type).toBe("bytes");
    expect(j.echo).toEqual({ name: "x" });
    expect(Object.keys(j.ctx).sort()).toEqual(["execution_id", "function_id", "organization_id"]);
    expect(j.ctx.execution_id).toBe(r.head.executionId);
    expect(j.ctx.function_id).toBe("acme-corp/py");
    expect(j.ctx.organization_id).toBe(r.head.organizationId);
  });

  it("encodes bytes as is and str as UTF-8", async () => {
    const b = await invoke("py", { mode: "bytes" });
    expect(b.head.statusCode).toBe(200);
    expect([...b.body]).toEqual([0, 1, ...Buffer.from("raw")]);
    const s = await invoke("py", { mode: "str" });
    expect(s.body.toString("utf8")).toBe("héllo");
    expect(s.head.headers["content-type"]).toContain("text/plain");
  });

  it("turns an exception into HTTP 500 {error, type, traceback}", async () => {
    const r = await invoke("py", { mode: "boom" });
    expect(r.head.statusCode).toBe(500);
    const j = JSON.parse(r.body.toString("utf8"));
    expect(j.error).toBe("bad input");
    expect(j.type).toBe("ValueError");
    expect(j.traceback).toContain("Traceback");
  });

  it("records the version as DEPLOYMENT_MODE_COMPILE with the python runtime", async () => {
    const app = await c.getApp(create(GetAppRequestSchema, { appName: "py" }));
    expect(app.app?.deploymentMode).toBe(DeploymentMode.COMPILE);
    expect(app.app?.runtime?.kind.case).toBe("python");
  });

  it("publishes a single-file handler.py (no archive)", async () => {
    await createApp("single");
    const d = await saveCompile("single", Buffer.from(handlerPy("single")));
    expect(d.draft?.deployId).toMatch(/^bld_/);
    await c.publishDraft(create(PublishDraftRequestSchema, { appName: "single" }));
    const r = await invoke("single", {});
    expect(JSON.parse(r.body.toString("utf8")).tag).toBe("single");
  });

  it("fails the compile of a broken handler.py with the line in the compile log", async () => {
    await createApp("broken");
    const d = await saveCompile("broken", await makeTarGz({ "handler.py": "def handler(payload, ctx):\n    return (\n" }));
    const e = await rpcError(c.publishDraft(create(PublishDraftRequestSchema, { appName: "broken" })));
    expect(grpcCode(e)).toBe(grpc.status.FAILED_PRECONDITION);
    const log = await c.streamCompileLogs(create(StreamCompileLogsRequestSchema, { deployId: d.draft!.deployId, follow: true }));
    const text = log.filter((m) => m.item.case === "entry").map((m) => (m.item.value as { line: string }).line).join("\n");
    expect(text).toMatch(/handler\.py: line \d+/);
    const last = log[log.length - 1]!;
    expect(last.item.case).toBe("outcome");
    expect((last.item.value as { status: number }).status).toBe(BuildStatus.FAILED);
  });

  it("rejects an archive without handler.py at the root", async () => {
    await createApp("nohandler");
    const d = await saveCompile("nohandler", await makeTarGz({ "src/handler.py": handlerPy("x") }));
    const out = await c.streamCompileLogs(create(StreamCompileLogsRequestSchema, { deployId: d.draft!.deployId, follow: true }));
    const last = out[out.length - 1]!.item.value as { status: number; error: string };
    expect(last.status).toBe(BuildStatus.FAILED);
    expect(last.error).toContain("handler.py not found at the root");
    expect(last.error).toContain("src/handler.py exists");
  });

  it("SaveDraft of a compile this plane cannot run answers UNIMPLEMENTED naming what is missing, and saves nothing", async () => {
    const app = "unsupported-rust-wasm";
    await createApp(app);
    const why = "the rust managed runtime's wasm target is not available on the local control plane";
    const e = await rpcError(saveCompile(app, await makeTarGz({ "Cargo.toml": "[package]\n", "src/lib.rs": "" }), "rust-wasm"));
    expect(grpcCode(e)).toBe(grpc.status.UNIMPLEMENTED);
    expect(e.details).toContain(why);
    expect(e.details).toContain("cannot save a draft for acme-corp/unsupported-rust-wasm");
    const publish = await rpcError(c.publishDraft(create(PublishDraftRequestSchema, { appName: app })));
    expect(grpcCode(publish)).not.toBe(grpc.status.OK);
    expect(publish.details).not.toContain(why);
  });
});

describe("draft compile and tests", () => {
  it("CompileDraft returns the draft's compile (deploy_id); TestDraft runs the draft without publishing", async () => {
    await saveCompile("py", await makeTarGz({ "handler.py": handlerPy("v2") }));
    const comp = await c.compileDraft(create(CompileDraftRequestSchema, { appName: "py" }));
    expect(comp.deployId).toMatch(/^bld_/);
    expect(comp.draft?.deployId).toBe(comp.deployId);
    const t = await c.testDraft(create(TestDraftRequestSchema, { appName: "py", payload: Buffer.from('{"k":1}') }));
    expect(t.statusCode).toBe(200);
    const j = JSON.parse(Buffer.from(t.body).toString("utf8"));
    expect(j.tag).toBe("v2");
    expect(j.ctx.execution_id).toBe(t.executionId);
    // the active version still serves v1
    expect(JSON.parse((await invoke("py", {})).body.toString("utf8")).tag).toBe("v1");
    const v = await c.testAppVersion(create(TestAppVersionRequestSchema, { appName: "py", version: 1, payload: Buffer.from('{"mode":"boom"}') }));
    expect(v.statusCode).toBe(500);
    expect(JSON.parse(Buffer.from(v.body).toString("utf8")).type).toBe("ValueError");
    const missing = await rpcError(c.testAppVersion(create(TestAppVersionRequestSchema, { appName: "py", version: 9 })));
    expect(grpcCode(missing)).toBe(grpc.status.NOT_FOUND);
  });

  it("TestDraft without a draft is FAILED_PRECONDITION", async () => {
    await createApp("empty");
    const e = await rpcError(c.testDraft(create(TestDraftRequestSchema, { appName: "empty" })));
    expect(grpcCode(e)).toBe(grpc.status.FAILED_PRECONDITION);
  });
});

describe("executions", () => {
  it("InvokeAsync creates a durable execution; WatchExecution streams it to the end", async () => {
    const r = await c.invokeAsync(create(InvokeRequestSchema, { appName: "py", body: Buffer.from('{"a":1}') }));
    expect(r.executionId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    const states = await c.watchExecution(create(GetExecutionRequestSchema, { executionId: r.executionId }));
    const last = states[states.length - 1]!.execution!;
    expect(last.status).toBe(ExecutionStatus.SUCCEEDED);
    expect(states.map((s) => s.execution!.status)).toEqual([...new Set(states.map((s) => s.execution!.status))]);
    expect(last.statusCode).toBe(200);
    expect(last.appId).toBe("acme-corp/py");
    expect(last.version).toBe(1);
    expect(JSON.parse(Buffer.from(last.result).toString("utf8")).ctx.execution_id).toBe(r.executionId);
    const g = await c.getExecution(create(GetExecutionRequestSchema, { executionId: r.executionId }));
    expect(g.execution?.status).toBe(ExecutionStatus.SUCCEEDED);
    expect(Number(g.execution!.completedAtMs)).toBeGreaterThanOrEqual(Number(g.execution!.startedAtMs));
    // other orgs cannot see it; malformed ids are INVALID_ARGUMENT
    const other = await rpcError(c.getExecution(create(GetExecutionRequestSchema, { executionId: r.executionId }), { token: OTHER_TOKEN }));
    expect(grpcCode(other)).toBe(grpc.status.NOT_FOUND);
    const bad = await rpcError(c.getExecution(create(GetExecutionRequestSchema, { executionId: "nope" })));
    expect(grpcCode(bad)).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it("a 5xx answer makes the execution FAILED; stats count every invocation", async () => {
    const r = await c.invokeAsync(create(InvokeRequestSchema, { appName: "py", body: Buffer.from('{"mode":"boom"}') }));
    const states = await c.watchExecution(create(GetExecutionRequestSchema, { executionId: r.executionId }));
    const last = states[states.length - 1]!.execution!;
    expect(last.status).toBe(ExecutionStatus.FAILED);
    expect(last.statusCode).toBe(500);
    expect(last.error).toContain("HTTP 500");
    const s = await c.getExecutionStats(create(GetExecutionStatsRequestSchema, { appName: "py" }));
    expect(Number(s.total)).toBeGreaterThanOrEqual(2);
    expect(Number(s.failed)).toBeGreaterThanOrEqual(1);
    expect(Number(s.total)).toBe(Number(s.succeeded) + Number(s.failed));
    expect(Number(s.p99Ms)).toBeGreaterThanOrEqual(Number(s.p50Ms));
  });

  it("InvokeAsync on an unpublished app is FAILED_PRECONDITION", async () => {
    const e = await rpcError(c.invokeAsync(create(InvokeRequestSchema, { appName: "empty" })));
    expect(grpcCode(e)).toBe(grpc.status.FAILED_PRECONDITION);
  });
});

describe("logs and events", () => {
  it("GetAppLogs returns the app's output lines with replica id and version; StreamAppLogs follows", async () => {
    await invoke("py", { mode: "print", n: 1 });
    // The app's output reaches the log store through its pipes, after the call returned.
    await untilLogLine(c, "py", (x) => x.message === "log line from handler 1");
    await untilLogLine(c, "py", (x) => x.stream === "stderr" && x.message.includes("ValueError: bad input"));
    const l = await c.getAppLogs(create(GetAppLogsRequestSchema, { appName: "py" }));
    const line = l.lines.find((x) => x.message === "log line from handler 1");
    expect(line).toBeDefined();
    expect(line!.version).toBe(1);
    expect(line!.replicaId).not.toBe("");
    expect(line!.stream).toBe("stdout");
    const lim = await c.getAppLogs(create(GetAppLogsRequestSchema, { appName: "py", limit: 1 }));
    expect(lim.lines.length).toBe(1);
    // the traceback of the failing call went to stderr
    expect(l.lines.some((x) => x.stream === "stderr" && x.message.includes("ValueError: bad input"))).toBe(true);

    const call = c.open.streamAppLogs(create(GetAppLogsRequestSchema, { appName: "py", limit: 1 }));
    const got: string[] = [];
    let backlog: () => void = () => undefined;
    const following = new Promise<void>((resolve) => (backlog = resolve));
    const seen = new Promise<void>((resolve) => {
      call.on("data", (m: AppLogLine) => {
        got.push(m.message);
        // The server subscribes to new lines before it replays the backlog: after this line, nothing is missed.
        backlog();
        if (m.message === "log line from handler 2") resolve();
      });
    });
    call.on("error", () => undefined);
    await following;
    await invoke("py", { mode: "print", n: 2 });
    await seen;
    call.cancel();
    expect(got.length).toBeGreaterThanOrEqual(2); // the backlog line, then the new one
  });

  it("GetAppEvents lists build and lifecycle events; StreamAppEvents replays them", async () => {
    const e = await c.getAppEvents(create(GetAppEventsRequestSchema, { appName: "py" }));
    const reasons = e.events.map((x) => x.reason);
    expect(reasons).toContain("BuildStarted");
    expect(reasons).toContain("BuildSucceeded");
    expect(reasons).toContain("VersionStarted");
    const call = c.open.streamAppEvents(create(GetAppEventsRequestSchema, { appName: "py" }));
    const first = await new Promise<AppEvent>((resolve) => call.on("data", resolve));
    call.cancel();
    call.on("error", () => undefined);
    expect(first.reason).toBe(e.events[0]!.reason);
    const nf = await rpcError(c.getAppEvents(create(GetAppEventsRequestSchema, { appName: "nope" })));
    expect(grpcCode(nf)).toBe(grpc.status.NOT_FOUND);
  });
});

describe("MCP and catalog", () => {
  it("exposes published MCP-enabled apps as tools named ignite_{org}_{name}", async () => {
    const t = await c.getMcpToolDefinition(create(GetMcpToolDefinitionRequestSchema, { appName: "py" }));
    expect(t.tool).toMatchObject({ name: "ignite_acme-corp_py", description: "echoes its payload", inputSchema: '{"type":"object"}', appId: "acme-corp/py", version: 1, runtime: "python" });
    const list = await c.listMcpTools(create(ListMcpToolsRequestSchema, {}));
    expect(list.tools.map((x) => x.name)).toEqual(["ignite_acme-corp_py"]);
    const off = await rpcError(c.getMcpToolDefinition(create(GetMcpToolDefinitionRequestSchema, { appName: "single" })));
    expect(grpcCode(off)).toBe(grpc.status.FAILED_PRECONDITION);
    await c.updateAppConfig(create(UpdateAppConfigRequestSchema, { appName: "empty", mcpEnabled: true }));
    const unpublished = await rpcError(c.getMcpToolDefinition(create(GetMcpToolDefinitionRequestSchema, { appName: "empty" })));
    expect(grpcCode(unpublished)).toBe(grpc.status.FAILED_PRECONDITION);
    expect(unpublished.details).toContain("first publish");
  });

  it("lists the org's published apps and the models in the catalog; the public catalog needs no token", async () => {
    const cat = await c.listCatalog(create(ListCatalogRequestSchema, {}));
    const ids = cat.items.map((i) => i.id);
    expect(ids).toContain("acme-corp/py");
    expect(ids).toContain("kimi-k2.5");
    expect(ids).not.toContain("acme-corp/empty");
    const page1 = await c.listCatalog(create(ListCatalogRequestSchema, { limit: 2 }));
    expect(page1.items.length).toBe(2);
    const page2 = await c.listCatalog(create(ListCatalogRequestSchema, { limit: 2, cursor: page1.nextCursor }));
    expect(page2.items[0]!.id > page1.items[1]!.id).toBe(true);
    const pub = await c.listPublicCatalog(create(ListPublicCatalogRequestSchema, {}), { token: null });
    expect(pub.items.some((i) => i.id === "jina-embeddings-v4" && i.source.case === "model")).toBe(true);
    expect(pub.items.some((i) => i.id.startsWith("acme-corp/"))).toBe(false);
    const d = await c.getPublicCatalogDetail(create(GetPublicCatalogDetailRequestSchema, { name: "bge-reranker-v2" }), { token: null });
    expect(d.item?.source.case).toBe("model");
    const nf = await rpcError(c.getPublicCatalogDetail(create(GetPublicCatalogDetailRequestSchema, { name: "nope" }), { token: null }));
    expect(grpcCode(nf)).toBe(grpc.status.NOT_FOUND);
  });
});

