import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigStore } from "../../src/config/config-store.js";
import { resolveSettings, type GlobalFlags } from "../../src/config/settings.js";
import { localContextCommand, localContextValues } from "../../src/cli/dev-context.js";
import { tempDir } from "../helpers/temp-dirs.js";

async function storeWith(yaml: string): Promise<ConfigStore> {
  const dir = tempDir("ctx");
  writeFileSync(join(dir, "config.yaml"), yaml);
  return ConfigStore.open({ file: join(dir, "config.yaml"), source: "test" });
}

const FILE = [
  "ignite:",
  "  api_endpoint: file.example:443",
  "  token: file-token",
  "  org_name: file-org",
  "global:",
  "  ca_cert: /global/ca.pem",
  "contexts:",
  "  local:",
  "    api_endpoint: 127.0.0.1:50051",
  "    token: local-token",
  '    debug: "true"',
  "    org_id: local-org",
  "  prod:",
  "    api_endpoint: rpc.dodil.io:443",
  "current_context: prod",
  "",
].join("\n");

describe("contexts: which one is in use, and where each setting comes from", () => {
  it.each<[string, GlobalFlags, Record<string, string>, string | undefined, string]>([
    ["--context beats DODIL_CONTEXT and current_context", { context: "local" }, { DODIL_CONTEXT: "prod" }, "local", "--context"],
    ["DODIL_CONTEXT beats current_context", {}, { DODIL_CONTEXT: "local" }, "local", "$DODIL_CONTEXT"],
    ["current_context when nothing else names one", {}, {}, "prod", "config current_context"],
  ])("%s", async (_name, flags, env, value, source) => {
    expect(resolveSettings({ flags, env, store: await storeWith(FILE) }).context).toEqual({ value, source });
  });

  it("no context at all: the ignite.* and global.* keys, as before", async () => {
    const settings = resolveSettings({ flags: {}, env: {}, store: await storeWith(FILE.replace("current_context: prod\n", "")) });
    expect(settings.context).toEqual({ value: undefined, source: "unset" });
    expect(settings.apiEndpoint).toEqual({ value: "file.example:443", source: "config ignite.api_endpoint" });
  });

  it.each<[string, GlobalFlags, Record<string, string>, keyof ReturnType<typeof resolveSettings>, unknown, string]>([
    ["a context key beats ignite.*", { context: "local" }, {}, "apiEndpoint", "127.0.0.1:50051", "context local.api_endpoint"],
    ["an env variable beats the context", { context: "local" }, { IGNITE_API_ENDPOINT: "10.0.0.1:1" }, "apiEndpoint", "10.0.0.1:1", "$IGNITE_API_ENDPOINT"],
    ["a flag beats the context", { context: "local", token: "flag-token" }, {}, "token", "flag-token", "--token"],
    ["the context's token", { context: "local" }, {}, "token", "local-token", "context local.token"],
    ["the context's debug", { context: "local" }, {}, "debug", true, "context local.debug"],
    ["the context's org_id beats ignite.org_name", { context: "local" }, {}, "org", "local-org", "context local.org_id"],
    ["a key the context lacks falls through to ignite.*", {}, {}, "token", "file-token", "config ignite.token"],
    ["…and to global.*", { context: "local" }, {}, "caCert", "/global/ca.pem", "config global.ca_cert"],
  ])("%s", async (_name, flags, env, key, value, source) => {
    expect(resolveSettings({ flags, env, store: await storeWith(FILE) })[key]).toEqual({ value, source });
  });

  it("a context that does not exist is a usage error naming where it was asked for", async () => {
    const store = await storeWith(FILE);
    expect(() => resolveSettings({ flags: { context: "staging" }, env: {}, store })).toThrow(/there is no context "staging" \(from --context\)/);
    expect(() => resolveSettings({ flags: {}, env: { DODIL_CONTEXT: "nope" }, store })).toThrow(/\(from \$DODIL_CONTEXT\)/);
  });

  it("a contexts section that is not a mapping of mappings is refused, naming the file", async () => {
    await expect(storeWith("contexts:\n  local: 3\n")).rejects.toThrow(/section "contexts" must map each context name to a mapping/);
  });
});

describe("the local context `dev` offers", () => {
  const plane = { grpcEndpoint: "127.0.0.1:50051", tls: false, tokenUrl: "http://127.0.0.1:8081/oauth/token", tokens: { "dev-token": "local" }, serviceAccounts: [] };

  it("plaintext with a token: endpoint, debug, token, org", () => {
    const values = localContextValues(plane);
    expect(values).toEqual({ api_endpoint: "127.0.0.1:50051", debug: "true", token: "dev-token", org_name: "local" });
    expect(localContextCommand(values)).toBe("dodil ignite config context create local --api-endpoint 127.0.0.1:50051 --debug --token dev-token --org local --use");
  });

  it("TLS with a service account: the CA and the account to renew with, no debug", () => {
    const values = localContextValues({ ...plane, tls: true, caCertFile: "/d/tls/ca.pem", tokens: {}, serviceAccounts: [{ id: "sa", org: "acme", secret: "s3" }] });
    expect(values).toEqual({ api_endpoint: "127.0.0.1:50051", ca_cert: "/d/tls/ca.pem", org_name: "acme", token_url: plane.tokenUrl, client_id: "sa", client_secret: "s3" });
    expect(localContextCommand(values)).toMatch(/--ca-cert \/d\/tls\/ca.pem --org acme --token-url \S+ --client-id sa --client-secret s3 --use$/);
  });
});
