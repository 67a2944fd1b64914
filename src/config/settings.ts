import { isTruthy, readEnv, type Env, type EnvVarName } from "./env.js";
import { parseDuration } from "./duration.js";
import { UsageError } from "../errors.js";
import { CONTEXT_KEYS, parseEndpoint, parseOutputFormat, type ConfigKey, type ContextKey, type OutputFormat } from "./config-keys.js";
import type { ConfigStore } from "./config-store.js";
import { decodeTokenClaims } from "./token-claims.js";

export const DEFAULT_API_ENDPOINT = "rpc.dev.dodil.io:443";
export const DEFAULT_TIMEOUT = "5m";
/** The platform's OIDC token endpoint (staging, like the default API endpoint; reference §2.3). */
export const DEFAULT_TOKEN_URL = "https://id.dev.dodil.io/realms/dodil/protocol/openid-connect/token";

/** Global flags as parsed by the CLI; undefined means "not given". */
export interface GlobalFlags {
  output?: string | undefined;
  apiEndpoint?: string | undefined;
  token?: string | undefined;
  org?: string | undefined;
  debug?: boolean | undefined;
  timeout?: string | undefined;
  config?: string | undefined;
  caCert?: string | undefined;
  /** --context: the named context to use. */
  context?: string | undefined;
}

export interface Setting<T> {
  value: T;
  /** Where the value came from: "--flag", "$ENV_VAR", "context NAME.key", "config ignite.key", "config global.key" or "default". */
  source: string;
}

export interface Settings {
  /** The context in use, if any (--context > $DODIL_CONTEXT > config current_context). */
  context: Setting<string | undefined>;
  apiEndpoint: Setting<string>;
  token: Setting<string | undefined>;
  org: Setting<string | undefined>;
  output: Setting<OutputFormat>;
  debug: Setting<boolean>;
  timeout: Setting<string>;
  timeoutMs: number;
  /** Extra CA certificates (a PEM file) trusted with the system roots. */
  caCert: Setting<string | undefined>;
  tokenUrl: Setting<string>;
  clientId: Setting<string | undefined>;
  clientSecret: Setting<string | undefined>;
}

interface Candidate {
  value: string | undefined;
  source: string;
}

function firstOf(candidates: Candidate[]): Candidate | undefined {
  return candidates.find((c) => c.value !== undefined && c.value !== "");
}

/**
 * Resolves every setting with its provenance: flag > env > the context in use > `ignite.*` config >
 * `global.*` config > default (reference §2.4; the token order DODIL_TOKEN > IGNITE_TOKEN is
 * documented). Pure apart from reading the already-open store, so it is table-tested.
 */
export function resolveSettings(input: { flags: GlobalFlags; env: Env; store?: ConfigStore | undefined }): Settings {
  const { flags, env, store } = input;
  const fromEnv = (name: EnvVarName): Candidate => ({ value: readEnv(env, name), source: `$${name}` });
  const context = firstOf([{ value: flags.context, source: "--context" }, fromEnv("DODIL_CONTEXT"), { value: store?.currentContext(), source: "config current_context" }]);
  if (context?.value !== undefined && store?.contexts()[context.value] === undefined) {
    throw new UsageError(`there is no context "${context.value}" (from ${context.source}) in ${store?.location.file ?? "the config file"}`, {
      hint: "see `dodil ignite config context list`; create it with `dodil ignite config context create`",
    });
  }
  const contextName = context?.value;
  const isContextKey = (key: ConfigKey): key is ContextKey => (CONTEXT_KEYS as readonly string[]).includes(key);
  const fromContext = (key: ConfigKey): Candidate[] =>
    contextName !== undefined && isContextKey(key) ? [{ value: store?.contextValue(contextName, key), source: `context ${contextName}.${key}` }] : [];
  const fromFile = (key: ConfigKey): Candidate[] => [
    ...fromContext(key),
    { value: store?.get("ignite", key), source: `config ignite.${key}` },
    { value: store?.get("global", key), source: `config global.${key}` },
  ];

  const endpoint = firstOf([{ value: flags.apiEndpoint, source: "--api-endpoint" }, fromEnv("IGNITE_API_ENDPOINT"), ...fromFile("api_endpoint")]) ?? {
    value: DEFAULT_API_ENDPOINT,
    source: "default",
  };
  parseEndpoint(endpoint.value as string, endpoint.source);

  const token = firstOf([{ value: flags.token, source: "--token" }, fromEnv("DODIL_TOKEN"), fromEnv("IGNITE_TOKEN"), ...fromFile("token")]);

  const org = firstOf([
    { value: flags.org, source: "--org" },
    fromEnv("IGNITE_ORG_NAME"),
    fromEnv("IGNITE_ORG_ID"),
    // A context's org, by name or id, before any org outside it.
    ...fromContext("org_name"),
    ...fromContext("org_id"),
    ...fromFile("org_name"),
    ...fromFile("org_id"),
  ]);

  const caCert = firstOf([{ value: flags.caCert, source: "--ca-cert" }, fromEnv("IGNITE_CA_CERT"), ...fromFile("ca_cert")]);
  const tokenUrl = firstOf([fromEnv("IGNITE_TOKEN_URL"), ...fromFile("token_url")]) ?? { value: DEFAULT_TOKEN_URL, source: "default" };
  const clientId = firstOf(fromFile("client_id"));
  const clientSecret = firstOf(fromFile("client_secret"));
  // With no org configured, the one the token carries (its claims are read, not verified: the server verifies).
  const claimedOrg = org ? undefined : decodeTokenClaims(token?.value)?.org;

  const output = firstOf([{ value: flags.output, source: "--output" }, fromEnv("IGNITE_OUTPUT"), ...fromFile("output")]) ?? { value: "table", source: "default" };

  const debugFlag = flags.debug ? "true" : undefined;
  const debug = firstOf([{ value: debugFlag, source: "--debug" }, fromEnv("IGNITE_DEBUG"), ...fromFile("debug")]) ?? { value: "false", source: "default" };

  const timeout = firstOf([{ value: flags.timeout, source: "--timeout" }, fromEnv("IGNITE_TIMEOUT"), ...fromFile("timeout")]) ?? {
    value: DEFAULT_TIMEOUT,
    source: "default",
  };

  return {
    context: { value: contextName, source: context?.source ?? "unset" },
    apiEndpoint: { value: endpoint.value as string, source: endpoint.source },
    token: { value: token?.value, source: token?.source ?? "unset" },
    org: claimedOrg ? { value: claimedOrg, source: `token claim (${token?.source ?? "token"})` } : { value: org?.value, source: org?.source ?? "unset" },
    output: { value: parseOutputFormat(output.value as string, output.source), source: output.source },
    debug: { value: isTruthy(debug.value as string), source: debug.source },
    timeout: { value: timeout.value as string, source: timeout.source },
    timeoutMs: parseDuration(timeout.value as string, timeout.source),
    caCert: { value: caCert?.value, source: caCert?.source ?? "unset" },
    tokenUrl: { value: tokenUrl.value as string, source: tokenUrl.source },
    clientId: { value: clientId?.value, source: clientId?.source ?? "unset" },
    clientSecret: { value: clientSecret?.value, source: clientSecret?.source ?? "unset" },
  };
}

/** Shows a token without revealing it: the first 4 characters, then its length. */
export function maskToken(token: string | undefined): string {
  if (!token) return "";
  if (token.length <= 8) return "****";
  return `${token.slice(0, 4)}…(${token.length} chars)`;
}
