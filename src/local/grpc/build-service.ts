/** BuildService: build contexts, standalone builds (create, get, list, cancel, logs) and build secrets. */
import { create } from "@bufbuild/protobuf";
import type { ServerWritableStream, UntypedHandleCall } from "@grpc/grpc-js";
import {
  CancelBuildResponseSchema,
  CreateBuildResponseSchema,
  GetBuildResponseSchema,
  ListBuildsResponseSchema,
  SaveBuildSecretsResponseSchema,
  StreamBuildLogsResponseSchema,
  UploadBuildContextResponseSchema,
  type CancelBuildRequest,
  type CreateBuildRequest,
  type GetBuildContextRequest,
  type GetBuildRequest,
  type ListBuildsRequest,
  type SaveBuildSecretsRequest,
  type StreamBuildLogsRequest,
  type StreamBuildLogsResponse,
} from "../../gen/dodil/ignite/v1/build_pb.js";
import { buildMessage, cancelBuild, createBuild, listBuilds, saveBuildSecrets } from "../build/build-requests.js";
import { invalidArgument, notFound } from "../errors.js";
import { uploadBuildContext } from "./build-context-upload.js";
import { streamBuildLog } from "./build-log-stream.js";
import { buildOf, type GrpcDeps } from "./grpc-deps.js";
import type { Handlers } from "./handlers.js";

export function buildHandlers({ platform, builds, kit }: GrpcDeps): Handlers {
  const { unary, stream, authOrg } = kit;
  return {
    uploadBuildContext: ((call: Parameters<typeof uploadBuildContext>[2], cb: Parameters<typeof uploadBuildContext>[3]) => uploadBuildContext(platform, kit, call, cb)) as UntypedHandleCall,
    getBuildContext: unary("GetBuildContext", async (req: GetBuildContextRequest, md) => {
      const org = authOrg(md);
      if (!/^sha256:[0-9a-f]{64}$/.test(req.digest)) throw invalidArgument(`invalid digest '${req.digest}': expected sha256:<64 hex>`);
      const context = await platform.store.getContext(org, `ctx_${req.digest.slice(7, 31)}`);
      if (!context || context.digest !== req.digest) throw notFound(`no build context with digest ${req.digest}`);
      return create(UploadBuildContextResponseSchema, { contextId: context.contextId, sizeBytes: BigInt(context.sizeBytes), digest: context.digest });
    }),
    getBuild: unary("GetBuild", async (req: GetBuildRequest, md) => {
      const org = authOrg(md);
      return create(GetBuildResponseSchema, { build: buildMessage(await buildOf(platform, req.buildId, org)) });
    }),
    streamBuildLogs: stream("StreamBuildLogs", async (req: StreamBuildLogsRequest, call: ServerWritableStream<StreamBuildLogsRequest, StreamBuildLogsResponse>) => {
      const org = authOrg(call.metadata);
      const b = await buildOf(platform, req.buildId, org);
      await streamBuildLog(builds, b, {
        call: call as ServerWritableStream<unknown, unknown>,
        fromOffset: req.fromStart ? 0 : (await builds.readLog(b.id, 0)).length,
        follow: true,
        entry: (e) => create(StreamBuildLogsResponseSchema, { item: { case: "entry", value: { offset: BigInt(e.offset), timestampMs: BigInt(e.timestampMs), line: e.line } } }),
        finished: (f) => create(StreamBuildLogsResponseSchema, { item: { case: "finished", value: buildMessage(f) } }),
      });
    }),
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
      const b = await buildOf(platform, req.buildId, org);
      return create(CancelBuildResponseSchema, { build: buildMessage(await cancelBuild(platform, b)) });
    }),
    saveBuildSecrets: unary("SaveBuildSecrets", async (req: SaveBuildSecretsRequest, md) => {
      const org = authOrg(md);
      await saveBuildSecrets(platform, org, req);
      return create(SaveBuildSecretsResponseSchema, {});
    }),
  };
}
