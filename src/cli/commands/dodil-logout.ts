import type { ConfigKey, ConfigScope } from "../../config/config-keys.js";
import { defineCommand } from "../command-spec.js";

const CREDENTIAL_KEYS: ConfigKey[] = ["token", "client_id", "client_secret"];

/** `dodil logout`: forgets the saved credentials (both scopes); endpoint, token URL and CA stay. */
export const dodilLogoutCommand = defineCommand({
  name: "logout",
  summary: "Remove the saved token and service-account credentials from the config",
  description:
    "Removes token, client_id and client_secret from the config file (global.* and ignite.*). The endpoint, token URL and CA certificate settings stay. " +
    "A token in DODIL_TOKEN or IGNITE_TOKEN is not touched (a warning says so).",
  examples: ["dodil logout"],
  async handler(_args, _options, ctx) {
    const store = ctx.configStore();
    const removed: string[] = [];
    for (const scope of ["global", "ignite"] as ConfigScope[]) {
      for (const key of CREDENTIAL_KEYS) if (await store.unset(scope, key)) removed.push(`${scope}.${key}`);
    }
    if (removed.length > 0) ctx.output.success(`logged out: removed ${removed.join(", ")} from ${store.location.file}`);
    else ctx.output.info(`not logged in: no saved credentials in ${store.location.file}`);
    for (const name of ["DODIL_TOKEN", "IGNITE_TOKEN"]) {
      if (ctx.env[name]) ctx.output.warn(`$${name} is still set and still supplies a token`);
    }
    return { data: { removed, config_file: store.location.file }, human: { kind: "text", text: "" } };
  },
});
