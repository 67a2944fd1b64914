/**
 * gRPC handlers for the rest of the command surface (issue 6): executions, logs and events,
 * draft compile/test, version test, MCP, catalog, standalone builds, secrets, models. services.ts
 * passes its auth/scope helpers in a HandlerKit and merges these handlers into its services.
 */
import { create } from "@bufbuild/protobuf";
import type { Metadata, ServerUnaryCall, ServerWritableStream, UntypedHandleCall } from "@grpc/grpc-js";
import {
  CancelBuildResponseSchema,
  CreateBuildResponseSchema,
  ListBuildsResponseSchema,
  SaveBuildSecretsResponseSchema,
  type CancelBuildRequest,
  type CreateBuildRequest,
  type ListBuildsRequest,
  type SaveBuildSecretsRequest,
} from "../../gen/dodil/ignite/v1/build_pb.js";
import {
  AppEventSchema,
  AppLogLineSchema,
  CompileDraftResponseSchema,
  GetAppEventsResponseSchema,
  GetAppLogsResponseSchema,
  GetExecutionResponseSchema,
  GetExecutionStatsResponseSchema,
  GetMcpToolDefinitionResponseSchema,
  GetPublicCatalogDetailResponseSchema,
  InvokeAsyncResponseSchema,
  ListCatalogResponseSchema,
  ListMcpToolsResponseSchema,
  WatchExecutionResponseSchema,
  type AppEvent,
  type AppLogLine,
  type Execution,
  type GetAppEventsRequest,
  type GetAppLogsRequest,
  type GetExecutionRequest,
  type InvokeRequest,
  type TestAppVersionRequest,
  type TestDraftRequest,
  type WatchExecutionResponse,
} from "../../gen/dodil/ignite/v1/compute_pb.js";
import { GetModelResponseSchema, ListModelsResponseSchema, type GetModelRequest, type ListModelsRequest } from "../../gen/dodil/ignite/v1/model_pb.js";
import {
  CreateSecretResponseSchema,
  DeleteSecretResponseSchema,
  GetSecretResponseSchema,
  ListSecretsResponseSchema,
  type CreateSecretRequest,
  type DeleteSecretRequest,
  type GetSecretRequest,
} from "../../gen/dodil/ignite/v1/secret_pb.js";
import { buildMessage, cancelBuild, createBuild, listBuilds, saveBuildSecrets } from "../build/build-requests.js";
import { listCatalog, listPublicCatalog, mcpTool, mcpTools, publicCatalogDetail } from "../mcp/catalog.js";
import { compileDraft, testDraft, testVersion } from "../invoke/draft-tests.js";
import { invalidArgument } from "../errors.js";
import { ExecutionManager, isTerminal } from "../invoke/executions.js";
import { send, type Handlers } from "./handlers.js";
import { getModel, inferenceUnavailable, listModels } from "../models/model-catalog.js";
import { ObservabilityHub, type EventRec, type LogLineRec } from "../observability/observability-hub.js";
import type { Platform } from "../apps/platform.js";
import type { BuildRecord } from "../store/store.js";

type AppReq = { organizationName: string; appName: string };

export interface HandlerKit {
  platform: Platform;
  log: (line: string) => void;
  authOrg: (md: Metadata) => string;
  appScope: (req: AppReq, md: Metadata) => string;
  scope: (md: Metadata, requested: string) => string;
  unary: <Req, Res>(method: string, fn: (req: Req, md: Metadata, call: ServerUnaryCall<Req, Res>) => Promise<Res>) => UntypedHandleCall;
  stream: <Req, Res>(method: string, fn: (req: Req, call: ServerWritableStream<Req, Res>) => Promise<void>) => UntypedHandleCall;
  getBuildRecord: (id: string, org: string) => Promise<BuildRecord>;
}

const logMsg = (l: LogLineRec): AppLogLine =>
  create(AppLogLineSchema, { timestampMs: BigInt(l.timestampMs), replicaId: l.replicaId, stream: l.stream, message: l.message, version: l.version });
const eventMsg = (e: EventRec): AppEvent =>
  create(AppEventSchema, { timestampMs: BigInt(e.timestampMs), type: e.type, reason: e.reason, message: e.message, replicaId: e.replicaId });

