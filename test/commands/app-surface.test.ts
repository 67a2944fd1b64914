import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../helpers/fake-clock.js";
import { startWorkspace, withoutTraces, type Workspace } from "../helpers/workspace.js";

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
let workspace: Workspace;
let work: string;

beforeAll(async () => {
  workspace = await startWorkspace("surface");
  ({ work } = workspace);
  mkdirSync(join(work, "fn"));
  writeFileSync(
    join(work, "fn", "handler.py"),
    ['import json', '', 'def handler(payload, ctx):', '    body = json.loads(payload or b"{}")', '    print("handling", body.get("name"), flush=True)', '    if body.get("fail"):', '        raise ValueError("asked to fail")', '    return {"hello": body.get("name", "world"), "execution_id": ctx["execution_id"]}', ""].join("\n"),
  );
});

afterAll(async () => {
  await workspace?.close();
});

const cli: Workspace["cli"] = (argv, env, extra) => workspace.cli(argv, env, extra);

describe("app deploy", () => {
  it("creates, saves and publishes a managed-runtime app in one step and prints its URL", async () => {
    const deploy = await cli(["app", "deploy", "acme-corp:hello", "--code", "./fn", "--runtime", "python", "--tier", "small", "--allow-unauthenticated", "--env", "A=1", "--env", "B=2"]);
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(deploy.stdout).toMatch(/^APP\s+acme-corp:hello$/m);
    expect(deploy.stdout).toMatch(/^VERSION\s+1$/m);
    expect(deploy.stdout).toMatch(/^URL\s+http:\/\/hello-acme-corp\./m);
    expect(deploy.stderr).toMatch(/created and deployed acme-corp:hello version 1/);

    const app = JSON.parse((await cli(["app", "get", "acme-corp:hello", "-o", "json"])).stdout);
    expect(app).toMatchObject({ active_version: 1, env: { A: "1", B: "2" }, allow_unauthenticated: true, resource_tier: "RESOURCE_TIER_SMALL", deployment_mode: "DEPLOYMENT_MODE_COMPILE" });

    const invoke = await cli(["invoke", "acme-corp:hello", "-p", '{"name": "ada"}']);
    expect(invoke.exitCode, invoke.stderr).toBe(0);
    expect(JSON.parse(invoke.stdout)).toMatchObject({ hello: "ada" });
  });

  it("updates an existing app on redeploy, replaces the env and says which keys it dropped", async () => {
    const again = await cli(["app", "deploy", "acme-corp:hello", "--code", "./fn", "--runtime", "python", "--env", "A=3", "-o", "json"]);
    expect(again.exitCode, again.stderr).toBe(0);
    const result = JSON.parse(again.stdout);
    expect(result).toMatchObject({ app_id: "acme-corp/hello", created: false, version: 2 });
    expect(result.url).toMatch(/^http:\/\/hello-acme-corp\./);
    expect(again.stderr).toMatch(/this deploy removed env B/);
    const app = JSON.parse((await cli(["app", "get", "acme-corp:hello", "-o", "json"])).stdout);
    expect(app.env).toEqual({ A: "3" });
    expect(app.allow_unauthenticated).toBe(true);
  });

  it("deploys a Dockerfile app with --health-path and --build-arg", async () => {
    const deploy = await cli(["app", "deploy", "acme-corp:greeter", "--code", "./app", "--dockerfile-path", "Dockerfile", "--health-path", "/health", "--build-arg", "APP_ENV=prod", "-o", "json"]);
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(JSON.parse(deploy.stdout)).toMatchObject({ created: true, version: 1, app: { health_path: "/health" } });
  });

  it.each<[string, string[], RegExp]>([
    ["no source", ["app", "deploy", "acme-corp:x"], /no source given/],
    ["two sources", ["app", "deploy", "acme-corp:x", "--code", "./fn", "--image-ref", "a/b:1"], /cannot be used together/],
    ["a bad tier", ["app", "deploy", "acme-corp:x", "--code", "./fn", "--runtime", "python", "--tier", "huge"], /invalid value "huge" for --tier/],
    ["a bad env", ["app", "deploy", "acme-corp:x", "--code", "./fn", "--runtime", "python", "--env", "NOVALUE"], /invalid --env "NOVALUE"/],
    ["a missing --code path", ["app", "deploy", "acme-corp:x", "--code", "./nope"], /--code \.\/nope does not exist/],
    ["a bad health path", ["app", "deploy", "acme-corp:x", "--code", "./fn", "--runtime", "python", "--health-path", "healthz"], /--health-path: it must start with \//],
  ])("rejects %s with exit 2 before any network call", async (_name, argv, message) => {
    const result = await cli(argv);
    expect(result.exitCode).toBe(2);
    expect(withoutTraces(result.stderr)[0]).toMatch(message);
    expect(result.stderr).not.toMatch(/\[debug\]/);
    expect(result.stdout).toBe("");
  });
});

describe("app create / update: storage, scaling, schema and MCP flags", () => {
  it("stores the documented flags", async () => {
    const create = await cli([
      "app", "create", "acme-corp:cfg", "--storage-mode", "ttl", "--ttl", "600", "--auto-mode", "tier-only", "--max-replicas", "3",
      "--mcp-enabled", "--input-schema", '{"type":"object"}', "--output-schema", '{"type":"string"}', "--runtime", "python",
    ]);
    expect(create.exitCode, create.stderr).toBe(0);
    expect(create.stderr).toMatch(/Warning: --runtime, --rust-target and --toolchain on `app create` are only stored as metadata/);
    const app = JSON.parse((await cli(["app", "get", "acme-corp:cfg", "-o", "json"])).stdout);
    expect(app).toMatchObject({
      storage_mode: "STORAGE_MODE_TTL",
      ttl_seconds: 600,
      mcp_enabled: true,
      input_schema: '{"type":"object"}',
      output_schema: '{"type":"string"}',
      scaling: { max_replicas: 3, autonomous_mode: "AUTONOMOUS_SCALING_MODE_TIER_ONLY" },
    });
  });

  it("keeps the scaling fields an update does not name, and turns MCP off with --no-mcp-enabled", async () => {
    const update = await cli(["app", "update", "acme-corp:cfg", "--reserved", "1", "--no-mcp-enabled", "--storage-mode", "ephemeral", "-o", "wide"]);
    expect(update.exitCode, update.stderr).toBe(0);
    expect(update.stdout).toMatch(/^MCP\s+disabled$/m);
    expect(update.stdout).toMatch(/^SCALING\s+max 3, reserved 1, auto tier-only$/m);
    const app = JSON.parse((await cli(["app", "get", "acme-corp:cfg", "-o", "json"])).stdout);
    expect(app).toMatchObject({ storage_mode: "STORAGE_MODE_EPHEMERAL", mcp_enabled: false, scaling: { max_replicas: 3, reserved_capacity: 1, autonomous_mode: "AUTONOMOUS_SCALING_MODE_TIER_ONLY" } });
  });

  it.each<[string, string[], RegExp]>([
    ["a bad storage mode", ["app", "create", "acme-corp:bad", "--storage-mode", "disk"], /invalid value "disk" for --storage-mode: use persistent, ephemeral, ttl/],
    ["--ttl without ttl mode", ["app", "create", "acme-corp:bad", "--ttl", "60"], /--ttl needs --storage-mode ttl/],
    ["ttl mode without --ttl", ["app", "create", "acme-corp:bad", "--storage-mode", "ttl"], /--storage-mode ttl needs --ttl/],
    ["--ttl with another mode", ["app", "update", "acme-corp:cfg", "--storage-mode", "persistent", "--ttl", "5"], /--ttl only applies to --storage-mode ttl/],
    ["a non-numeric --ttl", ["app", "create", "acme-corp:bad", "--storage-mode", "ttl", "--ttl", "1h"], /invalid value "1h" for --ttl/],
    ["a bad auto mode", ["app", "update", "acme-corp:cfg", "--auto-mode", "always"], /invalid value "always" for --auto-mode: use disabled, enabled, tier-only, scale-only/],
    ["an input schema that is not JSON", ["app", "create", "acme-corp:bad", "--input-schema", "{type: object}"], /--input-schema is not valid JSON/],
    ["an output schema that is not an object", ["app", "update", "acme-corp:cfg", "--output-schema", "[1]"], /--output-schema must be a JSON Schema object/],
  ])("rejects %s (exit 2)", async (_name, argv, message) => {
    const result = await cli(argv);
    expect(result.exitCode).toBe(2);
    expect(withoutTraces(result.stderr)[0]).toMatch(message);
  });
});

describe("app logs", () => {
  it("prints the app's output, as JSON too, and filters by replica and time", async () => {
    const logs = await cli(["app", "logs", "acme-corp:hello"]);
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/handling ada/);
    const json = JSON.parse((await cli(["app", "logs", "acme-corp:hello", "--limit", "5", "-o", "json"])).stdout);
    expect(json.length).toBeGreaterThan(0);
    expect(json.length).toBeLessThanOrEqual(5);
    expect(json[0]).toMatchObject({ stream: expect.stringMatching(/^std(out|err)$/), replica_id: expect.any(String) });
    const none = JSON.parse((await cli(["app", "logs", "acme-corp:hello", "--replica", "no-such-replica", "-o", "json"])).stdout);
    expect(none).toEqual([]);
    const recent = JSON.parse((await cli(["app", "logs", "acme-corp:hello", "--since", "1ms", "-o", "json"])).stdout);
    expect(recent.length).toBeLessThan(json.length + 100);
  });

  it("--follow streams the backlog and new lines; --timeout ends it cleanly", async () => {
    // The follow's --timeout runs on this clock: it runs out when the test moves time, after the line it waits for arrived.
    const clock = new FakeClock();
    let stdout = "";
    let printed!: () => void;
    const backlog = new Promise<void>((resolve) => (printed = resolve));
    let arrived!: () => void;
    const followerLine = new Promise<void>((resolve) => (arrived = resolve));
    const onStdout = (chunk: string) => {
      stdout += chunk;
      printed();
      if (/handling follower/.test(stdout)) arrived();
    };
    const follow = cli(["app", "logs", "acme-corp:hello", "--follow", "--timeout", "3s", "-o", "json"], {}, { onStdout, clock });
    // The backlog is printed after the server subscribed to new lines: from here on, nothing is missed.
    await backlog;
    await cli(["invoke", "acme-corp:hello", "-p", '{"name": "follower"}']);
    await followerLine;
    expect(clock.pendingTimeouts()).toBe(1); // the --timeout, not yet run out
    clock.advance(2_999);
    expect(clock.pendingTimeouts()).toBe(1); // 3s means 3s
    clock.advance(1);
    const result = await follow;
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.some((l) => /handling follower/.test(l.message))).toBe(true);
    expect(result.stderr).toMatch(/stopped following after 3s/);
  });

  it.each<[string, string[], number, RegExp]>([
    ["a bad --limit", ["app", "logs", "acme-corp:hello", "--limit", "0"], 2, /invalid value "0" for --limit/],
    ["a bad --since", ["app", "logs", "acme-corp:hello", "--since", "yesterday"], 2, /invalid duration "yesterday" for --since/],
    ["an unknown app", ["app", "logs", "acme-corp:nope"], 5, /not found/],
  ])("rejects %s", async (_name, argv, code, message) => {
    const result = await cli(argv);
    expect(result.exitCode).toBe(code);
    expect(withoutTraces(result.stderr)[0]).toMatch(message);
  });
});

