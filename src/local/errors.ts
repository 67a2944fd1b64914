import { status } from "@grpc/grpc-js";

/** An error that maps to one gRPC status. Anything else thrown by a handler becomes INTERNAL. */
export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = "RpcError";
  }
}

export const invalidArgument = (m: string) => new RpcError(status.INVALID_ARGUMENT, m);
export const notFound = (m: string) => new RpcError(status.NOT_FOUND, m);
export const alreadyExists = (m: string) => new RpcError(status.ALREADY_EXISTS, m);
export const failedPrecondition = (m: string) => new RpcError(status.FAILED_PRECONDITION, m);
export const permissionDenied = (m: string) => new RpcError(status.PERMISSION_DENIED, m);
export const unauthenticated = (m: string) => new RpcError(status.UNAUTHENTICATED, m);
export const unimplemented = (m: string) => new RpcError(status.UNIMPLEMENTED, m);
export const unavailable = (m: string) => new RpcError(status.UNAVAILABLE, m);
export const resourceExhausted = (m: string) => new RpcError(status.RESOURCE_EXHAUSTED, m);
export const deadlineExceeded = (m: string) => new RpcError(status.DEADLINE_EXCEEDED, m);

/** Error raised while inspecting or extracting an archive; mapped to INVALID_ARGUMENT. */
export { ArchiveError } from "../wire/archive.js";

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
