/**
 * What a run needs to authenticate and verify the server: the extra CA certificate, and a bearer
 * token renewed before the call when the saved one (from `dodil login`) has expired. Loaded on
 * first use, together with the gRPC client.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { ConfigStore } from "../config/config-store.js";
import type { ConfigScope } from "../config/config-keys.js";
import type { Settings } from "../config/settings.js";
import { decodeTokenClaims, needsRenewal } from "../config/token-claims.js";
import { ApiError, CliError, UsageError } from "../errors.js";

export const LOGIN_AGAIN = "log in again: `dodil login <service_account_id> <service_account_secret>`";

/** The PEM of --ca-cert / IGNITE_CA_CERT / config ca_cert, checked to hold a certificate. */
export function readCaCert(setting: Settings["caCert"], cwd: string): { pem: Buffer; source: string; file: string } | undefined {
  if (!setting.value) return undefined;
  const file = resolve(cwd, setting.value);
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (error) {
    throw new UsageError(`cannot read the CA certificate ${file} (from ${setting.source}): ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new Error("no PEM certificate");
    new X509Certificate(pem);
  } catch {
    throw new UsageError(`the CA certificate file ${file} (from ${setting.source}) holds no PEM certificate`);
  }
  return { pem, source: setting.source, file };
}

/** The config scope a saved token came from, when it came from the file. */
function scopeOf(source: string): ConfigScope | undefined {
  const match = /^config (ignite|global)\.token$/.exec(source);
  return match ? (match[1] as ConfigScope) : undefined;
}

/**
 * The bearer token for this run. A saved JWT that expires soon (or has) is renewed first with the
 * service account saved next to it, and the new token is written back; a token given by flag or
 * environment is used as is (the server judges it).
 */
export async function bearerToken(input: {
  settings: Settings;
  store: ConfigStore;
  caCert: { pem: Buffer; source: string } | undefined;
  trace: (line: string) => void;
}): Promise<string | undefined> {
  const { settings, store } = input;
  const token = settings.token.value;
  if (!token) return undefined;
  const claims = decodeTokenClaims(token);
  if (!needsRenewal(claims)) return token;
  const scope = scopeOf(settings.token.source);
  const clientId = scope ? store.get(scope, "client_id") : undefined;
  const clientSecret = scope ? store.get(scope, "client_secret") : undefined;
  if (!scope || !clientId || !clientSecret) return token;
  input.trace(`the saved token expires at ${new Date((claims?.exp ?? 0) * 1000).toISOString()}: renewing it at ${settings.tokenUrl.value}`);
  // Loaded only to renew: node:http and node:https are not on any other call's path.
  const { requestClientCredentialsToken } = await import("../api/oauth.js");
  let grant;
  try {
    grant = await requestClientCredentialsToken({
      tokenUrl: settings.tokenUrl.value,
      clientId,
      clientSecret,
      caCert: input.caCert,
      timeoutMs: Math.min(settings.timeoutMs || 30_000, 30_000),
      allowPlaintext: settings.debug.value,
    });
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    const code = error.code === "UNAUTHENTICATED" || error.code === "USAGE" || error.code === "FAILED_PRECONDITION" ? "UNAUTHENTICATED" : error.code;
    throw new ApiError(code, `the saved token has expired and renewing it failed: ${error.message}`, {
      hint: code === "UNAUTHENTICATED" ? LOGIN_AGAIN : `${error.hint ? `${error.hint}; or ` : ""}${LOGIN_AGAIN}`,
      cause: error,
    });
  }
  await store.set(scope, "token", grant.accessToken);
  input.trace(`renewed the access token (valid for ${grant.expiresIn ?? "?"}s), saved to ${scope}.token`);
  return grant.accessToken;
}
