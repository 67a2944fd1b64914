import { resolve } from "node:path";
import { stat } from "node:fs/promises";
import { UsageError } from "../../../errors.js";
import { formatBytes } from "../../../output/format-bytes.js";
import { byteProgress } from "../../../output/progress.js";
import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const buildUploadCommand = defineCommand({
  name: "upload",
  summary: "Upload a build context (a directory) and print its context id",
  description:
    "Pack the directory as `draft save --code` does (deterministic tar.gz, default excludes and .dockerignore) and stream it to UploadBuildContext in ~512 KB chunks. " +
    "Prints the context id for `build create <name> --context-id <id>`.",
  options: [
    { flags: "--folder <dir>", description: "the directory to upload" },
    { flags: "--name <name>", description: "a name for the context (the image name you will build)" },
    { flags: "--no-default-excludes", description: "also send .git, node_modules, __pycache__, target and .venv" },
  ],
  examples: ["dodil ignite build upload --folder ./app --name greeter", "ctx=$(dodil ignite build upload --folder ./app --name greeter -o json | jq -r .context_id)"],
  async handler(_args, options, ctx) {
    const { checkImageName, prepareArchive, uploadContext } = await loadDeps.packing();
    const folder = opt.string(options, "folder");
    const name = opt.string(options, "name");
    if (folder === undefined) throw new UsageError("--folder <dir> is required");
    if (name === undefined) throw new UsageError("--name <name> is required");
    checkImageName(name, "--name");
    const path = resolve(ctx.cwd, folder);
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new UsageError(`--folder ${folder} does not exist`);
    if (!info.isDirectory()) throw new UsageError(`--folder ${folder} is not a directory`);
    const archive = await prepareArchive({ kind: "directory", path, dockerfilePath: undefined, buildArgs: {}, runtime: undefined }, { defaultExcludes: options.defaultExcludes !== false });
    const { output } = ctx;
    try {
      for (const warning of archive.warnings) output.warn(warning);
      const api = await ctx.api();
      const spinner = await output.spinner(`Uploading ${folder}…`);
      const progress = byteProgress(output, spinner, "Uploading");
      try {
        const uploaded = await uploadContext(api, { ...archive, name }, (sent, total) => progress.update(sent, total));
        spinner.stop();
        output.success(`uploaded ${archive.fileCount} files (${formatBytes(uploaded.sizeBytes)} archive); build it with \`dodil ignite build create ${name} --context-id ${uploaded.contextId}\``);
        return {
          data: { context_id: uploaded.contextId, size_bytes: String(uploaded.sizeBytes), digest: uploaded.digest, file_count: archive.fileCount },
          human: { kind: "text", text: uploaded.contextId },
        };
      } catch (error) {
        spinner.fail(`uploading ${folder} failed`);
        throw error;
      }
    } finally {
      await archive.cleanup();
    }
  },
});
