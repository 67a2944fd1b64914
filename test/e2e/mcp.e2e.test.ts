import { spawn, type ChildProcess } from "node:child_process";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ToolListChangedNotificationSchema, type CallToolResult, type Tool } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appDeployCommand } from "../../src/cli/commands/app/deploy.js";
import { invokeCommand } from "../../src/cli/commands/invoke.js";
import { commandTool } from "../../src/cli/mcp/command-tools.js";
import { TIER_NAMES } from "../../src/core/flag-choices.js";
import { tempDir } from "../helpers/temp-dirs.js";

const repo = join(import.meta.dirname, "..", "..");
const dodil = join(repo, "bin", "dodil.js");
const TOKEN = "e2e-mcp-token-3b8f1d6a9c2e4f70";
const OTHER_TOKEN = "e2e-mcp-other-7a2c9e4b1d3f5a80";

let plane: ChildProcess;
let work: string;
let planeEnv: Record<string, string>;
let client: Client;
/** Everything the server sent this client (results and notifications), for the token check. */
const received: unknown[] = [];
let listChanged = 0;

async function connect(token: string): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [dodil, "mcp"],
    cwd: work,
    env: { ...planeEnv, IGNITE_TOKEN: token },
    stderr: "pipe",
  });
  const mcp = new Client({ name: "e2e", version: "1.0.0" });
  await mcp.connect(transport);
  return mcp;
}

async function call(name: string, args: Record<string, unknown>, onprogress?: (p: { message?: string }) => void): Promise<CallToolResult> {
  const result = (await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000, ...(onprogress ? { onprogress } : {}) })) as CallToolResult;
  received.push(result);
  return result;
}

beforeAll(async () => {
  work = tempDir("e2e-mcp");
  cpSync(join(repo, "examples", "greeter"), join(work, "app"), { recursive: true });
  const base = { PATH: process.env.PATH ?? "", HOME: work, DODIL_CONFIG_DIR: join(work, "config") };
  plane = spawn(
    process.execPath,
    [dodil, "ignite", "dev", "--listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--data-dir", join(work, "data"), "--driver", "host", "--token", `acme-corp=${TOKEN}`, "--token", `other-org=${OTHER_TOKEN}`, "-o", "json"],
    { env: base, stdio: ["ignore", "pipe", "pipe"] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: plane.stdout! }).once("line", resolve);
    plane.once("exit", (code) => reject(new Error(`dev exited early with ${code}`)));
  });
  const ready = JSON.parse(line) as { grpc_endpoint: string };
  planeEnv = { ...base, IGNITE_API_ENDPOINT: ready.grpc_endpoint, IGNITE_DEBUG: "true" };
  client = await connect(TOKEN);
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    listChanged += 1;
  });
}, 120_000);

afterAll(async () => {
  await client?.close();
  if (!plane || plane.exitCode !== null || plane.signalCode !== null) return;
  const exited = new Promise((resolve) => plane.once("exit", resolve));
  plane.kill("SIGKILL");
  await exited;
});

