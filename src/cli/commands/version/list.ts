import { parseAppRef } from "../../../core/app-ref.js";
import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const versionListCommand = defineCommand({
  name: "list",
  aliases: ["ls"],
  summary: "List an app's published versions",
  args: [{ name: "id", description: "org:app, org/app or app" }],
  examples: ["dodil ignite version list acme-corp:greeter"],
  async handler([id = ""], _options, ctx) {
    const { AppVersionInfoSchema, listVersions, enumLabel, formatTime, protoJson } = await loadDeps.compute();
    const ref = parseAppRef(id, ctx.settings().org.value);
    const versions = await listVersions(await ctx.api(), ref);
    const json = versions.map((v) => protoJson(AppVersionInfoSchema, v) as Record<string, string>);
    return {
      data: json,
      human: {
        kind: "table",
        empty: "No versions yet. Publish the draft with `dodil ignite draft publish <id>`.",
        columns: [
          { key: "version", header: "VERSION" },
          { key: "status", header: "STATUS" },
          { key: "created", header: "CREATED" },
          { key: "hash", header: "CODE HASH" },
        ],
        wideColumns: [
          { key: "kind", header: "KIND" },
          { key: "tier", header: "TIER" },
          { key: "image", header: "IMAGE" },
        ],
        rows: versions.map((v, i) => ({
          version: String(v.version),
          status: enumLabel(json[i]?.status, "VERSION_STATUS_"),
          created: formatTime(v.createdAtMs),
          hash: v.codeHash.slice(0, 19),
          kind: enumLabel(json[i]?.code_kind, "CODE_KIND_"),
          tier: enumLabel(json[i]?.resource_tier, "RESOURCE_TIER_"),
          image: v.imageRef,
        })),
      },
    };
  },
});
