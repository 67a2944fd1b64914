import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkspace, withoutTraces, type Workspace } from "../helpers/workspace.js";
import { runCli } from "../helpers/run-cli.js";
import { ACME_TOKEN, OTHER_TOKEN, type TestControlPlane } from "../helpers/control-plane.js";
import { tempDir } from "../helpers/temp-dirs.js";

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
let workspace: Workspace;
let cp: TestControlPlane;
let work: string;

beforeAll(async () => {
  workspace = await startWorkspace("recipe");
  ({ cp, work } = workspace);
});

afterAll(async () => {
  await workspace?.close();
});


const cli = (argv: string[], env: Record<string, string> = {}) => workspace.cli(argv, env);

describe("the seed recipe, in process against a local control plane", () => {
  it("creates, saves, builds, publishes, invokes, publishes v2 and rolls back", async () => {
    const create = await cli(["app", "create", "greeter", "--description", "FastAPI greeter built from a Dockerfile", "-o", "json"]);
    expect(create.exitCode, create.stderr).toBe(0);
    expect(JSON.parse(create.stdout)).toMatchObject({ app_id: "acme-corp/greeter", deployment_state: "DEPLOYMENT_STATE_CREATED" });

    const save = await cli(["draft", "save", "acme-corp:greeter", "--code", "./app", "--dockerfile-path", "Dockerfile", "-o", "json"]);
    expect(save.exitCode, save.stderr).toBe(0);
    const saved = JSON.parse(save.stdout);
    expect(saved.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(saved.draft.code_hash).toBe(saved.digest);
    expect(saved.draft.status).toBe("VERSION_STATUS_DRAFT");

    const withArg = await cli(["draft", "save", "acme-corp:greeter", "--code", "./app", "--dockerfile-path", "Dockerfile", "--build-arg", "APP_ENV=prod"]);
    expect(withArg.exitCode, withArg.stderr).toBe(0);
    expect(withArg.stdout).toMatch(/STATUS\s+draft/);

    const logs = await cli(["draft", "compile-logs", "acme-corp:greeter", "--follow"]);
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/COPY server\.py/);

    const info = await cli(["draft", "info", "acme-corp:greeter", "-o", "json"]);
    expect(JSON.parse(info.stdout).code_kind).toBe("CODE_KIND_UPLOAD_IMAGE");

    const publish = await cli(["draft", "publish", "acme-corp:greeter", "-o", "json"]);
    expect(publish.exitCode, publish.stderr).toBe(0);
    expect(JSON.parse(publish.stdout).version).toBe(1);

    const get = await cli(["app", "get", "acme-corp:greeter", "-o", "json"]);
    const app = JSON.parse(get.stdout);
    expect(app.active_version).toBe(1);
    expect(app.public_urls[0]).toMatch(/^http:\/\/greeter-acme-corp\./);

    const invoke = await cli(["invoke", "acme-corp:greeter", "-p", '{"name": "ada"}']);
    expect(invoke.exitCode, invoke.stderr).toBe(0);
    const answer = JSON.parse(invoke.stdout);
    expect(answer.greeting).toBe("Hello, ada!");
    expect(answer.execution_id).toMatch(ULID);
    expect(answer.function_id).toBe("acme-corp/greeter");
    expect(answer.organization_id).not.toBe("");

    writeFileSync(join(work, "app", "server.py"), readFileSync(join(work, "app", "server.py"), "utf8").replace('GREETING = "Hello"', 'GREETING = "Howdy"'));
    expect((await cli(["draft", "save", "acme-corp:greeter", "--code", "./app", "--dockerfile-path", "Dockerfile"])).exitCode).toBe(0);
    const v2 = await cli(["draft", "publish", "acme-corp:greeter", "-o", "json"]);
    expect(JSON.parse(v2.stdout).version).toBe(2);
    expect(JSON.parse((await cli(["invoke", "acme-corp:greeter", "-p", '{"name": "ada"}'])).stdout).greeting).toBe("Howdy, ada!");

    const versions = await cli(["version", "list", "acme-corp:greeter", "-o", "json"]);
    expect(JSON.parse(versions.stdout).map((v: { version: number; status: string }) => [v.version, v.status])).toEqual([
      [1, "VERSION_STATUS_SUPERSEDED"],
      [2, "VERSION_STATUS_ACTIVE"],
    ]);

    const rollback = await cli(["version", "rollback", "acme-corp:greeter", "1"]);
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    const again = await cli(["invoke", "acme-corp:greeter", "-p", '{"name": "ada"}', "-o", "json"]);
    const framed = JSON.parse(again.stdout);
    expect(framed).toMatchObject({ status_code: 200, version: 1, body: { greeting: "Hello, ada!" } });
    expect(framed.execution_id).toMatch(ULID);

    const list = await cli(["app", "list"]);
    expect(list.stdout).toMatch(/^ID\s+STATE\s+ACTIVE/);
    expect(list.stdout).toMatch(/acme-corp:greeter\s+active\s+1/);
  });

  it.each<[string, string[], Record<string, string>, number, RegExp]>([
    ["unknown app", ["app", "get", "acme-corp:nope"], {}, 5, /not found/],
    ["wrong token", ["app", "list"], { IGNITE_TOKEN: "not-a-token" }, 3, /token/],
    ["another org's app", ["app", "get", "acme-corp:greeter"], { IGNITE_TOKEN: OTHER_TOKEN }, 4, /acme-corp/],
    ["an app that already exists", ["app", "create", "acme-corp:greeter"], {}, 6, /already exists/],
    ["invalid JSON in -p", ["invoke", "acme-corp:greeter", "-p", "{name: ada}"], {}, 2, /--payload is not valid JSON/],
    ["malformed app id", ["app", "get", "acme:corp:greeter"], {}, 2, /malformed app id/],
    ["unknown -o value", ["app", "list", "-o", "xml"], {}, 2, /invalid value "xml" for --output/],
    ["no draft to publish", ["draft", "publish", "acme-corp:empty"], {}, 5, /not found/],
  ])("%s exits %i with one clear line", async (_name, argv, env, code, message) => {
    const result = await cli(argv, env);
    expect(result.exitCode).toBe(code);
    const [first] = withoutTraces(result.stderr);
    expect(first).toMatch(/^Error: /);
    expect(first).toMatch(message);
    expect(result.stdout).toBe("");
    expect(result.stderr).not.toContain(ACME_TOKEN);
  });

  it("prints errors as one JSON object under -o json", async () => {
    const result = await cli(["app", "get", "acme-corp:nope", "-o", "json"]);
    expect(result.exitCode).toBe(5);
    const lines = withoutTraces(result.stderr);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ code: "NOT_FOUND", exit_code: 5 });
  });

  it("draft info says no draft when nothing was saved", async () => {
    expect((await cli(["app", "create", "acme-corp:fresh"])).exitCode).toBe(0);
    const info = await cli(["draft", "info", "acme-corp:fresh", "-o", "json"]);
    expect(JSON.parse(info.stdout)).toEqual({ status: "no draft" });
  });

  it("fails fast with exit 9 when nothing listens at the endpoint", async () => {
    const result = await cli(["app", "list"], { IGNITE_API_ENDPOINT: "127.0.0.1:1" });
    expect(result.exitCode).toBe(9);
    expect(result.stderr).toMatch(/cannot reach the Ignite API at 127.0.0.1:1: connection refused/);
    // fast: a read is retried a bounded number of times (the --debug traces show each), then given up
    const retries = result.stderr.match(/ListApps unavailable; retry \d+\/\d+/g) ?? [];
    expect(retries.length).toBeLessThanOrEqual(3);
  });

  it("refuses to delete without --yes when stdin is not a terminal, and deletes with it", async () => {
    await cli(["app", "create", "acme-corp:doomed"]);
    const refused = await cli(["app", "delete", "acme-corp:doomed"]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/pass --yes/);
    expect((await cli(["app", "get", "acme-corp:doomed"])).exitCode).toBe(0);
    expect((await cli(["app", "delete", "acme-corp:doomed", "--yes"])).exitCode).toBe(0);
    expect((await cli(["app", "get", "acme-corp:doomed"])).exitCode).toBe(5);
  });

  it("accepts global flags before or after the subcommand", async () => {
    const before = await runCli(["ignite", "-o", "json", "--api-endpoint", cp.plane.grpcEndpoint, "--token", ACME_TOKEN, "--debug", "app", "list"], { cwd: work });
    const after = await runCli(["ignite", "app", "list", "-o", "json", "--api-endpoint", cp.plane.grpcEndpoint, "--token", ACME_TOKEN, "--debug"], { cwd: work });
    expect(before.exitCode, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout)).toEqual(JSON.parse(after.stdout));
    expect(before.stderr + after.stderr).not.toContain(ACME_TOKEN);
  });
});

describe("login", () => {
  it("checks the token before saving anything", async () => {
    const home = tempDir("login");
    const bad = await runCli(["ignite", "login", "--token", "wrong-token-123456", "--api-endpoint", cp.plane.grpcEndpoint, "--org", "acme-corp", "--debug"], { home });
    expect(bad.exitCode).toBe(3);
    const file = join(home, ".config", "unified-cli", "config.yaml");
    expect(existsSync(file)).toBe(false);
    const good = await runCli(["ignite", "login", "--token", ACME_TOKEN, "--api-endpoint", cp.plane.grpcEndpoint, "--org", "acme-corp", "--debug"], { home });
    expect(good.exitCode, good.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).toMatch(/org_id: acme-corp/);
    expect(good.stdout + good.stderr).not.toContain(ACME_TOKEN);
    const list = await runCli(["ignite", "app", "list", "-o", "json"], { home });
    expect(list.exitCode, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).map((a: { id: string }) => a.id)).toContain("acme-corp/greeter");
  });
});
