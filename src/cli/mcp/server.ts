/**
 * `dodil mcp`: the Ignite commands, and the organization's MCP-enabled apps, as the tools of an MCP
 * server on stdin/stdout. Loaded only by that command, with the SDK (an external module of the
 * bundle), so no other command's start-up pays for either.
 *
 * A tool call runs the command in this process exactly as the command line would (the same argv
 * parsing, checks and handler) with `-o json`: the JSON is the structured result, the human
 * rendering the text; a failure is a tool error with the CLI's message, hint, code and exit code.
 */
import { Readable, Writable } from "node:stream";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import type { McpToolDefinition } from "../../gen/dodil/ignite/v1/compute_pb.js";
import { CliError, EXIT_CODES, UsageError } from "../../errors.js";
import type { IoStreams } from "../../output/io-streams.js";
import type { CommandContext, RunEnvironment } from "../command-context.js";
import type { CommandSpec, GroupSpec } from "../command-spec.js";
import { loadDeps } from "../load-deps.js";
import { commandTools, toArgv, type CommandTool } from "./command-tools.js";

/** The CLI's run(), handed in by run.ts (importing it here would close an import cycle). */
export type RunCli = (argv: readonly string[], environment: RunEnvironment, binary: "dodil" | "ignite") => Promise<number>;

export interface McpServerSetup {
  binary: "dodil" | "ignite";
  commands: Array<CommandSpec | GroupSpec>;
  run: RunCli;
  /** The `mcp` command's own context: its streams carry the protocol, its settings every call's. */
  ctx: CommandContext;
  version: string;
}

/** An MCP-enabled app offered as a tool: which app it invokes and how its arguments become the payload. */
interface AppTool {
  tool: Tool;
  appId: string;
  wrapped: boolean;
}

/** A larger JSON-RPC message ends the session (the hostile-input bound of the stdio transport). */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** The tools whose success can change which apps are MCP tools: clients are told to list again. */
const CHANGES_APP_TOOLS = new Set(["app", "draft", "version"]);

