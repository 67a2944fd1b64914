import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { resolveDraftSource } from "../../../core/draft-source.js";
import { RUNTIMES, RUST_TARGETS } from "../../../core/flag-choices.js";
import { DEFAULT_WARN_BYTES, parseSize } from "../../../core/context-size.js";
import { checkDependencyName, sourceRuntime } from "../../../core/dependencies.js";
import type { DraftSource, SourceFlags } from "../../../core/draft-source.js";
import { manifestSettings, type ManifestSettings } from "../../../core/info-yaml.js";
import { UsageError } from "../../../errors.js";
import { formatBytes } from "../../../output/format-bytes.js";
import type { Output } from "../../../output/output.js";
import { byteProgress } from "../../../output/progress.js";
import type { ResultView } from "../../../output/render.js";
import { defineCommand, opt, type OptionSpec, type OptionValues } from "../../command-spec.js";
import type { AppRef } from "../../../core/app-ref.js";
import type { PreparedArchive, SaveDraftResult } from "../../../core/drafts.js";
import type { CommandContext } from "../../command-context.js";
import { loadDeps } from "../../load-deps.js";
import { APP_ID_OR_MANIFEST, appIdOrManifest, manifestDirectory } from "../../manifest-app.js";
import { openLocalContext } from "../../local-context.js";

type Deps = Awaited<ReturnType<typeof loadDeps.packing>>;

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
  { flags: "--runtime <runtime>", description: "managed runtime for the compile path: python, rust, go or deno", choices: RUNTIMES },
  { flags: "--rust-target <target>", description: "with --runtime rust: native (default) or wasm", choices: RUST_TARGETS },
  { flags: "--toolchain <version>", description: "with --runtime rust: the Rust toolchain version, e.g. 1.82" },
];

/** Says so on stderr when the runtime came from the directory's info.yaml rather than a flag. */
export function noteDeclaredRuntime(output: Output, source: DraftSource): void {
  if (source.kind === "directory" && source.runtimeFrom) output.info(`runtime ${source.runtime}${source.rust ? ` (${source.rust.target})` : ""}, from ${source.runtimeFrom}`);
}

/**
 * The description, MCP flag and schemas a directory's info.yaml gives where no flag does (flags
 * win), said so on stderr.
 */
export function manifestFor(output: Output, source: DraftSource, flags: Parameters<typeof manifestSettings>[1]): ManifestSettings {
  const info = source.kind === "directory" ? source.manifest : undefined;
  const { settings, fromFile } = manifestSettings(info, flags);
  if (info && fromFile.length) output.info(`${fromFile.join(", ")} from ${info.shown}`);
  return settings;
}

/** The source flags; with none, in a directory whose info.yaml names the app, --code is that directory. */
export async function sourceFlagsOrManifest(options: OptionValues, ctx: CommandContext): Promise<SourceFlags> {
  const flags = sourceFlagsFrom(options);
  if (flags.code !== undefined || flags.gitUrl !== undefined || flags.imageRef !== undefined || !(await manifestDirectory(ctx))) return flags;
  ctx.output.info("code from . (it has an info.yaml)");
  return { ...flags, code: "." };
}

/**
 * The -d/--dependency names, checked before anything is sent; only the python managed runtime
 * installs them (as the platform's docs say), so any other source gets a warning naming what it is
 * and sends none.
 */
function dependenciesFor(output: Output, source: DraftSource, names: string[]): string[] {
  if (!names.length) return [];
  for (const n of names) checkDependencyName(n);
  const effective = sourceRuntime(source);
  if (effective === "python") return names;
  const what = effective ? `the ${effective} runtime` : source.kind === "image" ? "a prebuilt image" : "an image build (Dockerfile)";
  output.warn(`-d/--dependency is installed only by the python runtime; ignored for ${what} (${names.join(", ")}): declare it in the app's own manifest instead`);
  return [];
}

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
    rustTarget: opt.string(options, "rustTarget"),
    toolchain: opt.string(options, "toolchain"),
  };
}

