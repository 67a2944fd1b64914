import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";
import { followBuild } from "./follow.js";

export const buildLogsCommand = defineCommand({
  name: "logs",
  summary: "Print a build's log (replayed from the start); --follow streams it to the end",
  description:
    "Print the build's persisted log from the start. With --follow, keep streaming until the build ends and exit 1 if it failed or was cancelled; " +
    "without it, a running build's log so far is printed. Under -o json each line is one JSON object, and the last one is {\"finished\": <build>} once it ended.",
  args: [{ name: "build-id", description: "the id `build create` printed" }],
  options: [{ flags: "-f, --follow", description: "keep streaming until the build ends" }],
  examples: ["dodil ignite build logs bld_01J9Z8X4K2M3N4P5Q6R7S8T9VW --follow"],
  async handler([id = ""], options, ctx) {
    const { checkBuildId } = await loadDeps.builds();
    await followBuild(ctx, checkBuildId(id), { follow: opt.flag(options, "follow") });
  },
});
