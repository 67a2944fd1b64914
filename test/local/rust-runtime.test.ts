import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkspace, withoutTraces, type Workspace } from "../helpers/workspace.js";
import { doctor } from "../../src/local/doctor.js";
import { appPortAddress } from "../helpers/processes.js";
import { CARGO_TOML, LIB_RS, rustMissing } from "./rust-app.js";

// The Rust managed runtime (reference §5.2, §6.2, §6.3; target native) on the local control plane,
// through the CLI: Cargo.toml + src/lib.rs with an #[ignite::main] handler, built offline by the
// machine's cargo against the bundled `ignite` crate and the packaged crates.
const skip = !!rustMissing && !process.env["CI"];
if (skip) console.warn(`[rust runtime tests skipped] ${rustMissing}`);

let workspace: Workspace;
const cli: Workspace["cli"] = (argv, env, extra) => workspace.cli(argv, env, extra);

describe.skipIf(skip)("the rust managed runtime", () => {
  beforeAll(async () => {
    workspace = await startWorkspace("rust-runtime");
    const dir = (name: string, files: Record<string, string>) => {
      for (const [file, text] of Object.entries(files)) {
        mkdirSync(dirname(join(workspace.work, name, file)), { recursive: true });
        writeFileSync(join(workspace.work, name, file), text);
      }
    };
    dir("hello-rs", { "Cargo.toml": CARGO_TOML, "src/lib.rs": LIB_RS });
    dir("sync-rs", {
      // one parameter, by reference
      "lib.rs": '#[ignite::main]\nfn handler(req: &ignite::Request) -> Result<String, String> {\n    Ok(format!("{} bytes", req.raw().len()))\n}\n',
    });
    dir("broken-rs", { "Cargo.toml": CARGO_TOML, "src/lib.rs": "#[ignite::main]\nfn handler(req: ignite::Request, ctx: ignite::Context) -> Result<i32, ignite::Error> {\n    Ok(nothere)\n}\n" });
    dir("unmarked-rs", { "Cargo.toml": CARGO_TOML, "src/lib.rs": "pub fn handler() {}\n" });
    dir("arity-rs", { "Cargo.toml": CARGO_TOML, "src/lib.rs": "#[ignite::main]\nfn handler() -> Result<i32, String> {\n    Ok(1)\n}\n" });
    dir("remote-rs", { "Cargo.toml": `${CARGO_TOML}reqwest = "0.11"\n`, "src/lib.rs": LIB_RS });
  }, 120_000);

  afterAll(async () => {
    await workspace?.close();
  });

  it("builds the crate with the bundled SDK (adding serde, serde_json, tokio) and serves its async handler with the call's context", async () => {
    const deploy = await cli(["app", "deploy", "acme-corp:hello-rs", "--code", "./hello-rs", "--runtime", "rust", "--rust-target", "native", "-o", "json"]);
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(JSON.parse(deploy.stdout)).toMatchObject({ created: true, version: 1 });
    const logs = (await cli(["draft", "compile-logs", "acme-corp:hello-rs"])).stdout;
    expect(logs).toMatch(/Compiling acme-corp\/hello-rs for the rust managed runtime \(target native\)/);
    expect(logs).toMatch(/adding serde: the app does not list it/);
    expect(logs).toMatch(/adding serde_json: the app does not list it/); // a dev-dependency does not count
    expect(logs).toMatch(/adding tokio/);
    expect(logs).toMatch(/cargo: +Compiling hello-rs v0\.1\.0/);
    expect(logs).toMatch(/Building a static linux binary \(cargo build --release/);

    const invoke = await cli(["invoke", "acme-corp:hello-rs", "-p", '{"name": "ferris"}', "--path", "/greet?who=a%20crab", "-H", "X-Greeting: hi", "-o", "json"]);
    expect(invoke.exitCode, invoke.stderr).toBe(0);
    const result = JSON.parse(invoke.stdout);
    expect(result.status_code).toBe(200);
    expect(result.body).toMatchObject({ hello: "ferris", function_id: "acme-corp/hello-rs", method: "POST", path: "/greet", who: "a crab", header: "hi" });
    expect(result.body.execution_id).toBe(result.execution_id);
    expect((await cli(["app", "logs", "acme-corp:hello-rs"])).stdout).toMatch(/handling ferris/);
    const test = await cli(["version", "test", "acme-corp:hello-rs", "1", "-p", '{"name": "tested"}']);
    expect(test.exitCode, test.stderr).toBe(0);
    expect(test.stdout).toMatch(/^STATUS\s+200$/m);
    expect(test.stdout).toMatch(/"hello":"tested"/);
  }, 300_000);

  it("the SDK's server speaks HTTP/1.1 as a client would: keep-alive, chunked bodies, 413 for a body over 64 MiB", async () => {
    expect((await cli(["invoke", "acme-corp:hello-rs", "-p", '{"name": "up"}'])).exitCode).toBe(0);
    // the one app process running so far, from the host driver's records, and its $PORT (reached
    // through its network namespace's socket when it has one)
    const records = readdirSync(join(workspace.cp.dataDir, "host-processes"));
    expect(records).toHaveLength(1);
    const pid = Number(records[0]!.replace(/\.json$/, ""));
    const port = Number(readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").find((v) => v.startsWith("PORT="))!.slice(5));
    const exchange = (request: string, answers: number) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(appPortAddress(workspace.cp.dataDir, pid, port), () => socket.end(request));
        let text = "";
        socket.on("data", (b) => {
          text += b.toString("latin1");
          if ((text.match(/^HTTP\/1\.1 /gm) ?? []).length >= answers && /\r\n\r\n[\s\S]*\}$/.test(text)) socket.destroy();
        });
        socket.on("close", () => resolve(text));
        socket.on("error", reject);
      });
    const body = '{"name": "chunky"}';
    const chunked = `POST /a HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n${(4).toString(16)}\r\n${body.slice(0, 4)}\r\n${(body.length - 4).toString(16)}\r\n${body.slice(4)}\r\n0\r\n\r\n`;
    const twice = await exchange(chunked + `GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n`, 2);
    expect(twice).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*"hello":"chunky"[\s\S]*HTTP\/1\.1 200 OK\r\n[\s\S]*\{"status":"ok"\}$/);
    const tooLarge = await exchange(`POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${64 * 1024 * 1024 + 1}\r\n\r\n`, 1);
    expect(tooLarge).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n[\s\S]*connection: close[\s\S]*\{"error":"the request body is larger than 64 MiB"\}$/);
  }, 60_000);

  it("an Err, a panic and a body that does not parse are HTTP 500 with the error as JSON, and the server keeps serving", async () => {
    const failed = await cli(["invoke", "acme-corp:hello-rs", "-p", '{"name": "x", "fail": true}', "-o", "json"]);
    expect(failed.exitCode).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ status_code: 500, body: { error: "asked to fail" } });
    const panicked = await cli(["invoke", "acme-corp:hello-rs", "-p", '{"name": "x", "panic": true}', "-o", "json"]);
    expect(JSON.parse(panicked.stdout)).toMatchObject({ status_code: 500, body: { error: "panic: asked to panic" } });
    const unparsed = await cli(["invoke", "acme-corp:hello-rs", "-p", '{"nom": 1}', "-o", "json"]);
    expect(JSON.parse(unparsed.stdout).body.error).toMatch(/the request body is not the expected JSON: missing field `name`/);
    expect((await cli(["invoke", "acme-corp:hello-rs", "-p", '{"name": "again"}'])).stdout).toMatch(/"hello":"again"/);
  }, 60_000);

  it("the documented flow: save a single lib.rs (no Cargo.toml), compile --follow, test, publish; a sync handler's value is its JSON", async () => {
    expect((await cli(["app", "create", "acme-corp:sync-rs"])).exitCode).toBe(0);
    const save = await cli(["draft", "save", "acme-corp:sync-rs", "--code", "./sync-rs/lib.rs", "--runtime", "rust", "--rust-target", "native", "--toolchain", "1.82"]);
    expect(save.exitCode, save.stderr).toBe(0);
    const compile = await cli(["draft", "compile", "acme-corp:sync-rs", "--follow"]);
    expect(compile.exitCode, compile.stderr).toBe(0);
    expect(compile.stdout).toMatch(/no Cargo.toml: creating one for src\/lib.rs/);
    expect(compile.stdout).toMatch(/\[Warning\] toolchain 1\.82 was asked for; this machine builds with rustc \d+\.\d+/);
    const test = await cli(["draft", "test", "acme-corp:sync-rs", "--payload", "12345", "-o", "json"]);
    expect(test.exitCode, test.stderr).toBe(0);
    expect(JSON.parse(test.stdout)).toMatchObject({ status_code: 200 });
    expect((await cli(["draft", "publish", "acme-corp:sync-rs"])).exitCode).toBe(0);
    const invoke = await cli(["invoke", "acme-corp:sync-rs", "-p", "12345", "-o", "json"]);
    expect(JSON.parse(invoke.stdout)).toMatchObject({ status_code: 200, body: "5 bytes" });
  }, 300_000);

  it("deploys examples/hello-rs as the README shows, and with the runtime named by an info.yaml instead of --runtime", async () => {
    cpSync(join(import.meta.dirname, "..", "..", "examples", "hello-rs"), join(workspace.work, "example-rs"), { recursive: true });
    const deploy = await cli(["app", "deploy", "hello-rs", "--code", "./example-rs", "--runtime", "rust", "--rust-target", "native"]);
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    const invoke = await cli(["invoke", "hello-rs", "-p", '{"name": "ferris"}', "-o", "json"]);
    expect(JSON.parse(invoke.stdout).body).toMatchObject({ greeting: "Hello, ferris!" });

    writeFileSync(join(workspace.work, "example-rs", "info.yaml"), "name: hello-rs\nruntime: rust-native\n");
    const declared = await cli(["app", "deploy", "hello-info", "--code", "./example-rs"]);
    expect(declared.exitCode, declared.stderr).toBe(0);
    expect(declared.stderr).toMatch(/^runtime rust \(native\), from info\.yaml$/m);
    expect(JSON.parse((await cli(["invoke", "hello-info", "-p", '{"name": "yaml"}', "-o", "json"])).stdout).body).toMatchObject({ greeting: "Hello, yaml!" });
  }, 300_000);

  it.each([
    ["a compile error", "broken-rs", /cannot find value `nothere`/],
    ["a crate that is not available offline", "remote-rs", /cargo build failed: error: no matching package named `reqwest` found/],
    ["a crate without #\\[ignite::main\\]", "unmarked-rs", /no #\[ignite::main\] handler in the crate's sources/],
    ["a handler without (req, ctx)", "arity-rs", /#\[ignite::main\] goes on the handler function: #\[ignite::main\] fn handler\(req: ignite::Request, ctx: ignite::Context\)/],
  ])("%s fails the build with a reason", async (_name, dir, message) => {
    expect((await cli(["app", "create", `acme-corp:${dir}`])).exitCode).toBe(0);
    const save = await cli(["draft", "save", `acme-corp:${dir}`, "--code", `./${dir}`, "--runtime", "rust"]);
    expect(save.exitCode, save.stderr).toBe(0);
    const logs = await cli(["draft", "compile-logs", `acme-corp:${dir}`, "--follow"]);
    expect(logs.exitCode).not.toBe(0);
    expect(withoutTraces(logs.stderr).join("\n")).toMatch(message);
  }, 300_000);

  it("the wasm target is refused with what to use instead", async () => {
    expect((await cli(["app", "create", "acme-corp:wasm-rs"])).exitCode).toBe(0);
    const save = await cli(["draft", "save", "acme-corp:wasm-rs", "--code", "./hello-rs", "--runtime", "rust", "--rust-target", "wasm"]);
    expect(save.exitCode).not.toBe(0);
    expect(save.stdout).not.toMatch(/saved/);
    expect(save.stderr).toMatch(/wasm target is not available on the local control plane \(its native target is: --rust-target native\)/);
  }, 60_000);

  it("dev doctor reports the toolchain, and names the packages when the crates are missing", async () => {
    const found = (await doctor()).runtimes.find((r) => r.runtime === "rust")!;
    expect(found).toMatchObject({ tool: "cargo", version: expect.stringMatching(/^cargo \d+\.\d+/), fix: "" });
    const noCrates = (await doctor({ env: { ...process.env, IGNITE_CARGO_REGISTRY: "/nonexistent/crates" } })).runtimes.find((r) => r.runtime === "rust")!;
    expect(noCrates).toMatchObject({ tool: "the crates in /nonexistent/crates", version: "" });
    expect(noCrates.fix).toMatch(/^apt-get install -y --no-install-recommends librust-serde-dev .*librust-tokio-dev$/);
  }, 60_000);
});
