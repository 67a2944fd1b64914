import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { AppMeta } from "../gen/dodil/ignite/v1/common_pb.js";
import type { ResultView } from "../output/render.js";

/**
 * The machine form of a response: protobuf JSON with proto (snake_case) field names, int64 as
 * strings, enums by name, and every field present even when it holds its default, so
 * `jq .active_version` never sees null.
 */
export function protoJson<D extends DescMessage>(schema: D, message: MessageShape<D>): unknown {
  return toJson(schema, message, { useProtoFieldName: true, alwaysEmitImplicit: true });
}

/** RESOURCE_TIER_SMALL -> small; DEPLOYMENT_STATE_SCALED_TO_ZERO -> scaled-to-zero. */
export function enumLabel(name: string | undefined, prefix: string): string {
  if (!name || name.endsWith("_UNSPECIFIED")) return "";
  return name.replace(prefix, "").toLowerCase().replace(/_/g, "-");
}

export function formatTime(ms: bigint | number | undefined): string {
  const value = Number(ms ?? 0);
  return value > 0 ? new Date(value).toISOString().replace(/\.\d{3}Z$/, "Z") : "";
}

/** `acme-corp/greeter` as the user types it: `acme-corp:greeter`. */
export function displayId(id: string): string {
  return id.replace("/", ":");
}

export function appRecord(app: AppMeta, json: unknown): ResultView {
  const j = json as Record<string, string | undefined>;
  return {
    data: json,
    human: {
      kind: "record",
      fields: [
        ["ID", displayId(app.id)],
        ["DESCRIPTION", app.description],
        ["STATE", enumLabel(j.deployment_state, "DEPLOYMENT_STATE_")],
        ["ACTIVE VERSION", app.activeVersion ? String(app.activeVersion) : "none"],
        ["KIND", enumLabel(j.code_kind, "CODE_KIND_")],
        ["TIER", enumLabel(j.resource_tier, "RESOURCE_TIER_")],
        ["URLS", app.publicUrls.join(", ")],
      ],
      wideFields: [
        ["LIMITS", app.limits ? `${app.limits.memoryMb} MB, ${app.limits.cpuMillicores}m CPU, ${app.limits.timeoutSecs}s timeout` : ""],
        ["STORAGE", enumLabel(j.storage_mode, "STORAGE_MODE_") + (app.ttlSeconds ? ` (ttl ${app.ttlSeconds}s)` : "")],
        ["SCALING", app.scaling ? `max ${app.scaling.maxReplicas}, reserved ${app.scaling.reservedCapacity}${app.scaling.autonomousMode ? `, auto ${enumLabel((j.scaling as unknown as Record<string, string> | undefined)?.autonomous_mode, "AUTONOMOUS_SCALING_MODE_")}` : ""}` : ""],
        ["MCP", app.mcpEnabled ? "enabled" : "disabled"],
        ["PUBLIC", app.allowUnauthenticated ? "anyone (no token)" : "token required"],
        ["IMAGE", app.imageRef],
        ["CODE HASH", app.codeHash],
        ["ENV", Object.keys(app.env).sort().join(", ")],
        ["PORTS", app.ports.join(", ")],
        ["HEALTH PATH", app.healthPath],
        ["ORGANIZATION ID", app.organizationId],
        ["CREATED", formatTime(app.createdAtMs)],
        ["UPDATED", formatTime(app.updatedAtMs)],
      ],
    },
  };
}

/** Bytes as JSON when they parse as JSON, else as UTF-8 text. */
export function bodyValue(bytes: Uint8Array): unknown {
  const text = Buffer.from(bytes).toString("utf8");
  if (text === "") return "";
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
