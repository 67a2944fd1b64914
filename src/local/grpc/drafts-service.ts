/** ComputeService: an app's draft (save, inspect, compile, test) and its build/compile log. */
import { create } from "@bufbuild/protobuf";
import type { ServerWritableStream } from "@grpc/grpc-js";
import { BuildStatus, LogEntrySchema } from "../../gen/dodil/ignite/v1/common_pb.js";
import {
  CompileDraftResponseSchema,
  GetBuildLogResponseSchema,
  GetDraftInfoResponseSchema,
  SaveDraftResponseSchema,
  StreamCompileLogsResponseSchema,
  type StreamCompileLogsRequest,
  type StreamCompileLogsResponse,
  type TestDraftRequest,
} from "../../gen/dodil/ignite/v1/compute_pb.js";
import type { DraftContent } from "../apps/drafts.js";
import { notFound } from "../errors.js";
import { compileDraft, testDraft } from "../invoke/draft-tests.js";
import { streamBuildLog } from "./build-log-stream.js";
import { pullableRef } from "../build/build-manager.js";
import { buildOf, deadlineOf, type GrpcDeps } from "./grpc-deps.js";
import type { Handlers } from "./handlers.js";
import type { AppReq } from "./rpc-kit.js";

type SaveDraftReq = { organizationName: string; appName: string; code?: DraftContent["code"]; inputSchema: string; outputSchema: string; dependencies: string[] };

export function draftsHandlers({ platform, builds, kit }: GrpcDeps): Handlers {
  const { unary, stream, appScope, authOrg } = kit;
  return {
    saveDraft: unary("SaveDraft", async (req: SaveDraftReq, md) => {
      const org = appScope(req, md);
      return create(SaveDraftResponseSchema, { draft: await platform.drafts.saveDraft(org, req.appName, req) });
    }),
    getDraftInfo: unary("GetDraftInfo", async (req: AppReq, md) => {
      const org = appScope(req, md);
      const d = await platform.drafts.getDraft(org, req.appName);
      return create(GetDraftInfoResponseSchema, d ? { draft: d } : {});
    }),
    compileDraft: unary("CompileDraft", async (req: AppReq, md) => {
      const org = appScope(req, md);
      const r = await compileDraft(platform, org, req.appName);
      return create(CompileDraftResponseSchema, { deployId: r.deployId, ...(r.draft ? { draft: r.draft } : {}) });
    }),
    testDraft: unary("TestDraft", async (req: TestDraftRequest, md, call) => {
      const org = appScope(req, md);
      return testDraft(platform, { org, app: req.appName }, { payload: req.payload, http: req.http, deadlineMs: deadlineOf(call) });
    }),
    getBuildLog: unary("GetBuildLog", async (req: AppReq & { buildId: string }, md) => {
      const org = appScope(req, md);
      await platform.apps.requireApp(org, req.appName);
      let id = req.buildId;
      if (!id) {
        const d = await platform.store.getDraft(org, req.appName);
        id = d?.deployId ?? "";
      }
      const b = await buildOf(platform, id, org);
      if (b.app !== req.appName) throw notFound(`build ${id} not found for app ${org}/${req.appName}`);
      const entries = (await builds.readLog(b.id, 0)).map((e) => create(LogEntrySchema, { offset: BigInt(e.offset), timestampMs: BigInt(e.timestampMs), line: e.line }));
      const cur = builds.isActive(b.id) ? b : ((await platform.store.getBuild(b.id)) ?? b);
      return create(GetBuildLogResponseSchema, { entries, status: cur.status });
    }),
    streamCompileLogs: stream("StreamCompileLogs", async (req: StreamCompileLogsRequest, call: ServerWritableStream<StreamCompileLogsRequest, StreamCompileLogsResponse>) => {
      const org = authOrg(call.metadata);
      const b = await buildOf(platform, req.deployId, org);
      await streamBuildLog(builds, b, {
        call: call as ServerWritableStream<unknown, unknown>,
        fromOffset: Number(req.fromOffset),
        follow: req.follow,
        entry: (e) => create(StreamCompileLogsResponseSchema, { item: { case: "entry", value: { offset: BigInt(e.offset), timestampMs: BigInt(e.timestampMs), line: e.line } } }),
        finished: (f) => create(StreamCompileLogsResponseSchema, { item: { case: "outcome", value: { status: f.status, error: f.error ?? "", imageRef: f.status === BuildStatus.SUCCEEDED ? platform.shownImageRef(pullableRef(f)) : "" } } }),
      });
    }),
  };
}
