import { SECRET_TYPES } from "../../../core/flag-choices.js";
import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const secretCreateCommand = defineCommand({
  name: "create",
  summary: "Create or overwrite a git or registry secret slot",
  description:
    "Store credentials in a named slot of the org. `--type git` holds --username and --token (a personal access token) for `--git-secret-ref`; " +
    "`--type registry` holds --username, --password and --server-address (empty = Docker Hub) for `--registry-secret-ref`. " +
    "An existing slot is overwritten (that is how secrets are rotated). The value is never printed; `-` reads it from stdin.",
  args: [{ name: "name", description: "slot name: 1-64 letters, digits, '-' and '_'" }],
  options: [
    { flags: "--type <type>", description: "git or registry", choices: SECRET_TYPES },
    { flags: "--username <user>", description: "user name" },
    { flags: "--token <token>", description: "token (git; - reads stdin)" },
    { flags: "--password <password>", description: "password or token (registry; - reads stdin)" },
    { flags: "--server-address <host>", description: "registry host, e.g. ghcr.io (default Docker Hub)" },
  ],
  examples: [
    "dodil ignite secret create ghcr-pull --type registry --username acme-bot --password $GHCR_TOKEN --server-address ghcr.io",
    "dodil ignite secret create github-ci --type git --username acme-bot --token - < pat.txt",
  ],
  async handler([name = ""], options, ctx) {
    const { SecretMetadataSchema, checkSecretName, createSecret, protoJson, secretTypeLabel, secretValueFromFlags } = await loadDeps.secrets();
    checkSecretName(name);
    const flags = {
      type: opt.string(options, "type"),
      username: opt.string(options, "username"),
      token: opt.string(options, "token"),
      password: opt.string(options, "password"),
      serverAddress: opt.string(options, "serverAddress"),
    };
    if (flags.token === "-") flags.token = await stdinSecret(ctx.readStdin);
    else if (flags.password === "-") flags.password = await stdinSecret(ctx.readStdin);
    const value = secretValueFromFlags(flags);
    const secret = await createSecret(await ctx.api(), name, value);
    ctx.output.success(`saved secret ${name} (${value.case === "gitSecret" ? "git" : "registry"})`);
    const json = secret ? (protoJson(SecretMetadataSchema, secret) as Record<string, string>) : { name };
    return {
      data: json,
      human: { kind: "record", fields: [["NAME", name], ["TYPE", secretTypeLabel(secret?.type ?? "")]] },
    };
  },
});

async function stdinSecret(readStdin: () => Promise<Buffer>): Promise<string> {
  return (await readStdin()).toString("utf8").replace(/\r?\n$/, "");
}
