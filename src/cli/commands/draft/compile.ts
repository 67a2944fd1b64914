import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { CliError } from "../../../errors.js";
import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const draftCompileCommand = defineCommand({
  name: "compile",
  summary: "Start (or look up) the draft's compile/build; --follow streams it to the end",
  description:
    "Run CompileDraft: starts the draft's build or compile (a new one when the last failed, was cancelled or its image is gone) and prints its id. " +
    "With --follow, stream its log until it ends and exit non-zero if it failed (as `draft compile-logs --follow`). " +
    "A prebuilt image (--image-ref) has nothing to compile. Under -o json, --follow prints one JSON object per line, the last one the outcome.",
  args: [{ name: "id", description: "org:app, org/app or app" }],
  options: [{ flags: "-f, --follow", description: "stream the log until the compile ends" }],
  examples: ["dodil ignite draft compile acme-corp:hello-rs --follow", "dodil ignite draft compile greeter -o json | jq -r .deploy_id"],
  async handler([id = ""], options, ctx) {
    const { BuildStatus, CompileDraftResponseSchema, compileDraft, enumLabel, protoJson, streamDraftBuildLog } = await loadDeps.compute();
    const ref = parseAppRef(id, ctx.settings().org.value);
    const api = await ctx.api();
    const { output } = ctx;
    const response = await compileDraft(api, ref);
    const json = protoJson(CompileDraftResponseSchema, response) as Record<string, unknown>;
    if (!opt.flag(options, "follow")) {
      if (!response.deployId) output.info("Nothing to compile: the draft is a prebuilt image.");
      else output.success(`compile ${response.deployId} of ${formatAppRef(ref)} started (follow it with \`dodil ignite draft compile-logs ${formatAppRef(ref)} --follow\`)`);
      const draft = json.draft as Record<string, string> | null;
      return {
        data: json,
        human: {
          kind: "record",
          fields: [
            ["DEPLOY ID", response.deployId],
            ["STATUS", enumLabel(draft?.build_status, "BUILD_STATUS_")],
            ["ERROR", response.draft?.error ?? ""],
          ],
        },
      };
    }
    if (!response.deployId) {
      output.info("Nothing to compile: the draft is a prebuilt image.");
      if (output.isMachine) output.jsonLine(json);
      return;
    }
    if (output.isMachine) output.jsonLine({ deploy_id: response.deployId });
    for await (const item of streamDraftBuildLog(api, ref, { follow: true })) {
      if (item.case === "entry") {
        if (output.isMachine) output.jsonLine({ offset: Number(item.value.offset), timestamp_ms: Number(item.value.timestampMs), line: item.value.line });
        else output.line(item.value.line);
      } else if (item.case === "outcome") {
        const statusName = `BUILD_STATUS_${BuildStatus[item.value.status] ?? "UNSPECIFIED"}`;
        if (output.isMachine) output.jsonLine({ outcome: { status: statusName, error: item.value.error, image_ref: item.value.imageRef } });
        if (item.value.status === BuildStatus.FAILED || item.value.status === BuildStatus.CANCELLED) {
          throw new CliError("FAILURE", `the compile of ${formatAppRef(ref)} ${enumLabel(statusName, "BUILD_STATUS_")}${item.value.error ? `: ${item.value.error}` : ""}`);
        }
        if (!output.isMachine) output.success(`compile ${enumLabel(statusName, "BUILD_STATUS_")}${item.value.imageRef ? `: ${item.value.imageRef}` : ""}`);
      }
    }
  },
});
