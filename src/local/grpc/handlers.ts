/** Small adapters between async handler functions and grpc-js callback/stream handlers. */
import { status, type ServerWritableStream, type ServiceError, type UntypedHandleCall } from "@grpc/grpc-js";
import type { DescService } from "@bufbuild/protobuf";
import { RpcError, errorMessage } from "../errors.js";

export type Handlers = Record<string, UntypedHandleCall>;

export function toStatus(e: unknown, log: (l: string) => void, method: string): Partial<ServiceError> {
  if (e instanceof RpcError) return { code: e.code, details: e.message };
  // The data directory failing is the operator's problem to fix, not a bug: say so plainly.
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    log(`${method}: the data directory is full (${errorMessage(e)})`);
    return { code: status.RESOURCE_EXHAUSTED, details: "the local control plane's data directory is full (no space left on device); nothing was changed" };
  }
  if (code === "EROFS" || code === "EACCES" || code === "EPERM") {
    log(`${method}: the data directory is not writable (${errorMessage(e)})`);
    return { code: status.UNAVAILABLE, details: "the local control plane cannot write to its data directory; nothing was changed" };
  }
  log(`internal error in ${method}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return { code: status.INTERNAL, details: `internal error: ${errorMessage(e)}` };
}

export function unimplementedHandler(service: DescService, methodName: string, kind: string): UntypedHandleCall {
  const details = `${service.name}.${methodName} is not implemented by the local control plane`;
  const err = { code: status.UNIMPLEMENTED, details };
  switch (kind) {
    case "unary":
    case "client_streaming":
      return ((call: { on?: (e: string, f: () => void) => void }, cb: (e: unknown) => void) => {
        cb(err);
        void call;
      }) as UntypedHandleCall;
    default:
      return ((call: { emit: (e: string, v: unknown) => void }) => call.emit("error", err)) as UntypedHandleCall;
  }
}

/** Completes a service: methods without a handler answer UNIMPLEMENTED naming the method. */
export function completeService(service: DescService, impl: Handlers): Handlers {
  const out: Handlers = {};
  for (const m of service.methods) out[m.localName] = impl[m.localName] ?? unimplementedHandler(service, m.name, m.methodKind);
  return out;
}

/** Writes one message to a server stream, honouring back-pressure; false when the call is gone. */
export async function send<T>(call: ServerWritableStream<unknown, T>, msg: T): Promise<boolean> {
  if (call.cancelled || call.destroyed || call.writableEnded) return false;
  if (!call.write(msg)) {
    await new Promise<void>((resolve) => {
      const done = () => {
        call.off("drain", done);
        call.off("close", done);
        resolve();
      };
      call.on("drain", done);
      call.on("close", done);
    });
  }
  return !call.cancelled;
}
