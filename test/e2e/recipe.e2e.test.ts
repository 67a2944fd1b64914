import { execFile, spawn, type ChildProcess } from "node:child_process";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processesUnder } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp-dirs.js";

const repo = join(import.meta.dirname, "..", "..");
const dodil = join(repo, "bin", "dodil.js");
const ignite = join(repo, "bin", "ignite.js");
const run = promisify(execFile);
const TOKEN = "e2e-token-5f1c9a7b3d2e4f60";

let plane: ChildProcess;
let ready: { grpc_endpoint: string; gateway_url: string };
let work: string;
let env: NodeJS.ProcessEnv;

async function cli(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: work, env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Processes whose working directory lies inside `dir`: the apps the control plane started. */
beforeAll(async () => {
  work = tempDir("e2e");
  cpSync(join(repo, "examples", "greeter"), join(work, "app"), { recursive: true });
  env = { PATH: process.env.PATH, HOME: work, DODIL_CONFIG_DIR: join(work, "config") };
  plane = spawn(process.execPath, [dodil, "ignite", "dev", "--listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--data-dir", join(work, "data"), "--driver", "host", "--token", `acme-corp=${TOKEN}`, "-o", "json"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: plane.stdout! }).once("line", resolve);
    plane.once("exit", (code) => reject(new Error(`dev exited early with ${code}`)));
  });
  ready = JSON.parse(line);
});

afterAll(async () => {
  if (!plane || plane.exitCode !== null || plane.signalCode !== null) return;
  // Gone before its data dir is removed (test/helpers/remove-temp-dirs.ts).
  const exited = new Promise((resolve) => plane.once("exit", resolve));
  plane.kill("SIGKILL");
  await exited;
});

describe("e2e: both binaries against a spawned `dodil ignite dev`", () => {
  it("prints its endpoints as one JSON line", () => {
    expect(ready.grpc_endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(ready.gateway_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("runs the recipe as typed, and the standalone `ignite` binary sees the same state", async () => {
    for (const args of [
      ["ignite", "config", "set", "token", TOKEN],
      ["ignite", "config", "set", "api_endpoint", ready.grpc_endpoint],
      ["ignite", "config", "set", "debug", "true"],
      ["ignite", "app", "create", "greeter", "--description", "FastAPI greeter built from a Dockerfile"],
      ["ignite", "draft", "save", "acme-corp:greeter", "--code", "./app", "--dockerfile-path", "Dockerfile", "--build-arg", "APP_ENV=prod"],
      ["ignite", "draft", "compile-logs", "acme-corp:greeter", "--follow"],
      ["ignite", "draft", "publish", "acme-corp:greeter"],
    ]) {
      const result = await cli(dodil, args);
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(0);
    }
    const got = JSON.parse((await cli(dodil, ["ignite", "app", "get", "acme-corp:greeter", "-o", "json"])).stdout);
    expect(got).toMatchObject({ active_version: 1, id: "acme-corp/greeter" });
    const invoked = await cli(ignite, ["invoke", "acme-corp:greeter", "-p", '{"name": "ada"}']);
    expect(invoked.code, invoked.stderr).toBe(0);
    expect(JSON.parse(invoked.stdout)).toMatchObject({ greeting: "Hello, ada!", function_id: "acme-corp/greeter" });
    expect(invoked.stdout + invoked.stderr).not.toContain(TOKEN);
  });

  it("exits 2 on a usage error and suggests the closest command", async () => {
    const result = await cli(dodil, ["ignite", "app", "lst"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Did you mean one of list, ls\?/);
  });

  it("stops cleanly on SIGTERM and leaves no app process behind", async () => {
    expect(processesUnder(join(work, "data")).length).toBeGreaterThan(0);
    const exited = new Promise<number | null>((resolve) => plane.once("exit", (code) => resolve(code)));
    plane.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(processesUnder(join(work, "data"))).toEqual([]);
  });
});
