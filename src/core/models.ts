import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import type { IgniteApi } from "../api/ignite-api.js";
import {
  ModelService,
  type ChatCompletionChunk,
  type ChatCompletionResponse,
  type EmbedResponse,
  type InferResponse,
  type Model,
  type RerankResponse,
  type TranscribeResponse,
} from "../gen/dodil/ignite/v1/model_pb.js";
import { CliError, UsageError } from "../errors.js";
import { readFileOrStdin } from "./payload.js";
export { parseNumberFlag } from "./number-flags.js";

export interface ModelFilter {
  family?: string | undefined;
  inputModality?: string | undefined;
  tags?: string[] | undefined;
}

export async function listModels(api: IgniteApi, filter: ModelFilter): Promise<Model[]> {
  return (await api.unary(ModelService.method.listModels, { family: filter.family ?? "", inputModality: filter.inputModality ?? "", tags: filter.tags ?? [] })).data;
}

export async function getModel(api: IgniteApi, id: string): Promise<Model | undefined> {
  return (await api.unary(ModelService.method.getModel, { model: id })).data;
}

export function checkModelId(text: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/.test(text)) throw new UsageError(`invalid model id "${text}": \`dodil ignite models list\` shows the catalog`);
  return text;
}

export interface ChatInput {
  model: string;
  /** role:content pairs in order; a bare text is a user message. */
  messages: Array<{ role: string; content: string }>;
  temperature?: number | undefined;
  maxTokens?: number | undefined;
}

const ROLES = ["system", "user", "assistant", "tool"];

/** `--message role:text` (repeatable) and/or a positional prompt (a user message). */
export function chatMessages(prompt: string | undefined, messageFlags: string[], system: string | undefined): ChatInput["messages"] {
  const messages: ChatInput["messages"] = [];
  if (system !== undefined) messages.push({ role: "system", content: system });
  for (const item of messageFlags) {
    const colon = item.indexOf(":");
    const role = colon < 0 ? "" : item.slice(0, colon);
    if (!ROLES.includes(role)) throw new UsageError(`invalid --message "${item.slice(0, 40)}": use ROLE:TEXT with ROLE one of ${ROLES.join(", ")}`);
    messages.push({ role, content: item.slice(colon + 1) });
  }
  if (prompt !== undefined) messages.push({ role: "user", content: prompt });
  if (messages.every((m) => m.role === "system")) throw new UsageError("nothing to send: give a prompt or --message user:<text>");
  return messages;
}

function chatRequest(input: ChatInput, stream: boolean) {
  return {
    model: input.model,
    stream,
    messages: input.messages.map((m) => ({ role: m.role, content: fromJson(ValueSchema, m.content) })),
    ...(input.temperature !== undefined ? { temperature: input.temperature } : {}),
    ...(input.maxTokens !== undefined ? { maxTokens: input.maxTokens } : {}),
  };
}

export function chatCompletion(api: IgniteApi, input: ChatInput): Promise<ChatCompletionResponse> {
  return api.unary(ModelService.method.chatCompletion, chatRequest(input, false));
}

export function streamChatCompletion(api: IgniteApi, input: ChatInput): AsyncIterable<ChatCompletionChunk> {
  return api.serverStream(ModelService.method.streamChatCompletion, chatRequest(input, true));
}

export interface EmbedInput {
  model: string;
  texts: string[];
  encodingFormat?: string | undefined;
  dimensions?: number | undefined;
  taskType?: string | undefined;
  normalized: boolean;
}

export function embed(api: IgniteApi, input: EmbedInput): Promise<EmbedResponse> {
  const value: JsonValue = input.texts.length === 1 ? (input.texts[0] as string) : input.texts;
  return api.unary(ModelService.method.embed, {
    model: input.model,
    input: fromJson(ValueSchema, value),
    encodingFormat: input.encodingFormat ?? "",
    dimensions: input.dimensions ?? 0,
    taskType: input.taskType ?? "",
    normalized: input.normalized,
  });
}

