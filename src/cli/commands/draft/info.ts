import { parseAppRef } from "../../../core/app-ref.js";
import { defineCommand } from "../../command-spec.js";
import { formatBytes } from "../../../output/format-bytes.js";
import { loadDeps } from "../../load-deps.js";

export const draftInfoCommand = defineCommand({
  name: "info",
  aliases: ["status"],
  summary: "Show the app's draft: status, code hash, build",
  description: 'Show the app\'s draft. When nothing has been saved it prints {"status":"no draft"}.',
  args: [{ name: "id", description: "org:app, org/app or app" }],
  examples: ["dodil ignite draft info acme-corp:greeter", "dodil ignite draft status greeter -o json"],
  async handler([id = ""], _options, ctx) {
    const { DraftInfoSchema, getDraftInfo, enumLabel, formatTime, protoJson } = await loadDeps.compute();
    const ref = parseAppRef(id, ctx.settings().org.value);
    const draft = await getDraftInfo(await ctx.api(), ref);
    if (!draft) return { data: { status: "no draft" }, human: { kind: "text", text: "no draft" } };
    const json = protoJson(DraftInfoSchema, draft) as Record<string, string>;
    return {
      data: json,
      human: {
        kind: "record",
        fields: [
          ["STATUS", enumLabel(json.status, "VERSION_STATUS_")],
          ["KIND", enumLabel(json.code_kind, "CODE_KIND_")],
          ["CODE HASH", draft.codeHash],
          ["BUILD", draft.deployId ? `${draft.deployId} (${enumLabel(json.build_status, "BUILD_STATUS_")})` : ""],
          ["IMAGE", draft.imageRef],
          ["ERROR", draft.error],
          ["SAVED", formatTime(draft.createdAtMs)],
        ],
        wideFields: [
          ["DOCKERFILE", draft.dockerfilePath],
          ["SIZE", draft.sizeBytes ? formatBytes(Number(draft.sizeBytes)) : ""],
        ],
      },
    };
  },
});
