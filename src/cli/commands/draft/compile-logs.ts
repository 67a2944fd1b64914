import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { CliError } from "../../../errors.js";
import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const draftCompileLogsCommand = defineCommand({
  name: "compile-logs",
  summary: "Print the build/compile log of the app's draft",
  description:
    "Print the persisted build log of the current draft. With --follow, stream it until the build ends and exit non-zero if it failed. Under -o json each line is one JSON object, and the last one is the outcome.",
  args: [{ name: "id", description: "org:app, org/app or app" }],
  options: [{ flags: "-f, --follow", description: "keep streaming until the build ends" }],
  examples: ["dodil ignite draft compile-logs acme-corp:greeter", "dodil ignite draft compile-logs acme-corp:greeter --follow"],
  async handler([id = ""], options, ctx) {
    const { BuildStatus, streamDraftBuildLog, enumLabel } = await loadDeps.compute();
    const ref = parseAppRef(id, ctx.settings().org.value);
    const follow = opt.flag(options, "follow");
    const { output } = ctx;
    let ended = false;
    const onReconnect = (attempt: number) => output.warn(`lost the build log stream; reconnecting (attempt ${attempt})`);
    for await (const item of streamDraftBuildLog(await ctx.api(), ref, { follow, onReconnect })) {
      if (item.case === "entry") {
        if (output.isMachine) output.jsonLine({ offset: Number(item.value.offset), timestamp_ms: Number(item.value.timestampMs), line: item.value.line });
        else output.line(item.value.line);
      } else if (item.case === "outcome") {
        ended = true;
        const statusName = `BUILD_STATUS_${BuildStatus[item.value.status] ?? "UNSPECIFIED"}`;
        const status = enumLabel(statusName, "BUILD_STATUS_");
        if (output.isMachine) output.jsonLine({ outcome: { status: statusName, error: item.value.error, image_ref: item.value.imageRef } });
        if (item.value.status === BuildStatus.FAILED || item.value.status === BuildStatus.CANCELLED) {
          throw new CliError("FAILURE", `the build of ${formatAppRef(ref)} ${status}${item.value.error ? `: ${item.value.error}` : ""}`);
        }
        if (!output.isMachine) output.success(`build ${status}${item.value.imageRef ? `: ${item.value.imageRef}` : ""}`);
      }
    }
    if (!ended) output.info("The build is still running; add --follow to stream it to the end.");
  },
});