describe("draft compile / draft test", () => {
  it("compiles a saved draft, tests it without publishing, and follows the compile", async () => {
    writeFileSync(join(work, "fn", "handler.py"), readFileSync(join(work, "fn", "handler.py"), "utf8").replace('"hello"', '"hi"'));
    expect((await cli(["draft", "save", "acme-corp:hello", "--code", "./fn", "--runtime", "python"])).exitCode).toBe(0);
    const compile = await cli(["draft", "compile", "acme-corp:hello", "-o", "json"]);
    expect(compile.exitCode, compile.stderr).toBe(0);
    expect(JSON.parse(compile.stdout).deploy_id).not.toBe("");
    const follow = await cli(["draft", "compile", "acme-corp:hello", "--follow"]);
    expect(follow.exitCode, follow.stderr).toBe(0);
    expect(follow.stderr).toMatch(/compile succeeded/);

    const test = await cli(["draft", "test", "acme-corp:hello", "--payload", '{"name": "draft"}', "-o", "json"]);
    expect(test.exitCode, test.stderr).toBe(0);
    const answer = JSON.parse(test.stdout);
    expect(answer).toMatchObject({ status_code: 200, body: { hi: "draft" } });
    expect(answer.execution_id).toMatch(ULID);
    // The serving version is untouched.
    expect(JSON.parse((await cli(["invoke", "acme-corp:hello", "-p", '{"name": "live"}'])).stdout)).toMatchObject({ hello: "live" });
  });

  it("prints a 5xx answer and exits 1", async () => {
    const test = await cli(["draft", "test", "acme-corp:hello", "-p", '{"fail": true}']);
    expect(test.exitCode).toBe(1);
    expect(test.stdout).toMatch(/^STATUS\s+500$/m);
    expect(test.stdout).toMatch(/asked to fail/);
    expect(withoutTraces(test.stderr)[0]).toMatch(/the draft of acme-corp:hello answered HTTP 500/);
  });

  it.each<[string, string[], number, RegExp]>([
    ["invalid JSON", ["draft", "test", "acme-corp:hello", "-p", "{nope}"], 2, /--payload is not valid JSON/],
    ["both payload flags", ["draft", "test", "acme-corp:hello", "-p", "{}", "--payload-file", "x.json"], 2, /cannot be used together/],
    ["a missing payload file", ["draft", "test", "acme-corp:hello", "--payload-file", "missing.json"], 2, /--payload-file missing.json cannot be read: ENOENT/],
    ["an app without a draft (failed precondition)", ["draft", "compile", "acme-corp:cfg"], 1, /has no draft/],
  ])("rejects %s", async (_name, argv, code, message) => {
    const result = await cli(argv);
    expect(result.exitCode).toBe(code);
    expect(withoutTraces(result.stderr)[0]).toMatch(message);
  });
});

