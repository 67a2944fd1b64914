import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkspace, withoutTraces, type Workspace } from "../helpers/workspace.js";
import { goMissing, MAIN_GO } from "./go-app.js";

// The Go managed runtime (reference §5.2, §6.2) on the local control plane, through the CLI:
// `func main() { ignite.Start(handler) }` with `import "ignite"`, built offline by the machine's go.
const skip = !!goMissing && !process.env["CI"];
if (skip) console.warn(`[go runtime tests skipped] ${goMissing}`);

let workspace: Workspace;
const cli: Workspace["cli"] = (argv, env, extra) => workspace.cli(argv, env, extra);

describe.skipIf(skip)("the go managed runtime", () => {
  beforeAll(async () => {
    workspace = await startWorkspace("go-runtime");
    const dir = (name: string, files: Record<string, string>) => {
      mkdirSync(join(workspace.work, name));
      for (const [file, text] of Object.entries(files)) writeFileSync(join(workspace.work, name, file), text);
    };
    dir("gofn", { "main.go": MAIN_GO, "go.mod": "module gofn\n\ngo 1.19\n" });
    dir("broken", { "main.go": 'package main\n\nimport "ignite"\n\nfunc main() { ignite.Start(nothere) }\n' });
    dir("remote", { "main.go": 'package main\n\nimport (\n\t"ignite"\n\t"github.com/example/nowhere"\n)\n\nfunc main() { nowhere.X(); ignite.Start(nil) }\n' });
  }, 120_000);

  afterAll(async () => {
    await workspace?.close();
  });

  it("builds the app with the bundled SDK and serves its handler, with the call's context", async () => {
    const deploy = await cli(["app", "deploy", "acme-corp:gohello", "--code", "./gofn", "--runtime", "go", "-o", "json"]);
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(JSON.parse(deploy.stdout)).toMatchObject({ created: true, version: 1 });
    const logs = await cli(["draft", "compile-logs", "acme-corp:gohello"]);
    expect(logs.stdout).toMatch(/Compiling acme-corp\/gohello for the go managed runtime/);
    expect(logs.stdout).toMatch(/Building a static linux binary \(go build\)/);

    const invoke = await cli(["invoke", "acme-corp:gohello", "-p", '{"name": "gopher"}', "-o", "json"]);
    expect(invoke.exitCode, invoke.stderr).toBe(0);
    const result = JSON.parse(invoke.stdout);
    expect(result.status_code).toBe(200);
    expect(result.body).toMatchObject({ hello: "gopher", org: expect.stringMatching(/\S/) });
    expect(result.body.execution_id).toBe(result.execution_id);
    expect((await cli(["app", "logs", "acme-corp:gohello"])).stdout).toMatch(/handling gopher/);
    const test = await cli(["version", "test", "acme-corp:gohello", "1", "-p", '{"name": "tested"}']);
    expect(test.exitCode, test.stderr).toBe(0);
    expect(test.stdout).toMatch(/^STATUS\s+200$/m);
    expect(test.stdout).toMatch(/"hello":"tested"/);
  }, 180_000);

  it("a handler's error is HTTP 500 with the error as JSON, and the server keeps serving", async () => {
    const failed = await cli(["invoke", "acme-corp:gohello", "-p", '{"fail": true}', "-o", "json"]);
    expect(failed.exitCode).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ status_code: 500, body: { error: "asked to fail" } });
    expect((await cli(["invoke", "acme-corp:gohello", "-p", '{"name": "again"}'])).stdout).toMatch(/"hello":"again"/);
  });

  it("a single main.go without go.mod is built too (go mod init)", async () => {
    const deploy = await cli(["app", "deploy", "acme-corp:gosingle", "--code", "./gofn/main.go", "--runtime", "go"]);
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect((await cli(["invoke", "acme-corp:gosingle", "-p", '{"name": "single"}'])).stdout).toMatch(/"hello":"single"/);
  }, 120_000);

  it.each([
    ["a compile error", "broken", /undefined: nothere/],
    ["a module that cannot be fetched offline", "remote", /github\.com\/example\/nowhere/],
  ])("%s fails the build with go's own words", async (_name, dir, message) => {
    expect((await cli(["app", "create", `acme-corp:${dir}`])).exitCode).toBe(0);
    const save = await cli(["draft", "save", `acme-corp:${dir}`, "--code", `./${dir}`, "--runtime", "go"]);
    expect(save.exitCode, save.stderr).toBe(0);
    const logs = await cli(["draft", "compile-logs", `acme-corp:${dir}`, "--follow"]);
    expect(logs.exitCode).not.toBe(0);
    expect(withoutTraces(logs.stderr).join("\n")).toMatch(message);
  }, 120_000);
});
