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

/** Where in the file a saved token came from (a section or a context), with how to read and renew it there. */
function savedTokenPlace(source: string, store: ConfigStore): { clientId?: string; clientSecret?: string; save(token: string): Promise<void>; name: string } | undefined {
  const section = /^config (ignite|global)\.token$/.exec(source);
  if (section) {
    const scope = section[1] as ConfigScope;
    return { clientId: store.get(scope, "client_id"), clientSecret: store.get(scope, "client_secret"), save: (token) => store.set(scope, "token", token), name: `${scope}.token` };
  }
  const context = /^context (\S+)\.token$/.exec(source);
  if (context) {
    const name = context[1] as string;
    return {
      clientId: store.contextValue(name, "client_id"),
      clientSecret: store.contextValue(name, "client_secret"),
      save: (token) => store.setContextValue(name, "token", token),
      name: `context ${name}.token`,
    };
  }
  return undefined;
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
  const place = savedTokenPlace(settings.token.source, store);
  const clientId = place?.clientId;
  const clientSecret = place?.clientSecret;
  if (!place || !clientId || !clientSecret) return token;
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
  await place.save(grant.accessToken);
  input.trace(`renewed the access token (valid for ${grant.expiresIn ?? "?"}s), saved to ${place.name}`);
  return grant.accessToken;
}
