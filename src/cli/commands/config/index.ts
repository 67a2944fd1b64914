import { defineGroup } from "../../command-spec.js";
import { contextGroup } from "./context.js";
import { configGetCommand } from "./get.js";
import { configPathCommand } from "./path.js";
import { configSetCommand } from "./set.js";
import { configUnsetCommand } from "./unset.js";
import { configViewCommand } from "./view.js";

export const configGroup = defineGroup({
  name: "config",
  summary: "Read and write CLI settings",
  commands: [configSetCommand, configGetCommand, configUnsetCommand, configViewCommand, configPathCommand, contextGroup],
});
