/** ModelService: the model catalog; inference answers UNIMPLEMENTED locally. */
import { create } from "@bufbuild/protobuf";
import type { ServerWritableStream } from "@grpc/grpc-js";
import { GetModelResponseSchema, ListModelsResponseSchema, type GetModelRequest, type ListModelsRequest } from "../../gen/dodil/ignite/v1/model_pb.js";
import { invalidArgument } from "../errors.js";
import { getModel, inferenceUnavailable, listModels } from "../models/model-catalog.js";
import type { Handlers } from "./handlers.js";
import type { RpcKit } from "./rpc-kit.js";

export function modelHandlers({ unary, stream, authOrg }: RpcKit): Handlers {
  // ModelService: the catalog needs no token (documented); inference needs one, then answers UNIMPLEMENTED.
  const infer = (method: string) =>
    unary(method, async (req: { model: string }, md) => {
      authOrg(md);
      throw inferenceUnavailable(method, req.model);
    });
  const inferStream = (method: string) =>
    stream(method, async (req: { model: string }, call: ServerWritableStream<{ model: string }, unknown>) => {
      authOrg(call.metadata);
      throw inferenceUnavailable(method, req.model);
    });
  return {
    listModels: unary("ListModels", async (req: ListModelsRequest) => create(ListModelsResponseSchema, { object: "list", data: listModels(req) })),
    getModel: unary("GetModel", async (req: GetModelRequest) => {
      if (!req.model) throw invalidArgument("model is required");
      return create(GetModelResponseSchema, { data: getModel(req.model) });
    }),
    chatCompletion: infer("ChatCompletion"),
    streamChatCompletion: inferStream("StreamChatCompletion"),
    embed: infer("Embed"),
    rerank: infer("Rerank"),
    streamRerank: inferStream("StreamRerank"),
    transcribe: infer("Transcribe"),
    infer: infer("Infer"),
    streamInfer: inferStream("StreamInfer"),
  };
}
