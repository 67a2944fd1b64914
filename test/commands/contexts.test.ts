import { readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACME_TOKEN, OTHER_TOKEN, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dirs.js";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp?.stop();
});

/** A HOME whose config file already holds the user's own settings, which contexts must leave alone. */
function homeWithSettings(): { home: string; file: string } {
  const home = tempDir("ctx-home");
  const dir = join(home, ".config", "unified-cli");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "config.yaml");
  writeFileSync(file, "ignite:\n  api_endpoint: rpc.dev.dodil.io:443\n  timeout: 45s\nglobal:\n  org_id: real-org\nother_product:\n  kept: yes\n", { mode: 0o600 });
  return { home, file };
}

describe("config context create|use|list|delete", () => {
  it("a context reaches the local plane with no other setting touched", async () => {
    const { home, file } = homeWithSettings();
    const before = readFileSync(file, "utf8");
    const create = await runCli(["ignite", "config", "context", "create", "local", "--api-endpoint", cp.plane.grpcEndpoint, "--debug", "--token", ACME_TOKEN, "--org", "acme-corp", "--use"], { home });
    expect(create.exitCode, create.stderr).toBe(0);
    expect(create.stderr).toMatch(/created context local and selected it/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    // Every line of the user's settings is still there, as it was.
    for (const line of before.split("\n")) expect(text).toContain(line);

    const app = await runCli(["ignite", "app", "create", "ctx-app"], { home });
    expect(app.exitCode, app.stderr).toBe(0);
    const list = await runCli(["ignite", "app", "list", "-o", "json"], { home });
    expect(JSON.parse(list.stdout).map((a: { id: string }) => a.id)).toContain("acme-corp/ctx-app");

    const view = JSON.parse((await runCli(["ignite", "config", "view", "-o", "json"], { home })).stdout);
    expect(view.settings.context).toEqual({ value: "local", source: "config current_context" });
    expect(view.settings.api_endpoint).toEqual({ value: cp.plane.grpcEndpoint, source: "context local.api_endpoint" });
    expect(view.settings.org).toEqual({ value: "acme-corp", source: "context local.org_name" });
    expect(view.settings.timeout).toEqual({ value: "45s", source: "config ignite.timeout" });

    const listed = await runCli(["ignite", "config", "context", "list"], { home });
    expect(listed.stdout).toMatch(/^\*\s+local\s+127\.0\.0\.1:\d+\s+acme-corp\s+true\s+tok-…\(\d+ chars\)$/m);
    for (const out of [create, listed]) expect(out.stdout + out.stderr).not.toContain(ACME_TOKEN);

    // Back to the user's own settings: the endpoint is theirs again.
    expect((await runCli(["ignite", "config", "context", "use", "--none"], { home })).exitCode).toBe(0);
    const after = JSON.parse((await runCli(["ignite", "config", "view", "-o", "json"], { home })).stdout);
    expect(after.settings.api_endpoint).toEqual({ value: "rpc.dev.dodil.io:443", source: "config ignite.api_endpoint" });
    // --context and DODIL_CONTEXT still select it for one run.
    expect((await runCli(["ignite", "--context", "local", "app", "get", "ctx-app"], { home })).exitCode).toBe(0);
    expect((await runCli(["ignite", "app", "get", "ctx-app"], { home, env: { DODIL_CONTEXT: "local" } })).exitCode).toBe(0);
    const del = await runCli(["ignite", "config", "context", "delete", "local"], { home });
    expect(del.exitCode).toBe(0);
    expect(readFileSync(file, "utf8")).not.toContain("local");
    for (const line of before.split("\n")) expect(readFileSync(file, "utf8")).toContain(line);
  });

  it("an unknown context is exit 2 everywhere it is named, and use of a missing one exit 5", async () => {
    const { home } = homeWithSettings();
    const flag = await runCli(["ignite", "--context", "nope", "app", "list"], { home });
    expect(flag.exitCode).toBe(2);
    expect(flag.stderr).toMatch(/^Error: there is no context "nope" \(from --context\)/);
    const env = await runCli(["ignite", "app", "list"], { home, env: { DODIL_CONTEXT: "nope" } });
    expect(env.exitCode).toBe(2);
    const use = await runCli(["ignite", "config", "context", "use", "nope"], { home });
    expect(use.exitCode).toBe(5);
    const bad = await runCli(["ignite", "config", "context", "create", "a.b"], { home });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/invalid context name "a.b"/);
    const badEndpoint = await runCli(["ignite", "config", "context", "create", "x", "--api-endpoint", "no-port"], { home });
    expect(badEndpoint.exitCode).toBe(2);
  });

  it("a context of another organization's token cannot see this one's apps", async () => {
    const { home } = homeWithSettings();
    await runCli(["ignite", "config", "context", "create", "acme", "--api-endpoint", cp.plane.grpcEndpoint, "--debug", "--token", ACME_TOKEN, "--org", "acme-corp"], { home });
    expect((await runCli(["ignite", "--context", "acme", "app", "create", "acme-only"], { home })).exitCode).toBe(0);
    await runCli(["ignite", "config", "context", "create", "other", "--api-endpoint", cp.plane.grpcEndpoint, "--debug", "--token", OTHER_TOKEN, "--org", "other-org"], { home });
    const other = await runCli(["ignite", "--context", "other", "app", "get", "acme-corp:acme-only"], { home });
    expect(other.exitCode).toBe(4);
    const listed = JSON.parse((await runCli(["ignite", "--context", "other", "app", "list", "-o", "json"], { home })).stdout) as Array<{ id: string }>;
    expect(listed.map((a) => a.id)).not.toContain("acme-corp/acme-only");
  });
});
