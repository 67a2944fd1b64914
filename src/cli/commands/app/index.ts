import { defineGroup } from "../../command-spec.js";
import { appCreateCommand } from "./create.js";
import { appDeleteCommand } from "./delete.js";
import { appDeployCommand } from "./deploy.js";
import { appGetCommand } from "./get.js";
import { appListCommand } from "./list.js";
import { appLogsCommand } from "./logs.js";
import { appOpenCommand } from "./open.js";
import { appStateCommand } from "./state.js";
import { appUpdateCommand } from "./update.js";

export const appGroup = defineGroup({
  name: "app",
  aliases: ["function", "fn"],
  summary: "Create, inspect, configure and delete apps",
  commands: [appCreateCommand, appGetCommand, appListCommand, appUpdateCommand, appDeleteCommand, appStateCommand, appDeployCommand, appLogsCommand, appOpenCommand],
});
