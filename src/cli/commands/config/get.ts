import { SECRET_KEYS, parseConfigKey } from "../../../config/config-keys.js";
import { maskToken } from "../../../config/settings.js";
import { CliError } from "../../../errors.js";
import { defineCommand } from "../../command-spec.js";

export const configGetCommand = defineCommand({
  name: "get",
  summary: "Print one config value as stored in the file",
  description: "Print one value from the config file: ignite.<key>, falling back to global.<key>. Tokens are masked.",
  args: [{ name: "key", description: "a config key, e.g. api_endpoint or global.token" }],
  examples: ["dodil ignite config get api_endpoint", "dodil ignite config get global.org_id"],
  async handler([keyText = ""], _options, ctx) {
    const { scope, key } = parseConfigKey(keyText);
    const store = ctx.configStore();
    const explicitScope = keyText.includes(".");
    const fromIgnite = explicitScope ? store.get(scope, key) : store.get("ignite", key);
    const value = fromIgnite ?? (explicitScope ? undefined : store.get("global", key));
    if (value === undefined) throw new CliError("NOT_FOUND", `${keyText} is not set in ${store.location.file}`);
    const shown = SECRET_KEYS.has(key) ? maskToken(value) : value;
    return { data: { key: keyText, value: shown }, human: { kind: "text", text: shown } };
  },
});
