import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const buildGetCommand = defineCommand({
  name: "get",
  summary: "Show a build: status, image refs, error, timing",
  args: [{ name: "build-id", description: "the id `build create` printed" }],
  examples: ["dodil ignite build get bld_01J9Z8X4K2M3N4P5Q6R7S8T9VW", "dodil ignite build get bld_01J9Z8X4K2M3N4P5Q6R7S8T9VW -o json | jq -r '.image_refs[]'"],
  async handler([id = ""], _options, ctx) {
    const { buildView, checkBuildId, getBuild } = await loadDeps.builds();
    return buildView(await getBuild(await ctx.api(), checkBuildId(id)));
  },
});
