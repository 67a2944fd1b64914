/**
 * The OAuth2 client-credentials grant (RFC 6749 §4.4) against a token endpoint: a form POST of
 * grant_type, client_id and client_secret, answered with {access_token, token_type, expires_in}.
 * HTTPS verifies the server like the gRPC channel does (system roots plus --ca-cert); plain http is
 * only accepted for loopback hosts or with --debug. The secret never appears in an error.
 */
import * as http from "node:http";
import * as https from "node:https";
import { isIP } from "node:net";
import * as tls from "node:tls";
import { parseTokenUrl } from "../config/config-keys.js";
import { ApiError, UsageError } from "../errors.js";
import { describeTlsFailure } from "./status-error.js";

export interface ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  caCert?: { pem: Buffer; source: string } | undefined;
  timeoutMs: number;
  /** --debug: also accept an http:// token URL on a non-loopback host. */
  allowPlaintext: boolean;
}

export interface TokenGrant {
  accessToken: string;
  expiresIn: number | undefined;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || (isIP(h) === 4 && h.startsWith("127."));
}

export async function requestClientCredentialsToken(c: ClientCredentials): Promise<TokenGrant> {
  const url = parseTokenUrl(c.tokenUrl);
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname) && !c.allowPlaintext) {
    throw new UsageError(`the token URL ${url.origin}${url.pathname} is plain http: use https:// (http is accepted only for loopback hosts, or with --debug)`);
  }
  const body = new URLSearchParams({ grant_type: "client_credentials", client_id: c.clientId, client_secret: c.clientSecret }).toString();
  const where = `${url.origin}${url.pathname}`;
  const response = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const options: https.RequestOptions = {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json", "content-length": Buffer.byteLength(body) },
      timeout: c.timeoutMs > 0 ? c.timeoutMs : undefined,
      ...(url.protocol === "https:" && c.caCert ? { ca: [...tls.rootCertificates, c.caCert.pem.toString("utf8")] } : {}),
    };
    const request = (url.protocol === "https:" ? https : http).request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    request.on("timeout", () => request.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
    request.on("error", reject);
    request.end(body);
  }).catch((error: NodeJS.ErrnoException) => {
    const details = `${error.code ?? ""} ${error.message}`;
    const tlsFailure = describeTlsFailure(details, { endpoint: `the token endpoint ${where}`, host: url.hostname, ...(c.caCert ? { caSource: c.caCert.source } : {}) }, error);
    if (tlsFailure) throw tlsFailure;
    if (error.code === "ETIMEDOUT") throw new ApiError("DEADLINE_EXCEEDED", `the token endpoint ${where} did not answer in time`, { cause: error });
    const reason =
      error.code === "ECONNREFUSED" ? "connection refused (nothing is listening there)" : error.code === "ENOTFOUND" || error.code === "EAI_AGAIN" ? "the host name does not resolve" : error.message;
    throw new ApiError("UNAVAILABLE", `cannot reach the token endpoint ${where}: ${reason}`, {
      hint: /EPROTO|wrong version|packet length/i.test(details) ? "the endpoint may not speak TLS: check the scheme of the token URL" : "check the token URL (--token-url, IGNITE_TOKEN_URL or config token_url)",
      cause: error,
    });
  });

  let json: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(response.text);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
  } catch {
    json = {};
  }
  const oauthError = typeof json.error === "string" ? `${json.error}${typeof json.error_description === "string" ? `: ${json.error_description}` : ""}` : undefined;
  if (response.status === 401 || (response.status === 400 && (json.error === "invalid_client" || json.error === "unauthorized_client" || json.error === "invalid_grant"))) {
    throw new ApiError("UNAUTHENTICATED", `the token endpoint ${where} rejected the service account credentials (${oauthError ?? `HTTP ${response.status}`})`, {
      hint: "check the service account id and secret",
    });
  }
  if (response.status >= 500) throw new ApiError("UNAVAILABLE", `the token endpoint ${where} failed: HTTP ${response.status}${oauthError ? ` (${oauthError})` : ""}`);
  if (response.status !== 200) {
    throw new ApiError("FAILED_PRECONDITION", `the token endpoint ${where} refused the request: HTTP ${response.status}${oauthError ? ` (${oauthError})` : ""}`, {
      hint: "check the token URL (--token-url, IGNITE_TOKEN_URL or config token_url)",
    });
  }
  const accessToken = json.access_token;
  if (typeof accessToken !== "string" || accessToken === "" || /\s/.test(accessToken)) {
    throw new ApiError("FAILED_PRECONDITION", `the token endpoint ${where} answered without an access_token`);
  }
  const tokenType = typeof json.token_type === "string" ? json.token_type.toLowerCase() : "bearer";
  if (tokenType !== "bearer") throw new ApiError("FAILED_PRECONDITION", `the token endpoint ${where} issued a ${tokenType} token; only Bearer tokens are supported`);
  return { accessToken, expiresIn: typeof json.expires_in === "number" ? json.expires_in : undefined };
}
