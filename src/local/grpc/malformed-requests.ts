/**
 * The gRPC listener's boundary for request bytes that are not the method's message (truncated,
 * wrong type, garbage): INVALID_ARGUMENT naming the message type, and one log line, before any
 * handler sees them. The service definitions deserialize tolerantly (src/wire/grpc-service.ts), so
 * such a message arrives here as a MalformedMessage instead of grpc-js's INTERNAL.
 */
import { Metadata, ServerInterceptingCall, status, type ServerInterceptor } from "@grpc/grpc-js";
import { MalformedMessage } from "../../wire/grpc-service.js";

export function rejectMalformedRequests(log: (line: string) => void): ServerInterceptor {
  return (method, call) => {
    let rejected = false;
    const intercepted: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMessage: (message, forward) => {
            if (rejected) return;
            if (!(message instanceof MalformedMessage)) return forward(message);
            rejected = true;
            log(`${method.path}: refused a malformed ${message.typeName} (${message.reason.slice(0, 200)})`);
            intercepted.sendStatus({ code: status.INVALID_ARGUMENT, details: `the request is not a valid ${message.typeName} message: ${message.reason.slice(0, 200)}`, metadata: new Metadata() });
          },
        }),
    });
    return intercepted;
  };
}
