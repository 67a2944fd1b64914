import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { CliError } from "../../../errors.js";
import { defineCommand } from "../../command-spec.js";

export const executionListCommand = defineCommand({
  name: "list",
  aliases: ["ls"],
  summary: "List an app's executions (not supported by the platform yet)",
  description:
    'The platform documents `execution list` as returning an "unsupported runtime" error, and it has no RPC to list executions; this command ' +
    "prints that error and exits 1 (after checking the app id). Use `execution get <id>` with the id `invoke --async` printed, or `app logs`.",
  args: [{ name: "id", description: "org:app, org/app or app" }],
  examples: ["dodil ignite execution list acme-corp:greeter"],
  async handler([id = ""], _options, ctx) {
    const ref = parseAppRef(id, ctx.settings().org.value);
    throw new CliError("UNIMPLEMENTED", `execution list is not supported for ${formatAppRef(ref)}: unsupported runtime (the platform cannot list executions)`, {
      hint: "keep the id `invoke --async` prints and use `dodil ignite execution get <id>`",
    });
  },
});
