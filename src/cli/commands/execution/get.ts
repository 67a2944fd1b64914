import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const executionGetCommand = defineCommand({
  name: "get",
  summary: "Show an execution: status, HTTP status, timing, result or error",
  description: "Show one execution created by `invoke --async` (only async calls create a queryable execution; the id printed by a synchronous invoke is for log correlation).",
  args: [{ name: "execution-id", description: "the id `invoke --async` printed" }],
  examples: ["dodil ignite execution get 01J9Z8X4K2M3N4P5Q6R7S8T9VW", "dodil ignite exec get 01J9Z8X4K2M3N4P5Q6R7S8T9VW -o json | jq .status"],
  async handler([id = ""], _options, ctx) {
    const { executionView, getExecution, parseExecutionId } = await loadDeps.compute();
    const executionId = parseExecutionId(id);
    return executionView(await getExecution(await ctx.api(), executionId));
  },
});
