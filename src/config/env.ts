/**
 * Every environment variable the CLI reads, in one typed registry. No other module reads
 * process.env for settings; tests pass their own env object.
 */
export const ENV_VARS = {
  DODIL_TOKEN: "Bearer token shared by every dodil product (wins over IGNITE_TOKEN)",
  IGNITE_TOKEN: "Bearer token for Ignite",
  IGNITE_API_ENDPOINT: "gRPC endpoint host:port",
  IGNITE_ORG_NAME: "Default organization name for bare app names",
  IGNITE_ORG_ID: "Default organization (used when IGNITE_ORG_NAME is unset)",
  IGNITE_DEBUG: "1/true: plaintext transport and request traces on stderr",
  IGNITE_OUTPUT: "Default output format: table, wide, json or yaml",
  IGNITE_TIMEOUT: "Default request timeout (Go-style duration, e.g. 5m)",
  IGNITE_CA_CERT: "PEM file of extra CA certificates to trust (with the system roots), e.g. a local control plane's ca.pem or a corporate proxy's CA",
  IGNITE_DEV_TOKENS: "`dodil ignite dev`: credentials to accept, one ORG=TOKEN or ORG:ID=SECRET a line (as in --token-file; not shown by ps, unlike --token)",
  IGNITE_TOKEN_URL: "OAuth2 token endpoint for `dodil login` and token renewal",
  DODIL_CONTEXT: "The named context to use (`config context create`), unless --context names one",
  DODIL_CONFIG_DIR: "Config directory (first in the search order)",
  IGNITE_CONFIG_DIR: "Config directory (second in the search order)",
  BROWSER: "The program `app open` starts with the app's URL (default: open, xdg-open)",
  DISPLAY: "An X display: `app open` launches xdg-open only with a display (or WAYLAND_DISPLAY)",
  WAYLAND_DISPLAY: "A Wayland display (see DISPLAY)",
  NO_COLOR: "Set and non-empty: no colour, whatever the terminal",
  FORCE_COLOR: "Set, non-empty and not 0/false: colour even on a pipe or file",
  XDG_CACHE_HOME: "Cache root (default ~/.cache): dodil/ignite/contexts (build-context signatures) and dodil/compile (the CLI's code cache)",
  NODE_DISABLE_COMPILE_CACHE: "Set: keep no V8 code cache of the CLI (read by bin/compile-cache.js, before the CLI loads)",
} as const;

export type EnvVarName = keyof typeof ENV_VARS;
export type Env = Readonly<Record<string, string | undefined>>;

/** A set, non-empty value of a registered variable. */
export function readEnv(env: Env, name: EnvVarName): string | undefined {
  const value = env[name];
  return value === undefined || value === "" ? undefined : value;
}

export function isTruthy(value: string): boolean {
  return ["1", "true", "yes", "on"].includes(value.trim().toLowerCase());
}
