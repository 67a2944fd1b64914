import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/run-cli.js";
import { CONFIG_TEST_TOKEN } from "../helpers/secrets.js";
import { tempDir } from "../helpers/temp-dirs.js";

const TOKEN = CONFIG_TEST_TOKEN;

function freshHome(): string {
  return tempDir("home");
}

describe("config set|get|unset|view|path", () => {
  it("writes YAML under ignite.* with mode 0600 and masks the token everywhere", async () => {
    const home = freshHome();
    const set = await runCli(["ignite", "config", "set", "token", TOKEN], { home });
    expect(set.exitCode).toBe(0);
    expect(set.stdout).toBe("");
    await runCli(["ignite", "config", "set", "api_endpoint", "127.0.0.1:50051"], { home });
    const file = join(home, ".config", "unified-cli", "config.yaml");
    expect(readFileSync(file, "utf8")).toContain("ignite:");
    expect(readFileSync(file, "utf8")).toContain("api_endpoint: 127.0.0.1:50051");
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const get = await runCli(["ignite", "config", "get", "token"], { home });
    expect(get.stdout.trim()).toBe("tok_…(32 chars)");
    const view = await runCli(["ignite", "config", "view", "-o", "json"], { home, env: { IGNITE_ORG_NAME: "acme-corp" } });
    const parsed = JSON.parse(view.stdout);
    expect(parsed.settings.api_endpoint).toEqual({ value: "127.0.0.1:50051", source: "config ignite.api_endpoint" });
    expect(parsed.settings.org).toEqual({ value: "acme-corp", source: "$IGNITE_ORG_NAME" });
    expect(parsed.settings.token.value).not.toContain(TOKEN);
    for (const out of [set, get, view]) expect(out.stdout + out.stderr).not.toContain(TOKEN);

    const path = await runCli(["ignite", "config", "path"], { home });
    expect(path.stdout.trim()).toBe(file);
    const unset = await runCli(["ignite", "config", "unset", "token"], { home });
    expect(unset.exitCode).toBe(0);
    expect((await runCli(["ignite", "config", "get", "token"], { home })).exitCode).toBe(5);
  });

  it("falls back to global.* keys", async () => {
    const home = freshHome();
    await runCli(["ignite", "config", "set", "global.org_id", "shared-org"], { home });
    expect((await runCli(["ignite", "config", "get", "org_id"], { home })).stdout.trim()).toBe("shared-org");
  });

  it.each([
    [["config", "set", "colour", "blue"], /unknown config key "colour"/],
    [["config", "set", "output", "xml"], /invalid value "xml" for config key output/],
    [["config", "set", "api_endpoint", "nowhere"], /invalid endpoint "nowhere"/],
    [["config", "set", "timeout", "soon"], /invalid duration "soon"/],
  ])("rejects %j with exit 2 and writes nothing", async (argv, message) => {
    const home = freshHome();
    const result = await runCli(["ignite", ...argv], { home });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split("\n")[0]).toMatch(/^Error: /);
    expect(() => statSync(join(home, ".config", "unified-cli", "config.yaml"))).toThrow();
  });

  it("reports a corrupt config file, naming it, and leaves it untouched", async () => {
    const home = freshHome();
    const dir = join(home, ".config", "unified-cli");
    mkdirSync(dir, { recursive: true });
    const corrupt = "ignite:\n  token: [unclosed\n";
    writeFileSync(join(dir, "config.yaml"), corrupt);
    const result = await runCli(["ignite", "config", "set", "token", "x"], { home });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(join(dir, "config.yaml"));
    expect(readFileSync(join(dir, "config.yaml"), "utf8")).toBe(corrupt);
    const json = await runCli(["ignite", "app", "list", "-o", "json"], { home });
    expect(JSON.parse(json.stderr)).toMatchObject({ code: "USAGE", exit_code: 2 });
    expect(json.stdout).toBe("");
  });
});
