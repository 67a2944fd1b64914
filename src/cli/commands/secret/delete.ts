import { UsageError } from "../../../errors.js";
import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const secretDeleteCommand = defineCommand({
  name: "delete",
  aliases: ["rm"],
  summary: "Delete a secret slot",
  destructive: true,
  description: "Delete a slot (deleting a missing one succeeds). Asks for confirmation on a terminal; elsewhere it requires --yes. Apps and builds that name the slot fail to pull or clone afterwards.",
  args: [{ name: "name", description: "slot name" }],
  options: [{ flags: "-y, --yes", description: "delete without asking" }],
  examples: ["dodil ignite secret delete ghcr-pull", "dodil ignite secret delete ghcr-pull --yes"],
  async handler([name = ""], options, ctx) {
    const { checkSecretName, deleteSecret } = await loadDeps.secrets();
    checkSecretName(name);
    if (!opt.flag(options, "yes")) {
      if (!ctx.io.stdinIsTTY) throw new UsageError(`refusing to delete secret ${name} without confirmation: pass --yes`);
      if (!(await ctx.confirm(`Delete secret ${name}?`))) throw new UsageError("deletion cancelled");
    }
    await deleteSecret(await ctx.api(), name);
    ctx.output.success(`deleted secret ${name}`);
    return { data: { name, deleted: true }, human: { kind: "text", text: "" } };
  },
});
