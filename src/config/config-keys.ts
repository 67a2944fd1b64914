import { UsageError } from "../errors.js";
import { parseDuration } from "./duration.js";

/** The keys `config set` accepts, each stored under `ignite.<key>` (or `global.<key>`). */
export const CONFIG_KEYS = {
  token: "Bearer token (masked when shown)",
  api_endpoint: "gRPC endpoint host:port",
  org_id: "Default organization for bare app names",
  org_name: "Default organization name (wins over org_id)",
  output: "Default output format: table, wide, json or yaml",
  debug: "true: plaintext transport and request traces",
  timeout: "Default request timeout, e.g. 5m",
  ca_cert: "PEM file of extra CA certificates to trust (with the system roots)",
  token_url: "OAuth2 token endpoint (client-credentials grant) used by `dodil login` and renewal",
  client_id: "Service account id saved by `dodil login` (to renew the token)",
  client_secret: "Service account secret saved by `dodil login` (masked when shown)",
} as const;

/** The keys a context holds: where to connect and as whom (`config context create`). */
export const CONTEXT_KEYS = ["api_endpoint", "token", "org_name", "org_id", "debug", "ca_cert", "token_url", "client_id", "client_secret"] as const satisfies readonly ConfigKey[];
export type ContextKey = (typeof CONTEXT_KEYS)[number];

/** A context's name: also a YAML key and a dot-path segment when written, so no dots. */
const CONTEXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export function checkContextName(name: string): string {
  if (!CONTEXT_NAME.test(name)) throw new UsageError(`invalid context name "${name}": use 1-63 letters, digits, '-' and '_', starting with a letter or digit`);
  return name;
}

/** Keys whose values are never shown in full. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(["token", "client_secret"]);

export type ConfigKey = keyof typeof CONFIG_KEYS;
export type ConfigScope = "ignite" | "global";

export const OUTPUT_FORMATS = ["table", "wide", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface ConfigKeyPath {
  scope: ConfigScope;
  key: ConfigKey;
}

/** Accepts `token`, `ignite.token` or `global.token`. */
export function parseConfigKey(text: string): ConfigKeyPath {
  const [first, second, ...rest] = text.split(".");
  const scoped = second !== undefined;
  const scope = scoped ? first : "ignite";
  const key = scoped ? second : first;
  if (rest.length > 0 || (scope !== "ignite" && scope !== "global") || !key || !(key in CONFIG_KEYS)) {
    throw new UsageError(`unknown config key "${text}": use one of ${Object.keys(CONFIG_KEYS).join(", ")} (optionally prefixed with ignite. or global.)`);
  }
  return { scope, key: key as ConfigKey };
}

/** Checks a value before it is written, so a bad value never reaches the file. */
export function validateConfigValue(key: ConfigKey, value: string): string {
  const trimmed = value.trim();
  switch (key) {
    case "output":
      parseOutputFormat(trimmed, "config key output");
      return trimmed;
    case "debug":
      if (!["true", "false", "1", "0"].includes(trimmed.toLowerCase())) throw new UsageError(`invalid value "${value}" for debug: use true or false`);
      return ["true", "1"].includes(trimmed.toLowerCase()) ? "true" : "false";
    case "timeout":
      parseDuration(trimmed, "config key timeout");
      return trimmed;
    case "api_endpoint":
      parseEndpoint(trimmed, "config key api_endpoint");
      return trimmed;
    case "token_url":
      parseTokenUrl(trimmed, "config key token_url");
      return trimmed;
    default:
      if (trimmed === "") throw new UsageError(`config key ${key} needs a non-empty value`);
      return trimmed;
  }
}

export function parseOutputFormat(text: string, where = "--output"): OutputFormat {
  if ((OUTPUT_FORMATS as readonly string[]).includes(text)) return text as OutputFormat;
  throw new UsageError(`invalid value "${text}" for ${where}: use one of ${OUTPUT_FORMATS.join(", ")}`);
}

/** host:port, [v6]:port; a scheme prefix is tolerated because users paste URLs. */
export function parseEndpoint(text: string, where = "--api-endpoint", options: { allowPortZero?: boolean } = {}): { host: string; port: number; target: string } {
  const stripped = text.replace(/^(https?|grpcs?|dns):\/\//, "").replace(/\/+$/, "");
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(stripped);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < (options.allowPortZero ? 0 : 1) || port > 65535) {
    throw new UsageError(`invalid endpoint "${text}" for ${where}: use host:port, e.g. rpc.dev.dodil.io:443 or 127.0.0.1:50051`);
  }
  return { host: match[1] as string, port, target: stripped };
}

/** An http(s) URL of an OAuth2 token endpoint. */
export function parseTokenUrl(text: string, where = "--token-url"): URL {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new UsageError(`invalid token URL "${text}" for ${where}: use an https:// URL, e.g. https://id.dev.dodil.io/realms/dodil/protocol/openid-connect/token`);
  }
  return url;
}
