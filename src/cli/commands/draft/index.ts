import { defineGroup } from "../../command-spec.js";
import { draftCompileCommand } from "./compile.js";
import { draftCompileLogsCommand } from "./compile-logs.js";
import { draftInfoCommand } from "./info.js";
import { draftPublishCommand } from "./publish.js";
import { draftSaveCommand } from "./save.js";
import { draftTestCommand } from "./test.js";

export const draftGroup = defineGroup({
  name: "draft",
  summary: "Save code as a draft, follow its build, publish it",
  commands: [draftSaveCommand, draftInfoCommand, draftCompileCommand, draftTestCommand, draftPublishCommand, draftCompileLogsCommand],
});
