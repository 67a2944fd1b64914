import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { UsageError } from "../../../errors.js";
import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const appDeleteCommand = defineCommand({
  name: "delete",
  aliases: ["rm"],
  summary: "Delete an app, its drafts and all its versions",
  destructive: true,
  description: "Delete an app with its drafts and versions. Asks for confirmation on a terminal; elsewhere (CI, pipes) it requires --yes.",
  args: [{ name: "id", description: "org:app, org/app or app" }],
  options: [{ flags: "-y, --yes", description: "delete without asking" }],
  examples: ["dodil ignite app delete acme-corp:greeter", "dodil ignite app delete greeter --yes"],
  async handler([id = ""], options, ctx) {
    const { deleteApp, displayId } = await loadDeps.compute();
    const ref = parseAppRef(id, ctx.settings().org.value);
    if (!opt.flag(options, "yes")) {
      if (!ctx.io.stdinIsTTY) throw new UsageError(`refusing to delete ${formatAppRef(ref)} without confirmation: pass --yes`);
      if (!(await ctx.confirm(`Delete app ${formatAppRef(ref)} and all its versions?`))) throw new UsageError("deletion cancelled");
    }
    const appId = await deleteApp(await ctx.api(), ref);
    ctx.output.success(`deleted app ${displayId(appId)}`);
    return { data: { app_id: appId, deleted: true }, human: { kind: "text", text: "" } };
  },
});
