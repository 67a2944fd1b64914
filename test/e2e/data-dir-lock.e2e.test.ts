import { execFile } from "node:child_process";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { isRunning, processesUnder } from "../helpers/processes.js";
import { runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dirs.js";

/** Two control planes on one data directory: the second refuses to start and touches nothing. */
const repo = join(import.meta.dirname, "..", "..");
const dodil = join(repo, "bin", "dodil.js");
const execFileP = promisify(execFile);

let first: TestControlPlane;
let work: string;

beforeAll(async () => {
  first = await startTestControlPlane();
  work = tempDir("lock-e2e");
  cpSync(join(repo, "examples", "greeter"), join(work, "app"), { recursive: true });
  const cli = (args: string[]) => runCli(["ignite", ...args], { env: first.env, cwd: work });
  expect((await cli(["app", "create", "acme-corp:greeter"])).exitCode).toBe(0);
  expect((await cli(["draft", "save", "acme-corp:greeter", "--code", "app", "--dockerfile-path", "Dockerfile"])).exitCode).toBe(0);
  expect((await cli(["draft", "publish", "acme-corp:greeter"])).exitCode).toBe(0);
});

afterAll(async () => {
  await first?.stop();
});

describe("one control plane per data directory", () => {
  it("a second plane exits non-zero naming the directory and the owner's pid, and leaves the first's apps running", async () => {
    const invoke = () => runCli(["ignite", "invoke", "acme-corp:greeter", "-p", '{"name": "lock"}'], { env: first.env, cwd: work });
    expect((await invoke()).exitCode).toBe(0);
    const apps = processesUnder(first.dataDir);
    expect(apps.length).toBeGreaterThan(0);

    const second = await execFileP(
      process.execPath,
      [dodil, "ignite", "dev", "--listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--auth-listen", "127.0.0.1:0", "--data-dir", first.dataDir, "--driver", "host"],
      // a plane that does start (no lock) would run until killed
      { env: { PATH: process.env.PATH, HOME: work }, timeout: 30_000, killSignal: "SIGKILL" },
    ).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`data directory ${first.dataDir} is in use by pid ${process.pid}`);
    expect(second.stderr).not.toMatch(/\n\s+at /);

    expect(apps.filter(isRunning)).toEqual(apps);
    const after = await invoke();
    expect(after.exitCode, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout).greeting).toMatch(/, lock!$/);
  });

  it("after the first stops, a plane starts on the same directory", async () => {
    await first.stop();
    const again = await startTestControlPlane({ dataDir: first.dataDir });
    await again.stop();
  });
});
