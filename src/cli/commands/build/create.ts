import { resolve } from "node:path";
import { stat } from "node:fs/promises";
import { UsageError } from "../../../errors.js";
import { defineCommand, opt, type OptionValues } from "../../command-spec.js";
import type { CommandContext } from "../../command-context.js";
import { loadDeps } from "../../load-deps.js";
import { followBuild } from "./follow.js";

export const buildCreateCommand = defineCommand({
  name: "create",
  summary: "Build an image from a Dockerfile (uploaded context, inline directory or git)",
  description:
    "Start a standalone image build (a Dockerfile is required). Give exactly one source: --context-id (from `build upload`), " +
    "--context DIR (packed and sent inline; must be under 4 MB) or --git-url (with --git-ref, --git-dir, --git-secret-ref). " +
    "Prints the build id at once; --follow streams the log until the build ends and exits 1 if it failed. " +
    "Build secrets of the org (`build secrets set`) become build args, shown as ***.",
  args: [{ name: "name", description: "image name (lowercase), e.g. greeter or team/greeter" }],
  options: [
    { flags: "--context-id <id>", description: "a context uploaded with `build upload`" },
    { flags: "--context <dir>", description: "pack this directory and send it inline (under 4 MB)" },
    { flags: "--git-url <url>", description: "build from a git repository" },
    { flags: "--git-ref <ref>", description: "branch, tag or commit (default: the default branch)" },
    { flags: "--git-dir <dir>", description: "subdirectory of the repository to use as the context" },
    { flags: "--git-secret-ref <name>", description: "git secret slot for a private repository" },
    { flags: "--dockerfile <path>", description: "Dockerfile relative to the context root (default Dockerfile)" },
    { flags: "--tag <tag>", description: "image tag (repeatable; default latest)", repeatable: true },
    { flags: "--build-arg <KEY=VALUE>", description: "Docker build argument (repeatable)", repeatable: true },
    { flags: "--platform <os/arch>", description: "target platform, e.g. linux/amd64" },
    { flags: "--no-cache", description: "do not use the build cache" },
    { flags: "--timeout-secs <seconds>", description: "fail the build after this long", valueType: "integer" },
    { flags: "-f, --follow", description: "stream the build log until it ends" },
  ],
  examples: [
    "dodil ignite build create greeter --context ./app --tag 1.0.0 --follow",
    "dodil ignite build create greeter --context-id ctx_01J9Z8X4K2M3N4P5Q6R7S8T9VW",
    "dodil ignite build create greeter --git-url https://github.com/acme-corp/greeter --git-ref main --git-dir service",
  ],
  async handler([name = ""], options, ctx) {
    const deps = await loadDeps.packing();
    const { checkBuildFlags, createBuild, prepareArchive, buildStatusName, enumLabel } = deps;
    const { request, source } = checkBuildFlags(buildFlagsFrom(name, options));
    const inlineDir = source.kind === "inline" ? await checkContextDir(source.dir, ctx) : undefined;
    const archive = inlineDir
      ? await prepareArchive({ kind: "directory", path: inlineDir, dockerfilePath: request.dockerfile || undefined, buildArgs: {}, runtime: undefined })
      : undefined;
    const { output } = ctx;
    let buildId: string;
    try {
      for (const warning of archive?.warnings ?? []) output.warn(warning);
      const created = await createBuild(await ctx.api(), request, source, archive);
      buildId = created.buildId;
      if (!opt.flag(options, "follow")) {
        output.success(`build ${buildId} started; follow it with \`dodil ignite build logs ${buildId} --follow\``);
        return {
          data: { build_id: buildId, status: buildStatusName(created.status) },
          human: { kind: "record", fields: [["BUILD", buildId], ["STATUS", enumLabel(buildStatusName(created.status), "BUILD_STATUS_")]] },
        };
      }
    } finally {
      await archive?.cleanup();
    }
    if (output.isMachine) output.jsonLine({ build_id: buildId });
    else output.info(`build ${buildId} started`);
    await followBuild(ctx, buildId);
  },
});

function buildFlagsFrom(name: string, options: OptionValues) {
  return {
    name,
    contextId: opt.string(options, "contextId"),
    context: opt.string(options, "context"),
    gitUrl: opt.string(options, "gitUrl"),
    gitRef: opt.string(options, "gitRef"),
    gitDir: opt.string(options, "gitDir"),
    gitSecretRef: opt.string(options, "gitSecretRef"),
    dockerfile: opt.string(options, "dockerfile"),
    tags: opt.list(options, "tag"),
    buildArgs: opt.list(options, "buildArg"),
    platform: opt.string(options, "platform"),
    noCache: options.cache === false,
    timeoutSecs: opt.string(options, "timeoutSecs"),
  };
}

async function checkContextDir(dir: string, ctx: CommandContext): Promise<string> {
  const path = resolve(ctx.cwd, dir);
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new UsageError(`--context ${dir} does not exist`);
  if (!info.isDirectory()) throw new UsageError(`--context ${dir} is not a directory`);
  return path;
}
