/** ComputeService: apps (create, get, list, configure, delete) and their running state. */
import { create } from "@bufbuild/protobuf";
import {
  CreateAppResponseSchema,
  DeleteAppResponseSchema,
  GetAppResponseSchema,
  GetAppStateResponseSchema,
  HealthCheckResponseSchema,
  ListAppReplicasResponseSchema,
  ListAppsResponseSchema,
  ReplicaSchema,
  UpdateAppConfigResponseSchema,
} from "../../gen/dodil/ignite/v1/compute_pb.js";
import type { Platform } from "../apps/platform.js";
import type { Handlers } from "./handlers.js";
import type { GrpcDeps } from "./grpc-deps.js";
import type { AppReq } from "./rpc-kit.js";

export const SERVER_VERSION = "0.1.0-local";

export function appsHandlers({ platform, hub, kit }: GrpcDeps): Handlers {
  const { unary, scope, appScope } = kit;
  return {
    healthCheck: unary("HealthCheck", async () => create(HealthCheckResponseSchema, { status: "SERVING", version: SERVER_VERSION })),
    createApp: unary("CreateApp", async (req: Parameters<Platform["apps"]["createApp"]>[1], md) => {
      const org = scope(md, req.organizationName);
      const meta = platform.apps.present(await platform.apps.createApp(org, req));
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
      return create(GetAppResponseSchema, { app: platform.apps.present(await platform.apps.requireApp(org, req.appName)) });
    }),
    listApps: unary("ListApps", async (req: { organizationName: string; limit: number; cursor: string }, md) => {
      const org = scope(md, req.organizationName);
      const { apps, next } = await platform.apps.listApps(org, req.limit, req.cursor);
      return create(ListAppsResponseSchema, { apps: apps.map((a) => platform.apps.summary(a)), nextCursor: next });
    }),
    updateAppConfig: unary("UpdateAppConfig", async (req: Parameters<Platform["apps"]["updateAppConfig"]>[1], md) => {
      const org = appScope(req, md);
      return create(UpdateAppConfigResponseSchema, { app: platform.apps.present(await platform.apps.updateAppConfig(org, req)) });
    }),
    deleteApp: unary("DeleteApp", async (req: AppReq, md) => {
      const org = appScope(req, md);
      await platform.apps.deleteApp(org, req.appName);
      hub.forget(`${org}/${req.appName}`);
      return create(DeleteAppResponseSchema, { appId: `${org}/${req.appName}` });
    }),
    getAppState: unary("GetAppState", async (req: AppReq, md) => {
      const org = appScope(req, md);
      const m = platform.apps.present(await platform.apps.requireApp(org, req.appName));
      const key = m.id;
      const replicas = platform.scaling.replicas(key);
      return create(GetAppStateResponseSchema, {
        appId: key,
        deploymentState: m.deploymentState,
        activeVersion: m.activeVersion,
        publicUrls: m.publicUrls,
        readyReplicas: replicas.length,
        desiredReplicas: platform.scaling.desiredReplicas(m),
        lastError: platform.scaling.runtimeLastError(key),
        lastInvokedAtMs: BigInt(platform.scaling.runtimeLastInvoked(key)),
      });
    }),
    listAppReplicas: unary("ListAppReplicas", async (req: AppReq, md) => {
      const org = appScope(req, md);
      await platform.apps.requireApp(org, req.appName);
      const replicas = platform.scaling.replicas(`${org}/${req.appName}`).sort((a, b) => a.instance.startedAtMs - b.instance.startedAtMs);
      return create(ListAppReplicasResponseSchema, {
        replicas: replicas.map((slot) => create(ReplicaSchema, { replicaId: slot.instance.id, version: slot.version, state: "RUNNING", startedAtMs: BigInt(slot.instance.startedAtMs) })),
      });
    }),
  };
}
