import { defineGroup } from "../../command-spec.js";
import { versionGetCommand } from "./get.js";
import { versionListCommand } from "./list.js";
import { versionRollbackCommand } from "./rollback.js";

export const versionGroup = defineGroup({
  name: "version",
  summary: "List, inspect and roll back published versions",
  commands: [versionListCommand, versionGetCommand, versionRollbackCommand],
});
