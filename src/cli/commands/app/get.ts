import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { CliError } from "../../../errors.js";
import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const appGetCommand = defineCommand({
  name: "get",
  summary: "Show an app's full definition",
  args: [{ name: "id", description: "org:app, org/app or app" }],
  examples: ["dodil ignite app get acme-corp:greeter", "dodil ignite app get acme-corp:greeter -o json | jq '{active_version, public_urls}'"],
  async handler([id = ""], _options, ctx) {
    const { AppMetaSchema, getApp, appRecord, protoJson } = await loadDeps.compute();
    const ref = parseAppRef(id, ctx.settings().org.value);
    const app = await getApp(await ctx.api(), ref);
    if (!app) throw new CliError("NOT_FOUND", `app ${formatAppRef(ref)} not found`);
    return appRecord(app, protoJson(AppMetaSchema, app));
  },
});
