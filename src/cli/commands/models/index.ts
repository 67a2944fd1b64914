import { defineGroup } from "../../command-spec.js";
import { modelsChatCommand } from "./chat.js";
import { modelsEmbedCommand } from "./embed.js";
import { modelsGetCommand } from "./get.js";
import { modelsInferCommand } from "./infer.js";
import { modelsListCommand } from "./list.js";
import { modelsRerankCommand } from "./rerank.js";
import { modelsTranscribeCommand } from "./transcribe.js";

export const modelsGroup = defineGroup({
  name: "models",
  summary: "Browse the model catalog and call managed inference (ModelService)",
  commands: [modelsListCommand, modelsGetCommand, modelsChatCommand, modelsEmbedCommand, modelsRerankCommand, modelsTranscribeCommand, modelsInferCommand],
});
