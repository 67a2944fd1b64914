import { resolve } from "node:path";
import { CONTEXT_KEYS, SECRET_KEYS, checkContextName, validateConfigValue, type ContextKey } from "../../../config/config-keys.js";
import { maskToken } from "../../../config/settings.js";
import { CliError } from "../../../errors.js";
import { defineCommand, defineGroup, opt } from "../../command-spec.js";

/** The flags of `context create`, each the context key it sets. */
const KEY_FLAGS: Array<{ flags: string; description: string; option: string; key: ContextKey }> = [
  { flags: "--api-endpoint <host:port>", description: "gRPC endpoint of this context", option: "apiEndpoint", key: "api_endpoint" },
  { flags: "--token <token>", description: "bearer token of this context (masked when shown)", option: "token", key: "token" },
  { flags: "--org <org>", description: "default organization of this context", option: "org", key: "org_name" },
  { flags: "--ca-cert <file>", description: "PEM file of extra CA certificates to trust (stored absolute)", option: "caCert", key: "ca_cert" },
  { flags: "--token-url <url>", description: "OAuth2 token endpoint, to renew the token with the service account below", option: "tokenUrl", key: "token_url" },
  { flags: "--client-id <id>", description: "service account id (renews an expired token)", option: "clientId", key: "client_id" },
  { flags: "--client-secret <secret>", description: "service account secret (masked when shown)", option: "clientSecret", key: "client_secret" },
];

const shown = (key: string, value: string) => (SECRET_KEYS.has(key) ? maskToken(value) : value);

export const contextCreateCommand = defineCommand({
  name: "create",
  summary: "Create (or replace) a named context of connection settings",
  description:
    "Save a named set of connection settings (endpoint, token, org, debug, CA, service account) in the config file; --use also selects it. " +
    "A context in use (--context, $DODIL_CONTEXT or `config context use`) wins over the ignite.* and global.* keys and loses to flags and environment variables. Nothing else in the file changes.",
  args: [{ name: "name", description: "the context's name, e.g. local or prod" }],
  options: [
    ...KEY_FLAGS.map(({ flags, description }) => ({ flags, description })),
    { flags: "--debug", description: "plaintext transport (a local control plane without TLS)" },
    { flags: "--use", description: "also select it (`config context use`)" },
  ],
  examples: [
    "dodil ignite config context create local --api-endpoint 127.0.0.1:50051 --debug --token <token> --org local --use",
    "dodil ignite config context create prod --api-endpoint rpc.dodil.io:443 --token-url https://id.dodil.io/token --client-id sa-ci --client-secret <secret>",
  ],
  async handler([nameText = ""], options, ctx) {
    const name = checkContextName(nameText);
    const values: Partial<Record<ContextKey, string>> = {};
    for (const { option, key } of KEY_FLAGS) {
      const value = opt.string(options, option);
      if (value === undefined) continue;
      const checked = validateConfigValue(key, value);
      values[key] = key === "ca_cert" ? resolve(ctx.cwd, checked) : checked;
    }
    if (opt.flag(options, "debug")) values.debug = "true";
    const store = ctx.configStore();
    const replaced = store.contexts()[name] !== undefined;
    await store.setContext(name, values);
    if (opt.flag(options, "use")) await store.useContext(name);
    ctx.output.success(`${replaced ? "replaced" : "created"} context ${name}${opt.flag(options, "use") ? " and selected it" : ""} in ${store.location.file}`);
    return {
      data: { name, created: !replaced, current: store.currentContext() === name, settings: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, shown(k, v)])), file: store.location.file },
      human: { kind: "text", text: "" },
    };
  },
});

export const contextUseCommand = defineCommand({
  name: "use",
  summary: "Select the context used when neither --context nor DODIL_CONTEXT names one",
  description: "Select a context by name; --none selects none again (the ignite.* and global.* keys apply). Nothing else in the file changes.",
  args: [{ name: "name", description: "a context's name", required: false }],
  options: [{ flags: "--none", description: "use no context" }],
  examples: ["dodil ignite config context use local", "dodil ignite config context use --none"],
  async handler([nameText = ""], options, ctx) {
    const store = ctx.configStore();
    const none = opt.flag(options, "none");
    if (none === (nameText !== "")) throw new CliError("USAGE", "give a context name or --none");
    if (!none && store.contexts()[nameText] === undefined) {
      throw new CliError("NOT_FOUND", `there is no context "${nameText}" in ${store.location.file}`, { hint: "see `dodil ignite config context list`" });
    }
    await store.useContext(none ? undefined : nameText);
    ctx.output.success(none ? "using no context" : `using context ${nameText}`);
    return { data: { current_context: none ? null : nameText }, human: { kind: "text", text: "" } };
  },
});

export const contextListCommand = defineCommand({
  name: "list",
  aliases: ["ls"],
  summary: "List the contexts; * marks the one in use",
  description: "List the contexts of the config file with their endpoint and org. The one in use (--context, $DODIL_CONTEXT, then `config context use`) is marked with *. Tokens are masked.",
  examples: ["dodil ignite config context list", "dodil ignite --context prod config context list -o json"],
  async handler(_args, _options, ctx) {
    const store = ctx.configStore();
    const active = ctx.settings().context.value;
    const contexts = Object.entries(store.contexts()).map(([name, values]) => ({
      name,
      current: name === active,
      settings: Object.fromEntries(CONTEXT_KEYS.flatMap((k) => (values[k] === undefined ? [] : [[k, shown(k, String(values[k]))]]))),
    }));
    return {
      data: contexts,
      human: {
        kind: "table",
        empty: "No contexts. Create one with `dodil ignite config context create <name> --api-endpoint <host:port>`.",
        columns: [
          { key: "current", header: "CURRENT" },
          { key: "name", header: "NAME" },
          { key: "endpoint", header: "API ENDPOINT" },
          { key: "org", header: "ORG" },
          { key: "debug", header: "DEBUG" },
          { key: "token", header: "TOKEN" },
        ],
        rows: contexts.map((c) => ({
          current: c.current ? "*" : "",
          name: c.name,
          endpoint: c.settings.api_endpoint ?? "",
          org: c.settings.org_name ?? c.settings.org_id ?? "",
          debug: c.settings.debug ?? "",
          token: c.settings.token ?? "",
        })),
      },
    };
  },
});

export const contextDeleteCommand = defineCommand({
  name: "delete",
  aliases: ["rm"],
  summary: "Delete a context (and stop using it if it was selected)",
  destructive: true,
  args: [{ name: "name", description: "a context's name" }],
  examples: ["dodil ignite config context delete local"],
  async handler([name = ""], _options, ctx) {
    const store = ctx.configStore();
    if (store.contexts()[name] === undefined) throw new CliError("NOT_FOUND", `there is no context "${name}" in ${store.location.file}`);
    await store.deleteContext(name);
    ctx.output.success(`deleted context ${name}`);
    return { data: { name, deleted: true }, human: { kind: "text", text: "" } };
  },
});

export const contextGroup = defineGroup({
  name: "context",
  aliases: ["contexts"],
  summary: "Named sets of connection settings: create, use, list, delete",
  commands: [contextCreateCommand, contextUseCommand, contextListCommand, contextDeleteCommand],
});
