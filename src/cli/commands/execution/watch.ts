import type { Execution } from "../../../gen/dodil/ignite/v1/compute_pb.js";
import { CliError } from "../../../errors.js";
import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const executionWatchCommand = defineCommand({
  name: "watch",
  summary: "Stream an execution's status until it ends (exit 1 when it failed or timed out)",
  description:
    "Print the execution's status now and at each change until it ends, then its result. Exits 1 when it ended FAILED or TIMED_OUT. " +
    "Under -o json each state is one JSON object per line (the last one is the final state).",
  args: [{ name: "execution-id", description: "the id `invoke --async` printed" }],
  examples: ["dodil ignite execution watch 01J9Z8X4K2M3N4P5Q6R7S8T9VW", 'id=$(dodil ignite invoke greeter --async -p \'{"name": "ada"}\') && dodil ignite exec watch "$id"'],
  async handler([id = ""], _options, ctx) {
    const { ExecutionStatus, enumLabel, executionJson, executionStatusName, executionView, isFailure, isTerminal, parseExecutionId, watchExecution } = await loadDeps.compute();
    const executionId = parseExecutionId(id);
    const { output } = ctx;
    const api = await ctx.api();
    let last: Execution | undefined;
    // A watch lasts as long as the execution; an explicit --timeout bounds it.
    const explicit = ctx.settings().timeout.source !== "default";
    for await (const execution of watchExecution(api, executionId, { timeoutMs: explicit ? ctx.settings().timeoutMs : 0 })) {
      last = execution;
      if (output.isMachine) output.jsonLine(executionJson(execution));
      else output.info(`${new Date().toISOString().replace(/\.\d{3}Z$/, "Z")}  ${enumLabel(executionStatusName(execution.status), "EXECUTION_STATUS_")}`);
    }
    if (!last) throw new CliError("UNAVAILABLE", `the watch of execution ${executionId} ended before any state arrived`);
    if (!output.isMachine) output.result(executionView(last));
    if (!isTerminal(last.status)) throw new CliError("UNAVAILABLE", `the watch of execution ${executionId} ended while it was ${ExecutionStatus[last.status]}`);
    if (isFailure(last.status)) {
      throw new CliError("FAILURE", `execution ${executionId} ${enumLabel(executionStatusName(last.status), "EXECUTION_STATUS_")}${last.error ? `: ${last.error}` : ""}`);
    }
  },
});
