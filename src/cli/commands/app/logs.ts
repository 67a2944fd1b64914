import { parseAppRef } from "../../../core/app-ref.js";
import { parseDuration } from "../../../config/duration.js";
import { UsageError } from "../../../errors.js";
import { APP_ID_OR_MANIFEST, appIdOrManifest } from "../../manifest-app.js";
import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

/** A year back: the oldest lines --since can ask for. */
const SINCE_LIMIT_MS = 8760 * 3_600_000;

export const appLogsCommand = defineCommand({
  name: "logs",
  summary: "Print an app's output (stdout and stderr of its replicas)",
  description:
    "Print the newest lines the app's replicas wrote (default 1000, oldest first; stderr lines are marked with !). " +
    "--follow keeps printing new lines until Ctrl-C (or until --timeout, when given, which then ends cleanly). " +
    "Logs are not persisted by the platform: old lines and those of replicas gone long ago may be missing. " +
    "Under -o json the lines are one JSON array; with --follow, one JSON object per line.",
  args: [{ name: "id", description: APP_ID_OR_MANIFEST, required: false }],
  options: [
    { flags: "-f, --follow", description: "keep streaming new lines", mcp: false },
    { flags: "--limit <n>", description: "at most this many lines of backlog (1-10000, default 1000)", valueType: "integer" },
    { flags: "--since <duration>", description: "only lines newer than this, Go-style (e.g. 10m, 1h)" },
    { flags: "--replica <id>", description: "only the lines of this replica" },
  ],
  examples: ["dodil ignite app logs acme-corp:greeter", "dodil ignite app logs greeter --follow --since 5m", "dodil ignite app logs greeter --limit 50 -o json | jq -r .message"],
  async handler([id = ""], options, ctx) {
    const { followAppLogs, formatLogLine, getAppLogs, logLineJson, parseLogLimit } = await loadDeps.compute();
    const ref = parseAppRef(await appIdOrManifest(id, ctx), ctx.settings().org.value);
    const limit = parseLogLimit(opt.string(options, "limit"));
    const sinceText = opt.string(options, "since");
    const sinceSpan = sinceText === undefined ? undefined : parseDuration(sinceText, "--since", SINCE_LIMIT_MS);
    if (sinceSpan === 0) throw new UsageError(`invalid value "${sinceText}" for --since: use a duration above 0, such as 10m`);
    const sinceMs = sinceSpan === undefined ? undefined : Date.now() - sinceSpan;
    const replicaId = opt.string(options, "replica");
    if (replicaId !== undefined && replicaId.trim() === "") throw new UsageError("--replica needs a replica id (see `dodil ignite app state`)");
    const query = { limit, replicaId, sinceMs };
    const { output } = ctx;
    const withReplica = replicaId === undefined;
    const api = await ctx.api();
    const print = (line: Parameters<typeof formatLogLine>[0]) => (output.isMachine ? output.jsonLine(logLineJson(line)) : output.line(formatLogLine(line, withReplica)));
    if (!opt.flag(options, "follow")) {
      const lines = await getAppLogs(api, ref, query);
      if (output.isMachine) return { data: lines.map(logLineJson) };
      if (lines.length === 0) output.info("No log lines (yet). Logs are kept in memory: a restart or a long-gone replica leaves none.");
      for (const line of lines) print(line);
      return;
    }
    // A follow runs until Ctrl-C; an explicit --timeout bounds it and ends it cleanly.
    const explicit = ctx.settings().timeout.source !== "default";
    const end = await followAppLogs(api, ref, query, { onLine: print, timeoutMs: explicit ? ctx.settings().timeoutMs : 0, clock: ctx.clock });
    if (end === "timed-out") output.info(`stopped following after ${ctx.settings().timeout.value}`);
  },
});
