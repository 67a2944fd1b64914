import { resolve } from "node:path";
import { parseEndpoint, parseTokenUrl } from "../../config/config-keys.js";
import { maskToken } from "../../config/settings.js";
import { UsageError } from "../../errors.js";
import { defineCommand, opt } from "../command-spec.js";

/** `dodil login <service_account_id> <service_account_secret>`: the unified CLI's service-account login. */
export const dodilLoginCommand = defineCommand({
  name: "login",
  summary: "Log in with a service account (OAuth2 client credentials); saves a renewable token",
  description:
    "Exchanges the service account's id and secret for an access token at the token endpoint (OAuth2 client-credentials grant) and saves the token, " +
    "the id, the secret (masked wherever shown; file mode 0600) and the token URL under global.* in the shared config, so every dodil product uses them. " +
    "An expired token is renewed with them before the next call. The organization comes from the token. Nothing is saved when the endpoint refuses the credentials (exit 3). " +
    "Give - as the secret to read it from standard input. Token URL: --token-url, IGNITE_TOKEN_URL, config token_url, or the platform's.",
  args: [
    { name: "service_account_id", description: "the service account's client id" },
    { name: "service_account_secret", description: "its secret, or - to read it from standard input" },
  ],
  options: [{ flags: "--token-url <url>", description: "OAuth2 token endpoint (saved as global.token_url)" }],
  examples: [
    "dodil login sa-ci-deployer \"$DODIL_SA_SECRET\"",
    "printf %s \"$DODIL_SA_SECRET\" | dodil login sa-ci-deployer -",
    "dodil login local-dev <secret> --token-url https://127.0.0.1:8081/oauth/token --ca-cert ./.ignite/tls/ca.pem --api-endpoint 127.0.0.1:50051",
  ],
  async handler([clientId = "", secretArg = ""], options, ctx) {
    const [{ requestClientCredentialsToken }, { readCaCert }, { decodeTokenClaims }] = await Promise.all([
      import("../../api/oauth.js"),
      import("../auth-session.js"),
      import("../../config/token-claims.js"),
    ]);
    if (!clientId.trim()) throw new UsageError("login needs <service_account_id>");
    const clientSecret = secretArg === "-" ? (await ctx.readStdin()).toString("utf8").trim() : secretArg;
    if (!clientSecret) throw new UsageError("login needs <service_account_secret> (or - with the secret on standard input)");
    const settings = ctx.settings();
    const tokenUrlFlag = opt.string(options, "tokenUrl");
    const tokenUrl = tokenUrlFlag ?? settings.tokenUrl.value;
    parseTokenUrl(tokenUrl, tokenUrlFlag ? "--token-url" : settings.tokenUrl.source);
    if (ctx.flags.apiEndpoint) parseEndpoint(ctx.flags.apiEndpoint);
    const caCert = readCaCert(settings.caCert, ctx.cwd);

    const grant = await requestClientCredentialsToken({ tokenUrl, clientId, clientSecret, caCert, timeoutMs: Math.min(settings.timeoutMs || 30_000, 30_000), allowPlaintext: settings.debug.value });

    const store = ctx.configStore();
    await store.set("global", "token", grant.accessToken);
    await store.set("global", "client_id", clientId);
    await store.set("global", "client_secret", clientSecret);
    await store.set("global", "token_url", tokenUrl);
    if (ctx.flags.caCert) await store.set("global", "ca_cert", resolve(ctx.cwd, ctx.flags.caCert));
    if (ctx.flags.apiEndpoint) await store.set("global", "api_endpoint", ctx.flags.apiEndpoint);
    // Ignite-scoped credentials would win over the login's (ignite.* before global.*): the login replaces them.
    const replaced: string[] = [];
    for (const key of ["token", "client_id", "client_secret"] as const) if (await store.unset("ignite", key)) replaced.push(`ignite.${key}`);
    if (replaced.length > 0) ctx.output.info(`removed ${replaced.join(", ")} (it would override the login)`);
    for (const name of ["DODIL_TOKEN", "IGNITE_TOKEN"]) {
      if (ctx.env[name]) ctx.output.warn(`$${name} is set and overrides the saved token; unset it to use this login`);
    }

    const claims = decodeTokenClaims(grant.accessToken);
    const org = claims?.org;
    const expiresAt = claims?.exp ? new Date(claims.exp * 1000).toISOString() : grant.expiresIn ? new Date(Date.now() + grant.expiresIn * 1000).toISOString() : "";
    ctx.output.success(`logged in as service account ${clientId}${org ? ` (org ${org})` : ""}; saved to ${store.location.file}`);
    return {
      data: { client_id: clientId, organization: org ?? "", token: maskToken(grant.accessToken), expires_at: expiresAt, token_url: tokenUrl, config_file: store.location.file },
      human: { kind: "text", text: "" },
    };
  },
});