export const draftSaveCommand = defineCommand({
  name: "save",
  summary: "Upload code (or name a repo or image) as the app's draft",
  description:
    "Save the app's draft. Give exactly one source: --code (directory, archive or file), --git-url, or --image-ref. " +
    "A directory is packed as a deterministic tar.gz, skipping .git, node_modules, __pycache__, target and .venv at any depth and what .dockerignore excludes " +
    "(Docker's rules; <Dockerfile>.dockerignore next to the Dockerfile wins). An archive the server already has (same digest) is not sent again. " +
    "Contexts over 100 MB get a warning naming the largest paths (--size-warning, 0 disables); archives over 2 GiB are refused before upload. " +
    "With --dockerfile-path the image is built from your Dockerfile; the build starts right away (follow it with `draft compile-logs`). " +
    "With --runtime (or, without --runtime and --dockerfile-path, a `runtime:` line in the directory's info.yaml, as in the platform's samples) the code goes to the managed runtime's compile path.",
  args: [{ name: "id", description: APP_ID_OR_MANIFEST, required: false }],
  options: [
    ...sourceOptions,
    { flags: "--dry-run", description: "pack the context and show what would be sent; contacts no server" },
    { flags: "--explain", description: "with --dry-run: also list each excluded path and the rule that excluded it" },
    { flags: "--no-default-excludes", description: "also send .git, node_modules, __pycache__, target and .venv" },
    { flags: "--size-warning <size>", description: "warn when the context is larger than this (default 100MB; 0 disables)" },
    { flags: "--input-schema <json>", description: "JSON Schema of the input", valueType: "json" },
    { flags: "--output-schema <json>", description: "JSON Schema of the output", valueType: "json" },
    { flags: "-d, --dependency <name>", description: "a package the python managed runtime installs with the requirements (repeatable, e.g. -d requests -d numpy); other sources warn and ignore it", repeatable: true },
  ],
  examples: [
    "dodil ignite draft save acme-corp:myapp -c handler.py -d requests -d numpy",
    "dodil ignite draft save acme-corp:greeter --code ./app --dockerfile-path Dockerfile",
    "dodil ignite draft save acme-corp:greeter --code ./app --dockerfile-path Dockerfile --build-arg APP_ENV=prod",
    "dodil ignite draft save acme-corp:greeter --code ./app --dockerfile-path Dockerfile --dry-run --explain",
    "dodil ignite draft save hello-rs --code ./hello-rs --runtime rust --rust-target native",
    "dodil ignite draft save acme-corp:greeter --git-url https://github.com/acme-corp/greeter-service --git-ref main",
    "dodil ignite draft save acme-corp:greeter --image-ref ghcr.io/acme-corp/greeter:1.0.0",
  ],
  async handler([id = ""], options, ctx) {
    const deps = await loadDeps.packing();
    const { isLocalSource, saveDraft } = deps;
    const ref = parseAppRef(await appIdOrManifest(id, ctx), ctx.settings().org.value);
    // Every source rule is checked before the network is touched.
    const source = await resolveDraftSource(await sourceFlagsOrManifest(options, ctx), ctx.cwd);
    const dryRun = opt.flag(options, "dryRun");
    if (opt.flag(options, "explain") && !dryRun) throw new UsageError("--explain goes with --dry-run");
    if (dryRun && !isLocalSource(source)) throw new UsageError("--dry-run needs --code: there is nothing to pack for --git-url or --image-ref");
    const warnText = opt.string(options, "sizeWarning");
    const warnBytes = warnText === undefined ? DEFAULT_WARN_BYTES : parseSize(warnText, "--size-warning");
    const { output } = ctx;
    noteDeclaredRuntime(output, source);
    const manifest = manifestFor(output, source, { inputSchema: opt.string(options, "inputSchema"), outputSchema: opt.string(options, "outputSchema") });
    const dependencies = dependenciesFor(output, source, opt.list(options, "dependency"));

    const local = await openLocalContext(ctx, source, { defaultExcludes: options.defaultExcludes !== false, warnBytes, alwaysPack: dryRun });
    try {
      if (dryRun && local.archive) return dryRunView(local.archive, opt.flag(options, "explain"));
      const api = await ctx.api();
      const spinner = await output.spinner(`Saving the draft of ${formatAppRef(ref)}…`);
      const progress = byteProgress(output, spinner, "Uploading");
      try {
        const result = await saveDraft(api, ref, {
          source,
          archive: local.archive,
          reuse: local.reuse,
          stream: local.stream,
          onUploadProgress: (sent, total) => progress.update(sent, total),
          inputSchema: opt.string(options, "inputSchema") ?? manifest.inputSchema,
          outputSchema: opt.string(options, "outputSchema") ?? manifest.outputSchema,
          appPatch: { description: manifest.description, mcpEnabled: manifest.mcpEnabled },
          dependencies,
        });
        spinner.stop();
        await local.saved(result);
        return savedView(deps, output, ref, result);
      } catch (error) {
        spinner.fail(`saving the draft of ${formatAppRef(ref)} failed`);
        throw error;
      }
    } finally {
      await local.close();
    }
  },
});


