import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { APP_ID_OR_MANIFEST, appIdOrManifest } from "../../manifest-app.js";
import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const draftPublishCommand = defineCommand({
  name: "publish",
  summary: "Build (if needed) and publish the draft as the next immutable version",
  description:
    "Wait for the draft's build, start it, and when it answers record immutable version N and make it active. A failed build or a version that does not start exits non-zero with the reason (for a build: the step that failed, and `draft compile-logs` for the whole log). " +
    "While it waits for a build that is still running, the build log streams to stderr when stderr is a terminal (--quiet: only the outcome).",
  args: [{ name: "id", description: APP_ID_OR_MANIFEST, required: false }],
  options: [{ flags: "-q, --quiet", description: "do not stream the build log while waiting for the build" }],
  examples: ["dodil ignite draft publish acme-corp:greeter", "dodil ignite draft publish greeter -o json | jq .version", "dodil ignite draft publish greeter --quiet"],
  async handler([id = ""], options, ctx) {
    const { PublishDraftResponseSchema, publishDraft, protoJson, streamRunningBuildLog } = await loadDeps.compute();
    const ref = parseAppRef(await appIdOrManifest(id, ctx), ctx.settings().org.value);
    const { output } = ctx;
    const api = await ctx.api();
    // As `fly deploy` does: a person at a terminal sees the build while publish waits for it.
    const streaming = output.io.stderrIsTTY && !output.isMachine && !output.progressListener && !opt.flag(options, "quiet");
    const spinner = streaming ? undefined : await output.spinner(`Publishing ${formatAppRef(ref)}…`);
    const stopLog = new AbortController();
    const log = streaming ? streamRunningBuildLog(api, ref, (line) => output.info(`  ${line}`), stopLog.signal).catch(() => undefined) : undefined;
    try {
      const response = await publishDraft(api, ref, { onAnswerLost: (message) => output.warn(message) }).finally(async () => {
        stopLog.abort();
        await log;
      });
      spinner?.stop();
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
      spinner?.fail(`publishing ${formatAppRef(ref)} failed`);
      throw error;
    }
  },
});
