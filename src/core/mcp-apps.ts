import type { IgniteApi } from "../api/ignite-api.js";
import { ComputeService, type McpToolDefinition } from "../gen/dodil/ignite/v1/compute_pb.js";
import { appFields, type AppRef } from "./app-ref.js";

/** The organization's MCP-enabled, published apps, as the platform describes them as tools. */
export async function listMcpApps(api: IgniteApi, org: string | undefined): Promise<McpToolDefinition[]> {
  return (await api.unary(ComputeService.method.listMcpTools, { organizationName: org ?? "" })).tools;
}

/** One app's tool definition; FAILED_PRECONDITION when it is not (or no longer) an MCP tool. */
export async function getMcpApp(api: IgniteApi, ref: AppRef): Promise<McpToolDefinition | undefined> {
  return (await api.unary(ComputeService.method.getMcpToolDefinition, appFields(ref))).tool;
}

/**
 * The tool's input schema as an MCP tool needs it, an object schema: the app's own when it is one,
 * any object when the app declares none (the arguments are the payload), and otherwise an object
 * whose property `payload` holds the app's input (`wrapped`).
 */
export function mcpInputSchema(text: string): { schema: Record<string, unknown>; wrapped: boolean } {
  let parsed: unknown;
  try {
    parsed = text.trim() === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const isObject = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed);
  if (!isObject) return { schema: { type: "object" }, wrapped: false };
  if ((parsed as { type?: unknown }).type === "object") return { schema: parsed as Record<string, unknown>, wrapped: false };
  return { schema: { type: "object", properties: { payload: parsed }, required: ["payload"] }, wrapped: true };
}
