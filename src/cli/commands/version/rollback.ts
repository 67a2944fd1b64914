import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const versionRollbackCommand = defineCommand({
  name: "rollback",
  summary: "Make an earlier version the active one (nothing is rebuilt)",
  destructive: true,
  args: [
    { name: "id", description: "org:app, org/app or app" },
    { name: "version", description: "the version to serve" },
  ],
  examples: ["dodil ignite version rollback acme-corp:greeter 1"],
  async handler([id = "", versionText = ""], _options, ctx) {
    const { RollbackAppResponseSchema, parseVersionNumber, rollbackApp, protoJson } = await loadDeps.compute();
    const ref = parseAppRef(id, ctx.settings().org.value);
    const version = parseVersionNumber(versionText);
    const spinner = await ctx.output.spinner(`Rolling ${formatAppRef(ref)} back to version ${version}…`);
    try {
      const response = await rollbackApp(await ctx.api(), ref, version);
      spinner.stop();
      ctx.output.success(`${formatAppRef(ref)} now serves version ${version} (was ${response.previousVersion || "none"})`);
      return {
        data: protoJson(RollbackAppResponseSchema, response),
        human: { kind: "record", fields: [["ACTIVE VERSION", String(response.app?.activeVersion ?? version)], ["PREVIOUS VERSION", String(response.previousVersion)]] },
      };
    } catch (error) {
      spinner.fail(`rollback of ${formatAppRef(ref)} failed`);
      throw error;
    }
  },
});
