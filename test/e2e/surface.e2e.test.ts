import { execFile, spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = join(import.meta.dirname, "..", "..");
const dodil = join(repo, "bin", "dodil.js");
const run = promisify(execFile);
const TOKEN = "e2e-surface-token-8c2d4e6f1a3b5c7d";

let plane: ChildProcess;
let work: string;
let env: NodeJS.ProcessEnv;

async function cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = run(process.execPath, [dodil, "ignite", ...args], { cwd: work, env, timeout: 90_000 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  } else child.child.stdin?.end();
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "ignite-e2e-surface-"));
  cpSync(join(repo, "examples", "greeter"), join(work, "app"), { recursive: true });
  mkdirSync(join(work, "fn"));
  writeFileSync(join(work, "fn", "handler.py"), 'def handler(payload, ctx):\n    print("got", payload.decode(), flush=True)\n    return {"echo": payload.decode(), "execution_id": ctx["execution_id"]}\n');
  const base = { PATH: process.env.PATH, HOME: work, DODIL_CONFIG_DIR: join(work, "config") };
  plane = spawn(process.execPath, [dodil, "ignite", "dev", "--listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--data-dir", join(work, "data"), "--driver", "host", "--token", `acme-corp=${TOKEN}`, "-o", "json"], {
    env: base,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: plane.stdout! }).once("line", resolve);
    plane.once("exit", (code) => reject(new Error(`dev exited early with ${code}`)));
  });
  const ready = JSON.parse(line) as { grpc_endpoint: string };
  env = { ...base, IGNITE_API_ENDPOINT: ready.grpc_endpoint, IGNITE_TOKEN: TOKEN, IGNITE_DEBUG: "true", IGNITE_ORG_NAME: "acme-corp" };
});

afterAll(async () => {
  if (plane && plane.exitCode === null) {
    const exited = new Promise((resolve) => plane.once("exit", resolve));
    plane.kill("SIGTERM");
    await exited;
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("e2e: every command group through the spawned binary", () => {
  it("app deploy prints the URL; app logs shows the output", async () => {
    const deploy = await cli(["app", "deploy", "echo", "--code", "./fn", "--runtime", "python", "--env", "K=V"]);
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(deploy.stdout).toMatch(/^URL\s+http:\/\/echo-acme-corp\./m);
    expect((await cli(["invoke", "echo", "-p", '"hi"'])).code).toBe(0);
    const logs = await cli(["app", "logs", "echo", "--limit", "20"]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/got "hi"/);
  });

  it("draft compile --follow and draft test", async () => {
    expect((await cli(["draft", "save", "echo", "--code", "./fn", "--runtime", "python"])).code).toBe(0);
    const compile = await cli(["draft", "compile", "echo", "--follow"]);
    expect(compile.code, compile.stderr).toBe(0);
    const test = await cli(["draft", "test", "echo", "-p", '"draft"', "-o", "json"]);
    expect(test.code, test.stderr).toBe(0);
    expect(JSON.parse(test.stdout)).toMatchObject({ status_code: 200, body: { echo: '"draft"' } });
  });

  it("version code -O and version test", async () => {
    const code = await cli(["version", "code", "echo", "-O", "src-v1"]);
    expect(code.code, code.stderr).toBe(0);
    expect(readdirSync(join(work, "src-v1"))).toContain("handler.py");
    const test = await cli(["version", "test", "echo", "1", "-p", "{}"]);
    expect(test.code, test.stderr).toBe(0);
    expect(test.stdout).toMatch(/^STATUS\s+200$/m);
  });

  it("invoke --async, then execution watch, stream, get and logs (alias exec)", async () => {
    const queued = await cli(["invoke", "echo", "--async", "-p", '"later"']);
    expect(queued.code, queued.stderr).toBe(0);
    const id = queued.stdout.trim();
    expect((await cli(["exec", "watch", id])).code).toBe(0);
    const got = JSON.parse((await cli(["execution", "get", id, "-o", "json"])).stdout);
    expect(got).toMatchObject({ status: "EXECUTION_STATUS_SUCCEEDED", result: { echo: '"later"' } });
    expect((await cli(["execution", "logs", id])).stdout).toMatch(/got "later"/);
    const streamed = await cli(["exec", "stream", id]);
    expect(streamed.code, streamed.stderr).toBe(0);
    expect(streamed.stdout).toMatch(/got "later"[\s\S]*"echo": "\\"later\\""/);
    expect((await cli(["execution", "list", "echo"])).code).toBe(1);
  });

  it("build upload, create --follow, list", async () => {
    const upload = await cli(["build", "upload", "--folder", "app", "--name", "greeter"]);
    expect(upload.code, upload.stderr).toBe(0);
    const create = await cli(["build", "create", "greeter", "--context-id", upload.stdout.trim(), "--follow"]);
    expect(create.code, create.stderr).toBe(0);
    expect(create.stderr).toMatch(/build succeeded: local\.ignite\/acme-corp\/greeter:latest/);
    expect((await cli(["build", "list"])).stdout).toMatch(/greeter\s+succeeded/);
  });

  it("secret create (value from stdin), list, get, delete --yes", async () => {
    const create = await cli(["secret", "create", "ghcr-pull", "--type", "registry", "--username", "bot", "--password", "-", "--server-address", "ghcr.io"], "e2e-registry-password\n");
    expect(create.code, create.stderr).toBe(0);
    expect(create.stdout + create.stderr).not.toContain("e2e-registry-password");
    expect((await cli(["secret", "list"])).stdout).toMatch(/ghcr-pull\s+registry/);
    expect((await cli(["secret", "get", "ghcr-pull"])).stdout).toMatch(/^PASSWORD\s+e2e-registry-password$/m);
    expect((await cli(["secret", "delete", "ghcr-pull"])).code).toBe(2);
    expect((await cli(["secret", "delete", "ghcr-pull", "--yes"])).code).toBe(0);
  });

  it("models list and get; chat and rerank answer UNIMPLEMENTED (exit 1)", async () => {
    expect((await cli(["models", "list"])).stdout).toMatch(/jina-embeddings-v4/);
    expect((await cli(["models", "get", "kimi-k2.5", "-o", "json"])).code).toBe(0);
    const chat = await cli(["models", "chat", "kimi-k2.5", "hello", "--stream"]);
    expect(chat.code).toBe(1);
    expect(chat.stderr).toMatch(/ModelService\.StreamChatCompletion is not available on the local control plane/);
    const rerank = await cli(["models", "rerank", "bge-reranker-v2", "deploy", "--document", "a"]);
    expect(rerank.code).toBe(1);
    expect(rerank.stderr).toMatch(/ModelService\.Rerank is not available on the local control plane/);
  });
});