/** Connects the runtime's and the build manager's hooks to the log/event hub. */
export function wireObservability(platform: Platform, hub: ObservabilityHub): void {
  platform.runtime.hooks = {
    output: (key, version, replicaId, stream, message) => hub.line(key, { timestampMs: Date.now(), replicaId, stream, message, version }),
    event: (key, reason, message, replicaId) => hub.event(key, reason, message, replicaId),
  };
  const builds = platform.builds;
  builds.onStarted = (b) => {
    if (b.app) hub.event(`${b.org}/${b.app}`, "BuildStarted", `${b.kind === "compile" ? "compile" : "build"} ${b.id} started`);
  };
  const prev = builds.onFinished;
  builds.onFinished = async (b) => {
    if (b.app) {
      const what = `${b.kind === "compile" ? "compile" : "build"} ${b.id}`;
      if (b.status === 3) hub.event(`${b.org}/${b.app}`, "BuildSucceeded", `${what} succeeded: ${b.imageRef}`);
      else if (b.status === 5) hub.event(`${b.org}/${b.app}`, "BuildCancelled", `${what} cancelled`);
      else hub.event(`${b.org}/${b.app}`, "BuildFailed", `${what} failed: ${b.error ?? "unknown error"}`);
      await prev(b);
    }
  };
}

/** Streams items from `subscribe` until the call ends (or `until` says stop). */
async function follow<T>(call: ServerWritableStream<unknown, unknown>, subscribe: (fn: (x: T) => void) => () => void, toMsg: (x: T) => unknown, until?: (x: T) => boolean): Promise<void> {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  const unsub = subscribe((x) => {
    queue.push(x);
    wake?.();
  });
  const onEnd = () => wake?.();
  call.on("cancelled", onEnd);
  call.on("close", onEnd);
  try {
    for (;;) {
      while (queue.length) {
        const x = queue.shift()!;
        if (!(await send(call, toMsg(x)))) return;
        if (until?.(x)) return;
      }
      if (call.cancelled || call.destroyed) return;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 1000);
      });
      wake = undefined;
    }
  } finally {
    unsub();
    call.off("cancelled", onEnd);
    call.off("close", onEnd);
  }
}

