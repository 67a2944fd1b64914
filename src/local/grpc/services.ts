/**
 * gRPC handlers for ComputeService, BuildService, SecretService and ModelService. Each handler
 * authenticates the bearer token, scopes the request to the token's organization, then calls
 * the Platform.
 */
import { createHash } from "node:crypto";
import { createWriteStream, promises as fsp, type WriteStream } from "node:fs";
import * as http from "node:http";
import { create } from "@bufbuild/protobuf";
import {
  status,
  type Metadata,
  type sendUnaryData,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedHandleCall,
} from "@grpc/grpc-js";
import { BuildStatus, LogEntrySchema } from "../../gen/dodil/ignite/v1/common_pb.js";
import {
  BuildService,
  GetBuildResponseSchema,
  StreamBuildLogsResponseSchema,
  UploadBuildContextResponseSchema,
  type GetBuildContextRequest,
  type GetBuildRequest,
  type StreamBuildLogsRequest,
  type StreamBuildLogsResponse,
  type UploadBuildContextRequest,
} from "../../gen/dodil/ignite/v1/build_pb.js";
import {
  ComputeService,
  CreateAppResponseSchema,
  DeleteAppResponseSchema,
  GetAppCodeResponseSchema,
  GetAppResponseSchema,
  GetAppStateResponseSchema,
  GetAppVersionResponseSchema,
  GetBuildLogResponseSchema,
  GetDraftInfoResponseSchema,
  HealthCheckResponseSchema,
  InvokeResponseSchema,
  ListAppReplicasResponseSchema,
  ListAppsResponseSchema,
  ListAppVersionsResponseSchema,
  PublishDraftResponseSchema,
  ReplicaSchema,
  RollbackAppResponseSchema,
  SaveDraftResponseSchema,
  StreamCompileLogsResponseSchema,
  UpdateAppConfigResponseSchema,
  type InvokeRequest,
  type InvokeResponse,
  type StreamCompileLogsRequest,
  type StreamCompileLogsResponse,
} from "../../gen/dodil/ignite/v1/compute_pb.js";
import { ModelService } from "../../gen/dodil/ignite/v1/model_pb.js";
import { SecretService } from "../../gen/dodil/ignite/v1/secret_pb.js";
import type { TokenAuthority } from "../auth/token-authority.js";
import type { BuildManager } from "../build/build-manager.js";
import {
  deadlineExceeded,
  errorMessage,
  invalidArgument,
  notFound,
  permissionDenied,
  resourceExhausted,
  unauthenticated,
  unavailable,
} from "../errors.js";
import { bearerToken, completeService, send, toStatus, type Handlers } from "./handlers.js";
import { checkAppName, checkOrgName, type Platform } from "../apps/platform.js";
import type { BuildRecord } from "../store/store.js";
import { isValidName, organizationId, ulid } from "../ids.js";
import { inspectArchive } from "../../wire/archive.js";
import { buildMessage } from "../build/build-requests.js";
import { moreHandlers } from "./services-more.js";
import { checkPayload } from "../invoke/payload-schema.js";
import { bufferedCallHeaders, requestShape } from "../invoke/request-shape.js";
import { ArchiveError } from "../errors.js";

export const SERVER_VERSION = "0.1.0-local";
export const MAX_CONTEXT_BYTES = 2 * 1024 ** 3;
const CHUNK = 64 * 1024;

export interface ServiceDeps {
  platform: Platform;
  builds: BuildManager;
  tokens: Record<string, string>;
  /** Verifies issued JWTs as well as the static tokens; absent: static tokens only. */
  authority?: TokenAuthority;
  log: (line: string) => void;
}

