import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commandPaths } from "../../src/cli/command-spec.js";
import { appDeleteCommand } from "../../src/cli/commands/app/delete.js";
import { appDeployCommand } from "../../src/cli/commands/app/deploy.js";
import { appLogsCommand } from "../../src/cli/commands/app/logs.js";
import { igniteCommands } from "../../src/cli/commands/index.js";
import { invokeCommand } from "../../src/cli/commands/invoke.js";
import { versionRollbackCommand } from "../../src/cli/commands/version/rollback.js";
import { MCP_EXCLUDED, commandTool, commandTools, toArgv, toolName } from "../../src/cli/mcp/command-tools.js";
import { redact } from "../../src/cli/mcp/server.js";
import { AUTO_MODE_NAMES } from "../../src/core/flag-choices.js";

describe("MCP tools from the command registry", () => {
  const tools = commandTools(igniteCommands);

  it("maps every leaf command to a tool, or to the documented exclusion list", () => {
    const toolPaths = new Set(tools.map((t) => t.path.join(" ")));
    for (const { path } of commandPaths(igniteCommands)) {
      const key = path.join(" ");
      expect(toolPaths.has(key) || MCP_EXCLUDED[key] !== undefined, key).toBe(true);
      expect(toolPaths.has(key) && MCP_EXCLUDED[key] !== undefined, key).toBe(false);
    }
    // Every exclusion names a real command (a renamed one would leave a stale line).
    const leaves = new Set(commandPaths(igniteCommands).map(({ path }) => path.join(" ")));
    for (const key of Object.keys(MCP_EXCLUDED)) expect(leaves.has(key), key).toBe(true);
  });

  it("docs/mcp.md lists exactly the excluded commands, with their reasons", () => {
    const doc = readFileSync(join(import.meta.dirname, "..", "..", "docs", "mcp.md"), "utf8");
    const block = /<!-- mcp-excluded:start -->\n([\s\S]*?)<!-- mcp-excluded:end -->/.exec(doc)?.[1] ?? "";
    const listed = block.trim().split("\n").map((line) => /^- `([^`]+)`: (.*)$/.exec(line)?.slice(1));
    expect(listed).toEqual(Object.entries(MCP_EXCLUDED));
  });

  it("names tools by path, uniquely", () => {
    expect(toolName(["app", "deploy"])).toBe("ignite_app_deploy");
    expect(toolName(["draft", "compile-logs"])).toBe("ignite_draft_compile_logs");
    expect(new Set(tools.map((t) => t.name)).size).toBe(tools.length);
    for (const tool of tools) expect(tool.name).toMatch(/^[A-Za-z0-9_]{1,64}$/);
  });

  it("builds the schema from the options: types, enums, arrays, booleans, required, descriptions", () => {
    const deploy = commandTool(["app", "deploy"], appDeployCommand);
    const props = deploy.inputSchema.properties ?? {};
    expect(props.auto_mode).toEqual({ type: "string", enum: AUTO_MODE_NAMES, description: "autonomous scaling: disabled, enabled, tier-only or scale-only" });
    expect(props.reserved?.type).toBe("integer");
    expect(props.build_arg).toMatchObject({ type: "array", items: { type: "string" } });
    expect(props.mcp_enabled).toEqual({ type: "boolean", description: "true: export the app as an MCP tool once published; false: stop exporting the app as an MCP tool" });
    expect(props.default_excludes).toMatchObject({ type: "boolean", default: true });
    expect(props.input_schema?.type).toBeUndefined();
    expect(deploy.inputSchema.required).toBeUndefined();
    expect(deploy.inputSchema.additionalProperties).toBe(false);
    expect(commandTool(["app", "logs"], appLogsCommand).inputSchema.properties?.follow).toBeUndefined();
    const rollback = commandTool(["version", "rollback"], versionRollbackCommand);
    expect(rollback.inputSchema.required).toEqual(["id", "version", "yes"]);
    expect(rollback.annotations.destructiveHint).toBe(true);
  });

  it("turns a call into argv: options as --name=value, arguments after --", () => {
    const invoke = commandTool(["invoke"], invokeCommand);
    expect(toArgv(invoke, { id: "greeter", payload: { name: "ada" }, header: ["a: 1", "b: 2"], async: true }, ["-o", "json"])).toEqual([
      "invoke",
      "-o",
      "json",
      "--payload={\"name\":\"ada\"}",
      "--header=a: 1",
      "--header=b: 2",
      "--async",
      "--",
      "greeter",
    ]);
    const deploy = commandTool(["app", "deploy"], appDeployCommand);
    expect(toArgv(deploy, { name: "g", allow_unauthenticated: false, default_excludes: false, memory: 256 })).toEqual([
      "app",
      "deploy",
      "--memory=256",
      "--no-allow-unauthenticated",
      "--no-default-excludes",
      "--",
      "g",
    ]);
  });

  it("never lets a value become a flag", () => {
    const del = commandTool(["app", "delete"], appDeleteCommand);
    expect(toArgv(del, { id: "--token=stolen", yes: true })).toEqual(["app", "delete", "--yes", "--", "--token=stolen"]);
    const invoke = commandTool(["invoke"], invokeCommand);
    expect(toArgv(invoke, { id: "x", path: "--debug" })).toEqual(["invoke", "--path=--debug", "--", "x"]);
  });

  it.each([
    [{ id: "g" }, /cannot be undone: call it again with "yes": true/],
    [{ id: "g", yes: false }, /cannot be undone/],
    [{ yes: true }, /needs "id"/],
    [{ id: "g", yes: true, force: true }, /has no input "force"/],
    [{ id: { name: "g" }, yes: true }, /"id" must be a string/],
  ])("refuses %j with a usage error", (input, message) => {
    expect(() => toArgv(commandTool(["app", "delete"], appDeleteCommand), input as Record<string, unknown>)).toThrow(message);
  });

  it("redacts secrets wherever they sit in a message", () => {
    const message = { result: { content: [{ type: "text", text: "token s3cret-token-value" }], structuredContent: { nested: ["s3cret-token-value"] } } };
    expect(JSON.stringify(redact(message, ["s3cret-token-value"]))).not.toContain("s3cret-token-value");
    expect(redact(message, ["not-there-at-all"])).toBe(message);
  });
});