describe("e2e: dodil mcp driven by the SDK's client over stdio", () => {
  let tools: Tool[];

  it("lists one tool per command, with schemas from the command definitions", async () => {
    tools = (await client.listTools()).tools;
    received.push(tools);
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["ignite_app_deploy", "ignite_draft_save", "ignite_app_list", "ignite_invoke", "ignite_config_context_create"]));
    expect(names).not.toContain("ignite_dev");
    const deploy = tools.find((t) => t.name === "ignite_app_deploy")!;
    expect(deploy.inputSchema).toEqual(JSON.parse(JSON.stringify(commandTool(["app", "deploy"], appDeployCommand).inputSchema)));
    const props = deploy.inputSchema.properties as Record<string, { type?: string; enum?: string[]; description?: string; items?: unknown }>;
    expect(props.tier).toMatchObject({ type: "string", enum: [...TIER_NAMES] });
    expect(props.memory?.type).toBe("integer");
    expect(props.env).toMatchObject({ type: "array", items: { type: "string" } });
    expect(props.env_file).toMatchObject({ type: "array" });
    expect(props.allow_unauthenticated?.type).toBe("boolean");
    expect(props.code?.description).toBe(appDeployCommand.options?.find((o) => o.flags.includes("--code"))?.description);
    const invoke = tools.find((t) => t.name === "ignite_invoke")!;
    expect(invoke.inputSchema).toEqual(JSON.parse(JSON.stringify(commandTool(["invoke"], invokeCommand).inputSchema)));
    expect(tools.find((t) => t.name === "ignite_app_delete")).toMatchObject({ annotations: { destructiveHint: true }, inputSchema: { required: ["id", "yes"] } });
    expect(tools.find((t) => t.name === "ignite_app_list")?.annotations?.destructiveHint).toBe(false);
  });

  it("deploys the greeter with ignite_app_deploy, reporting progress", async () => {
    const progress: string[] = [];
    const result = await call(
      "ignite_app_deploy",
      {
        name: "greeter",
        code: "./app",
        dockerfile_path: "Dockerfile",
        description: "says hello",
        mcp_enabled: true,
        input_schema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
      },
      (p) => progress.push(p.message ?? ""),
    );
    expect(result.isError, JSON.stringify(result)).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ app_id: "acme-corp/greeter", created: true, version: 1 });
    expect((result.content[0] as { text: string }).text).toMatch(/^APP\s+acme-corp:greeter/m);
    expect(progress).toEqual(expect.arrayContaining([expect.stringMatching(/^Creating/), expect.stringMatching(/^Saving the draft/), expect.stringMatching(/^Publishing/)]));
  });

  it("tells the client the tool list changed, and lists the app's own MCP tool", async () => {
    await expect.poll(() => listChanged).toBeGreaterThan(0);
    const listed = (await client.listTools()).tools;
    const appTool = listed.find((t) => t.name === "ignite_acme-corp_greeter");
    expect(appTool).toMatchObject({ description: "says hello", inputSchema: { type: "object", required: ["name"] } });
  });

  it("invokes the greeter with ignite_invoke and through its own tool", async () => {
    const invoked = await call("ignite_invoke", { id: "greeter", payload: { name: "ada" } });
    expect(invoked.isError, JSON.stringify(invoked)).toBeFalsy();
    expect(invoked.structuredContent).toMatchObject({ status_code: 200, body: { greeting: "Hello, ada!" } });
    const viaApp = await call("ignite_acme-corp_greeter", { name: "grace" });
    expect(viaApp.isError, JSON.stringify(viaApp)).toBeFalsy();
    expect(viaApp.structuredContent).toMatchObject({ status_code: 200, body: { greeting: "Hello, grace!" } });
  });

  it("a missing app is a tool error with exit code 5", async () => {
    const result = await call("ignite_app_get", { id: "no-such-app" });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ error: { code: "NOT_FOUND", exit_code: 5 } });
    expect((result.content[0] as { text: string }).text).toMatch(/no-such-app/);
  });

  it("refuses a delete without yes: true, and the app is still there", async () => {
    const refused = await call("ignite_app_delete", { id: "greeter" });
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toMatchObject({ error: { code: "USAGE", exit_code: 2 } });
    expect((refused.content[0] as { text: string }).text).toMatch(/"yes": true/);
    const still = await call("ignite_app_get", { id: "greeter" });
    expect(still.structuredContent).toMatchObject({ id: "acme-corp/greeter" });
  });

  it("input the schema does not allow is a tool error naming it", async () => {
    const result = await call("ignite_app_list", { limt: 3 });
    expect(result.structuredContent).toMatchObject({ error: { code: "USAGE", exit_code: 2 } });
    expect((result.content[0] as { text: string }).text).toMatch(/"limt"/);
  });

  it("another organization sees neither the app nor its tool", async () => {
    const other = await connect(OTHER_TOKEN);
    try {
      const listed = (await other.listTools()).tools.map((t) => t.name);
      expect(listed).toContain("ignite_app_list");
      expect(listed).not.toContain("ignite_acme-corp_greeter");
      const result = (await other.callTool({ name: "ignite_acme-corp_greeter", arguments: { name: "eve" } })) as CallToolResult;
      expect(result.isError).toBe(true);
      const get = (await other.callTool({ name: "ignite_app_get", arguments: { id: "acme-corp:greeter" } })) as CallToolResult;
      expect(get.isError).toBe(true);
      received.push(result, get);
    } finally {
      await other.close();
    }
  });

  it("never sends the token, even when a command would echo it", async () => {
    const echoed = await call("ignite_config_set", { key: "org_name", value: TOKEN });
    expect(JSON.stringify(echoed)).toContain("[redacted]");
    await call("ignite_config_unset", { key: "org_name", yes: true });
    await call("ignite_config_view", {});
    for (const message of received) expect(JSON.stringify(message)).not.toContain(TOKEN);
  });
});

describe("e2e: dodil mcp given hostile input on stdin", () => {
  function rawServer(): { child: ChildProcess; lines: string[]; exited: Promise<number | null> } {
    const child = spawn(process.execPath, [dodil, "mcp"], { cwd: work, env: { ...planeEnv, IGNITE_TOKEN: TOKEN }, stdio: ["pipe", "pipe", "pipe"] });
    const lines: string[] = [];
    createInterface({ input: child.stdout! }).on("line", (line) => lines.push(line));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    // Writes after the server has ended the session fail with EPIPE: expected here.
    child.stdin!.on("error", () => {});
    return { child, lines, exited };
  }

  it("answers after garbage, unknown methods and bad params, and never echoes the token", async () => {
    const { child, lines, exited } = rawServer();
    child.stdin!.write("this is not JSON\n");
    child.stdin!.write('{"jsonrpc":"2.0","id":1,"method":"no/such/method"}\n');
    child.stdin!.write('{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}\n');
    child.stdin!.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
    child.stdin!.write(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"ignite_app_get","arguments":{"id":"${"x".repeat(5000)}"}}}\n`);
    child.stdin!.write('{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"ignite_nope","arguments":"not an object"}}\n');
    await expect.poll(() => lines.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(4);
    const byId = new Map(lines.map((l) => JSON.parse(l) as { id?: number; error?: unknown; result?: { isError?: boolean } }).map((m) => [m.id, m]));
    expect(byId.get(1)?.error).toBeDefined();
    expect(byId.get(2)?.result).toBeDefined();
    expect(byId.get(3)?.result?.isError).toBe(true);
    expect(byId.get(4)?.error ?? byId.get(4)?.result?.isError).toBeTruthy();
    for (const line of lines) expect(line).not.toContain(TOKEN);
    child.stdin!.end();
    expect(await exited).toBe(0);
  });

  it("refuses a message over the size bound by ending the session", async () => {
    const { child, lines, exited } = rawServer();
    child.stdin!.write('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"');
    child.stdin!.write("a".repeat(5 * 1024 * 1024));
    await exited;
    expect(lines).toEqual([]);
  });
});
