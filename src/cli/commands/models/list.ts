import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const modelsListCommand = defineCommand({
  name: "list",
  aliases: ["ls"],
  summary: "List the managed inference models (the catalog)",
  description: "List the models ModelService serves, optionally filtered. Needs no token. Under -o json: the `data` array of ListModels.",
  options: [
    { flags: "--family <family>", description: "only this model family, e.g. kimi" },
    { flags: "--input-modality <modality>", description: "only models taking this input, e.g. text or audio" },
    { flags: "--tag <tag>", description: "only models with this tag (repeatable: all must match)", repeatable: true },
  ],
  examples: ["dodil ignite models list", "dodil ignite models list --input-modality text -o json | jq -r '.[].id'"],
  async handler(_args, options, ctx) {
    const { ModelSchema, listModels, protoJson } = await loadDeps.models();
    const models = await listModels(await ctx.api(), { family: opt.string(options, "family"), inputModality: opt.string(options, "inputModality"), tags: opt.list(options, "tag") });
    return {
      data: models.map((m) => protoJson(ModelSchema, m)),
      human: {
        kind: "table",
        empty: "No models match.",
        columns: [
          { key: "id", header: "ID" },
          { key: "family", header: "FAMILY" },
          { key: "task", header: "TASK" },
          { key: "input", header: "INPUT" },
          { key: "output", header: "OUTPUT" },
        ],
        wideColumns: [
          { key: "format", header: "FORMAT" },
          { key: "context", header: "CONTEXT" },
          { key: "billing", header: "BILLING" },
          { key: "owner", header: "OWNER" },
        ],
        rows: models.map((m) => ({
          id: m.id,
          family: m.family,
          task: m.task,
          input: m.inputModality,
          output: m.outputModality,
          format: m.input?.format ?? "",
          context: m.contextWindow ? String(m.contextWindow) : "",
          billing: m.billingMode,
          owner: m.ownedBy,
        })),
      },
    };
  },
});
