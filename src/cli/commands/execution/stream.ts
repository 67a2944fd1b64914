import type { Execution } from "../../../gen/dodil/ignite/v1/compute_pb.js";
import { CliError } from "../../../errors.js";
import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const executionStreamCommand = defineCommand({
  name: "stream",
  summary: "Stream an execution's output as it runs, then its result (exit 1 when it failed)",
  description:
    "Print the app's log lines (of the execution's version, from its start) as they arrive, then the execution's result body once it has ended; " +
    "the outcome goes to stderr. Log lines carry no execution id, so lines of other calls running at the same time are included. " +
    'Exits 1 when it ended FAILED or TIMED_OUT. Under -o json: one JSON object per line, {"type": "log", …} for each line and {"type": "execution", …} last.',
  args: [{ name: "execution-id", description: "the id `invoke --async` printed" }],
  examples: ['id=$(dodil ignite invoke greeter --async -p \'{"name": "ada"}\') && dodil ignite exec stream "$id"', "dodil ignite execution stream 01J9Z8X4K2M3N4P5Q6R7S8T9VW -o json | jq -c 'select(.type == \"log\") | .message'"],
  async handler([id = ""], _options, ctx) {
    const { bodyValue, enumLabel, executionJson, executionStatusName, formatLogLine, isFailure, isTerminal, logLineJson, parseExecutionId, streamExecution } = await loadDeps.compute();
    const executionId = parseExecutionId(id);
    const { output } = ctx;
    // Like `watch`, a stream lasts as long as the execution; an explicit --timeout bounds it.
    const explicit = ctx.settings().timeout.source !== "default";
    const events = streamExecution(await ctx.api(), executionId, {
      watch: { timeoutMs: explicit ? ctx.settings().timeoutMs : 0 },
      onLogError: (error) => output.warn(`the app's output cannot be streamed (${error instanceof Error ? error.message : String(error)}); the result follows when the execution ends`),
    });
    let last: Execution | undefined;
    for await (const event of events) {
      if (event.kind === "log") {
        if (output.isMachine) output.jsonLine({ type: "log", ...logLineJson(event.line) });
        else output.line(formatLogLine(event.line, false));
        continue;
      }
      last = event.execution;
      if (output.isMachine) output.jsonLine({ type: "execution", ...executionJson(last) });
    }
    if (!last || !isTerminal(last.status)) throw new CliError("UNAVAILABLE", `the stream of execution ${executionId} ended before the execution did`, { hint: `see where it is with \`dodil ignite execution get ${executionId}\`` });
    const status = enumLabel(executionStatusName(last.status), "EXECUTION_STATUS_");
    const took = Number(last.completedAtMs) && Number(last.startedAtMs) ? ` in ${Number(last.completedAtMs) - Number(last.startedAtMs)} ms` : "";
    if (!output.isMachine) {
      const result = bodyValue(last.result);
      if (result !== "") output.line(typeof result === "string" ? result : JSON.stringify(result, null, 2));
    }
    if (isFailure(last.status)) throw new CliError("FAILURE", `execution ${executionId} ${status}${last.statusCode ? ` (HTTP ${last.statusCode})` : ""}${last.error ? `: ${last.error}` : ""}`);
    output.info(`execution ${executionId} ${status}${last.statusCode ? ` (HTTP ${last.statusCode})` : ""}${took}`);
  },
});
