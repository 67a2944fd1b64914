import { LIST_LIMIT, parseNumberFlag } from "../../../core/number-flags.js";
import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const buildListCommand = defineCommand({
  name: "list",
  aliases: ["ls"],
  summary: "List the organization's builds, newest first",
  description: "List the org's builds (standalone builds and the builds of app drafts, named org/app), newest first.",
  options: [
    { flags: "--limit <n>", description: "at most this many builds (default 50; 0 = all)", valueType: "integer" },
    { flags: "--status <status>", description: "only builds in this state: pending, running, succeeded, failed or cancelled", choices: ["pending", "running", "succeeded", "failed", "cancelled"] },
    { flags: "--name <name>", description: "only builds of this image name" },
  ],
  examples: ["dodil ignite build list", "dodil ignite build list --status failed --limit 5", "dodil ignite build list -o json | jq -r '.[].build_id'"],
  async handler(_args, options, ctx) {
    const { BuildSchema, buildStatusName, enumLabel, formatTime, listBuilds, parseBuildStatus, protoJson } = await loadDeps.builds();
    const limit = parseNumberFlag(opt.string(options, "limit"), "--limit", LIST_LIMIT) ?? 50;
    const status = parseBuildStatus(opt.string(options, "status"));
    const builds = await listBuilds(await ctx.api(), { limit, status, name: opt.string(options, "name") });
    return {
      data: builds.map((b) => protoJson(BuildSchema, b)),
      human: {
        kind: "table",
        empty: "No builds. Start one with `dodil ignite build create <name> --context <dir>`.",
        columns: [
          { key: "id", header: "BUILD" },
          { key: "name", header: "NAME" },
          { key: "status", header: "STATUS" },
          { key: "created", header: "CREATED" },
        ],
        wideColumns: [
          { key: "images", header: "IMAGES" },
          { key: "error", header: "ERROR" },
        ],
        rows: builds.map((b) => ({
          id: b.buildId,
          name: b.name,
          status: enumLabel(buildStatusName(b.status), "BUILD_STATUS_"),
          created: formatTime(b.createdAtMs),
          images: b.imageRefs.join(","),
          error: b.error,
        })),
      },
    };
  },
});
