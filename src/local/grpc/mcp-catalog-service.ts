/** ComputeService: MCP tool definitions of an org's apps, and the catalog (the org's and the public one). */
import { create } from "@bufbuild/protobuf";
import { GetMcpToolDefinitionResponseSchema, GetPublicCatalogDetailResponseSchema, ListCatalogResponseSchema, ListMcpToolsResponseSchema } from "../../gen/dodil/ignite/v1/compute_pb.js";
import { listCatalog, listPublicCatalog, mcpTool, mcpTools, publicCatalogDetail } from "../mcp/catalog.js";
import type { GrpcDeps } from "./grpc-deps.js";
import type { Handlers } from "./handlers.js";
import type { AppReq } from "./rpc-kit.js";

export function mcpCatalogHandlers({ platform, kit }: GrpcDeps): Handlers {
  const { unary, scope, appScope } = kit;
  return {
    getMcpToolDefinition: unary("GetMcpToolDefinition", async (req: AppReq, md) => {
      const org = appScope(req, md);
      return create(GetMcpToolDefinitionResponseSchema, { tool: await mcpTool(platform, org, req.appName) });
    }),
    listMcpTools: unary("ListMcpTools", async (req: { organizationName: string }, md) => {
      const org = scope(md, req.organizationName);
      return create(ListMcpToolsResponseSchema, { tools: await mcpTools(platform, org) });
    }),
    listCatalog: unary("ListCatalog", async (req: { organizationName: string; limit: number; cursor: string }, md) => {
      const org = scope(md, req.organizationName);
      return create(ListCatalogResponseSchema, await listCatalog(platform, org, req.limit, req.cursor));
    }),
    listPublicCatalog: unary("ListPublicCatalog", async (req: { limit: number; cursor: string }) =>
      create(ListCatalogResponseSchema, await listPublicCatalog(platform, req.limit, req.cursor)),
    ),
    getPublicCatalogDetail: unary("GetPublicCatalogDetail", async (req: { name: string }) =>
      create(GetPublicCatalogDetailResponseSchema, { item: await publicCatalogDetail(platform, req.name) }),
    ),
  };
}
