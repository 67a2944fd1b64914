import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { CliError } from "../../../errors.js";
import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const versionGetCommand = defineCommand({
  name: "get",
  summary: "Show the app definition as snapshotted by one version",
  args: [
    { name: "id", description: "org:app, org/app or app" },
    { name: "version", description: "version number" },
  ],
  examples: ["dodil ignite version get acme-corp:greeter 1"],
  async handler([id = "", versionText = ""], _options, ctx) {
    const { AppMetaSchema, getVersion, parseVersionNumber, appRecord, protoJson } = await loadDeps.compute();
    const ref = parseAppRef(id, ctx.settings().org.value);
    const version = parseVersionNumber(versionText);
    const app = await getVersion(await ctx.api(), ref, version);
    if (!app) throw new CliError("NOT_FOUND", `version ${version} of ${formatAppRef(ref)} not found`);
    return appRecord(app, protoJson(AppMetaSchema, app));
  },
});
