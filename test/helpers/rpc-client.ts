/**
 * A typed gRPC client for the tests: one method per RPC of a protobuf-es service descriptor, typed by
 * the descriptor, so a misspelt method or a wrong request type fails the typecheck instead of the run.
 * Built on grpcServiceDefinition (src/wire), the bridge the CLI and the control plane use too.
 *
 *   const c = rpcClient(ComputeService, plane.grpcEndpoint, ACME_TOKEN);
 *   const app = await c.getApp({ appName: "py" });                 // unary: the response
 *   const frames = await c.invoke(req, { token: OTHER_TOKEN });     // server streaming: every message
 *   const res = await b.uploadBuildContext([chunk1, chunk2]);       // client streaming: the response
 *   const live = c.open.streamAppLogs(req);                         // the call itself, to follow it
 */
import { create, type DescMessage, type DescMethod, type DescService, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { grpcServiceDefinition, MAX_MESSAGE_BYTES } from "../../src/wire/grpc-service.js";

export interface CallOptions {
  /** The bearer token for this call: a string overrides the client's, null sends none. */
  token?: string | null;
  /** The call's deadline from now (default 90 s). */
  deadlineMs?: number;
}

type Methods<S extends DescService> = S extends { method: infer M } ? M : never;
type In<M> = M extends { input: infer I extends DescMessage } ? I : never;
type Out<M> = M extends { output: infer O extends DescMessage } ? O : never;

type Call<M> = M extends { methodKind: "unary" }
  ? (request: MessageInitShape<In<M>>, options?: CallOptions) => Promise<MessageShape<Out<M>>>
  : M extends { methodKind: "server_streaming" }
    ? (request: MessageInitShape<In<M>>, options?: CallOptions) => Promise<MessageShape<Out<M>>[]>
    : M extends { methodKind: "client_streaming" }
      ? (requests: MessageInitShape<In<M>>[], options?: CallOptions) => Promise<MessageShape<Out<M>>>
      : (options?: CallOptions) => grpc.ClientDuplexStream<MessageShape<In<M>>, MessageShape<Out<M>>>;

type Open<M> = M extends { methodKind: "server_streaming" }
  ? (request: MessageInitShape<In<M>>, options?: CallOptions) => grpc.ClientReadableStream<MessageShape<Out<M>>>
  : never;

type StreamingKeys<S extends DescService> = { [K in keyof Methods<S>]: Methods<S>[K] extends { methodKind: "server_streaming" } ? K : never }[keyof Methods<S>];

export type RpcClient<S extends DescService> = { [K in keyof Methods<S>]: Call<Methods<S>[K]> } & {
  /** Server-streaming calls as live streams (to follow logs, to cancel), not collected. */
  open: { [K in StreamingKeys<S>]: Open<Methods<S>[K]> };
  close(): void;
};

type RawMethod = (...args: unknown[]) => unknown;

/** A client for `service` at `endpoint` (plaintext), calling with `token` unless a call says otherwise. */
export function rpcClient<S extends DescService>(service: S, endpoint: string, token?: string): RpcClient<S> {
  const Ctor = grpc.makeGenericClientConstructor(grpcServiceDefinition(service), service.typeName);
  const raw = new Ctor(endpoint, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  }) as unknown as grpc.Client & Record<string, RawMethod>;
  const metadata = (o: CallOptions) => {
    const md = new grpc.Metadata();
    const t = o.token === null ? undefined : (o.token ?? token);
    if (t) md.set("authorization", `Bearer ${t}`);
    return md;
  };
  const deadline = (o: CallOptions) => ({ deadline: Date.now() + (o.deadlineMs ?? 90_000) });
  const client: Record<string, unknown> = {};
  const open: Record<string, unknown> = {};
  for (const m of service.methods) {
    const call = raw[m.localName]!.bind(raw);
    const input = (r: unknown) => create(m.input, r as MessageInitShape<DescMethod["input"]>);
    switch (m.methodKind) {
      case "unary":
        client[m.localName] = (req: unknown, o: CallOptions = {}) =>
          new Promise((resolve, reject) => call(input(req), metadata(o), deadline(o), (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))));
        break;
      case "server_streaming":
        open[m.localName] = (req: unknown, o: CallOptions = {}) => call(input(req), metadata(o), deadline(o));
        client[m.localName] = (req: unknown, o: CallOptions = {}) =>
          new Promise((resolve, reject) => {
            const stream = call(input(req), metadata(o), deadline(o)) as grpc.ClientReadableStream<unknown>;
            const out: unknown[] = [];
            stream.on("data", (msg: unknown) => out.push(msg));
            stream.on("error", reject);
            stream.on("end", () => resolve(out));
          });
        break;
      case "client_streaming":
        client[m.localName] = (reqs: unknown[], o: CallOptions = {}) =>
          new Promise((resolve, reject) => {
            const stream = call(metadata(o), deadline(o), (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))) as grpc.ClientWritableStream<unknown>;
            for (const r of reqs) stream.write(input(r));
            stream.end();
          });
        break;
      case "bidi_streaming":
        client[m.localName] = (o: CallOptions = {}) => call(metadata(o), deadline(o));
        break;
    }
  }
  client["open"] = open;
  client["close"] = () => raw.close();
  return client as RpcClient<S>;
}

/** The status code of a gRPC error. */
export function grpcCode(e: unknown): number | undefined {
  return (e as { code?: number }).code;
}

/** The gRPC error a call fails with; a call that succeeds fails the test. */
export async function rpcError(call: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (e) {
    return e as grpc.ServiceError;
  }
  throw new Error("the call succeeded; an error was expected");
}
