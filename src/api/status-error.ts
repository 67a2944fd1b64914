import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { ApiError, type ErrorCode } from "../errors.js";

const STATUS_NAMES: Record<number, ErrorCode> = {
  [GrpcStatus.CANCELLED]: "CANCELLED",
  [GrpcStatus.UNKNOWN]: "UNKNOWN",
  [GrpcStatus.INVALID_ARGUMENT]: "INVALID_ARGUMENT",
  [GrpcStatus.DEADLINE_EXCEEDED]: "DEADLINE_EXCEEDED",
  [GrpcStatus.NOT_FOUND]: "NOT_FOUND",
  [GrpcStatus.ALREADY_EXISTS]: "ALREADY_EXISTS",
  [GrpcStatus.PERMISSION_DENIED]: "PERMISSION_DENIED",
  [GrpcStatus.RESOURCE_EXHAUSTED]: "RESOURCE_EXHAUSTED",
  [GrpcStatus.FAILED_PRECONDITION]: "FAILED_PRECONDITION",
  [GrpcStatus.ABORTED]: "ABORTED",
  [GrpcStatus.OUT_OF_RANGE]: "OUT_OF_RANGE",
  [GrpcStatus.UNIMPLEMENTED]: "UNIMPLEMENTED",
  [GrpcStatus.INTERNAL]: "INTERNAL",
  [GrpcStatus.UNAVAILABLE]: "UNAVAILABLE",
  [GrpcStatus.DATA_LOSS]: "DATA_LOSS",
  [GrpcStatus.UNAUTHENTICATED]: "UNAUTHENTICATED",
};

/** Turns a grpc-js failure into an ApiError whose message says what was tried and what to do next. */
export function toApiError(error: ServiceError, context: { endpoint: string; method: string; plaintext: boolean; timeoutMs: number }): ApiError {
  const code = STATUS_NAMES[error.code] ?? "UNKNOWN";
  const details = (error.details || error.message || "").trim();
  switch (code) {
    case "UNAVAILABLE": {
      const reason = describeConnectFailure(details);
      const hint = /ssl|tls|handshake|wrong version|EPROTO/i.test(details)
        ? context.plaintext
          ? "the endpoint may expect TLS: drop --debug"
          : "the endpoint may be plaintext (a local control plane): add --debug"
        : "check --api-endpoint (or `dodil ignite config get api_endpoint`) and that the server is running";
      return new ApiError(code, `cannot reach the Ignite API at ${context.endpoint}: ${reason}`, { hint, cause: error });
    }
    case "DEADLINE_EXCEEDED":
      return new ApiError(code, `${context.method} to ${context.endpoint} did not finish within ${formatMs(context.timeoutMs)}`, {
        hint: "raise --timeout (a Go-style duration such as 10m) for long builds or streams",
        cause: error,
      });
    case "UNAUTHENTICATED":
      return new ApiError(code, details || "the token was not accepted", {
        hint: "run `dodil ignite config set token <token>` or set DODIL_TOKEN",
        cause: error,
      });
    default:
      return new ApiError(code, details || `${context.method} failed with ${code}`, { cause: error });
  }
}

function describeConnectFailure(details: string): string {
  if (/ECONNREFUSED/.test(details)) return "connection refused (nothing is listening there)";
  if (/ENOTFOUND|EAI_AGAIN|Name resolution failed/i.test(details)) return "the host name does not resolve";
  if (/ETIMEDOUT/.test(details)) return "the connection timed out";
  if (/ECONNRESET|Connection dropped|closed/i.test(details)) return "the connection was closed by the server";
  return details || "the service is unavailable";
}

function formatMs(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0 ? `${ms / 60_000}m` : ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`;
}
