import { defineCommand, defineGroup, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const buildSecretsSetCommand = defineCommand({
  name: "set",
  summary: "Replace the organization's build credentials and build secrets",
  description:
    "Replace all of the org's build credentials at once (what is not given is cleared): registry credentials (REGISTRY=AUTH, repeatable), " +
    "git credentials for private repositories, and build secrets (KEY=VALUE, repeatable), which every build of the org gets as build args, shown as ***. " +
    "Values are never printed; the result lists names only. A value may come from stdin with `-` (e.g. --git-password -).",
  options: [
    { flags: "--registry-credential <REGISTRY=AUTH>", description: "registry URL and auth string (repeatable)", repeatable: true },
    { flags: "--git-username <user>", description: "git user for private repositories" },
    { flags: "--git-password <token>", description: "git password or personal access token (- reads stdin)" },
    { flags: "--build-secret <KEY=VALUE>", description: "build secret exposed as a build arg (repeatable)", repeatable: true },
  ],
  examples: [
    "dodil ignite build secrets set --registry-credential ghcr.io=$GHCR_AUTH",
    "dodil ignite build secrets set --git-username ci-bot --git-password - < token.txt --build-secret NPM_TOKEN=$NPM_TOKEN",
  ],
  async handler(_args, options, ctx) {
    const { checkBuildSecretFlags, saveBuildSecrets } = await loadDeps.builds();
    let gitPassword = opt.string(options, "gitPassword");
    const request = checkBuildSecretFlags({
      registryCredentials: opt.list(options, "registryCredential"),
      gitUsername: opt.string(options, "gitUsername"),
      gitPassword,
      buildSecrets: opt.list(options, "buildSecret"),
    });
    if (gitPassword === "-" && request.gitCredentials) {
      gitPassword = (await ctx.readStdin()).toString("utf8").replace(/\r?\n$/, "");
      request.gitCredentials.password = gitPassword;
    }
    await saveBuildSecrets(await ctx.api(), request);
    const summary = {
      registry_credentials: Object.keys(request.registryCredentials).sort(),
      git_credentials: request.gitCredentials ? { username: request.gitCredentials.username } : null,
      build_secrets: Object.keys(request.buildSecrets).sort(),
    };
    ctx.output.success("saved the org's build secrets (the previous ones were replaced)");
    return {
      data: summary,
      human: {
        kind: "record",
        fields: [
          ["REGISTRIES", summary.registry_credentials.join(", ") || "none"],
          ["GIT USER", summary.git_credentials?.username ?? "none"],
          ["BUILD SECRETS", summary.build_secrets.join(", ") || "none"],
        ],
      },
    };
  },
});

export const buildSecretsGroup = defineGroup({
  name: "secrets",
  summary: "Set the organization's build credentials and build secrets",
  commands: [buildSecretsSetCommand],
});
