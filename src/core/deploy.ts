import type { IgniteApi } from "../api/ignite-api.js";
import type { AppMeta } from "../gen/dodil/ignite/v1/common_pb.js";
import type { PublishDraftResponse } from "../gen/dodil/ignite/v1/compute_pb.js";
import { ApiError } from "../errors.js";
import type { AppRef } from "./app-ref.js";
import { appPatchFromFlags, appSettingsFromFlags, isEmptyPatch, mergeScaling, type AppFlags } from "./app-settings.js";
import { createApp, getApp, updateApp, type AppPatch, type AppSettings } from "./apps.js";
import { publishDraft } from "./draft-runs.js";
import { saveDraft, type SaveDraftOptions, type SaveDraftResult } from "./drafts.js";
import { parseKeyValues } from "./key-values.js";

export type DeployStep = "create" | "update" | "save" | "publish";

export interface DeployOptions extends SaveDraftOptions {
  flags: AppFlags;
  onStep?: (step: DeployStep) => void;
  /** The publish's answer was lost but the reconnect shows it took effect (draft-runs.ts). */
  onAnswerLost?: (message: string) => void;
}

export interface DeployResult {
  created: boolean;
  /** Env keys the app had before this deploy and no longer has (each deploy sets the whole env). */
  droppedEnv: string[];
  saved: SaveDraftResult;
  published: PublishDraftResponse;
}

/**
 * Checks the app flags of a deploy before anything is sent: the settings a create would use and
 * the patch an update would use (both throw UsageError on bad values).
 */
export function checkDeployFlags(flags: AppFlags): { settings: AppSettings; patch: AppPatch } {
  const settings = appSettingsFromFlags(flags);
  const patch = appPatchFromFlags({ ...flags, env: [] });
  patch.envSet = parseKeyValues(flags.env ?? [], "--env");
  patch.envUnset = [];
  patch.replaceEnv = true;
  return { settings, patch };
}

/**
 * `app deploy`: create the app (or update the one that exists), save the draft, publish it. As on
 * the platform, each deploy sets the app's whole env map to the --env given. The caller packs the
 * archive (with the size guard) and owns its cleanup.
 */
export async function deployApp(api: IgniteApi, ref: AppRef, options: DeployOptions): Promise<DeployResult> {
  const { settings, patch } = checkDeployFlags(options.flags);
  const existing = await findApp(api, ref);
  let droppedEnv: string[] = [];
  if (!existing) {
    options.onStep?.("create");
    await createApp(api, ref, settings);
  } else {
    options.onStep?.("update");
    droppedEnv = Object.keys(existing.env).filter((k) => !(k in (patch.envSet ?? {}))).sort();
    const scaling = mergeScaling(options.flags, existing.scaling);
    if (scaling) patch.scaling = scaling;
    if (!isEmptyPatch(patch) || droppedEnv.length > 0) await updateApp(api, ref, patch);
  }
  try {
    options.onStep?.("save");
    const saved = await saveDraft(api, ref, options);
    options.onStep?.("publish");
    const published = await publishDraft(api, ref, options.onAnswerLost ? { onAnswerLost: options.onAnswerLost } : {});
    return { created: !existing, droppedEnv, saved, published };
  } catch (error) {
    // A deploy that does not publish leaves the app as it was: the previous version keeps serving
    // with the settings it had (a new --health-path, env or tier only lands with a version that
    // became ready). A new app stays, with its draft, so `draft compile-logs` can say why.
    if (existing) await restoreSettings(api, ref, restorePatch(existing, { ...patch, ...options.appPatch }), error);
    throw error;
  }
}

/** The UpdateAppConfig that puts back each setting `changed` touched, from the app as it was. */
export function restorePatch(before: AppMeta, changed: AppPatch): AppPatch {
  const has = (k: keyof AppPatch) => changed[k] !== undefined;
  const back: AppPatch = {};
  if (has("description")) back.description = before.description;
  if (has("resourceTier") || has("limits")) {
    back.resourceTier = before.resourceTier;
    if (before.limits) back.limits = { memoryMb: before.limits.memoryMb, cpuMillicores: before.limits.cpuMillicores, timeoutSecs: before.limits.timeoutSecs };
  }
  if (has("scaling") && before.scaling) back.scaling = before.scaling;
  if (has("storageMode")) back.storageMode = before.storageMode;
  if (has("ttlSeconds")) back.ttlSeconds = before.ttlSeconds;
  if (changed.replaceEnv || Object.keys(changed.envSet ?? {}).length || (changed.envUnset ?? []).length) {
    back.replaceEnv = true;
    back.envSet = { ...before.env };
  }
  if (changed.replacePorts || (changed.ports ?? []).length) {
    back.replacePorts = true;
    back.ports = [...before.ports];
  }
  if (has("healthPath")) back.healthPath = before.healthPath;
  if (has("mcpEnabled")) back.mcpEnabled = before.mcpEnabled;
  if (has("inputSchema")) back.inputSchema = before.inputSchema;
  if (has("outputSchema")) back.outputSchema = before.outputSchema;
  if (has("allowUnauthenticated")) back.allowUnauthenticated = before.allowUnauthenticated;
  if (has("maxConcurrency")) back.maxConcurrency = before.maxConcurrency;
  return back;
}

/** Applies `back` (a restorePatch); a failure is added to `cause`, the error the user needs. */
async function restoreSettings(api: IgniteApi, ref: AppRef, back: AppPatch, cause: unknown): Promise<void> {
  if (isEmptyPatch(back)) return;
  try {
    await updateApp(api, ref, back);
  } catch (restoreError) {
    // The deploy's own error is what the user needs; that the settings stayed changed goes with it.
    if (cause instanceof Error) cause.message += ` (the app's settings from this deploy could not be put back: ${restoreError instanceof Error ? restoreError.message : String(restoreError)}; check them with \`app get\`)`;
  }
}

async function findApp(api: IgniteApi, ref: AppRef): Promise<AppMeta | undefined> {
  try {
    return await getApp(api, ref);
  } catch (error) {
    if (error instanceof ApiError && error.code === "NOT_FOUND") return undefined;
    throw error;
  }
}
