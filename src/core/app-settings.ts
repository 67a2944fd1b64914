import { ResourceTier } from "../gen/dodil/ignite/v1/common_pb.js";
import { UsageError } from "../errors.js";
import type { AppPatch, AppSettings } from "./apps.js";
import { parseKeyValues } from "./key-values.js";

/** App flags shared by `app create` and `app update`, as typed. */
export interface AppFlags {
  description?: string | undefined;
  tier?: string | undefined;
  memory?: string | undefined;
  cpu?: string | undefined;
  timeoutSecs?: string | undefined;
  maxReplicas?: string | undefined;
  reserved?: string | undefined;
  healthPath?: string | undefined;
  env?: string[] | undefined;
  allowUnauthenticated?: boolean | undefined;
}

const TIERS: Record<string, ResourceTier> = {
  small: ResourceTier.SMALL,
  medium: ResourceTier.MEDIUM,
  large: ResourceTier.LARGE,
  xlarge: ResourceTier.XLARGE,
};

function parseTier(text: string | undefined): ResourceTier | undefined {
  if (text === undefined) return undefined;
  const tier = TIERS[text.toLowerCase()];
  if (tier === undefined) throw new UsageError(`invalid value "${text}" for --tier: use small, medium, large or xlarge`);
  return tier;
}

function parseCount(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text)) throw new UsageError(`invalid value "${text}" for ${flag}: use a whole number`);
  return Number(text);
}

function parseHealthPath(text: string | undefined): string | undefined {
  if (text !== undefined && !text.startsWith("/")) throw new UsageError(`invalid value "${text}" for --health-path: it must start with /`);
  return text;
}

function limitsOf(flags: AppFlags) {
  const memoryMb = parseCount(flags.memory, "--memory");
  const cpuMillicores = parseCount(flags.cpu, "--cpu");
  const timeoutSecs = parseCount(flags.timeoutSecs, "--timeout-secs");
  if (memoryMb === undefined && cpuMillicores === undefined && timeoutSecs === undefined) return undefined;
  return { memoryMb: memoryMb ?? 0, cpuMillicores: cpuMillicores ?? 0, timeoutSecs: timeoutSecs ?? 0 };
}

function scalingOf(flags: AppFlags) {
  const maxReplicas = parseCount(flags.maxReplicas, "--max-replicas");
  const reservedCapacity = parseCount(flags.reserved, "--reserved");
  if (maxReplicas === undefined && reservedCapacity === undefined) return undefined;
  return { maxReplicas: maxReplicas ?? 0, reservedCapacity: reservedCapacity ?? 0 };
}

/** CreateApp fields from flags; unset flags leave the server's defaults. */
export function appSettingsFromFlags(flags: AppFlags): AppSettings {
  const settings: AppSettings = { env: parseKeyValues(flags.env ?? [], "--env") };
  const tier = parseTier(flags.tier);
  if (flags.description !== undefined) settings.description = flags.description;
  if (tier !== undefined) settings.resourceTier = tier;
  const limits = limitsOf(flags);
  if (limits) settings.limits = limits;
  const scaling = scalingOf(flags);
  if (scaling) settings.scaling = scaling;
  const healthPath = parseHealthPath(flags.healthPath);
  if (healthPath !== undefined) settings.healthPath = healthPath;
  if (flags.allowUnauthenticated) settings.allowUnauthenticated = true;
  return settings;
}

/** UpdateAppConfig patch from flags: only what was given changes; --env merges keys (KEY= removes one). */
export function appPatchFromFlags(flags: AppFlags): AppPatch {
  const env = parseKeyValues(flags.env ?? [], "--env");
  const patch: AppPatch = {
    envSet: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== "")),
    envUnset: Object.entries(env).filter(([, v]) => v === "").map(([k]) => k),
  };
  if (flags.description !== undefined) patch.description = flags.description;
  const tier = parseTier(flags.tier);
  if (tier !== undefined) patch.resourceTier = tier;
  const limits = limitsOf(flags);
  if (limits) patch.limits = limits;
  const scaling = scalingOf(flags);
  if (scaling) patch.scaling = scaling;
  const healthPath = parseHealthPath(flags.healthPath);
  if (healthPath !== undefined) patch.healthPath = healthPath;
  if (flags.allowUnauthenticated !== undefined) patch.allowUnauthenticated = flags.allowUnauthenticated;
  return patch;
}

export function isEmptyPatch(patch: AppPatch): boolean {
  return Object.entries(patch).every(([, v]) => v === undefined || (Array.isArray(v) ? v.length === 0 : typeof v === "object" && v !== null && Object.keys(v).length === 0));
}
