import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelService, RerankResponseSchema, TranscribeResponseSchema, type RerankRequest, type TranscribeRequest } from "../../src/gen/dodil/ignite/v1/model_pb.js";
import { grpcServiceDefinition } from "../../src/wire/grpc-service.js";
import { removeDir } from "../helpers/control-plane.js";
import { runCli } from "../helpers/run-cli.js";

/**
 * The local control plane has no models, so the answers of `models rerank` and `models transcribe`
 * are checked against a ModelService at the network boundary that scores and transcribes
 * deterministically, and records what it was sent.
 */
const received: { rerank: RerankRequest[]; transcribe: TranscribeRequest[] } = { rerank: [], transcribe: [] };
let server: grpc.Server;
let env: Record<string, string>;
let work: string;

/** A score per document: how many of the query's words it contains, so the order is predictable. */
function score(query: string, document: string): number {
  return query.split(" ").filter((word) => document.toLowerCase().includes(word)).length / 10;
}

function ranking(request: RerankRequest) {
  const results = request.documents.map((document, index) => ({ index, relevanceScore: score(request.query, document), document: request.returnDocuments ? document : "" }));
  // In input order on purpose: the CLI sorts by relevance for people.
  return create(RerankResponseSchema, { model: request.model, results: request.topN ? results.slice(0, request.topN) : results });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "ignite-models-"));
  writeFileSync(join(work, "talk.wav"), Buffer.from("RIFF-fake-audio"));
  server = new grpc.Server();
  const handlers: Record<string, grpc.UntypedHandleCall> = {};
  for (const method of ModelService.methods) {
    handlers[method.localName] = ((_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback({ code: grpc.status.UNIMPLEMENTED, details: "not in this fake" })) as grpc.UntypedHandleCall;
  }
  handlers.rerank = ((call: grpc.ServerUnaryCall<RerankRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    received.rerank.push(call.request);
    callback(null, ranking(call.request));
  }) as grpc.UntypedHandleCall;
  handlers.streamRerank = ((call: grpc.ServerWritableStream<RerankRequest, unknown>) => {
    received.rerank.push(call.request);
    // Two partial rankings: the first document alone, then all of them.
    call.write(ranking({ ...call.request, documents: call.request.documents.slice(0, 1) }));
    call.write(ranking(call.request));
    call.end();
  }) as grpc.UntypedHandleCall;
  handlers.transcribe = ((call: grpc.ServerUnaryCall<TranscribeRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    received.transcribe.push(call.request);
    callback(null, create(TranscribeResponseSchema, { text: `${call.request.audio.length} bytes heard (${call.request.language || "auto"})` }));
  }) as grpc.UntypedHandleCall;
  server.addService(grpcServiceDefinition(ModelService), handlers);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  env = { IGNITE_API_ENDPOINT: `127.0.0.1:${port}`, IGNITE_TOKEN: "any-token-for-the-fake", IGNITE_DEBUG: "1" };
});

afterAll(() => {
  server?.forceShutdown();
  removeDir(work ?? "");
});

const cli = (argv: string[], stdin?: string) => runCli(["ignite", "models", ...argv], { env, cwd: work, ...(stdin === undefined ? {} : { stdin }) });

describe("models rerank", () => {
  it("prints the documents most relevant first, with their input index and text", async () => {
    const result = await cli(["rerank", "bge-reranker-v2", "deploy app now", "--document", "cats sleep", "--document", "deploy the app now", "--document", "an app"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const rows = result.stdout.trim().split("\n");
    expect(rows[0]).toMatch(/^RANK\s+INDEX\s+SCORE\s+DOCUMENT$/);
    expect(rows.slice(1).map((r) => r.split(/\s{2,}/))).toEqual([
      ["1", "1", "0.3000", "deploy the app now"],
      ["2", "2", "0.1000", "an app"],
      ["3", "0", "0.0000", "cats sleep"],
    ]);
    expect(received.rerank.at(-1)).toMatchObject({ model: "bge-reranker-v2", query: "deploy app now", topN: 0, returnDocuments: false });
  });

  it("reads documents from stdin, sends --top-n and --return-documents, and prints the response as JSON", async () => {
    const result = await cli(["rerank", "bge-reranker-v2", "app", "--documents-file", "-", "--top-n", "2", "--return-documents", "-o", "json"], "an app\n\nno\nthird\n");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(received.rerank.at(-1)).toMatchObject({ documents: ["an app", "no", "third"], topN: 2, returnDocuments: true });
    expect(JSON.parse(result.stdout)).toEqual({ model: "bge-reranker-v2", results: [{ index: 0, relevance_score: 0.1, document: "an app" }, { index: 1, relevance_score: 0, document: "no" }] });
  });

  it("--stream prints each partial ranking as a JSON line, and the last one as a table for people", async () => {
    const lines = await cli(["rerank", "bge-reranker-v2", "app", "--document", "x", "--document", "an app", "--stream", "-o", "json"]);
    expect(lines.exitCode, lines.stderr).toBe(0);
    expect(lines.stdout.trim().split("\n").map((l) => JSON.parse(l).results.length)).toEqual([1, 2]);
    const table = await cli(["rerank", "bge-reranker-v2", "app", "--document", "x", "--document", "an app", "--stream"]);
    expect(table.stdout.trim().split("\n").slice(1).map((r) => r.split(/\s{2,}/)[3])).toEqual(["an app", "x"]);
  });
});

describe("models transcribe", () => {
  it("sends the file's bytes and the language, and prints the text", async () => {
    const result = await cli(["transcribe", "whisper-large-v3", "talk.wav", "--language", "en", "--response-format", "text"]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe("15 bytes heard (en)\n");
    expect(received.transcribe.at(-1)).toMatchObject({ model: "whisper-large-v3", language: "en", responseFormat: "text" });
    expect(Buffer.from(received.transcribe.at(-1)?.audio ?? []).toString()).toBe("RIFF-fake-audio");
  });

  it("reads the audio from stdin and prints {text} under -o json", async () => {
    const result = await cli(["transcribe", "whisper-large-v3", "-", "-o", "json"], "0123456789");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ text: "10 bytes heard (auto)" });
  });
});
