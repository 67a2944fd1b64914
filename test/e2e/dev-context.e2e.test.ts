import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../helpers/temp-dirs.js";

const repo = join(import.meta.dirname, "..", "..");
const dodil = join(repo, "bin", "dodil.js");
const run = promisify(execFile);
const planes: ChildProcess[] = [];

/** A HOME whose config already holds the user's platform settings. */
function userHome(): { env: NodeJS.ProcessEnv; file: string; before: string } {
  const home = tempDir("dev-ctx");
  const dir = join(home, "config");
  mkdirSync(dir);
  const file = join(dir, "config.yaml");
  const before = "ignite:\n  api_endpoint: rpc.dev.dodil.io:443\n  token: users-real-platform-token\n  timeout: 45s\n";
  writeFileSync(file, before, { mode: 0o600 });
  return { env: { PATH: process.env.PATH, HOME: home, DODIL_CONFIG_DIR: dir }, file, before };
}

function startDev(env: NodeJS.ProcessEnv, extra: string[]): ChildProcess {
  const child = spawn(process.execPath, [dodil, "ignite", "dev", "--listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--auth-listen", "127.0.0.1:0", "--data-dir", join(env.HOME as string, "data"), "--driver", "host", ...extra], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  planes.push(child);
  return child;
}

async function cli(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [dodil, ...args], { env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

afterAll(async () => {
  for (const plane of planes) {
    if (plane.exitCode !== null || plane.signalCode !== null) continue;
    const exited = new Promise((resolve) => plane.once("exit", resolve));
    plane.kill("SIGKILL");
    await exited;
  }
});

describe("e2e: dodil ignite dev and the local context", () => {
  it("prints the one command that creates and selects a `local` context; running it reaches the plane", async () => {
    const { env, file, before } = userHome();
    const plane = startDev(env, ["--token", "local=dev-ctx-token-1234567890"]);
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: plane.stderr! }).on("line", (l) => {
        if (l.startsWith("Use it: ")) resolve(l.slice("Use it: ".length));
      });
      plane.once("exit", (code) => reject(new Error(`dev exited early with ${code}`)));
    });
    expect(line).toMatch(/^dodil ignite config context create local --api-endpoint 127\.0\.0\.1:\d+ --debug --token dev-ctx-token-1234567890 --org local --use$/);
    expect(readFileSync(file, "utf8")).toBe(before);
    const created = await cli(env, line.split(" ").slice(1));
    expect(created.code, created.stderr).toBe(0);
    expect((await cli(env, ["ignite", "app", "create", "via-context"])).code).toBe(0);
    const list = await cli(env, ["ignite", "app", "list", "-o", "json"]);
    expect(JSON.parse(list.stdout).map((a: { id: string }) => a.id)).toContain("local/via-context");
    // The user's own settings are all still there.
    for (const kept of before.trim().split("\n")) expect(readFileSync(file, "utf8")).toContain(kept);
  });

  it("--use-context does it at start-up, changing nothing else", async () => {
    const { env, file, before } = userHome();
    const plane = startDev(env, ["--use-context", "-o", "json"]);
    const ready = await new Promise<{ context: string; grpc_endpoint: string }>((resolve, reject) => {
      createInterface({ input: plane.stdout! }).once("line", (l) => resolve(JSON.parse(l)));
      plane.once("exit", (code) => reject(new Error(`dev exited early with ${code}`)));
    });
    expect(ready.context).toBe("local");
    const view = JSON.parse((await cli(env, ["ignite", "config", "view", "-o", "json"])).stdout);
    expect(view.settings.context).toEqual({ value: "local", source: "config current_context" });
    expect(view.settings.api_endpoint).toEqual({ value: ready.grpc_endpoint, source: "context local.api_endpoint" });
    expect(view.settings.timeout.source).toBe("config ignite.timeout");
    expect((await cli(env, ["ignite", "app", "list"])).code).toBe(0);
    for (const kept of before.trim().split("\n")) expect(readFileSync(file, "utf8")).toContain(kept);
    // Back to the platform: one command.
    expect((await cli(env, ["ignite", "config", "context", "use", "--none"])).code).toBe(0);
    expect(JSON.parse((await cli(env, ["ignite", "config", "view", "-o", "json"])).stdout).settings.api_endpoint.value).toBe("rpc.dev.dodil.io:443");
  });
});
