import { LIST_LIMIT, parseNumberFlag } from "../../../core/number-flags.js";
import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const appListCommand = defineCommand({
  name: "list",
  aliases: ["ls"],
  summary: "List the organization's apps",
  options: [{ flags: "--limit <n>", description: "at most this many apps (default: all)", valueType: "integer" }],
  examples: ["dodil ignite app list", "dodil ignite app list -o json | jq -r '.[].id'"],
  async handler(_args, options, ctx) {
    const { AppSummarySchema, listApps, displayId, enumLabel, formatTime, protoJson } = await loadDeps.compute();
    const limit = parseNumberFlag(opt.string(options, "limit"), "--limit", LIST_LIMIT) ?? 0;
    const apps = await listApps(await ctx.api(), ctx.settings().org.value, limit);
    const json = apps.map((a) => protoJson(AppSummarySchema, a) as Record<string, string>);
    return {
      data: json,
      human: {
        kind: "table",
        empty: "No apps yet. Create one with `dodil ignite app create <name>`.",
        columns: [
          { key: "id", header: "ID" },
          { key: "state", header: "STATE" },
          { key: "version", header: "ACTIVE" },
          { key: "description", header: "DESCRIPTION" },
        ],
        wideColumns: [
          { key: "kind", header: "KIND" },
          { key: "tier", header: "TIER" },
          { key: "updated", header: "UPDATED" },
          { key: "urls", header: "URLS" },
        ],
        rows: apps.map((a, i) => ({
          id: displayId(a.id),
          state: enumLabel(json[i]?.deployment_state, "DEPLOYMENT_STATE_"),
          version: a.activeVersion ? String(a.activeVersion) : "-",
          description: a.description,
          kind: enumLabel(json[i]?.code_kind, "CODE_KIND_"),
          tier: enumLabel(json[i]?.resource_tier, "RESOURCE_TIER_"),
          updated: formatTime(a.updatedAtMs),
          urls: a.publicUrls.join(","),
        })),
      },
    };
  },
});
