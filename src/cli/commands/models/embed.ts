import { resolve } from "node:path";
import { UsageError } from "../../../errors.js";
import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const modelsEmbedCommand = defineCommand({
  name: "embed",
  summary: "Embed text with an embedding model",
  description:
    "Call Embed with one text (argument) or many (--input-file, one per line; - reads stdin) and print the vectors' sizes (the vectors with -o json). " +
    "The local control plane has no local models: it answers UNIMPLEMENTED (exit 1).",
  args: [
    { name: "model", description: "model id, e.g. jina-embeddings-v4" },
    { name: "text", description: "the text to embed", required: false },
  ],
  options: [
    { flags: "--input-file <path>", description: "embed each non-empty line of this file (- reads stdin)" },
    { flags: "--dimensions <n>", description: "truncate vectors to this many dimensions (Matryoshka models)", valueType: "integer" },
    { flags: "--encoding-format <format>", description: "float or base64", choices: ["float", "base64"] },
    { flags: "--task-type <type>", description: "task hint, e.g. RETRIEVAL_QUERY" },
    { flags: "--normalized", description: "ask for unit-length vectors" },
  ],
  examples: ['dodil ignite models embed jina-embeddings-v4 "hello world" -o json | jq ".data[0].embedding | length"', "dodil ignite models embed embeddinggemma-300m --input-file lines.txt"],
  async handler([model = "", text], options, ctx) {
    const { EmbedResponseSchema, checkModelId, embed, embedTexts, parseNumberFlag, protoJson } = await loadDeps.models();
    const encodingFormat = opt.string(options, "encodingFormat");
    const inputFile = opt.string(options, "inputFile");
    if (encodingFormat !== undefined && encodingFormat !== "float" && encodingFormat !== "base64") throw new UsageError(`invalid value "${encodingFormat}" for --encoding-format: use float or base64`);
    const input = {
      model: checkModelId(model),
      texts: await embedTexts(text ? [text] : [], inputFile === undefined || inputFile === "-" ? inputFile : resolve(ctx.cwd, inputFile), ctx.readStdin),
      dimensions: parseNumberFlag(opt.string(options, "dimensions"), "--dimensions", { min: 1, max: 65_536, integer: true }),
      encodingFormat,
      taskType: opt.string(options, "taskType"),
      normalized: opt.flag(options, "normalized"),
    };
    const response = await embed(await ctx.api(), input);
    return {
      data: protoJson(EmbedResponseSchema, response),
      human: {
        kind: "table",
        columns: [
          { key: "index", header: "INDEX" },
          { key: "dims", header: "DIMENSIONS" },
          { key: "head", header: "FIRST VALUES" },
        ],
        rows: response.data.map((e) => ({
          index: String(e.index),
          dims: String(e.embedding.length || (e.embeddingBase64 ? Buffer.from(e.embeddingBase64, "base64").length / 4 : 0)),
          head: e.embedding.slice(0, 4).map((v) => v.toFixed(4)).join(", "),
        })),
      },
    };
  },
});
