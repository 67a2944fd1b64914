import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const executionLogsCommand = defineCommand({
  name: "logs",
  summary: "Print the app's output while an execution ran",
  description:
    "Print the log lines the execution's app wrote (for its version) between the execution's start and its end. " +
    "Log lines carry no execution id, so lines of other calls running at the same time are included; " +
    "logs are kept in memory by the platform, so an old execution may show none. Under -o json: {execution_id, app_id, from_ms, to_ms, lines}.",
  args: [{ name: "execution-id", description: "the id `invoke --async` printed" }],
  examples: ["dodil ignite execution logs 01J9Z8X4K2M3N4P5Q6R7S8T9VW", "dodil ignite exec logs 01J9Z8X4K2M3N4P5Q6R7S8T9VW -o json | jq -r '.lines[].message'"],
  async handler([id = ""], _options, ctx) {
    const { displayId, formatLogLine, formatTime, getExecutionLogs, logLineJson, parseExecutionId } = await loadDeps.compute();
    const executionId = parseExecutionId(id);
    const logs = await getExecutionLogs(await ctx.api(), executionId);
    const { output } = ctx;
    const app = displayId(logs.execution.appId);
    if (!output.isMachine) {
      output.info(
        logs.fromMs
          ? `Output of ${app} from ${formatTime(logs.fromMs)} to ${formatTime(logs.toMs)} (the execution's window; concurrent calls' lines are included):`
          : `Execution ${executionId} has not started yet: no output.`,
      );
    }
    return {
      data: { execution_id: executionId, app_id: logs.execution.appId, from_ms: String(logs.fromMs), to_ms: String(logs.toMs), lines: logs.lines.map(logLineJson) },
      human: { kind: "text", text: logs.lines.length ? logs.lines.map((l) => formatLogLine(l, true)).join("\n") : "(no log lines in that window)" },
    };
  },
});
