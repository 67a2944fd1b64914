import { CliError } from "../../../errors.js";
import type { CommandContext } from "../../command-context.js";
import { loadDeps } from "../../load-deps.js";

/**
 * Streams a build's log (replayed from the start) until the build ends; exits 1 when it failed or
 * was cancelled. Under -o json: one JSON object per log line, then {"finished": <Build>}.
 */
export async function followBuild(ctx: CommandContext, buildId: string, options: { follow?: boolean } = {}): Promise<void> {
  const { BuildSchema, BuildStatus, buildStatusName, enumLabel, getBuild, isBuildEnded, protoJson, streamBuildLogs } = await loadDeps.builds();
  const { output } = ctx;
  const api = await ctx.api();
  const follow = options.follow ?? true;
  if (!follow) {
    // Not following: the log so far, without waiting for a running build.
    const build = await getBuild(api, buildId);
    if (!isBuildEnded(build.status)) {
      const abort = new AbortController();
      // The stream replays the persisted log; stop reading once it goes quiet.
      let timer = setTimeout(() => abort.abort(), 1500);
      try {
        for await (const item of streamBuildLogs(api, buildId, true, { signal: abort.signal })) {
          clearTimeout(timer);
          timer = setTimeout(() => abort.abort(), 500);
          if (item.case === "entry") printEntry(item.value);
          else if (item.case === "finished") return printFinished(item.value);
        }
      } catch (error) {
        if (!abort.signal.aborted) throw error;
      } finally {
        clearTimeout(timer);
      }
      output.info(`The build is ${enumLabel(buildStatusName(build.status), "BUILD_STATUS_")}; add --follow to stream it to the end.`);
      return;
    }
  }
  const explicit = ctx.settings().timeout.source !== "default";
  let finished = false;
  for await (const item of streamBuildLogs(api, buildId, true, { timeoutMs: explicit ? ctx.settings().timeoutMs : 0 })) {
    if (item.case === "entry") printEntry(item.value);
    else if (item.case === "finished") {
      finished = true;
      printFinished(item.value);
    }
  }
  if (!finished) printFinished(await getBuild(api, buildId));

  function printEntry(entry: { offset: bigint; timestampMs: bigint; line: string }): void {
    if (output.isMachine) output.jsonLine({ offset: Number(entry.offset), timestamp_ms: Number(entry.timestampMs), line: entry.line });
    else output.line(entry.line);
  }

  function printFinished(build: Parameters<typeof protoJson<typeof BuildSchema>>[1]): void {
    if (output.isMachine) output.jsonLine({ finished: protoJson(BuildSchema, build) });
    const status = enumLabel(buildStatusName(build.status), "BUILD_STATUS_");
    if (build.status === BuildStatus.FAILED || build.status === BuildStatus.CANCELLED) {
      throw new CliError("FAILURE", `build ${build.buildId} ${status}${build.error ? `: ${build.error}` : ""}`);
    }
    if (!isBuildEnded(build.status)) throw new CliError("UNAVAILABLE", `the log stream of build ${build.buildId} ended while it was ${status}`);
    if (!output.isMachine) output.success(`build ${status}${build.imageRefs.length ? `: ${build.imageRefs.join(", ")}` : ""}`);
  }
}
