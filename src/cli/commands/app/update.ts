import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { CliError, UsageError } from "../../../errors.js";
import { defineCommand } from "../../command-spec.js";
import { appFlagsFrom, appOptions } from "./app-options.js";
import { loadDeps } from "../../load-deps.js";

export const appUpdateCommand = defineCommand({
  name: "update",
  summary: "Change an app's resources, scaling, env or metadata",
  description: "Change an app's configuration. Only the flags given change; --env KEY=VALUE sets a key and --env KEY= removes it.",
  args: [{ name: "id", description: "org:app, org/app or app" }],
  options: appOptions,
  examples: ["dodil ignite app update acme-corp:greeter --tier medium", "dodil ignite app update greeter --env LOG_LEVEL=debug --env OLD_KEY="],
  async handler([id = ""], options, ctx) {
    const { AppMetaSchema, appPatchFromFlags, isEmptyPatch, updateApp, appRecord, protoJson } = await loadDeps();
    const ref = parseAppRef(id, ctx.settings().org.value);
    const patch = appPatchFromFlags(appFlagsFrom(options));
    if (isEmptyPatch(patch)) throw new UsageError("nothing to update: pass at least one flag such as --tier, --env or --description");
    const app = await updateApp(await ctx.api(), ref, patch);
    if (!app) throw new CliError("NOT_FOUND", `app ${formatAppRef(ref)} not found`);
    ctx.output.success(`updated app ${formatAppRef(ref)}`);
    return appRecord(app, protoJson(AppMetaSchema, app));
  },
});