export function buildServices(deps: ServiceDeps) {
  const { platform, builds, tokens, log } = deps;

  const authOrg = (md: Metadata): string => {
    const t = bearerToken(md);
    if (!t) throw unauthenticated("missing bearer token");
    if (deps.authority) return deps.authority.orgFor(t);
    const org = tokens[t];
    if (!org) throw unauthenticated("invalid token");
    return org;
  };
  const scope = (md: Metadata, requested: string): string => {
    const org = authOrg(md);
    if (!requested) return org;
    checkOrgName(requested);
    if (requested !== org) throw permissionDenied(`token for org ${org} may not access org ${requested}`);
    return org;
  };

  function unary<Req, Res>(method: string, fn: (req: Req, md: Metadata, call: ServerUnaryCall<Req, Res>) => Promise<Res>): UntypedHandleCall {
    return ((call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => {
      fn(call.request, call.metadata, call).then(
        (r) => cb(null, r),
        (e) => cb(toStatus(e, log, method)),
      );
    }) as UntypedHandleCall;
  }
  function stream<Req, Res>(method: string, fn: (req: Req, call: ServerWritableStream<Req, Res>) => Promise<void>): UntypedHandleCall {
    return ((call: ServerWritableStream<Req, Res>) => {
      fn(call.request, call).then(
        () => {
          if (!call.writableEnded) call.end();
        },
        (e) => {
          if (!call.writableEnded) call.emit("error", toStatus(e, log, method));
        },
      );
    }) as UntypedHandleCall;
  }
  type AppReq = { organizationName: string; appName: string };
  const appScope = (req: AppReq, md: Metadata) => {
    const org = scope(md, req.organizationName);
    checkAppName(req.appName);
    return org;
  };

  // ---- build log streaming, shared by StreamCompileLogs and StreamBuildLogs ----
  async function streamBuildLog(
    b: BuildRecord,
    fromOffset: number,
    follow: boolean,
    call: ServerWritableStream<unknown, unknown>,
    entry: (e: { offset: number; timestampMs: number; line: string }) => unknown,
    finished: (b: BuildRecord) => unknown,
  ): Promise<void> {
    let next = fromOffset;
    let wake: (() => void) | undefined;
    const unsubscribe = builds.subscribe(b.id, () => wake?.());
    const onCancel = () => wake?.();
    call.on("cancelled", onCancel);
    try {
      for (;;) {
        const active = builds.isActive(b.id);
        const waiter = new Promise<void>((r) => (wake = r));
        for (const e of await builds.readLog(b.id, next)) {
          if (!(await send(call, entry(e)))) return;
          next = e.offset + 1;
        }
        if (call.cancelled) return;
        if (!active) {
          const final = (await builds.wait(b.id)) ?? b;
          // lines written between the read and the end
          for (const e of await builds.readLog(b.id, next)) {
            if (!(await send(call, entry(e)))) return;
            next = e.offset + 1;
          }
          if (final.status !== BuildStatus.PENDING && final.status !== BuildStatus.RUNNING) await send(call, finished(final));
          return;
        }
        if (!follow) return;
        await Promise.race([waiter, new Promise((r) => setTimeout(r, 1000))]);
      }
    } finally {
      unsubscribe();
      call.off("cancelled", onCancel);
    }
  }

  const getBuildRecord = async (id: string, org: string): Promise<BuildRecord> => {
    const rec = await platform.store.getBuild(id);
    if (!rec || rec.org !== org) throw notFound(`build ${id || "(empty id)"} not found`);
    return rec;
  };

  // executions, logs/events, draft tests, MCP, catalog, builds, secrets, models (services-more.ts)
  const more = moreHandlers({ platform, log, authOrg, appScope, scope, unary, stream, getBuildRecord });

  // ---- Invoke ----
  async function invoke(req: InvokeRequest, call: ServerWritableStream<InvokeRequest, InvokeResponse>): Promise<void> {
    const org = appScope(req, call.metadata);
    const app = req.appName;
    const started = Date.now();
    const h = req.http;
    const { method, path } = requestShape(h);
    if (method === "POST") checkPayload((await platform.requireApp(org, app)).inputSchema, req.body, `${org}/${app}`, log);
    const deadline = call.getDeadline();
    const dl = deadline instanceof Date ? deadline.getTime() : Number(deadline);
    // A caller that goes away, or whose deadline passes, while the call waits for a slot under
    // max_concurrency leaves the queue instead of being served later for nobody.
    const gone = new AbortController();
    const leave = () => gone.abort();
    call.on("cancelled", leave);
    const waitTimer = Number.isFinite(dl) && dl > 0 ? setTimeout(leave, Math.max(0, dl - Date.now())) : undefined;
    // Headers are checked before a slot is taken, so a refused one cannot keep the slot.
    const executionId = ulid();
    const headers = bufferedCallHeaders({ http: h, executionId, org, app, bodyLength: req.body.length });
    const { meta, slot, coldStart, release } = await platform.ensureRunning(org, app, gone.signal).finally(() => {
      clearTimeout(waitTimer);
      call.off("cancelled", leave);
    });
    const ac = new AbortController();
    const onCancel = () => ac.abort();
    call.on("cancelled", onCancel);
    const timeoutSecs = meta.limits?.timeoutSecs || 300;
    const limitMs = Math.min(Number.isFinite(dl) && dl > 0 ? dl - Date.now() : Infinity, timeoutSecs * 1000);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, Math.max(0, limitMs));
    try {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const r = http.request(
          { host: "127.0.0.1", port: slot.instance.hostPort, method, path, headers, signal: ac.signal, agent: false },
          resolve,
        );
        r.on("error", reject);
        r.end(Buffer.from(req.body));
      }).catch((e) => {
        if (timedOut) throw deadlineExceeded(`app ${org}/${app} did not answer within ${Math.round(limitMs / 1000)} s`);
        if (call.cancelled) throw unavailable("the call was cancelled");
        throw unavailable(`app ${org}/${app} (version ${slot.version}) did not answer on its port: ${errorMessage(e)}`);
      });
      const respHeaders: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) respHeaders[k] = Array.isArray(v) ? v.join(", ") : v;
      await send(
        call,
        create(InvokeResponseSchema, {
          frame: {
            case: "head",
            value: {
              statusCode: res.statusCode ?? 0,
              headers: respHeaders,
              executionId,
              functionId: `${org}/${app}`,
              organizationId: organizationId(org),
              version: slot.version,
              coldStart,
            },
          },
        }),
      );
      let bytes = 0;
      let error = "";
      try {
        for await (const chunk of res) {
          const buf = chunk as Buffer;
          for (let off = 0; off < buf.length; off += CHUNK) {
            const part = buf.subarray(off, off + CHUNK);
            bytes += part.length;
            if (!(await send(call, create(InvokeResponseSchema, { frame: { case: "bodyChunk", value: part } })))) return;
          }
        }
      } catch (e) {
        error = timedOut ? `the app did not finish its answer within ${Math.round(limitMs / 1000)} s` : `the app's answer was cut off: ${errorMessage(e)}`;
      }
      await send(
        call,
        create(InvokeResponseSchema, {
          frame: { case: "trailer", value: { durationMs: BigInt(Date.now() - started), bodyBytes: BigInt(bytes), error } },
        }),
      );
      log(`invoke ${org}/${app} v${slot.version} ${method} ${path.split("?")[0]} -> ${res.statusCode} (${Date.now() - started} ms${coldStart ? ", cold start" : ""}) ${executionId}`);
      more.executions.record(org, app, res.statusCode ?? 0, Date.now() - started, (res.statusCode ?? 0) < 500 && !error);
    } finally {
      release();
      clearTimeout(timer);
      call.off("cancelled", onCancel);
    }
  }

  const compute: Handlers = {
    healthCheck: unary("HealthCheck", async () => create(HealthCheckResponseSchema, { status: "SERVING", version: SERVER_VERSION })),
    createApp: unary("CreateApp", async (req: Parameters<Platform["createApp"]>[1], md) => {
      const org = scope(md, req.organizationName);
      const meta = platform.present(await platform.createApp(org, req));
      return create(CreateAppResponseSchema, {
        appId: meta.id,
        deploymentState: meta.deploymentState,
        appliedTier: meta.resourceTier,
        ...(meta.limits ? { appliedLimits: meta.limits } : {}),
        app: meta,
      });
    }),
    getApp: unary("GetApp", async (req: AppReq, md) => {
      const org = appScope(req, md);
      return create(GetAppResponseSchema, { app: platform.present(await platform.requireApp(org, req.appName)) });
    }),
    listApps: unary("ListApps", async (req: { organizationName: string; limit: number; cursor: string }, md) => {
      const org = scope(md, req.organizationName);
      const { apps, next } = await platform.listApps(org, req.limit, req.cursor);
      return create(ListAppsResponseSchema, { apps: apps.map((a) => platform.summary(a)), nextCursor: next });
    }),
    updateAppConfig: unary("UpdateAppConfig", async (req: Parameters<Platform["updateAppConfig"]>[1], md) => {
      const org = appScope(req, md);
      return create(UpdateAppConfigResponseSchema, { app: platform.present(await platform.updateAppConfig(org, req)) });
    }),
    deleteApp: unary("DeleteApp", async (req: AppReq, md) => {
      const org = appScope(req, md);
      await platform.deleteApp(org, req.appName);
      more.hub.forget(`${org}/${req.appName}`);
      return create(DeleteAppResponseSchema, { appId: `${org}/${req.appName}` });
    }),
    getAppState: unary("GetAppState", async (req: AppReq, md) => {
      const org = appScope(req, md);
      const m = platform.present(await platform.requireApp(org, req.appName));
      const key = m.id;
      const replicas = platform.replicas(key);
      return create(GetAppStateResponseSchema, {
        appId: key,
        deploymentState: m.deploymentState,
        activeVersion: m.activeVersion,
        publicUrls: m.publicUrls,
        readyReplicas: replicas.length,
        desiredReplicas: platform.desiredReplicas(m),
        lastError: platform.runtimeLastError(key),
        lastInvokedAtMs: BigInt(platform.runtimeLastInvoked(key)),
      });
    }),
    listAppReplicas: unary("ListAppReplicas", async (req: AppReq, md) => {
      const org = appScope(req, md);
      await platform.requireApp(org, req.appName);
      const replicas = platform.replicas(`${org}/${req.appName}`).sort((a, b) => a.instance.startedAtMs - b.instance.startedAtMs);
      return create(ListAppReplicasResponseSchema, {
        replicas: replicas.map((slot) => create(ReplicaSchema, { replicaId: slot.instance.id, version: slot.version, state: "RUNNING", startedAtMs: BigInt(slot.instance.startedAtMs) })),
      });
    }),
    saveDraft: unary("SaveDraft", async (req: { organizationName: string; appName: string; code?: Parameters<Platform["saveDraft"]>[2]; inputSchema: string; outputSchema: string }, md) => {
      const org = appScope(req, md);
      return create(SaveDraftResponseSchema, { draft: await platform.saveDraft(org, req.appName, req.code, req.inputSchema, req.outputSchema) });
    }),
    getDraftInfo: unary("GetDraftInfo", async (req: AppReq, md) => {
      const org = appScope(req, md);
      const d = await platform.getDraft(org, req.appName);
      return create(GetDraftInfoResponseSchema, d ? { draft: d } : {});
    }),
    publishDraft: unary("PublishDraft", async (req: AppReq, md) => {
      const org = appScope(req, md);
      const r = await platform.publish(org, req.appName);
      return create(PublishDraftResponseSchema, { version: r.version, app: r.app, deployId: r.deployId });
    }),
    listAppVersions: unary("ListAppVersions", async (req: AppReq, md) => {
      const org = appScope(req, md);
      return create(ListAppVersionsResponseSchema, { versions: await platform.listVersions(org, req.appName) });
    }),
    getAppVersion: unary("GetAppVersion", async (req: AppReq & { version: number }, md) => {
      const org = appScope(req, md);
      return create(GetAppVersionResponseSchema, { app: await platform.getVersion(org, req.appName, req.version) });
    }),
    rollbackApp: unary("RollbackApp", async (req: AppReq & { version: number }, md) => {
      const org = appScope(req, md);
      const r = await platform.rollback(org, req.appName, req.version);
      return create(RollbackAppResponseSchema, { app: r.app, previousVersion: r.previous });
    }),
    getAppCode: unary("GetAppCode", async (req: AppReq & { version: number }, md) => {
      const org = appScope(req, md);
      return create(GetAppCodeResponseSchema, await platform.getCode(org, req.appName, req.version));
    }),
    getBuildLog: unary("GetBuildLog", async (req: AppReq & { buildId: string }, md) => {
      const org = appScope(req, md);
      await platform.requireApp(org, req.appName);
      let id = req.buildId;
      if (!id) {
        const d = await platform.store.getDraft(org, req.appName);
        id = d?.deployId ?? "";
      }
      const b = await getBuildRecord(id, org);
      if (b.app !== req.appName) throw notFound(`build ${id} not found for app ${org}/${req.appName}`);
      const entries = (await builds.readLog(b.id, 0)).map((e) => create(LogEntrySchema, { offset: BigInt(e.offset), timestampMs: BigInt(e.timestampMs), line: e.line }));
      const cur = builds.isActive(b.id) ? b : ((await platform.store.getBuild(b.id)) ?? b);
      return create(GetBuildLogResponseSchema, { entries, status: cur.status });
    }),
    streamCompileLogs: stream("StreamCompileLogs", async (req: StreamCompileLogsRequest, call: ServerWritableStream<StreamCompileLogsRequest, StreamCompileLogsResponse>) => {
      const org = authOrg(call.metadata);
      const b = await getBuildRecord(req.deployId, org);
      await streamBuildLog(
        b,
        Number(req.fromOffset),
        req.follow,
        call as ServerWritableStream<unknown, unknown>,
        (e) => create(StreamCompileLogsResponseSchema, { item: { case: "entry", value: { offset: BigInt(e.offset), timestampMs: BigInt(e.timestampMs), line: e.line } } }),
        (f) => create(StreamCompileLogsResponseSchema, { item: { case: "outcome", value: { status: f.status, error: f.error ?? "", imageRef: f.status === BuildStatus.SUCCEEDED ? f.imageRef : "" } } }),
      );
    }),
    invoke: stream("Invoke", invoke),
  };

  // ---- BuildService ----
  function uploadBuildContext(call: ServerReadableStream<UploadBuildContextRequest, unknown>, cb: sendUnaryData<unknown>): void {
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
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      call.removeAllListeners("data");
      call.pause();
      out?.destroy();
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
      if (m.payload.case === "chunk") {
        if (!meta || !out) return fail(invalidArgument("the first message must carry metadata"));
        size += m.payload.value.length;
        if (size > MAX_CONTEXT_BYTES) return fail(resourceExhausted(`the build context exceeds ${MAX_CONTEXT_BYTES} bytes`));
        hash.update(m.payload.value);
        if (!out.write(m.payload.value)) {
          call.pause();
          out.once("drain", () => call.resume());
        }
      }
    });
    call.on("error", (e) => fail(e));
    call.on("cancelled", () => {
      failed = true;
      out?.destroy();
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
          try {
            await inspectArchive(tmp, { singleFileName: meta!.name });
          } catch (e) {
            if (e instanceof ArchiveError) throw invalidArgument(`invalid build context: ${e.message}`);
            throw e;
          }
          await platform.store.adoptBlob(tmp, digest);
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

  const build: Handlers = {
    uploadBuildContext: uploadBuildContext as UntypedHandleCall,
    getBuildContext: unary("GetBuildContext", async (req: GetBuildContextRequest, md) => {
      const org = authOrg(md);
      if (!/^sha256:[0-9a-f]{64}$/.test(req.digest)) throw invalidArgument(`invalid digest '${req.digest}': expected sha256:<64 hex>`);
      const context = await platform.store.getContext(org, `ctx_${req.digest.slice(7, 31)}`);
      if (!context || context.digest !== req.digest) throw notFound(`no build context with digest ${req.digest}`);
      return create(UploadBuildContextResponseSchema, { contextId: context.contextId, sizeBytes: BigInt(context.sizeBytes), digest: context.digest });
    }),
    getBuild: unary("GetBuild", async (req: GetBuildRequest, md) => {
      const org = authOrg(md);
      return create(GetBuildResponseSchema, { build: buildMessage(await getBuildRecord(req.buildId, org)) });
    }),
    streamBuildLogs: stream("StreamBuildLogs", async (req: StreamBuildLogsRequest, call: ServerWritableStream<StreamBuildLogsRequest, StreamBuildLogsResponse>) => {
      const org = authOrg(call.metadata);
      const b = await getBuildRecord(req.buildId, org);
      const from = req.fromStart ? 0 : (await builds.readLog(b.id, 0)).length;
      await streamBuildLog(
        b,
        from,
        true,
        call as ServerWritableStream<unknown, unknown>,
        (e) => create(StreamBuildLogsResponseSchema, { item: { case: "entry", value: { offset: BigInt(e.offset), timestampMs: BigInt(e.timestampMs), line: e.line } } }),
        (f) => create(StreamBuildLogsResponseSchema, { item: { case: "finished", value: buildMessage(f) } }),
      );
    }),
  };



  return {
    compute: completeService(ComputeService, { ...compute, ...more.compute }),
    build: completeService(BuildService, { ...build, ...more.build }),
    secret: completeService(SecretService, more.secret),
    model: completeService(ModelService, more.model),
    authOrg,
    isValidName,
    status,
  };
}
