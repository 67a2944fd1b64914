import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDir, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { runCli } from "../helpers/run-cli.js";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
  await runCli(["ignite", "app", "create", "acme-corp:greeter", "--description", "tty test"], { env: cp.env });
});
afterAll(async () => {
  await cp?.stop();
  removeDir(cp?.dataDir ?? "");
});

const ANSI = /\u001b\[/;

describe("terminal and pipe output", () => {
  it("colours the table header on a terminal and prints plain text to a pipe", async () => {
    const tty = await runCli(["ignite", "app", "list"], { env: cp.env, stdoutIsTTY: true });
    const pipe = await runCli(["ignite", "app", "list"], { env: cp.env, stdoutIsTTY: false });
    expect(tty.stdout).toMatch(ANSI);
    expect(pipe.stdout).not.toMatch(ANSI);
    expect(tty.stdout.replace(/\u001b\[[0-9;]*m/g, "")).toBe(pipe.stdout);
  });

  it("NO_COLOR and --no-color turn colour off on a terminal; FORCE_COLOR turns it on in a pipe", async () => {
    expect((await runCli(["ignite", "app", "list"], { env: { ...cp.env, NO_COLOR: "1" }, stdoutIsTTY: true })).stdout).not.toMatch(ANSI);
    expect((await runCli(["ignite", "app", "list", "--no-color"], { env: cp.env, stdoutIsTTY: true })).stdout).not.toMatch(ANSI);
    expect((await runCli(["ignite", "app", "list"], { env: { ...cp.env, FORCE_COLOR: "1" }, stdoutIsTTY: false })).stdout).toMatch(ANSI);
  });

  it("shows a spinner on a terminal's stderr only, never under -o json", async () => {
    const human = await runCli(["ignite", "version", "rollback", "acme-corp:greeter", "1"], { env: cp.env, stderrIsTTY: true });
    expect(human.exitCode).toBe(5);
    expect(human.stderr).toMatch(/Rolling acme-corp:greeter back to version 1/);
    const json = await runCli(["ignite", "version", "rollback", "acme-corp:greeter", "1", "-o", "json"], { env: cp.env, stderrIsTTY: true });
    expect(json.stderr).not.toMatch(/Rolling/);
    const piped = await runCli(["ignite", "version", "rollback", "acme-corp:greeter", "1"], { env: cp.env, stderrIsTTY: false });
    expect(piped.stderr).not.toMatch(/Rolling/);
  });
});
