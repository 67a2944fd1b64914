import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const secretListCommand = defineCommand({
  name: "list",
  aliases: ["ls"],
  summary: "List the organization's secret slots (names and types, never values)",
  examples: ["dodil ignite secret list", "dodil ignite secret list -o json | jq -r '.[].name'"],
  async handler(_args, _options, ctx) {
    const { SecretMetadataSchema, formatTime, listSecrets, protoJson, secretTypeLabel } = await loadDeps.secrets();
    const secrets = await listSecrets(await ctx.api());
    return {
      data: secrets.map((s) => protoJson(SecretMetadataSchema, s)),
      human: {
        kind: "table",
        empty: "No secrets. Create one with `dodil ignite secret create <name> --type git|registry …`.",
        columns: [
          { key: "name", header: "NAME" },
          { key: "type", header: "TYPE" },
          { key: "updated", header: "UPDATED" },
        ],
        wideColumns: [{ key: "created", header: "CREATED" }],
        rows: secrets.map((s) => ({ name: s.name, type: secretTypeLabel(s.type), updated: formatTime(s.updatedAtMs), created: formatTime(s.createdAtMs) })),
      },
    };
  },
});
