import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigStore } from "../../src/config/config-store.js";
import { locateConfigFile } from "../../src/config/paths.js";
import { maskToken, resolveSettings, type GlobalFlags } from "../../src/config/settings.js";
import { tempDir } from "../helpers/temp-dirs.js";

async function storeWith(yaml: string): Promise<ConfigStore> {
  const dir = tempDir("cfg");
  writeFileSync(join(dir, "config.yaml"), yaml);
  return ConfigStore.open({ file: join(dir, "config.yaml"), source: "test" });
}

describe("resolveSettings precedence: flag > env > ignite.* > global.* > default", () => {
  const file = "ignite:\n  token: file-ignite\n  api_endpoint: file.example:443\nglobal:\n  token: file-global\n  org_id: global-org\n  timeout: 30s\n";
  it.each<[string, GlobalFlags, Record<string, string>, string, string]>([
    ["flag wins", { token: "flag-token" }, { DODIL_TOKEN: "dodil", IGNITE_TOKEN: "ignite" }, "flag-token", "--token"],
    ["DODIL_TOKEN beats IGNITE_TOKEN", {}, { DODIL_TOKEN: "dodil", IGNITE_TOKEN: "ignite" }, "dodil", "$DODIL_TOKEN"],
    ["IGNITE_TOKEN beats the file", {}, { IGNITE_TOKEN: "ignite" }, "ignite", "$IGNITE_TOKEN"],
    ["ignite.* beats global.*", {}, {}, "file-ignite", "config ignite.token"],
  ])("token: %s", async (_name, flags, env, value, source) => {
    const settings = resolveSettings({ flags, env, store: await storeWith(file) });
    expect(settings.token).toEqual({ value, source });
  });

  it("falls back to global.* and then to defaults", async () => {
    const settings = resolveSettings({ flags: {}, env: {}, store: await storeWith(file) });
    expect(settings.org).toEqual({ value: "global-org", source: "config global.org_id" });
    expect(settings.timeout).toEqual({ value: "30s", source: "config global.timeout" });
    expect(settings.timeoutMs).toBe(30_000);
    expect(settings.output).toEqual({ value: "table", source: "default" });
    expect(settings.apiEndpoint).toEqual({ value: "file.example:443", source: "config ignite.api_endpoint" });
    expect(resolveSettings({ flags: {}, env: {} }).apiEndpoint).toEqual({ value: "rpc.dev.dodil.io:443", source: "default" });
  });

  it("env beats the file for endpoint, org, debug and output", async () => {
    const env = { IGNITE_API_ENDPOINT: "127.0.0.1:5000", IGNITE_ORG_NAME: "env-org", IGNITE_DEBUG: "1", IGNITE_OUTPUT: "json" };
    const settings = resolveSettings({ flags: {}, env, store: await storeWith(file) });
    expect(settings.apiEndpoint.source).toBe("$IGNITE_API_ENDPOINT");
    expect(settings.org).toEqual({ value: "env-org", source: "$IGNITE_ORG_NAME" });
    expect(settings.debug).toEqual({ value: true, source: "$IGNITE_DEBUG" });
    expect(settings.output).toEqual({ value: "json", source: "$IGNITE_OUTPUT" });
  });

  it("rejects a bad value naming where it came from", () => {
    expect(() => resolveSettings({ flags: {}, env: { IGNITE_OUTPUT: "xml" } })).toThrow(/\$IGNITE_OUTPUT/);
    expect(() => resolveSettings({ flags: { timeout: "soon" }, env: {} })).toThrow(/--timeout/);
    expect(() => resolveSettings({ flags: { apiEndpoint: "no-port" }, env: {} })).toThrow(/--api-endpoint/);
  });
});

describe("config file location", () => {
  it("follows --config, DODIL_CONFIG_DIR, IGNITE_CONFIG_DIR, then ~/.config/unified-cli", () => {
    const base = { home: "/home/u", cwd: "/project" };
    expect(locateConfigFile({ ...base, configFlag: "my.yaml", env: { DODIL_CONFIG_DIR: "/d" } }).file).toBe("/project/my.yaml");
    expect(locateConfigFile({ ...base, env: { DODIL_CONFIG_DIR: "/d", IGNITE_CONFIG_DIR: "/i" } }).file).toBe("/d/config.yaml");
    expect(locateConfigFile({ ...base, env: { IGNITE_CONFIG_DIR: "/i" } }).file).toBe("/i/config.yaml");
    expect(locateConfigFile({ ...base, env: {} }).file).toBe("/home/u/.config/unified-cli/config.yaml");
  });

  it("uses ~/.ignite when only that one exists", () => {
    const home = tempDir("home");
    mkdirSync(join(home, ".ignite"));
    writeFileSync(join(home, ".ignite", "config.yaml"), "ignite: {}\n");
    expect(locateConfigFile({ home, cwd: "/", env: {} }).file).toBe(join(home, ".ignite", "config.yaml"));
  });
});

describe("maskToken", () => {
  it("never shows more than 4 characters", () => {
    expect(maskToken("abcdefghijklmnop")).toBe("abcd…(16 chars)");
    expect(maskToken("short")).toBe("****");
    expect(maskToken(undefined)).toBe("");
  });
});