const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

function dryRunView(archive: PreparedArchive, explain: boolean): ResultView {
  const files = archive.files.filter((f) => f.type !== "dir");
  const summary = `${archive.fileCount} files, ${formatBytes(archive.totalBytes)} (archive ${formatBytes(archive.sizeBytes)}, ${archive.digest}); dry run: nothing was sent`;
  const lines = files.map((f) => `${octal(f.mode)}  ${formatBytes(f.size).padStart(8)}  ${f.path}${f.type === "symlink" ? " (link)" : ""}`);
  if (explain) {
    lines.push("", archive.excluded.length ? "Excluded:" : "Excluded: nothing");
    for (const e of archive.excluded) lines.push(`  ${e.path}    (${e.source === "default" ? `default exclude ${e.rule}` : `${e.source}: ${e.rule}`})`);
  }
  lines.push("", summary);
  return {
    data: {
      dry_run: true,
      digest: archive.digest,
      archive_bytes: archive.sizeBytes,
      file_count: archive.fileCount,
      total_bytes: archive.totalBytes,
      files: files.map((f) => ({ path: f.path, size: f.size, mode: octal(f.mode), type: f.type })),
      excluded: archive.excluded.map((e) => ({ path: e.path, rule: e.rule, source: e.source })),
    },
    human: { kind: "text", text: lines.join("\n") },
  };
}

function savedView(deps: Deps, output: Output, ref: AppRef, result: SaveDraftResult): ResultView {
  const { protoJson, DraftInfoSchema, enumLabel } = deps;
  const draftJson = protoJson(DraftInfoSchema, result.draft) as Record<string, string>;
  const { archive } = result;
  if (archive) {
    output.success(
      !archive.packed
        ? `context unchanged since the last save (${archive.digest.slice(0, 19)}…): nothing packed or uploaded`
        : archive.uploadedBytes === 0
        ? `context unchanged (${archive.digest.slice(0, 19)}…): nothing uploaded`
        : `uploaded ${archive.fileCount} files (${formatBytes(archive.uploadedBytes)} archive, ${archive.digest.slice(0, 19)}…)`,
    );
  }
  output.success(`saved the draft of ${formatAppRef(ref)}${result.draft.deployId ? `; build ${result.draft.deployId} started` : ""}`);
  const data: Record<string, unknown> = { draft: draftJson };
  if (archive) {
    Object.assign(data, {
      digest: archive.digest,
      archive_bytes: archive.archiveBytes,
      uploaded_bytes: archive.uploadedBytes,
      file_count: archive.fileCount,
      total_bytes: archive.totalBytes,
      context_id: archive.contextId,
      packed: archive.packed,
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
}
