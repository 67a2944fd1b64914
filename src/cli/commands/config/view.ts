import { maskToken } from "../../../config/settings.js";
import { defineCommand } from "../../command-spec.js";

export const configViewCommand = defineCommand({
  name: "view",
  aliases: ["list"],
  summary: "Show the settings in effect and where each comes from",
  description: "Show every setting as resolved (flag > environment > the context in use > ignite.* > global.* > default) with its source. The token and client secret are masked.",
  examples: ["dodil ignite config view", "dodil ignite config view -o json"],
  async handler(_args, _options, ctx) {
    const s = ctx.settings();
    const rows = [
      { key: "context", value: s.context.value ?? "", source: s.context.source },
      { key: "api_endpoint", value: s.apiEndpoint.value, source: s.apiEndpoint.source },
      { key: "token", value: maskToken(s.token.value), source: s.token.source },
      { key: "org", value: s.org.value ?? "", source: s.org.source },
      { key: "output", value: s.output.value, source: s.output.source },
      { key: "debug", value: String(s.debug.value), source: s.debug.source },
      { key: "timeout", value: s.timeout.value, source: s.timeout.source },
      { key: "ca_cert", value: s.caCert.value ?? "", source: s.caCert.source },
      { key: "token_url", value: s.tokenUrl.value, source: s.tokenUrl.source },
      { key: "client_id", value: s.clientId.value ?? "", source: s.clientId.source },
      { key: "client_secret", value: maskToken(s.clientSecret.value), source: s.clientSecret.source },
    ];
    const file = ctx.configStore().location.file;
    return {
      data: { config_file: file, settings: Object.fromEntries(rows.map((r) => [r.key, { value: r.value, source: r.source }])) },
      human: { kind: "table", columns: [{ key: "key", header: "KEY" }, { key: "value", header: "VALUE" }, { key: "source", header: "SOURCE" }], rows },
    };
  },
});
