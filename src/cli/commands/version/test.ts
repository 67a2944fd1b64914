import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";
import { failOn5xx, payloadFrom, payloadOptions } from "../test-run.js";

export const versionTestCommand = defineCommand({
  name: "test",
  summary: "Run one published version on a temporary instance and print its answer",
  description:
    "Start a temporary instance of the version, POST the payload and print status, execution id, duration and body. " +
    "The serving replica and the active version are untouched. A 5xx answer is printed and exits 1.",
  args: [
    { name: "id", description: "org:app, org/app or app" },
    { name: "version", description: "version number" },
  ],
  options: payloadOptions,
  examples: [`dodil ignite version test acme-corp:greeter 1 --payload '{"name": "ada"}'`, "dodil ignite version test greeter 2 --payload-file request.json -o json"],
  async handler([id = "", versionText = ""], options, ctx) {
    const { parseVersionNumber, testVersion, testResponseView } = await loadDeps.compute();
    const ref = parseAppRef(id, ctx.settings().org.value);
    const version = parseVersionNumber(versionText);
    const payload = await payloadFrom(options, ctx, ref.name);
    const spinner = await ctx.output.spinner(`Testing version ${version} of ${formatAppRef(ref)}…`);
    try {
      const response = await testVersion(await ctx.api(), ref, version, payload);
      spinner.stop();
      ctx.output.result(testResponseView(response));
      failOn5xx(response.statusCode, `version ${version} of ${formatAppRef(ref)}`, response.executionId);
    } catch (error) {
      spinner.stop();
      throw error;
    }
  },
});
