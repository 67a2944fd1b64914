import type { IgniteApi } from "../api/ignite-api.js";
import type { AppMeta } from "../gen/dodil/ignite/v1/common_pb.js";
import { ComputeService, type AppVersionInfo, type RollbackAppResponse } from "../gen/dodil/ignite/v1/compute_pb.js";
import { UsageError } from "../errors.js";
import { appFields, type AppRef } from "./app-ref.js";

export function parseVersionNumber(text: string): number {
  if (!/^[1-9]\d{0,8}$/.test(text)) throw new UsageError(`invalid version "${text}": use a version number such as 1`);
  return Number(text);
}

export async function listVersions(api: IgniteApi, ref: AppRef): Promise<AppVersionInfo[]> {
  return (await api.unary(ComputeService.method.listAppVersions, appFields(ref))).versions;
}

export async function getVersion(api: IgniteApi, ref: AppRef, version: number): Promise<AppMeta | undefined> {
  return (await api.unary(ComputeService.method.getAppVersion, { ...appFields(ref), version })).app;
}

export function rollbackApp(api: IgniteApi, ref: AppRef, version: number): Promise<RollbackAppResponse> {
  return api.unary(ComputeService.method.rollbackApp, { ...appFields(ref), version });
}