describe("version code / version test", () => {
  it("downloads the active version's snapshot to a file and extracts a version into a directory", async () => {
    const file = await cli(["version", "code", "acme-corp:greeter", "-o", "json"]);
    expect(file.exitCode, file.stderr).toBe(0);
    const saved = JSON.parse(file.stdout);
    expect(saved).toMatchObject({ version: 1, file: "greeter-v1.tar.gz", content_type: "application/gzip" });
    expect(existsSync(join(work, "greeter-v1.tar.gz"))).toBe(true);

    const again = await cli(["version", "code", "acme-corp:greeter"]);
    expect(again.exitCode).toBe(2);
    expect(withoutTraces(again.stderr)[0]).toMatch(/greeter-v1.tar.gz already exists: pass --force/);
    expect((await cli(["version", "code", "acme-corp:greeter", "--force"])).exitCode).toBe(0);

    const dir = await cli(["version", "code", "acme-corp:greeter", "--version", "1", "-O", "v1"]);
    expect(dir.exitCode, dir.stderr).toBe(0);
    expect(readdirSync(join(work, "v1")).sort()).toEqual(["Dockerfile", "requirements.txt", "server.py"]);
    expect(readFileSync(join(work, "v1", "server.py"), "utf8")).toBe(readFileSync(join(work, "app", "server.py"), "utf8"));

    const nonEmpty = await cli(["version", "code", "acme-corp:greeter", "-O", "v1"]);
    expect(nonEmpty.exitCode).toBe(2);
    expect(withoutTraces(nonEmpty.stderr)[0]).toMatch(/-O v1 is not empty/);
  });

  it("extracts a single-file snapshot as one file", async () => {
    writeFileSync(join(work, "single.py"), "def handler(payload, ctx):\n    return 'one'\n");
    expect((await cli(["app", "deploy", "acme-corp:single", "--code", "./single.py"])).exitCode).toBe(0);
    const dir = await cli(["version", "code", "acme-corp:single", "-O", "single-src"]);
    expect(dir.exitCode, dir.stderr).toBe(0);
    expect(readdirSync(join(work, "single-src")).length).toBe(1);
  });

  it("tests one published version", async () => {
    const test = await cli(["version", "test", "acme-corp:hello", "1", "-p", '{"name": "v1"}']);
    expect(test.exitCode, test.stderr).toBe(0);
    expect(test.stdout).toMatch(/^STATUS\s+200$/m);
    expect(test.stdout).toMatch(/"hello": "v1"/);
  });

  it.each<[string, string[], number, RegExp]>([
    ["a bad --version", ["version", "code", "acme-corp:greeter", "--version", "latest"], 2, /invalid version "latest"/],
    ["both targets", ["version", "code", "acme-corp:greeter", "--output-file", "a.tgz", "-O", "d"], 2, /cannot be used together/],
    ["an unknown version", ["version", "code", "acme-corp:greeter", "--version", "9", "--output-file", "nine.tgz"], 5, /not found|version 9/],
    ["a version test of an unknown version", ["version", "test", "acme-corp:hello", "9", "-p", "{}"], 5, /9/],
    ["a version test with a bad version", ["version", "test", "acme-corp:hello", "x"], 2, /invalid version "x"/],
  ])("rejects %s", async (_name, argv, code, message) => {
    const result = await cli(argv);
    expect(result.exitCode).toBe(code);
    expect(withoutTraces(result.stderr)[0]).toMatch(message);
  });
});

