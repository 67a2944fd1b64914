import { DraftInfoSchema } from "../../../gen/dodil/ignite/v1/compute_pb.js";
import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { resolveDraftSource } from "../../../core/draft-source.js";
import { saveDraft } from "../../../core/drafts.js";
import { prepareArchive } from "../../../core/prepare-archive.js";
import { defineCommand, opt, type OptionSpec, type OptionValues } from "../../command-spec.js";
import { enumLabel, protoJson } from "../../views.js";
import { formatBytes } from "../../../output/format-bytes.js";
import type { SourceFlags } from "../../../core/draft-source.js";

/** The source flags, shared with `app deploy`. */
export const sourceOptions: OptionSpec[] = [
  { flags: "-c, --code <path>", description: "a directory (packed as tar.gz), a .tar.gz/.zip archive, or a single source file" },
  { flags: "--dockerfile-path <path>", description: "Dockerfile inside the context, relative to its root (selects the Dockerfile build)" },
  { flags: "--build-arg <KEY=VALUE>", description: "Docker build argument (repeatable)", repeatable: true },
  { flags: "--git-url <url>", description: "build from a git repository instead" },
  { flags: "--git-ref <ref>", description: "branch, tag or commit for --git-url" },
  { flags: "--git-dir <dir>", description: "subdirectory of the repository to use as the context" },
  { flags: "--git-secret-ref <name>", description: "git secret slot for a private repository" },
  { flags: "--image-ref <image>", description: "run a prebuilt image instead (pin a tag or digest)" },
  { flags: "--registry-secret-ref <name>", description: "registry secret slot for pulling a private --image-ref" },
  { flags: "--runtime <runtime>", description: "managed runtime for the compile path: python, rust, go or deno" },
];

export function sourceFlagsFrom(options: OptionValues): SourceFlags {
  return {
    code: opt.string(options, "code"),
    dockerfilePath: opt.string(options, "dockerfilePath"),
    buildArg: opt.list(options, "buildArg"),
    gitUrl: opt.string(options, "gitUrl"),
    gitRef: opt.string(options, "gitRef"),
    gitDir: opt.string(options, "gitDir"),
    gitSecretRef: opt.string(options, "gitSecretRef"),
    imageRef: opt.string(options, "imageRef"),
    registrySecretRef: opt.string(options, "registrySecretRef"),
    runtime: opt.string(options, "runtime"),
  };
}

export const draftSaveCommand = defineCommand({
  name: "save",
  summary: "Upload code (or name a repo or image) as the app's draft",
  description:
    "Save the app's draft. Give exactly one source: --code (directory, archive or file), --git-url, or --image-ref. " +
    "A directory is packed as a deterministic tar.gz (skipping .git, node_modules, __pycache__, target, .venv and what .dockerignore excludes) and streamed in 1 MiB chunks. " +
    "With --dockerfile-path the image is built from your Dockerfile; the build starts right away (follow it with `draft compile-logs`).",
  args: [{ name: "id", description: "org:app, org/app or app" }],
  options: [
    ...sourceOptions,
    { flags: "--input-schema <json>", description: "JSON Schema of the input" },
    { flags: "--output-schema <json>", description: "JSON Schema of the output" },
  ],
  examples: [
    "dodil ignite draft save acme-corp:greeter --code ./app --dockerfile-path Dockerfile",
    "dodil ignite draft save acme-corp:greeter --code ./app --dockerfile-path Dockerfile --build-arg APP_ENV=prod",
    "dodil ignite draft save acme-corp:greeter --git-url https://github.com/acme-corp/greeter-service --git-ref main",
    "dodil ignite draft save acme-corp:greeter --image-ref ghcr.io/acme-corp/greeter:1.0.0",
  ],
  async handler([id = ""], options, ctx) {
    const ref = parseAppRef(id, ctx.settings().org.value);
    // Every source rule is checked before the network is touched.
    const source = await resolveDraftSource(sourceFlagsFrom(options), ctx.cwd);
    const api = await ctx.api();
    const spinner = await ctx.output.spinner(`Saving the draft of ${formatAppRef(ref)}…`);
    try {
      const result = await saveDraft(api, ref, {
        source,
        prepare: (local) => prepareArchive(local, { onWarning: (w) => ctx.output.warn(w) }),
        onUploadProgress: (sent, total) => spinner.update(`Uploading ${formatBytes(sent)} / ${formatBytes(total)}`),
        inputSchema: opt.string(options, "inputSchema"),
        outputSchema: opt.string(options, "outputSchema"),
      });
      spinner.stop();
      const draftJson = protoJson(DraftInfoSchema, result.draft) as Record<string, string>;
      const { archive } = result;
      if (archive) ctx.output.success(`uploaded ${archive.fileCount} files (${formatBytes(archive.archiveBytes)} archive, ${archive.digest.slice(0, 19)}…)`);
      ctx.output.success(`saved the draft of ${formatAppRef(ref)}${result.draft.deployId ? `; build ${result.draft.deployId} started` : ""}`);
      const data: Record<string, unknown> = { draft: draftJson };
      if (archive) {
        Object.assign(data, {
          digest: archive.digest,
          archive_bytes: archive.archiveBytes,
          uploaded_bytes: archive.uploadedBytes,
          file_count: archive.fileCount,
          total_bytes: archive.totalBytes,
          context_id: archive.contextId,
        });
      }
      return {
        data,
        human: {
          kind: "record",
          fields: [
            ["STATUS", enumLabel(draftJson.status, "VERSION_STATUS_")],
            ["KIND", enumLabel(draftJson.code_kind, "CODE_KIND_")],
            ["CODE HASH", result.draft.codeHash],
            ["BUILD", result.draft.deployId ? `${result.draft.deployId} (${enumLabel(draftJson.build_status, "BUILD_STATUS_")})` : ""],
            ["NEXT", `dodil ignite draft publish ${formatAppRef(ref)}`],
          ],
        },
      };
    } catch (error) {
      spinner.fail(`saving the draft of ${formatAppRef(ref)} failed`);
      throw error;
    }
  },
});
