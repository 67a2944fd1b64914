import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const buildCancelCommand = defineCommand({
  name: "cancel",
  summary: "Cancel a running build",
  destructive: true,
  description: "Cancel a pending or running build and print its final state. Cancelling a cancelled build is a no-op; a build that already succeeded or failed cannot be cancelled (exit 1).",
  args: [{ name: "build-id", description: "the id `build create` printed" }],
  examples: ["dodil ignite build cancel bld_01J9Z8X4K2M3N4P5Q6R7S8T9VW"],
  async handler([id = ""], _options, ctx) {
    const { buildView, cancelBuild, checkBuildId } = await loadDeps.builds();
    const build = await cancelBuild(await ctx.api(), checkBuildId(id));
    ctx.output.success(`build ${build.buildId} cancelled`);
    return buildView(build);
  },
});
