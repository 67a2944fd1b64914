import type { CommandSpec, GroupSpec } from "../command-spec.js";
import { defineCommand } from "../command-spec.js";
import type { RunCli } from "../mcp/server.js";

/**
 * `dodil mcp` (and `ignite mcp`): serves the Ignite commands as MCP tools over stdio. The server
 * and the SDK load only here; `run` and the command tree come from run.ts, which owns them.
 */
export function mcpCommand(binary: "dodil" | "ignite", serve: { run: RunCli; commands: Array<CommandSpec | GroupSpec>; version: () => string }): CommandSpec {
  return defineCommand({
    name: "mcp",
    summary: "Serve the Ignite commands as MCP tools over stdio (for coding agents)",
    description:
      "Run a Model Context Protocol server on standard input/output. Every Ignite command is a tool named by its path (ignite_app_deploy, ignite_invoke, …) " +
      "whose input schema comes from the command's arguments and options; a call runs the command as the command line would and returns its JSON output " +
      "as structured content with the human text; a failure is a tool error with message, hint, code and exit code. Destructive tools need \"yes\": true. " +
      "The organization's MCP-enabled apps are tools too, which invoke the app. Endpoint, token and org are this CLI's (flags, environment, context, config); " +
      "the token never appears in a message. Logs go to stderr. See docs/mcp.md.",
    examples: [`${binary} mcp`, `${binary} mcp --context local`, `claude mcp add dodil -- ${binary} mcp`],
    async handler(_args, _options, ctx) {
      const { serveMcp } = await import("../mcp/server.js");
      await serveMcp({ binary, commands: serve.commands, run: serve.run, ctx, version: serve.version() });
    },
  });
}
