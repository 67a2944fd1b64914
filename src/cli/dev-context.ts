import type { ContextKey } from "../config/config-keys.js";
import type { ConfigStore } from "../config/config-store.js";

/** The context `dodil ignite dev` offers for itself. */
export const LOCAL_CONTEXT = "local";

/** What `dev` knows of the plane it started. */
export interface LocalPlaneFacts {
  grpcEndpoint: string;
  tls: boolean;
  caCertFile?: string | undefined;
  tokenUrl: string;
  /** token -> organization */
  tokens: Record<string, string>;
  serviceAccounts: Array<{ id: string; org: string; secret?: string | undefined }>;
}

/**
 * The `local` context's settings for a running plane: its endpoint, TLS or debug, and a token it
 * accepts (else a service account to log in with, whose secret is known only when generated).
 */
export function localContextValues(plane: LocalPlaneFacts): Partial<Record<ContextKey, string>> {
  const values: Partial<Record<ContextKey, string>> = { api_endpoint: plane.grpcEndpoint };
  if (plane.tls) {
    if (plane.caCertFile) values.ca_cert = plane.caCertFile;
  } else values.debug = "true";
  const [token, org] = Object.entries(plane.tokens)[0] ?? [];
  const account = plane.serviceAccounts[0];
  if (token && org) Object.assign(values, { token, org_name: org });
  else if (account) {
    Object.assign(values, { org_name: account.org, token_url: plane.tokenUrl, client_id: account.id, ...(account.secret ? { client_secret: account.secret } : {}) });
  }
  return values;
}

const FLAG_OF: Record<ContextKey, string> = {
  api_endpoint: "--api-endpoint",
  token: "--token",
  org_name: "--org",
  org_id: "--org",
  debug: "--debug",
  ca_cert: "--ca-cert",
  token_url: "--token-url",
  client_id: "--client-id",
  client_secret: "--client-secret",
};

/** The one command line that creates and selects the context (`config context create local … --use`). */
export function localContextCommand(values: Partial<Record<ContextKey, string>>): string {
  const words = Object.entries(values).map(([key, value]) => (key === "debug" ? FLAG_OF.debug : `${FLAG_OF[key as ContextKey]} ${value}`));
  return ["dodil ignite config context create", LOCAL_CONTEXT, ...words, "--use"].join(" ");
}

/**
 * What `dev` does about the context once the plane is ready: with --use-context it writes and
 * selects it (nothing else in the file changes), otherwise it offers the one command that would.
 * Returns the line to print and the `context` field of the -o json line.
 */
/** What `dev` says about the config context: the line to print and the context made (or null). */
export interface LocalContextOffer {
  line: string;
  context: string | null;
}

export async function offerLocalContext(plane: LocalPlaneFacts, use: boolean, store: () => ConfigStore): Promise<LocalContextOffer> {
  const values = localContextValues(plane);
  if (!use) return { line: `Use it: ${localContextCommand(values)}`, context: null };
  await store().setContext(LOCAL_CONTEXT, values);
  await store().useContext(LOCAL_CONTEXT);
  return { line: `Using it: config context "${LOCAL_CONTEXT}" is created and selected (back: dodil ignite config context use --none)`, context: LOCAL_CONTEXT };
}
