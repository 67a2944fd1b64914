/**
 * The gRPC services of the local control plane, one file per service or per noun of
 * ComputeService. Handlers authenticate the bearer token, scope the request to the token's
 * organization (rpc-kit.ts), then call the rooms below; methods without a handler answer
 * UNIMPLEMENTED naming the method.
 */
import { BuildService } from "../../gen/dodil/ignite/v1/build_pb.js";
import { ComputeService } from "../../gen/dodil/ignite/v1/compute_pb.js";
import { ModelService } from "../../gen/dodil/ignite/v1/model_pb.js";
import { SecretService } from "../../gen/dodil/ignite/v1/secret_pb.js";
import { appsHandlers } from "./apps-service.js";
import { buildHandlers } from "./build-service.js";
import { draftsHandlers } from "./drafts-service.js";
import { executionsHandlers } from "./executions-service.js";
import type { GrpcDeps } from "./grpc-deps.js";
import { completeService, type Handlers } from "./handlers.js";
import { invokeHandlers } from "./invoke-service.js";
import { logsHandlers } from "./logs-service.js";
import { mcpCatalogHandlers } from "./mcp-catalog-service.js";
import { modelHandlers } from "./model-service.js";
import { secretHandlers } from "./secret-service.js";
import { versionsHandlers } from "./versions-service.js";

export function grpcServices(d: GrpcDeps): { compute: Handlers; build: Handlers; secret: Handlers; model: Handlers } {
  const compute = [appsHandlers, draftsHandlers, versionsHandlers, invokeHandlers, executionsHandlers, logsHandlers, mcpCatalogHandlers].map((h) => h(d));
  return {
    compute: completeService(ComputeService, Object.assign({}, ...compute) as Handlers),
    build: completeService(BuildService, buildHandlers(d)),
    secret: completeService(SecretService, secretHandlers(d)),
    model: completeService(ModelService, modelHandlers(d.kit)),
  };
}
