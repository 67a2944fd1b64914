import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { APP_ID_OR_MANIFEST, appIdOrManifest } from "../../manifest-app.js";
import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const draftPublishCommand = defineCommand({
  name: "publish",
  summary: "Build (if needed) and publish the draft as the next immutable version",
  description:
    "Wait for the draft's build, start it, and when it answers record immutable version N and make it active. A failed build or a version that does not start exits non-zero with the reason.",
  args: [{ name: "id", description: APP_ID_OR_MANIFEST, required: false }],
  examples: ["dodil ignite draft publish acme-corp:greeter", "dodil ignite draft publish greeter -o json | jq .version"],
  async handler([id = ""], _options, ctx) {
    const { PublishDraftResponseSchema, publishDraft, protoJson } = await loadDeps.compute();
    const ref = parseAppRef(await appIdOrManifest(id, ctx), ctx.settings().org.value);
    const spinner = await ctx.output.spinner(`Publishing ${formatAppRef(ref)}…`);
    try {
      const response = await publishDraft(await ctx.api(), ref);
      spinner.stop();
      ctx.output.success(`published ${formatAppRef(ref)} version ${response.version}`);
      const urls = response.app?.publicUrls ?? [];
      return {
        data: protoJson(PublishDraftResponseSchema, response),
        human: {
          kind: "record",
          fields: [
            ["VERSION", String(response.version)],
            ["BUILD", response.deployId],
            ["URLS", urls.join(", ")],
          ],
        },
      };
    } catch (error) {
      spinner.fail(`publishing ${formatAppRef(ref)} failed`);
      throw error;
    }
  },
});