export function infer(api: IgniteApi, model: string, payload: Uint8Array, contentType: string): Promise<InferResponse> {
  return api.unary(ModelService.method.infer, { model, payload, contentType });
}

export function streamInfer(api: IgniteApi, model: string, payload: Uint8Array, contentType: string): AsyncIterable<InferResponse> {
  return api.serverStream(ModelService.method.streamInfer, { model, payload, contentType });
}

/** Texts for `models embed`: positional arguments, or one per line of --input-file. */
export async function embedTexts(texts: string[], inputFile: string | undefined, readStdin: () => Promise<Buffer>): Promise<string[]> {
  const all = await textsFromArgsOrFile({ texts, given: "texts as arguments" }, { path: inputFile, flag: "--input-file" }, readStdin);
  if (all.length === 0) throw new UsageError("nothing to embed: give one or more texts, or --input-file <path>");
  return all;
}

/**
 * `texts` as given (`given` names how, for the error), or each non-empty line of the file at `path`,
 * named by `flag` (`-` reads stdin), never both.
 */
async function textsFromArgsOrFile(
  { texts, given }: { texts: string[]; given: string },
  { path: file, flag }: { path: string | undefined; flag: string },
  readStdin: () => Promise<Buffer>,
): Promise<string[]> {
  if (file === undefined) return texts;
  if (texts.length > 0) throw new UsageError(`give ${given} or ${flag}, not both`);
  const content = (await readFileOrStdin(file, flag, readStdin)).toString("utf8");
  return content.split("\n").filter((l) => l.trim() !== "");
}

export interface RerankInput {
  model: string;
  query: string;
  documents: string[];
  topN?: number | undefined;
  returnDocuments: boolean;
}

/** Documents for `models rerank`: repeated --document flags, or one per line of --documents-file. */
export async function rerankDocuments(documents: string[], documentsFile: string | undefined, readStdin: () => Promise<Buffer>): Promise<string[]> {
  const all = await textsFromArgsOrFile({ texts: documents, given: "--document" }, { path: documentsFile, flag: "--documents-file" }, readStdin);
  if (all.length === 0) throw new UsageError("nothing to rank: give --document <text> (repeatable) or --documents-file <path>");
  return all;
}

export function rerank(api: IgniteApi, input: RerankInput): Promise<RerankResponse> {
  return api.unary(ModelService.method.rerank, rerankRequest(input));
}

export function streamRerank(api: IgniteApi, input: RerankInput): AsyncIterable<RerankResponse> {
  return api.serverStream(ModelService.method.streamRerank, rerankRequest(input));
}

function rerankRequest(input: RerankInput) {
  return { model: input.model, query: input.query, documents: input.documents, topN: input.topN ?? 0, returnDocuments: input.returnDocuments };
}

/** Audio larger than this is refused before any upload (the OpenAI-compatible limit). */
export const MAX_AUDIO_BYTES = 25 * 1024 * 1024;

/** The audio file's bytes (`-` reads stdin), within MAX_AUDIO_BYTES. */
export async function readAudio(file: string, readStdin: () => Promise<Buffer>): Promise<Uint8Array> {
  const audio = await readFileOrStdin(file, "audio file", readStdin);
  if (audio.length === 0) throw new UsageError(`audio file ${file} is empty`);
  if (audio.length > MAX_AUDIO_BYTES) {
    throw new CliError("RESOURCE_EXHAUSTED", `audio file ${file} is ${audio.length} bytes; transcription takes at most ${MAX_AUDIO_BYTES} (25 MiB)`, { hint: "split the recording, or compress it (e.g. to 16 kHz mono)" });
  }
  return audio;
}

export function transcribe(api: IgniteApi, input: { model: string; audio: Uint8Array; language?: string | undefined; responseFormat?: string | undefined }): Promise<TranscribeResponse> {
  return api.unary(ModelService.method.transcribe, { model: input.model, audio: input.audio, language: input.language ?? "", responseFormat: input.responseFormat ?? "" });
}