export function moreHandlers(k: HandlerKit): { compute: Handlers; build: Handlers; secret: Handlers; model: Handlers; executions: ExecutionManager; hub: ObservabilityHub } {
  const { platform, unary, stream, appScope, authOrg, scope } = k;
  const hub = new ObservabilityHub();
  wireObservability(platform, hub);
  const executions = new ExecutionManager(platform, k.log);
  const deadlineOf = (call: { getDeadline(): unknown }): number => {
    const d = call.getDeadline();
    const ms = d instanceof Date ? d.getTime() : Number(d);
    return Number.isFinite(ms) && ms > 0 ? ms : Date.now() + 3_600_000;
  };

  const compute: Handlers = {
    invokeAsync: unary("InvokeAsync", async (req: InvokeRequest, md) => {
      const org = appScope(req, md);
      return create(InvokeAsyncResponseSchema, { executionId: await executions.start(org, req.appName, req) });
    }),
    getExecution: unary("GetExecution", async (req: GetExecutionRequest, md) => {
      const org = authOrg(md);
      return create(GetExecutionResponseSchema, { execution: await executions.get(org, req.executionId.trim()) });
    }),
    watchExecution: stream("WatchExecution", async (req: GetExecutionRequest, call: ServerWritableStream<GetExecutionRequest, WatchExecutionResponse>) => {
      const org = authOrg(call.metadata);
      const id = req.executionId.trim();
      const queue: Execution[] = [];
      let wake: (() => void) | undefined;
      const unsub = executions.subscribe(id, (e) => {
        queue.push(e);
        wake?.();
      });
      try {
        let cur = await executions.get(org, id);
        let last = -1;
        for (;;) {
          if (cur.status !== last) {
            if (!(await send(call, create(WatchExecutionResponseSchema, { execution: cur })))) return;
            last = cur.status;
          }
          if (isTerminal(cur.status)) return;
          if (!queue.length) {
            await new Promise<void>((r) => {
              wake = r;
              setTimeout(r, 1000);
            });
            wake = undefined;
          }
          if (call.cancelled) return;
          cur = queue.shift() ?? (await executions.get(org, id));
        }
      } finally {
        unsub();
      }
    }),
    getExecutionStats: unary("GetExecutionStats", async (req: AppReq, md) => {
      const org = appScope(req, md);
      const s = await executions.stats(org, req.appName);
      return create(GetExecutionStatsResponseSchema, { total: BigInt(s.total), succeeded: BigInt(s.succeeded), failed: BigInt(s.failed), p50Ms: BigInt(s.p50), p99Ms: BigInt(s.p99) });
    }),
    getAppLogs: unary("GetAppLogs", async (req: GetAppLogsRequest, md) => {
      const org = appScope(req, md);
      await platform.requireApp(org, req.appName);
      const lines = hub.getLogs(`${org}/${req.appName}`, { limit: req.limit, replicaId: req.replicaId, sinceMs: Number(req.sinceMs) });
      return create(GetAppLogsResponseSchema, { lines: lines.map(logMsg) });
    }),
    streamAppLogs: stream("StreamAppLogs", async (req: GetAppLogsRequest, call: ServerWritableStream<GetAppLogsRequest, AppLogLine>) => {
      const org = appScope(req, call.metadata);
      await platform.requireApp(org, req.appName);
      const key = `${org}/${req.appName}`;
      // recent lines first (limit, default 1000; since_ms), then new lines as they are written
      const match = (l: LogLineRec) => !req.replicaId || l.replicaId === req.replicaId;
      const backlog = hub.getLogs(key, { limit: req.limit, replicaId: req.replicaId, sinceMs: Number(req.sinceMs) });
      const c = call as unknown as ServerWritableStream<unknown, unknown>;
      await follow<LogLineRec>(
        c,
        (fn) => {
          const unsub = hub.subscribeLogs(key, (l) => match(l) && fn(l));
          for (const l of backlog) fn(l);
          return unsub;
        },
        logMsg,
      );
    }),
    getAppEvents: unary("GetAppEvents", async (req: GetAppEventsRequest, md) => {
      const org = appScope(req, md);
      await platform.requireApp(org, req.appName);
      return create(GetAppEventsResponseSchema, { events: hub.getEvents(`${org}/${req.appName}`, req.limit).map(eventMsg) });
    }),
    streamAppEvents: stream("StreamAppEvents", async (req: GetAppEventsRequest, call: ServerWritableStream<GetAppEventsRequest, AppEvent>) => {
      const org = appScope(req, call.metadata);
      await platform.requireApp(org, req.appName);
      const key = `${org}/${req.appName}`;
      const backlog = hub.getEvents(key, req.limit);
      await follow<EventRec>(
        call as unknown as ServerWritableStream<unknown, unknown>,
        (fn) => {
          const unsub = hub.subscribeEvents(key, fn);
          for (const e of backlog) fn(e);
          return unsub;
        },
        eventMsg,
      );
    }),
    compileDraft: unary("CompileDraft", async (req: AppReq, md) => {
      const org = appScope(req, md);
      const r = await compileDraft(platform, org, req.appName);
      return create(CompileDraftResponseSchema, { deployId: r.deployId, ...(r.draft ? { draft: r.draft } : {}) });
    }),
    testDraft: unary("TestDraft", async (req: TestDraftRequest, md, call) => {
      const org = appScope(req, md);
      return testDraft(platform, org, req.appName, req.payload, req.http, deadlineOf(call));
    }),
    testAppVersion: unary("TestAppVersion", async (req: TestAppVersionRequest, md, call) => {
      const org = appScope(req, md);
      return testVersion(platform, org, req.appName, req.version, req.payload, req.http, deadlineOf(call));
    }),
    getMcpToolDefinition: unary("GetMcpToolDefinition", async (req: AppReq, md) => {
      const org = appScope(req, md);
      return create(GetMcpToolDefinitionResponseSchema, { tool: await mcpTool(platform, org, req.appName) });
    }),
    listMcpTools: unary("ListMcpTools", async (req: { organizationName: string }, md) => {
      const org = scope(md, req.organizationName);
      return create(ListMcpToolsResponseSchema, { tools: await mcpTools(platform, org) });
    }),
    listCatalog: unary("ListCatalog", async (req: { organizationName: string; limit: number; cursor: string }, md) => {
      const org = scope(md, req.organizationName);
      return create(ListCatalogResponseSchema, await listCatalog(platform, org, req.limit, req.cursor));
    }),
    listPublicCatalog: unary("ListPublicCatalog", async (req: { limit: number; cursor: string }) =>
      create(ListCatalogResponseSchema, await listPublicCatalog(platform, req.limit, req.cursor)),
    ),
    getPublicCatalogDetail: unary("GetPublicCatalogDetail", async (req: { name: string }) =>
      create(GetPublicCatalogDetailResponseSchema, { item: await publicCatalogDetail(platform, req.name) }),
    ),
  };

  const build: Handlers = {
    createBuild: unary("CreateBuild", async (req: CreateBuildRequest, md) => {
      const org = authOrg(md);
      const b = await createBuild(platform, org, req);
      return create(CreateBuildResponseSchema, { buildId: b.id, status: b.status });
    }),
    listBuilds: unary("ListBuilds", async (req: ListBuildsRequest, md) => {
      const org = authOrg(md);
      const r = await listBuilds(platform, org, { limit: req.limit, cursor: req.cursor, status: req.status, name: req.name });
      return create(ListBuildsResponseSchema, { builds: r.builds.map(buildMessage), nextCursor: r.nextCursor });
    }),
    cancelBuild: unary("CancelBuild", async (req: CancelBuildRequest, md) => {
      const org = authOrg(md);
      const b = await k.getBuildRecord(req.buildId, org);
      return create(CancelBuildResponseSchema, { build: buildMessage(await cancelBuild(platform, b)) });
    }),
    saveBuildSecrets: unary("SaveBuildSecrets", async (req: SaveBuildSecretsRequest, md) => {
      const org = authOrg(md);
      await saveBuildSecrets(platform, org, req);
      return create(SaveBuildSecretsResponseSchema, {});
    }),
  };

  const secrets = platform.secrets;
  const secret: Handlers = {
    createSecret: unary("CreateSecret", async (req: CreateSecretRequest, md) => {
      const org = authOrg(md);
      return create(CreateSecretResponseSchema, { secret: await secrets.create(org, req.name, req.value) });
    }),
    getSecret: unary("GetSecret", async (req: GetSecretRequest, md) => {
      const org = authOrg(md);
      return create(GetSecretResponseSchema, await secrets.get(org, req.name));
    }),
    listSecrets: unary("ListSecrets", async (_req: unknown, md) => {
      const org = authOrg(md);
      return create(ListSecretsResponseSchema, { secrets: await secrets.list(org) });
    }),
    deleteSecret: unary("DeleteSecret", async (req: DeleteSecretRequest, md) => {
      const org = authOrg(md);
      await secrets.delete(org, req.name);
      return create(DeleteSecretResponseSchema, {});
    }),
  };

  // ModelService: the catalog needs no token (documented); inference needs one, then answers UNIMPLEMENTED.
  const infer = (method: string) =>
    unary(method, async (req: { model: string }, md) => {
      authOrg(md);
      throw inferenceUnavailable(method, req.model);
    });
  const inferStream = (method: string) =>
    stream(method, async (req: { model: string }, call: ServerWritableStream<{ model: string }, unknown>) => {
      authOrg(call.metadata);
      throw inferenceUnavailable(method, req.model);
    });
  const model: Handlers = {
    listModels: unary("ListModels", async (req: ListModelsRequest) => create(ListModelsResponseSchema, { object: "list", data: listModels(req) })),
    getModel: unary("GetModel", async (req: GetModelRequest) => {
      if (!req.model) throw invalidArgument("model is required");
      return create(GetModelResponseSchema, { data: getModel(req.model) });
    }),
    chatCompletion: infer("ChatCompletion"),
    streamChatCompletion: inferStream("StreamChatCompletion"),
    embed: infer("Embed"),
    rerank: infer("Rerank"),
    streamRerank: inferStream("StreamRerank"),
    transcribe: infer("Transcribe"),
    infer: infer("Infer"),
    streamInfer: inferStream("StreamInfer"),
  };
  return { compute, build, secret, model, executions, hub };
}