export async function serveMcp(setup: McpServerSetup): Promise<void> {
  const { ctx } = setup;
  const [{ Server }, { StdioServerTransport }, { CallToolRequestSchema, ListToolsRequestSchema }] = await Promise.all([
    import("@modelcontextprotocol/sdk/server/index.js"),
    import("@modelcontextprotocol/sdk/server/stdio.js"),
    import("@modelcontextprotocol/sdk/types.js"),
  ]);
  const tools = commandTools(setup.commands);
  const byName = new Map(tools.map((t) => [t.name, t]));
  const secrets = secretsOf(ctx);
  // The server's global flags go before the command's words, where no command's own flag of the
  // same name (`config context create --token`) can take them; a tool's own `org` still wins.
  const prefix = [...(setup.binary === "dodil" ? ["ignite"] : []), ...globalFlagArgv(ctx)];
  let appTools = new Map<string, AppTool>();

  const listAppTools = async (): Promise<Map<string, AppTool>> => {
    try {
      const { listMcpApps, mcpInputSchema } = await loadDeps.compute();
      const definitions = await listMcpApps(await ctx.api(), ctx.settings().org.value);
      const found = new Map<string, AppTool>();
      for (const definition of definitions) {
        // A command's tool keeps its name; an app that would shadow one is left out, and said so.
        if (byName.has(definition.name) || found.has(definition.name)) {
          ctx.output.warn(`the MCP tool of app ${definition.appId} is named ${definition.name}, which is taken: left out`);
          continue;
        }
        const { schema, wrapped } = mcpInputSchema(definition.inputSchema);
        found.set(definition.name, { tool: appToolOf(definition, schema), appId: definition.appId, wrapped });
      }
      appTools = found;
    } catch (error) {
      // The command tools are still served: an unreachable plane or a missing token only hides the apps.
      ctx.output.warn(`the organization's MCP apps are not listed: ${error instanceof Error ? error.message : String(error)}`);
    }
    return appTools;
  };

  const server = new Server({ name: "dodil-ignite", version: setup.version }, { capabilities: { tools: { listChanged: true } } });

  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [...tools.map(describeTool), ...[...(await listAppTools()).values()].map((a) => a.tool)],
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const input = (request.params.arguments ?? {}) as Record<string, unknown>;
    const progressToken = extra._meta?.progressToken;
    let step = 0;
    const progress =
      progressToken === undefined
        ? undefined
        : (message: string) => {
            step += 1;
            void extra.sendNotification({ method: "notifications/progress", params: { progressToken, progress: step, message } }).catch(() => {});
          };
    const command = byName.get(request.params.name);
    let argv: string[];
    try {
      if (command) {
        argv = toArgv(command, input, ["-o", "json"]);
      } else {
        const app = appTools.get(request.params.name) ?? (await listAppTools()).get(request.params.name);
        if (!app) throw new UsageError(`there is no tool ${request.params.name}: list the tools again`);
        argv = await appCallArgv(ctx, app, input);
      }
    } catch (error) {
      return toolError(error);
    }
    const result = await runInProcess(setup, ctx, [...prefix, ...argv], progress);
    if (command && !result.isError && CHANGES_APP_TOOLS.has(command.path[0] ?? "")) void server.sendToolListChanged().catch(() => {});
    return result;
  });

  /** Every message leaves through here: the token and client secret never do. */
  class RedactingTransport extends StdioServerTransport {
    override send(message: Parameters<InstanceType<typeof StdioServerTransport>["send"]>[0]): Promise<void> {
      return super.send(redact(message, secrets));
    }
  }
  const transport = new RedactingTransport(ctx.io.stdin, ctx.io.stdout, { maxBufferSize: MAX_MESSAGE_BYTES });
  const closed = new Promise<void>((resolve) => {
    server.onclose = resolve;
  });
  await server.connect(transport);
  ctx.output.info(`dodil MCP server: ${tools.length} command tools on stdio (endpoint ${ctx.settings().apiEndpoint.value})`);
  // The client ends the session by closing our stdin (or with a signal).
  ctx.io.stdin.once("end", () => void server.close());
  void ctx.waitForShutdown().then(() => server.close());
  await closed;
}

function describeTool(tool: CommandTool): Tool {
  return { name: tool.name, title: tool.annotations.title, description: tool.description, inputSchema: tool.inputSchema as Tool["inputSchema"], annotations: tool.annotations };
}

function appToolOf(definition: McpToolDefinition, schema: Record<string, unknown>): Tool {
  return {
    name: definition.name,
    description: definition.description || `invoke the app ${definition.appId}`,
    inputSchema: schema as Tool["inputSchema"],
    annotations: { title: `app ${definition.appId} (version ${definition.version})`, openWorldHint: true },
  };
}

/** The argv of `invoke` that calls an MCP app, after checking with the plane that it still is one. */
async function appCallArgv(ctx: CommandContext, app: AppTool, input: Record<string, unknown>): Promise<string[]> {
  const { getMcpApp } = await loadDeps.compute();
  const [org = "", name = ""] = app.appId.split("/");
  await getMcpApp(await ctx.api(), { org, name });
  const payload = app.wrapped ? input.payload : input;
  return ["invoke", "-o", "json", `--payload=${JSON.stringify(payload ?? null)}`, "--", `${org}:${name}`];
}

