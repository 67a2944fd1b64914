/** SecretService: an org's secrets (values never come back: GetSecret answers metadata). */
import { create } from "@bufbuild/protobuf";
import {
  CreateSecretResponseSchema,
  DeleteSecretResponseSchema,
  GetSecretResponseSchema,
  ListSecretsResponseSchema,
  type CreateSecretRequest,
  type DeleteSecretRequest,
  type GetSecretRequest,
} from "../../gen/dodil/ignite/v1/secret_pb.js";
import type { GrpcDeps } from "./grpc-deps.js";
import type { Handlers } from "./handlers.js";

export function secretHandlers({ platform, kit }: GrpcDeps): Handlers {
  const { unary, authOrg } = kit;
  const secrets = platform.secrets;
  return {
    createSecret: unary("CreateSecret", async (req: CreateSecretRequest, md) => {
      const org = authOrg(md);
      return create(CreateSecretResponseSchema, { secret: await secrets.create(org, req.name, req.value) });
    }),
    getSecret: unary("GetSecret", async (req: GetSecretRequest, md) => {
      const org = authOrg(md);
      return create(GetSecretResponseSchema, await secrets.get(org, req.name));
    }),
    listSecrets: unary("ListSecrets", async (_req: unknown, md) => {
      const org = authOrg(md);
      return create(ListSecretsResponseSchema, { secrets: await secrets.list(org) });
    }),
    deleteSecret: unary("DeleteSecret", async (req: DeleteSecretRequest, md) => {
      const org = authOrg(md);
      await secrets.delete(org, req.name);
      return create(DeleteSecretResponseSchema, {});
    }),
  };
}
