import { defineGroup } from "../../command-spec.js";
import { buildCancelCommand } from "./cancel.js";
import { buildCreateCommand } from "./create.js";
import { buildGetCommand } from "./get.js";
import { buildListCommand } from "./list.js";
import { buildLogsCommand } from "./logs.js";
import { buildSecretsGroup } from "./secrets-set.js";
import { buildUploadCommand } from "./upload.js";

export const buildGroup = defineGroup({
  name: "build",
  summary: "Build container images from a Dockerfile (BuildService)",
  commands: [buildUploadCommand, buildCreateCommand, buildGetCommand, buildListCommand, buildLogsCommand, buildCancelCommand, buildSecretsGroup],
});
