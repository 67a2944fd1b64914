import { defineCommand } from "../../command-spec.js";

export const configPathCommand = defineCommand({
  name: "path",
  summary: "Print the path of the config file in use",
  examples: ["dodil ignite config path"],
  async handler(_args, _options, ctx) {
    const { file, source } = ctx.configStore().location;
    return { data: { path: file, source }, human: { kind: "text", text: file } };
  },
});
