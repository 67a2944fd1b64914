import { resolve } from "node:path";
import { SECRET_KEYS, parseConfigKey, validateConfigValue } from "../../../config/config-keys.js";
import { maskToken } from "../../../config/settings.js";
import { defineCommand } from "../../command-spec.js";

export const configSetCommand = defineCommand({
  name: "set",
  summary: "Set a config value",
  description: "Set a config value in the config file (written atomically, mode 0600). Keys go under ignite.* unless prefixed with global.",
  args: [
    { name: "key", description: "token, api_endpoint, org_id, org_name, output, debug, timeout, ca_cert, token_url, client_id or client_secret (optionally ignite. or global.)" },
    { name: "value", description: "the value" },
  ],
  examples: ["dodil ignite config set token <token>", "dodil ignite config set api_endpoint rpc.dev.dodil.io:443", "dodil ignite config set global.org_id acme-corp"],
  async handler([keyText = "", value = ""], _options, ctx) {
    const { scope, key } = parseConfigKey(keyText);
    // A CA file path is stored absolute, so it works from any directory.
    const checked = key === "ca_cert" ? resolve(ctx.cwd, validateConfigValue(key, value)) : validateConfigValue(key, value);
    const store = ctx.configStore();
    await store.set(scope, key, checked);
    const shown = SECRET_KEYS.has(key) ? maskToken(checked) : checked;
    ctx.output.success(`${scope}.${key} set in ${store.location.file}`);
    return { data: { key: `${scope}.${key}`, value: shown, file: store.location.file }, human: { kind: "text", text: "" } };
  },
});
