import { CliError } from "../../../errors.js";
import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const modelsGetCommand = defineCommand({
  name: "get",
  summary: "Show one model: family, task, modalities, formats, description",
  description: "Show one catalog model. `input.format` tells which call it takes (chat, embed or infer). Needs no token.",
  args: [{ name: "model", description: "model id, e.g. kimi-k2.5" }],
  examples: ["dodil ignite models get kimi-k2.5", "dodil ignite models get jina-embeddings-v4 -o json | jq .input.format"],
  async handler([id = ""], _options, ctx) {
    const { ModelSchema, checkModelId, getModel, protoJson } = await loadDeps.models();
    const model = await getModel(await ctx.api(), checkModelId(id));
    if (!model) throw new CliError("NOT_FOUND", `model ${id} not found`);
    return {
      data: protoJson(ModelSchema, model),
      human: {
        kind: "record",
        fields: [
          ["ID", model.id],
          ["NAME", model.name],
          ["FAMILY", model.family],
          ["TASK", model.task],
          ["INPUT", `${model.inputModality}${model.input?.format ? ` (${model.input.format})` : ""}`],
          ["OUTPUT", `${model.outputModality}${model.output?.format ? ` (${model.output.format})` : ""}`],
          ["CONTEXT WINDOW", model.contextWindow ? String(model.contextWindow) : ""],
          ["DESCRIPTION", model.description],
        ],
        wideFields: [
          ["ARCHITECTURE", model.architecture],
          ["TAGS", model.tags.join(", ")],
          ["CATEGORY", model.category.join(", ")],
          ["BILLING", model.billingMode],
          ["OWNER", model.ownedBy],
        ],
      },
    };
  },
});
