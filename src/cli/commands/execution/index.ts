import { defineGroup } from "../../command-spec.js";
import { executionGetCommand } from "./get.js";
import { executionListCommand } from "./list.js";
import { executionLogsCommand } from "./logs.js";
import { executionStreamCommand } from "./stream.js";
import { executionWatchCommand } from "./watch.js";

export const executionGroup = defineGroup({
  name: "execution",
  aliases: ["exec"],
  summary: "Follow the executions `invoke --async` creates",
  commands: [executionGetCommand, executionWatchCommand, executionStreamCommand, executionLogsCommand, executionListCommand],
});
