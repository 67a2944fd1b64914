import { resolve } from "node:path";
import { parseEndpoint } from "../../config/config-keys.js";
import { maskToken } from "../../config/settings.js";
import { UsageError } from "../../errors.js";
import { defineCommand } from "../command-spec.js";
import { loadDeps } from "../load-deps.js";
import { dodilLoginCommand } from "./dodil-login.js";

export const loginCommand = defineCommand({
  name: "login",
  summary: "Check a bearer token against an endpoint and save both, or log in with a service account",
  description:
    "Direct-token login: checks --token against --api-endpoint with an authenticated call, and only if it is accepted saves token, api_endpoint and org_id " +
    "(and debug, when --debug is given for a plaintext local endpoint; ca_cert, when --ca-cert is given) under ignite.* in the config file. " +
    "Given <service_account_id> <service_account_secret> instead, it is `dodil login` (OAuth2 client credentials, a renewable token under global.*), " +
    "which is how the standalone `ignite` binary logs in with a service account.",
  args: [
    { name: "service_account_id", description: "log in with this service account instead of --token", required: false },
    { name: "service_account_secret", description: "its secret, or - to read it from standard input", required: false },
  ],
  options: [{ flags: "--token-url <url>", description: "OAuth2 token endpoint, for a service-account login (saved as global.token_url)" }],
  examples: [
    "dodil ignite login --token <bearer_token> --api-endpoint rpc.dev.dodil.io:443 --org acme-corp",
    "dodil ignite login --token dev-token --api-endpoint 127.0.0.1:50051 --org acme-corp --debug",
    'printf %s "$DODIL_SA_SECRET" | ignite login sa-ci-deployer -',
  ],
  async handler(args, options, ctx) {
    const [clientId = "", secret = ""] = args;
    if (clientId) {
      if (ctx.flags.token) throw new UsageError("log in with a service account (<id> <secret>) or with --token, not both");
      if (!secret) throw new UsageError(`login ${clientId} needs the service account's secret too (or - to read it from standard input)`);
      return dodilLoginCommand.handler(args, options, ctx);
    }
    const { ComputeService } = await loadDeps.compute();
    const { token, apiEndpoint, org, debug } = ctx.flags;
    if (!token) throw new UsageError("login needs --token <bearer_token>");
    if (!apiEndpoint) throw new UsageError("login needs --api-endpoint <host:port>");
    parseEndpoint(apiEndpoint);
    // The flags win over env and file in settings, so this call uses exactly what will be saved.
    const api = await ctx.api();
    await api.unary(ComputeService.method.listApps, { organizationName: org ?? "", limit: 1 });
    const store = ctx.configStore();
    await store.set("ignite", "token", token);
    await store.set("ignite", "api_endpoint", apiEndpoint);
    if (org) await store.set("ignite", "org_id", org);
    if (debug) await store.set("ignite", "debug", "true");
    if (ctx.flags.caCert) await store.set("ignite", "ca_cert", resolve(ctx.cwd, ctx.flags.caCert));
    ctx.output.success(`logged in to ${apiEndpoint}${org ? ` as org ${org}` : ""}; saved to ${store.location.file}`);
    return {
      data: { api_endpoint: apiEndpoint, org_id: org ?? "", token: maskToken(token), debug: debug === true, config_file: store.location.file },
      human: { kind: "text", text: "" },
    };
  },
});