/** Runs one command line in this process with captured streams; its output becomes the tool result. */
async function runInProcess(setup: McpServerSetup, ctx: CommandContext, argv: string[], progress: ((message: string) => void) | undefined): Promise<CallToolResult> {
  const stdout = collector();
  const stderr = collector();
  const human = collector();
  const io: IoStreams = {
    stdout: stdout.stream,
    stderr: stderr.stream,
    stdin: Readable.from([]),
    stdoutIsTTY: false,
    stderrIsTTY: false,
    stdinIsTTY: false,
    stdoutColor: false,
    stderrColor: false,
    columns: 100,
    humanResult: human.stream,
    progress,
  };
  const exitCode = await setup.run(argv, { io, env: ctx.env, cwd: ctx.cwd, home: ctx.home, waitForShutdown: () => new Promise(() => {}), clock: ctx.clock }, setup.binary);
  // Messages the command wrote for a person (success lines, warnings), without --debug traces.
  const messages = stderr
    .text()
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("[debug]") && !line.startsWith("{"));
  if (exitCode !== EXIT_CODES.OK) return failureResult(stderr.text(), exitCode, messages);
  const data = parseOutput(stdout.text());
  const text = [human.text().trimEnd() || stdout.text().trimEnd(), ...messages].filter((part) => part !== "").join("\n");
  return {
    content: [{ type: "text", text: text || "done" }],
    structuredContent: isPlainObject(data) ? data : { result: data },
  };
}

/** The CLI prints a failure under -o json as one JSON object on stderr: {code, message, hint, exit_code}. */
function failureResult(stderrText: string, exitCode: number, messages: string[]): CallToolResult {
  const line = stderrText
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("{"));
  let error: { code?: string; message?: string; hint?: string; exit_code?: number } = {};
  try {
    error = line ? (JSON.parse(line) as typeof error) : {};
  } catch {
    error = {};
  }
  const message = error.message ?? (messages.join("; ") || `the command failed with exit code ${exitCode}`);
  return errorResult({ code: error.code ?? "UNKNOWN", message, hint: error.hint, exitCode });
}

function toolError(error: unknown): CallToolResult {
  const cliError = error instanceof CliError ? error : undefined;
  return errorResult({
    code: cliError?.code ?? "UNKNOWN",
    message: error instanceof Error ? error.message : String(error),
    hint: cliError?.hint,
    exitCode: cliError?.exitCode ?? EXIT_CODES.FAILURE,
  });
}

function errorResult(error: { code: string; message: string; hint: string | undefined; exitCode: number }): CallToolResult {
  const text = `Error: ${error.message}${error.hint ? `\nhint: ${error.hint}` : ""}\n(${error.code}, exit code ${error.exitCode})`;
  return {
    isError: true,
    content: [{ type: "text", text }],
    structuredContent: { error: { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}), exit_code: error.exitCode } },
  };
}

/** One JSON document, or JSON lines (a streaming command), or plain text. */
function parseOutput(text: string): unknown {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    try {
      return text
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as unknown);
    } catch {
      return { text };
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The `mcp` command's global flags, given again to every call (its --org, --api-endpoint, --context…). */
function globalFlagArgv(ctx: CommandContext): string[] {
  const flags = ctx.flags;
  const pairs: Array<[string, string | undefined]> = [
    ["--api-endpoint", flags.apiEndpoint],
    ["--token", flags.token],
    ["--org", flags.org],
    ["--timeout", flags.timeout],
    ["--ca-cert", flags.caCert],
    ["--config", flags.config],
    ["--context", flags.context],
  ];
  return [...pairs.flatMap(([flag, value]) => (value === undefined ? [] : [`${flag}=${value}`])), ...(flags.debug ? ["--debug"] : [])];
}

/** The credentials this server could ever see; long enough that replacing them cannot mangle other text. */
function secretsOf(ctx: CommandContext): string[] {
  const found = new Set<string>();
  const add = (value: string | undefined) => {
    if (value && value.length >= 8) found.add(value);
  };
  add(ctx.flags.token);
  try {
    const settings = ctx.settings();
    add(settings.token.value);
    add(settings.clientSecret.value);
  } catch {
    // No settings (a broken config file): every call reports that itself.
  }
  return [...found];
}

/** The message with every secret replaced, wherever it sits (text, structured content, errors). */
export function redact<T>(message: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return message;
  let text = JSON.stringify(message);
  let changed = false;
  for (const secret of secrets) {
    const encoded = JSON.stringify(secret).slice(1, -1);
    if (text.includes(encoded)) {
      text = text.split(encoded).join("[redacted]");
      changed = true;
    }
  }
  return changed ? (JSON.parse(text) as T) : message;
}

function collector() {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}
