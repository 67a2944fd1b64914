import { chmodSync, mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dirs.js";

let cp: TestControlPlane;
let work: string;
let appDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  cp = await startTestControlPlane();
  env = { ...cp.env, IGNITE_ORG_NAME: "acme-corp" };
  work = tempDir("manifest");
  appDir = join(work, "echo");
  mkdirSync(appDir);
  writeFileSync(join(appDir, "handler.py"), 'import os\ndef handler(payload, ctx):\n    print("hello from", os.environ.get("MODE"), flush=True)\n    return {"echo": payload.decode(), "mode": os.environ.get("MODE"), "level": os.environ.get("LEVEL")}\n');
  writeFileSync(join(appDir, "info.yaml"), "name: echo  # the app this directory deploys\nruntime: python\ndescription: echoes\n");
  writeFileSync(join(appDir, ".env"), "# shared settings\nexport MODE=from-file\nLEVEL='debug'\nAPI_KEY=\"s3cr3t-from-file\"\n");
});

afterAll(async () => {
  await cp?.stop();
});

describe("a directory whose info.yaml names the app", () => {
  it("`app deploy` with no arguments deploys it, from the directory, saying so; --env-file and --env merge, flags winning", async () => {
    const deploy = await runCli(["ignite", "app", "deploy", "--env-file", ".env", "--env", "LEVEL=info", "-o", "json"], { env, cwd: appDir });
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(deploy.stderr).toMatch(/^app echo, from info\.yaml$/m);
    expect(deploy.stderr).toMatch(/^code from \. \(it has an info\.yaml\)$/m);
    expect(deploy.stderr).toMatch(/runtime python, from info\.yaml/);
    expect(JSON.parse(deploy.stdout)).toMatchObject({ app_id: "acme-corp/echo", created: true, version: 1 });
    // No message shows a value (the JSON result is the app as the platform returns it).
    expect(deploy.stderr).not.toContain("s3cr3t-from-file");
    const app = JSON.parse((await runCli(["ignite", "app", "get", "echo", "-o", "json"], { env })).stdout);
    expect(app.env).toEqual({ MODE: "from-file", LEVEL: "info", API_KEY: "s3cr3t-from-file" });
  });

  it("invoke, app logs, draft save and draft publish take the app from info.yaml too", async () => {
    const invoke = await runCli(["ignite", "invoke", "-p", '"hi"', "-o", "json"], { env, cwd: appDir });
    expect(invoke.exitCode, invoke.stderr).toBe(0);
    expect(invoke.stderr).toMatch(/^app echo, from info\.yaml$/m);
    expect(JSON.parse(invoke.stdout)).toMatchObject({ function_id: "acme-corp/echo", body: { echo: '"hi"', mode: "from-file", level: "info" } });
    const logs = await runCli(["ignite", "app", "logs", "--limit", "20"], { env, cwd: appDir });
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/hello from from-file/);
    const save = await runCli(["ignite", "draft", "save"], { env, cwd: appDir });
    expect(save.exitCode, save.stderr).toBe(0);
    expect(save.stderr).toMatch(/saved the draft of acme-corp:echo/);
    const publish = await runCli(["ignite", "draft", "publish", "-o", "json"], { env, cwd: appDir });
    expect(publish.exitCode, publish.stderr).toBe(0);
    expect(JSON.parse(publish.stdout)).toMatchObject({ version: 2 });
  });

  it("an app id on the command line always wins", async () => {
    const deploy = await runCli(["ignite", "app", "deploy", "echo-two", "-o", "json"], { env, cwd: appDir });
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(deploy.stderr).not.toMatch(/^app echo, from/m);
    expect(JSON.parse(deploy.stdout)).toMatchObject({ app_id: "acme-corp/echo-two" });
    const invoke = await runCli(["ignite", "invoke", "echo-two", "-p", "1", "-o", "json"], { env, cwd: appDir });
    expect(JSON.parse(invoke.stdout)).toMatchObject({ function_id: "acme-corp/echo-two" });
  });

  it("without an id or an info.yaml name, the commands say what is missing (exit 2)", async () => {
    const bare = tempDir("manifest-none");
    const none = await runCli(["ignite", "app", "deploy"], { env, cwd: bare });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/^Error: no app id given, and there is no info.yaml here naming one$/m);
    writeFileSync(join(bare, "info.yaml"), "runtime: python\n");
    const nameless = await runCli(["ignite", "invoke"], { env, cwd: bare });
    expect(nameless.exitCode).toBe(2);
    expect(nameless.stderr).toMatch(/^Error: no app id given, and info\.yaml has no name: line$/m);
  });

  it("a bad --env-file line is exit 2 naming file and line; nothing is sent, no value printed", async () => {
    writeFileSync(join(work, "bad.env"), "GOOD=1\nPASSWORD hunter2-secret\n");
    const result = await runCli(["ignite", "app", "create", "never-made", "--env-file", "bad.env"], { env, cwd: work });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^Error: bad\.env:2: not a KEY=VALUE line/);
    expect(result.stderr).not.toContain("hunter2");
    expect((await runCli(["ignite", "app", "get", "never-made"], { env })).exitCode).toBe(5);
  });

  it("app update --env-file merges the file's keys", async () => {
    writeFileSync(join(work, "update.env"), "MODE=updated\n");
    const update = await runCli(["ignite", "app", "update", "echo", "--env-file", "update.env"], { env, cwd: work });
    expect(update.exitCode, update.stderr).toBe(0);
    const app = JSON.parse((await runCli(["ignite", "app", "get", "echo", "-o", "json"], { env })).stdout);
    expect(app.env).toMatchObject({ MODE: "updated", LEVEL: "info" });
  });
});

describe("app open", () => {
  it("prints the URL, and opens nothing when stdout is not a terminal", async () => {
    const marker = join(work, "opened-pipe");
    const result = await runCli(["ignite", "app", "open"], { env: { ...env, BROWSER: fakeBrowser(marker) }, cwd: appDir });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim()).toMatch(/^http:\/\/echo-acme-corp\./);
    expect(existsSync(marker)).toBe(false);
  });

  it("on a terminal, starts $BROWSER with the URL", async () => {
    const marker = join(work, "opened-tty");
    const result = await runCli(["ignite", "app", "open", "echo"], { env: { ...env, BROWSER: fakeBrowser(marker) }, stdoutIsTTY: true });
    expect(result.exitCode, result.stderr).toBe(0);
    const url = result.stdout.trim();
    expect(result.stderr).toMatch(/^opened http:\/\/\S+ with /m);
    await expect.poll(() => (existsSync(marker) ? readFileSync(marker, "utf8").trim() : "")).toBe(url);
  });

  it("on a terminal without a display or $BROWSER, only prints", async () => {
    const result = await runCli(["ignite", "app", "open", "echo"], { env, stdoutIsTTY: true });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).not.toMatch(/opened/);
  });

  it("an app never published has no URL yet: exit 1 with the next step", async () => {
    await runCli(["ignite", "app", "create", "unpublished"], { env });
    const result = await runCli(["ignite", "app", "open", "unpublished"], { env });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/has no URL yet/);
  });
});

/** A stand-in browser: writes the URL it was given to `marker`. */
function fakeBrowser(marker: string): string {
  const script = join(work, `browser-${marker.split("-").pop()}.sh`);
  writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$1" > '${marker}'\n`);
  chmodSync(script, 0o755);
  return script;
}
