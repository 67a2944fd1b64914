import { parseConfigKey } from "../../../config/config-keys.js";
import { defineCommand } from "../../command-spec.js";

export const configUnsetCommand = defineCommand({
  name: "unset",
  summary: "Remove a config value",
  destructive: true,
  args: [{ name: "key", description: "a config key, e.g. token or global.token" }],
  examples: ["dodil ignite config unset token"],
  async handler([keyText = ""], _options, ctx) {
    const { scope, key } = parseConfigKey(keyText);
    const store = ctx.configStore();
    const removed = await store.unset(scope, key);
    if (removed) ctx.output.success(`${scope}.${key} removed from ${store.location.file}`);
    else ctx.output.info(`${scope}.${key} was not set`);
    return { data: { key: `${scope}.${key}`, removed }, human: { kind: "text", text: "" } };
  },
});