describe("invoke --async and execution get|watch|logs|list", () => {
  it("queues a call, watches it to the end, and shows it and its logs", async () => {
    const queued = await cli(["invoke", "acme-corp:hello", "--async", "-p", '{"name": "async"}']);
    expect(queued.exitCode, queued.stderr).toBe(0);
    const id = queued.stdout.trim();
    expect(id).toMatch(ULID);

    const watch = await cli(["exec", "watch", id]);
    expect(watch.exitCode, watch.stderr).toBe(0);
    expect(watch.stdout).toMatch(/^STATUS\s+succeeded$/m);
    expect(watch.stderr).toMatch(/succeeded/);

    const get = await cli(["execution", "get", id, "-o", "json"]);
    expect(get.exitCode, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({ execution_id: id, app_id: "acme-corp/hello", status: "EXECUTION_STATUS_SUCCEEDED", status_code: 200, result: { hello: "async" } });

    const logs = await cli(["execution", "logs", id]);
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/handling async/);
    expect(logs.stderr).toMatch(/concurrent calls' lines are included/);
  });

  it("watch exits 1 when the execution failed, and streams JSON lines", async () => {
    const id = JSON.parse((await cli(["invoke", "acme-corp:hello", "--async", "-p", '{"fail": true}', "-o", "json"])).stdout).execution_id;
    const watch = await cli(["execution", "watch", id, "-o", "json"]);
    expect(watch.exitCode).toBe(1);
    const states = watch.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(states.at(-1)).toMatchObject({ status: "EXECUTION_STATUS_FAILED", status_code: 500 });
    expect(JSON.parse(withoutTraces(watch.stderr)[0] as string)).toMatchObject({ code: "FAILURE", exit_code: 1 });
  });

  it("stream prints the app's output, then the result on stdout and the outcome on stderr", async () => {
    const id = (await cli(["invoke", "acme-corp:hello", "--async", "-p", '{"name": "streamed"}'])).stdout.trim();
    const stream = await cli(["execution", "stream", id]);
    expect(stream.exitCode, stream.stderr).toBe(0);
    const output = stream.stdout.indexOf("handling streamed");
    expect(output).toBeGreaterThanOrEqual(0);
    // The result comes after the output, as the body the app returned.
    expect(stream.stdout.indexOf('"hello": "streamed"')).toBeGreaterThan(output);
    expect(withoutTraces(stream.stderr).join("\n")).toMatch(new RegExp(`execution ${id} succeeded \\(HTTP 200\\)`));
  });

  it("stream exits 1 for a failed execution and emits typed JSON lines, the execution last", async () => {
    const id = (await cli(["invoke", "acme-corp:hello", "--async", "-p", '{"fail": true}'])).stdout.trim();
    const stream = await cli(["exec", "stream", id, "-o", "json"]);
    expect(stream.exitCode).toBe(1);
    const events = stream.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(events.filter((e) => e.type === "log").map((e) => e.message)).toContain("handling None");
    expect(events.at(-1)).toMatchObject({ type: "execution", execution_id: id, status: "EXECUTION_STATUS_FAILED", status_code: 500 });
    expect(events.slice(0, -1).every((e) => e.type === "log")).toBe(true);
    expect(JSON.parse(withoutTraces(stream.stderr)[0] as string)).toMatchObject({ code: "FAILURE", exit_code: 1 });
  });

  it("execution list prints the documented unsupported-runtime error (exit 1)", async () => {
    const list = await cli(["execution", "list", "acme-corp:hello"]);
    expect(list.exitCode).toBe(1);
    expect(withoutTraces(list.stderr)[0]).toMatch(/^Error: execution list is not supported for acme-corp:hello: unsupported runtime/);
    expect(list.stdout).toBe("");
  });

  it.each<[string, string[], number, RegExp]>([
    ["a malformed execution id", ["execution", "get", "not-an-id"], 2, /malformed execution id "not-an-id"/],
    ["an unknown execution", ["execution", "get", "01J9Z8X4K2M3N4P5Q6R7S8T9VW"], 5, /not found/],
    ["a watch of an unknown execution", ["execution", "watch", "01J9Z8X4K2M3N4P5Q6R7S8T9VW"], 5, /not found/],
    ["a stream of an unknown execution", ["execution", "stream", "01J9Z8X4K2M3N4P5Q6R7S8T9VW"], 5, /not found/],
    ["a stream with a malformed id", ["execution", "stream", "42"], 2, /malformed execution id "42"/],
    ["--async on an unpublished app", ["invoke", "acme-corp:cfg", "--async"], 1, /publish/],
  ])("rejects %s", async (_name, argv, code, message) => {
    const result = await cli(argv);
    expect(result.exitCode).toBe(code);
    expect(withoutTraces(result.stderr)[0]).toMatch(message);
  });
});
