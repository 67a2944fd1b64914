import type { MessageInitShape } from "@bufbuild/protobuf";
import type { IgniteApi } from "../api/ignite-api.js";
import type { AppMeta } from "../gen/dodil/ignite/v1/common_pb.js";
import {
  ComputeService,
  type CreateAppRequestSchema,
  type CreateAppResponse,
  type GetAppStateResponse,
  type ListAppsResponse,
  type UpdateAppConfigRequestSchema,
} from "../gen/dodil/ignite/v1/compute_pb.js";
import { appFields, type AppRef } from "./app-ref.js";

export type AppSettings = Omit<MessageInitShape<typeof CreateAppRequestSchema>, "organizationName" | "name" | "$typeName">;
export type AppPatch = Omit<MessageInitShape<typeof UpdateAppConfigRequestSchema>, "organizationName" | "appName" | "$typeName">;

export function createApp(api: IgniteApi, ref: AppRef, settings: AppSettings): Promise<CreateAppResponse> {
  return api.unary(ComputeService.method.createApp, { ...settings, organizationName: ref.org ?? "", name: ref.name });
}

export async function getApp(api: IgniteApi, ref: AppRef): Promise<AppMeta | undefined> {
  return (await api.unary(ComputeService.method.getApp, appFields(ref))).app;
}

/** Every app of the org, following cursors so the caller never sees a partial list. */
export async function listApps(api: IgniteApi, org: string | undefined, limit = 0): Promise<ListAppsResponse["apps"]> {
  const apps: ListAppsResponse["apps"] = [];
  let cursor = "";
  do {
    const page = await api.unary(ComputeService.method.listApps, { organizationName: org ?? "", limit: limit || 100, cursor });
    apps.push(...page.apps);
    cursor = page.nextCursor;
  } while (cursor && (limit === 0 || apps.length < limit));
  return limit ? apps.slice(0, limit) : apps;
}

export async function updateApp(api: IgniteApi, ref: AppRef, patch: AppPatch): Promise<AppMeta | undefined> {
  return (await api.unary(ComputeService.method.updateAppConfig, { ...patch, ...appFields(ref) })).app;
}

export async function deleteApp(api: IgniteApi, ref: AppRef): Promise<string> {
  return (await api.unary(ComputeService.method.deleteApp, appFields(ref))).appId;
}

export function getAppState(api: IgniteApi, ref: AppRef): Promise<GetAppStateResponse> {
  return api.unary(ComputeService.method.getAppState, appFields(ref));
}
