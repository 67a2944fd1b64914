/** MCP tool definitions and catalog items, derived from app metadata and the model catalog. */
import { create, toJson } from "@bufbuild/protobuf";
import { RuntimeSchema, type AppMeta } from "../../gen/dodil/ignite/v1/common_pb.js";
import { CatalogItemSchema, CatalogSourceType, McpToolDefinitionSchema, type CatalogItem, type McpToolDefinition } from "../../gen/dodil/ignite/v1/compute_pb.js";
import { failedPrecondition, invalidArgument, notFound } from "../errors.js";
import { runtimeLabel } from "../managed-runtime/index.js";
import { modelCatalog } from "../models/model-catalog.js";
import type { Platform } from "../apps/platform.js";

/** The org whose published apps appear in the public catalog (reference §4.6: `public/*` apps). */
export const PUBLIC_ORG = "public";

function appRuntime(m: AppMeta): string {
  return m.runtime?.kind.case ? runtimeLabel(toJson(RuntimeSchema, m.runtime)) : "image";
}

/** `ignite_{org}_{name}` (org and app names only hold [a-z0-9-], which MCP tool names allow). */
export function mcpToolName(org: string, app: string): string {
  return `ignite_${org}_${app}`.replace(/[^A-Za-z0-9_-]/g, "_");
}

export function toolOf(m: AppMeta): McpToolDefinition {
  return create(McpToolDefinitionSchema, {
    name: mcpToolName(m.organizationName, m.name),
    description: m.description,
    inputSchema: m.inputSchema,
    outputSchema: m.outputSchema,
    appId: m.id,
    version: m.activeVersion,
    runtime: appRuntime(m),
  });
}

export async function mcpTool(platform: Platform, org: string, app: string): Promise<McpToolDefinition> {
  const m = await platform.apps.requireApp(org, app);
  if (!m.mcpEnabled) throw failedPrecondition(`app ${m.id} is not an MCP tool: enable it with UpdateAppConfig mcp_enabled=true`);
  if (!m.activeVersion) throw failedPrecondition(`app ${m.id} becomes an MCP tool after its first publish (active_version is 0)`);
  return toolOf(m);
}

async function publishedApps(platform: Platform, org: string): Promise<AppMeta[]> {
  const out: AppMeta[] = [];
  for (const n of await platform.store.listApps(org)) {
    const m = await platform.store.getApp(org, n);
    if (m && m.activeVersion > 0) out.push(m);
  }
  return out;
}

export async function mcpTools(platform: Platform, org: string): Promise<McpToolDefinition[]> {
  return (await publishedApps(platform, org)).filter((m) => m.mcpEnabled).map(toolOf);
}

function appItem(m: AppMeta): CatalogItem {
  return create(CatalogItemSchema, {
    id: m.id,
    name: m.name,
    description: m.description,
    tags: m.mcpEnabled ? ["mcp"] : [],
    category: ["function"],
    author: m.organizationName,
    inputModality: "json",
    outputModality: "json",
    createdAtMs: m.createdAtMs,
    sourceType: CatalogSourceType.CATALOG_SOURCE_FUNCTION,
    source: { case: "app", value: { runtime: appRuntime(m), mcpEnabled: m.mcpEnabled, hasStreaming: false, modelCount: 0 } },
  });
}

function modelItems(): CatalogItem[] {
  return modelCatalog().map((md) =>
    create(CatalogItemSchema, {
      id: md.id,
      name: md.name,
      description: md.description,
      tags: md.tags,
      category: md.category,
      author: md.ownedBy,
      inputModality: md.inputModality,
      outputModality: md.outputModality,
      createdAtMs: md.created * 1000n,
      sourceType: CatalogSourceType.CATALOG_SOURCE_MODEL,
      source: { case: "model", value: { family: md.family } },
    }),
  );
}

function page(items: CatalogItem[], limit: number, cursor: string): { items: CatalogItem[]; nextCursor: string } {
  const sorted = [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let after = "";
  if (cursor) {
    after = Buffer.from(cursor, "base64url").toString("utf8");
    if (!after) throw invalidArgument(`invalid cursor '${cursor}'`);
  }
  const lim = Math.min(limit || 100, 1000);
  const rest = sorted.filter((i) => !after || i.id > after);
  const chosen = rest.slice(0, lim);
  return { items: chosen, nextCursor: rest.length > lim ? Buffer.from(chosen[chosen.length - 1]!.id, "utf8").toString("base64url") : "" };
}

/** The org's published apps plus the model catalog. */
export async function listCatalog(platform: Platform, org: string, limit: number, cursor: string) {
  return page([...(await publishedApps(platform, org)).map(appItem), ...modelItems()], limit, cursor);
}

/** Published apps of the `public` org plus the model catalog; needs no token. */
export async function listPublicCatalog(platform: Platform, limit: number, cursor: string) {
  return page([...(await publishedApps(platform, PUBLIC_ORG)).map(appItem), ...modelItems()], limit, cursor);
}

export async function publicCatalogDetail(platform: Platform, name: string): Promise<CatalogItem> {
  if (!name) throw invalidArgument("name is required");
  const items = [...(await publishedApps(platform, PUBLIC_ORG)).map(appItem), ...modelItems()];
  const hit = items.find((i) => i.id === name || i.name === name || i.id === `${PUBLIC_ORG}/${name}`);
  if (!hit) throw notFound(`catalog item '${name}' not found`);
  return hit;
}
