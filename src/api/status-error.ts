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
export function toApiError(error: ServiceError, context: { endpoint: string; method: string; plaintext: boolean; timeoutMs: number; caSource?: string }): ApiError {
  const code = STATUS_NAMES[error.code] ?? "UNKNOWN";
  const details = (error.details || error.message || "").trim();
  switch (code) {
    case "UNAVAILABLE": {
      const tlsFailure = describeTlsFailure(details, context, error);
      if (tlsFailure) return tlsFailure;
      // The server answered, and said what is unavailable (an app that did not answer, a plane
      // that is stopping): its words, not "cannot reach" and a hint to check the endpoint.
      if (!isTransportFailure(details)) return new ApiError(code, details, { cause: error });
      const reason = describeConnectFailure(details);
      const hint = /ssl|tls|handshake|wrong version|EPROTO/i.test(details)
        ? context.plaintext
          ? "the endpoint may expect TLS: drop --debug"
          : "the endpoint may be plaintext (a local control plane): add --debug"
        : `check --api-endpoint (or \`dodil ignite config get api_endpoint\`) and that the server is running${context.plaintext ? " (if it serves TLS, drop --debug)" : ""}`;
      return new ApiError(code, `cannot reach the Ignite API at ${context.endpoint}: ${reason}`, { hint, cause: error });
    }
    case "DEADLINE_EXCEEDED":
      return new ApiError(code, `${context.method} to ${context.endpoint} did not finish within ${formatMs(context.timeoutMs)}`, {
        hint: "raise --timeout (a Go-style duration such as 10m) for long builds or streams",
        cause: error,
      });
    case "UNAUTHENTICATED":
      return new ApiError(code, details || "the token was not accepted", {
        hint: "log in with `dodil login <service_account_id> <service_account_secret>`, or set a token (`dodil ignite config set token <token>`, DODIL_TOKEN)",
        cause: error,
      });
    default:
      return new ApiError(code, details || `${context.method} failed with ${code}`, { cause: error });
  }
}

/** A certificate the client refused: never retried, never downgraded to plaintext; exit 9 like any unreachable endpoint. */
export class TlsVerificationError extends ApiError {
  constructor(message: string, hint: string, cause: unknown) {
    super("UNAVAILABLE", message, { hint, cause });
    this.name = "TlsVerificationError";
  }
}

/** Certificate verification failures, told apart so the message says which check failed and what to do. */
export function describeTlsFailure(details: string, context: { endpoint: string; caSource?: string; host?: string }, cause?: unknown): TlsVerificationError | undefined {
  const prefix = `TLS verification of ${context.endpoint} failed:`;
  const noDowngrade = "the connection was not attempted in plaintext";
  const trusted = context.caSource ? `the system roots plus the CA certificate from ${context.caSource}` : "the system roots; no --ca-cert given";
  if (/ALTNAME_INVALID|does not match certificate|Hostname\/IP does not match/i.test(details)) {
    const listed = /cert's list: ([^.]*)/.exec(details)?.[1]?.trim();
    const host = context.host ?? context.endpoint.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
    return new TlsVerificationError(
      `${prefix} its certificate is not valid for the host ${host}${listed ? ` (it lists ${listed})` : ""}`,
      `connect with a host name the certificate lists (--api-endpoint), or re-issue the certificate for ${host}; ${noDowngrade}`,
      cause,
    );
  }
  if (/certificate has expired|CERT_HAS_EXPIRED/i.test(details)) {
    return new TlsVerificationError(`${prefix} its certificate has expired`, `the server must renew its certificate (check this machine's clock too); ${noDowngrade}`, cause);
  }
  if (/certificate is not yet valid|CERT_NOT_YET_VALID/i.test(details)) {
    return new TlsVerificationError(`${prefix} its certificate is not valid yet`, `check this machine's clock; ${noDowngrade}`, cause);
  }
  if (/unable to verify the first certificate|self[- ]signed certificate|unable to get (local )?issuer certificate|certificate signature failure|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|certificate chain/i.test(details)) {
    const reason =
      details
        .replace(/^.*Last error: /s, "")
        .replace(/\s*Resolution note:.*$/s, "")
        .replace(/^(Error(\s*\[[A-Z_]+\])?:\s*|[A-Z_]{6,}\s+)/, "")
        .replace(/\.$/, "")
        .trim() || "unknown issuer";
    return new TlsVerificationError(
      `${prefix} its certificate is not signed by a CA this client trusts (${trusted}): ${reason}`,
      `pass the CA certificate that signed it with --ca-cert <file> or IGNITE_CA_CERT (a local control plane prints its ca.pem); ${noDowngrade}`,
      cause,
    );
  }
  return undefined;
}

/**
 * Whether an UNAVAILABLE status is grpc-js's own report of a connection that failed (no server
 * status reached us): these are the details grpc-js and Node write for it, and an HTTP status from
 * a proxy in between. Any other text came from the server.
 */
export function isTransportFailure(details: string): boolean {
  return (
    details === "" ||
    /^(No connection established|Connection dropped|Stream refused by server|Channel closed|Write (error|failed)|Received HTTP status code|Name resolution failed|DNS resolution failed|Failed to (connect|start HTTP\/2 stream)|getaddrinfo|connect |read |write )/i.test(details) ||
    /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE|EPROTO)\b|ssl|tls|handshake|wrong version/i.test(details)
  );
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
