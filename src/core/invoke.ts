import type { IgniteApi } from "../api/ignite-api.js";
import { ComputeService, type InvokeHead, type InvokeTrailer } from "../gen/dodil/ignite/v1/compute_pb.js";
import { appFields, type AppRef } from "./app-ref.js";

export interface InvokeRequestOptions {
  body: Uint8Array;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
}

export type InvokeEvent = { kind: "head"; head: InvokeHead } | { kind: "body"; chunk: Uint8Array } | { kind: "trailer"; trailer: InvokeTrailer };

/** Calls the app through the streaming Invoke RPC, yielding frames as they arrive (head, body chunks, trailer). */
export async function* invokeApp(api: IgniteApi, ref: AppRef, request: InvokeRequestOptions): AsyncGenerator<InvokeEvent> {
  const headers = { "content-type": "application/json", ...request.headers };
  const stream = api.serverStream(ComputeService.method.invoke, {
    ...appFields(ref),
    http: { method: request.method ?? "POST", path: request.path ?? "/", query: "", headers },
    body: request.body,
  });
  for await (const frame of stream) {
    switch (frame.frame.case) {
      case "head":
        yield { kind: "head", head: frame.frame.value };
        break;
      case "bodyChunk":
        yield { kind: "body", chunk: frame.frame.value };
        break;
      case "trailer":
        yield { kind: "trailer", trailer: frame.frame.value };
        break;
    }
  }
}
