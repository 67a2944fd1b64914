import { defineGroup } from "../../command-spec.js";
import { versionCodeCommand } from "./code.js";
import { versionGetCommand } from "./get.js";
import { versionListCommand } from "./list.js";
import { versionRollbackCommand } from "./rollback.js";
import { versionTestCommand } from "./test.js";

export const versionGroup = defineGroup({
  name: "version",
  summary: "List, inspect, test, download and roll back published versions",
  commands: [versionListCommand, versionGetCommand, versionRollbackCommand, versionCodeCommand, versionTestCommand],
});
