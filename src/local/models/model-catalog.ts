/**
 * ModelService on the local control plane: a small built-in catalog (ids as documented) and clear
 * UNIMPLEMENTED answers for inference, which needs models the local control plane does not ship.
 */
import { create } from "@bufbuild/protobuf";
import { ModelSchema, type Model } from "../../gen/dodil/ignite/v1/model_pb.js";
import { notFound, unimplemented } from "../errors.js";

type ModelSpec = Omit<Partial<Model>, "$typeName" | "input" | "output"> & { id: string; inputFormat: string; outputFormat: string };

const CREATED = 1767225600; // 2026-01-01T00:00:00Z (seconds, as OpenAI's `created`)

const SPECS: ModelSpec[] = [
  {
    id: "kimi-k2.5",
    name: "Kimi K2.5",
    ownedBy: "moonshotai",
    family: "kimi",
    inputModality: "text",
    outputModality: "text",
    task: "chat",
    billingMode: "per_token",
    contextWindow: 262144,
    inputFormat: "chat",
    outputFormat: "chat",
    description: "Mixture-of-experts chat model with tool calling and long context.",
    architecture: "moe-transformer",
    tags: ["chat", "tools", "reasoning"],
    category: ["llm"],
  },
  {
    id: "kimi-k2.6",
    name: "Kimi K2.6",
    ownedBy: "moonshotai",
    family: "kimi",
    inputModality: "text",
    outputModality: "text",
    task: "chat",
    billingMode: "per_token",
    contextWindow: 262144,
    inputFormat: "chat",
    outputFormat: "chat",
    description: "Newer Kimi chat model with tool calling and long context.",
    architecture: "moe-transformer",
    tags: ["chat", "tools", "reasoning"],
    category: ["llm"],
  },
  {
    id: "moonshot-v1-auto",
    name: "Moonshot v1 (auto context)",
    ownedBy: "moonshotai",
    family: "moonshot",
    inputModality: "text",
    outputModality: "text",
    task: "chat",
    billingMode: "per_token",
    contextWindow: 131072,
    inputFormat: "chat",
    outputFormat: "chat",
    description: "Chat model that picks its context size automatically.",
    architecture: "transformer",
    tags: ["chat"],
    category: ["llm"],
  },
  {
    id: "jina-embeddings-v4",
    name: "Jina Embeddings v4",
    ownedBy: "jinaai",
    family: "jina",
    inputModality: "text",
    outputModality: "embedding",
    task: "embedding",
    billingMode: "per_token",
    contextWindow: 32768,
    inputFormat: "embedding",
    outputFormat: "embedding",
    description: "Multilingual, multimodal embeddings with Matryoshka dimensions.",
    architecture: "transformer",
    tags: ["embedding", "multilingual", "matryoshka"],
    category: ["embedding"],
  },
  {
    id: "embeddinggemma-300m",
    name: "EmbeddingGemma 300M",
    ownedBy: "google",
    family: "gemma",
    inputModality: "text",
    outputModality: "embedding",
    task: "embedding",
    billingMode: "per_token",
    contextWindow: 2048,
    inputFormat: "embedding",
    outputFormat: "embedding",
    description: "Small multilingual text embedding model.",
    architecture: "transformer",
    tags: ["embedding", "small"],
    category: ["embedding"],
  },
  {
    id: "bge-reranker-v2",
    name: "BGE Reranker v2",
    ownedBy: "baai",
    family: "bge",
    inputModality: "text",
    outputModality: "score",
    task: "rerank",
    billingMode: "per_request",
    contextWindow: 8192,
    inputFormat: "rerank",
    outputFormat: "rerank",
    description: "Cross-encoder reranker: scores query/document pairs.",
    architecture: "cross-encoder",
    tags: ["rerank", "multilingual"],
    category: ["rerank"],
  },
  {
    id: "whisper-large-v3",
    name: "Whisper large v3",
    ownedBy: "openai",
    family: "whisper",
    inputModality: "audio",
    outputModality: "text",
    task: "transcription",
    billingMode: "per_second",
    contextWindow: 0,
    inputFormat: "transcription",
    outputFormat: "text",
    description: "Speech recognition and transcription.",
    architecture: "encoder-decoder",
    tags: ["audio", "transcription"],
    category: ["speech"],
  },
];

export function modelCatalog(): Model[] {
  return SPECS.map(({ inputFormat, outputFormat, ...m }) =>
    create(ModelSchema, { object: "model", created: BigInt(CREATED), ...m, input: { format: inputFormat }, output: { format: outputFormat } }),
  );
}

export function listModels(f: { family: string; inputModality: string; tags: string[] }): Model[] {
  return modelCatalog().filter(
    (m) =>
      (!f.family || m.family === f.family) &&
      (!f.inputModality || m.inputModality === f.inputModality) &&
      f.tags.every((t) => m.tags.includes(t)),
  );
}

export function getModel(id: string): Model {
  const m = modelCatalog().find((x) => x.id === id);
  if (!m) throw notFound(`model '${id}' not found; ListModels shows the catalog (${SPECS.map((s) => s.id).join(", ")})`);
  return m;
}

/** The error every inference RPC answers with (after checking the model id exists). */
export function inferenceUnavailable(method: string, modelId: string): Error {
  if (modelId) getModel(modelId); // unknown model: NOT_FOUND first
  return unimplemented(
    `${modelId ? `model '${modelId}'` : "this model"} has no local model; ModelService.${method} is not available on the local control plane (use the hosted platform for inference)`,
  );
}
