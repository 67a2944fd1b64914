import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const secretGetCommand = defineCommand({
  name: "get",
  summary: "Show a secret slot, including its value",
  description: "Show a slot with its stored value in full (slots are readable by anyone with the GetSecret scope, as documented). Under -o json: {secret, value}.",
  args: [{ name: "name", description: "slot name" }],
  examples: ["dodil ignite secret get ghcr-pull", "dodil ignite secret get github-ci -o json | jq -r .value.git_secret.token"],
  async handler([name = ""], _options, ctx) {
    const { GetSecretResponseSchema, checkSecretName, formatTime, getSecret, protoJson, secretTypeLabel } = await loadDeps.secrets();
    const response = await getSecret(await ctx.api(), checkSecretName(name));
    const meta = response.secret;
    const value = response.value?.value;
    const fields: Array<[string, string]> = [
      ["NAME", meta?.name ?? name],
      ["TYPE", secretTypeLabel(meta?.type ?? "")],
    ];
    if (value?.case === "gitSecret") fields.push(["USERNAME", value.value.username], ["TOKEN", value.value.token]);
    else if (value?.case === "registrySecret") {
      fields.push(["USERNAME", value.value.username], ["PASSWORD", value.value.password], ["SERVER", value.value.serverAddress || "Docker Hub"]);
    }
    fields.push(["UPDATED", formatTime(meta?.updatedAtMs)]);
    return { data: protoJson(GetSecretResponseSchema, response), human: { kind: "record", fields, wideFields: [["CREATED", formatTime(meta?.createdAtMs)]] } };
  },
});
