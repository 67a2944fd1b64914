import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { CliError, UsageError } from "../../../errors.js";
import { defineCommand } from "../../command-spec.js";
import { appFlagsFrom, appOptions } from "./app-options.js";
import { loadDeps } from "../../load-deps.js";

export const appUpdateCommand = defineCommand({
  name: "update",
  summary: "Change an app's resources, scaling, env or metadata",
  description: "Change an app's configuration. Only the flags given change; --env KEY=VALUE sets a key and --env KEY= removes it; scaling flags keep the scaling settings they do not name.",
  args: [{ name: "id", description: "org:app, org/app or app" }],
  options: appOptions,
  examples: ["dodil ignite app update acme-corp:greeter --tier medium", "dodil ignite app update greeter --env LOG_LEVEL=debug --env OLD_KEY=", "dodil ignite app update greeter --auto-mode enabled --mcp-enabled"],
  async handler([id = ""], options, ctx) {
    const { AppMetaSchema, appPatchFromFlags, getApp, hasScalingFlags, isEmptyPatch, mergeScaling, updateApp, appRecord, protoJson } = await loadDeps.compute();
    const ref = parseAppRef(id, ctx.settings().org.value);
    const flags = await appFlagsFrom(options, ctx.cwd);
    const patch = appPatchFromFlags(flags);
    if (isEmptyPatch(patch)) throw new UsageError("nothing to update: pass at least one flag such as --tier, --env or --description");
    const api = await ctx.api();
    // The server replaces scaling as a whole: keep what the flags do not name.
    if (hasScalingFlags(flags)) {
      const current = await getApp(api, ref);
      if (!current) throw new CliError("NOT_FOUND", `app ${formatAppRef(ref)} not found`);
      patch.scaling = mergeScaling(flags, current.scaling);
    }
    const app = await updateApp(api, ref, patch);
    if (!app) throw new CliError("NOT_FOUND", `app ${formatAppRef(ref)} not found`);
    ctx.output.success(`updated app ${formatAppRef(ref)}`);
    return appRecord(app, protoJson(AppMetaSchema, app));
  },
});
