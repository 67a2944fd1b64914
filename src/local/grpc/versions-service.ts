/** ComputeService: an app's published versions (publish, list, get, test, roll back, code). */
import { create } from "@bufbuild/protobuf";
import {
  GetAppCodeResponseSchema,
  GetAppVersionResponseSchema,
  ListAppVersionsResponseSchema,
  PublishDraftResponseSchema,
  RollbackAppResponseSchema,
  type TestAppVersionRequest,
} from "../../gen/dodil/ignite/v1/compute_pb.js";
import { testVersion } from "../invoke/draft-tests.js";
import { deadlineOf, type GrpcDeps } from "./grpc-deps.js";
import type { Handlers } from "./handlers.js";
import type { AppReq } from "./rpc-kit.js";

export function versionsHandlers({ platform, kit }: GrpcDeps): Handlers {
  const { unary, appScope } = kit;
  return {
    publishDraft: unary("PublishDraft", async (req: AppReq, md) => {
      const org = appScope(req, md);
      const r = await platform.versions.publish(org, req.appName);
      return create(PublishDraftResponseSchema, { version: r.version, app: r.app, deployId: r.deployId });
    }),
    listAppVersions: unary("ListAppVersions", async (req: AppReq, md) => {
      const org = appScope(req, md);
      return create(ListAppVersionsResponseSchema, { versions: await platform.versions.listVersions(org, req.appName) });
    }),
    getAppVersion: unary("GetAppVersion", async (req: AppReq & { version: number }, md) => {
      const org = appScope(req, md);
      return create(GetAppVersionResponseSchema, { app: await platform.versions.getVersion(org, req.appName, req.version) });
    }),
    rollbackApp: unary("RollbackApp", async (req: AppReq & { version: number }, md) => {
      const org = appScope(req, md);
      const r = await platform.versions.rollback(org, req.appName, req.version);
      return create(RollbackAppResponseSchema, { app: r.app, previousVersion: r.previous });
    }),
    getAppCode: unary("GetAppCode", async (req: AppReq & { version: number }, md) => {
      const org = appScope(req, md);
      return create(GetAppCodeResponseSchema, await platform.versions.getCode(org, req.appName, req.version));
    }),
    testAppVersion: unary("TestAppVersion", async (req: TestAppVersionRequest, md, call) => {
      const org = appScope(req, md);
      return testVersion(platform, { org, app: req.appName, version: req.version }, { payload: req.payload, http: req.http, deadlineMs: deadlineOf(call) });
    }),
  };
}
