import { AutonomousScalingMode, ResourceTier, StorageMode, type ScalingConfig } from "../gen/dodil/ignite/v1/common_pb.js";
import { UsageError } from "../errors.js";
import type { AppPatch, AppSettings } from "./apps.js";
import type { AUTO_MODE_NAMES, STORAGE_MODE_NAMES, TIER_NAMES } from "./flag-choices.js";
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
  storageMode?: string | undefined;
  ttl?: string | undefined;
  autoMode?: string | undefined;
  mcpEnabled?: boolean | undefined;
  inputSchema?: string | undefined;
  outputSchema?: string | undefined;
}

const STORAGE_MODES: Record<(typeof STORAGE_MODE_NAMES)[number], StorageMode> = {
  persistent: StorageMode.PERSISTENT,
  ephemeral: StorageMode.EPHEMERAL,
  ttl: StorageMode.TTL,
};

const AUTO_MODES: Record<(typeof AUTO_MODE_NAMES)[number], AutonomousScalingMode> = {
  disabled: AutonomousScalingMode.DISABLED,
  enabled: AutonomousScalingMode.ENABLED,
  "tier-only": AutonomousScalingMode.TIER_ONLY,
  "scale-only": AutonomousScalingMode.SCALE_ONLY,
};

function parseChoice<T>(text: string | undefined, flag: string, choices: Record<string, T>): T | undefined {
  if (text === undefined) return undefined;
  const value = choices[text.toLowerCase()];
  if (value === undefined) throw new UsageError(`invalid value "${text}" for ${flag}: use ${Object.keys(choices).join(", ")}`);
  return value;
}

/** --input-schema / --output-schema: a JSON Schema given as a JSON string; checked before sending. */
export function parseSchema(text: string | undefined, flag: string): string | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${flag} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new UsageError(`${flag} must be a JSON Schema object, e.g. '{"type":"object"}'`);
  return text;
}

/** Storage mode and TTL: --ttl goes with --storage-mode ttl (on create, ttl mode also needs --ttl). */
function storageOf(flags: AppFlags, creating: boolean): { storageMode?: StorageMode; ttlSeconds?: number } {
  const storageMode = parseChoice(flags.storageMode, "--storage-mode", STORAGE_MODES);
  const ttlSeconds = parseCount(flags.ttl, "--ttl");
  if (ttlSeconds !== undefined && storageMode !== undefined && storageMode !== StorageMode.TTL) {
    throw new UsageError(`--ttl only applies to --storage-mode ttl (got --storage-mode ${flags.storageMode})`);
  }
  if (creating) {
    if (ttlSeconds !== undefined && storageMode === undefined) throw new UsageError("--ttl needs --storage-mode ttl");
    if (storageMode === StorageMode.TTL && !ttlSeconds) throw new UsageError("--storage-mode ttl needs --ttl <seconds> (greater than 0)");
  }
  const result: { storageMode?: StorageMode; ttlSeconds?: number } = {};
  if (storageMode !== undefined) result.storageMode = storageMode;
  if (ttlSeconds !== undefined) result.ttlSeconds = ttlSeconds;
  return result;
}

const TIERS: Record<(typeof TIER_NAMES)[number], ResourceTier> = {
  small: ResourceTier.SMALL,
  medium: ResourceTier.MEDIUM,
  large: ResourceTier.LARGE,
  xlarge: ResourceTier.XLARGE,
};

function parseTier(text: string | undefined): ResourceTier | undefined {
  if (text === undefined) return undefined;
  const tier = (TIERS as Record<string, ResourceTier | undefined>)[text.toLowerCase()];
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

/** The scaling fields the flags name; undefined when none was given. */
export interface ScalingFlags {
  maxReplicas?: number;
  reservedCapacity?: number;
  autonomousMode?: AutonomousScalingMode;
}

function scalingFlagsOf(flags: AppFlags): ScalingFlags | undefined {
  const maxReplicas = parseCount(flags.maxReplicas, "--max-replicas");
  const reservedCapacity = parseCount(flags.reserved, "--reserved");
  const autonomousMode = parseChoice(flags.autoMode, "--auto-mode", AUTO_MODES);
  if (maxReplicas === undefined && reservedCapacity === undefined && autonomousMode === undefined) return undefined;
  const scaling: ScalingFlags = {};
  if (maxReplicas !== undefined) scaling.maxReplicas = maxReplicas;
  if (reservedCapacity !== undefined) scaling.reservedCapacity = reservedCapacity;
  if (autonomousMode !== undefined) scaling.autonomousMode = autonomousMode;
  return scaling;
}

function scalingOf(flags: AppFlags) {
  const given = scalingFlagsOf(flags);
  if (!given) return undefined;
  return { maxReplicas: given.maxReplicas ?? 0, reservedCapacity: given.reservedCapacity ?? 0, autonomousMode: given.autonomousMode ?? AutonomousScalingMode.UNSPECIFIED };
}

/**
 * UpdateAppConfig replaces the scaling message as a whole; this keeps the fields the flags did not
 * name at their current values, so `app update --auto-mode enabled` does not reset --max-replicas.
 */
export function mergeScaling(flags: AppFlags, current: ScalingConfig | undefined): AppPatch["scaling"] {
  const given = scalingFlagsOf(flags);
  if (!given) return undefined;
  return {
    maxReplicas: given.maxReplicas ?? current?.maxReplicas ?? 0,
    reservedCapacity: given.reservedCapacity ?? current?.reservedCapacity ?? 0,
    autonomousMode: given.autonomousMode ?? current?.autonomousMode ?? AutonomousScalingMode.UNSPECIFIED,
    metric: current?.metric ?? 0,
    target: current?.target ?? 0,
  };
}

/** Whether the flags touch scaling (the update then needs the app's current scaling). */
export function hasScalingFlags(flags: AppFlags): boolean {
  return scalingFlagsOf(flags) !== undefined;
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
  Object.assign(settings, storageOf(flags, true));
  if (flags.mcpEnabled) settings.mcpEnabled = true;
  const inputSchema = parseSchema(flags.inputSchema, "--input-schema");
  if (inputSchema !== undefined) settings.inputSchema = inputSchema;
  const outputSchema = parseSchema(flags.outputSchema, "--output-schema");
  if (outputSchema !== undefined) settings.outputSchema = outputSchema;
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
  Object.assign(patch, storageOf(flags, false));
  if (flags.mcpEnabled !== undefined) patch.mcpEnabled = flags.mcpEnabled;
  const inputSchema = parseSchema(flags.inputSchema, "--input-schema");
  if (inputSchema !== undefined) patch.inputSchema = inputSchema;
  const outputSchema = parseSchema(flags.outputSchema, "--output-schema");
  if (outputSchema !== undefined) patch.outputSchema = outputSchema;
  return patch;
}

export function isEmptyPatch(patch: AppPatch): boolean {
  return Object.entries(patch).every(([, v]) => v === undefined || (Array.isArray(v) ? v.length === 0 : typeof v === "object" && v !== null && Object.keys(v).length === 0));
}
