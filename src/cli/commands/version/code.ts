import { resolve } from "node:path";
import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { UsageError } from "../../../errors.js";
import { formatBytes } from "../../../output/format-bytes.js";
import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const versionCodeCommand = defineCommand({
  name: "code",
  summary: "Download the source snapshot of a version (a file, or extracted into a directory)",
  description:
    "Download the code a version was built from (default: the active version). Without -O it is saved as one file " +
    "(--output-file, default <app>-v<N>.tar.gz in the current directory; --force overwrites). With -O DIR it is extracted into DIR, " +
    "which must be new or empty; entries with absolute paths, '..', links leaving DIR or devices are refused before anything is written. " +
    "`--output-file -` writes the raw archive to stdout.",
  args: [{ name: "id", description: "org:app, org/app or app" }],
  options: [
    { flags: "--version <n>", description: "the version (default: the active one)", valueType: "integer" },
    { flags: "--output-file <path>", description: "save the archive here (- for stdout)" },
    { flags: "-O, --output-dir <dir>", description: "extract into this new or empty directory" },
    { flags: "--force", description: "overwrite an existing --output-file" },
  ],
  examples: ["dodil ignite version code acme-corp:greeter", "dodil ignite version code greeter --version 1 -O ./greeter-v1", "dodil ignite version code greeter --output-file - | tar tz"],
  async handler([id = ""], options, ctx) {
    const { checkCodeTarget, defaultCodeFileName, extractCode, getAppCode, parseVersionNumber, writeCodeFile, enumLabel, CodeKind } = await loadDeps.compute();
    const ref = parseAppRef(id, ctx.settings().org.value);
    const versionText = opt.string(options, "version");
    const version = versionText === undefined ? 0 : parseVersionNumber(versionText);
    const outputFile = opt.string(options, "outputFile");
    const outputDir = opt.string(options, "outputDir");
    if (outputFile !== undefined && outputDir !== undefined) throw new UsageError("--output-file and -O/--output-dir cannot be used together");
    if (outputFile === "" || outputDir === "") throw new UsageError(`${outputFile === "" ? "--output-file" : "-O"} needs a path`);
    if (opt.flag(options, "force") && outputDir !== undefined) throw new UsageError("--force goes with --output-file (-O only extracts into a new or empty directory)");
    const toStdout = outputFile === "-";
    if (toStdout && ctx.output.isMachine) throw new UsageError("--output-file - writes the archive itself: drop -o json/yaml");
    // Paths are the user's: relative to the command's working directory.
    const at = (path: string) => resolve(ctx.cwd, path);
    if (outputDir !== undefined) await checkCodeTarget({ kind: "directory", path: at(outputDir), shown: outputDir });
    else if (outputFile !== undefined && !toStdout) await checkCodeTarget({ kind: "file", path: at(outputFile), shown: outputFile, force: opt.flag(options, "force") });

    const code = await getAppCode(await ctx.api(), ref, version);
    const kind = enumLabel(`CODE_KIND_${CodeKind[code.codeKind] ?? "UNSPECIFIED"}`, "CODE_KIND_");
    const base = { version: code.version, code_hash: code.codeHash, code_kind: `CODE_KIND_${CodeKind[code.codeKind] ?? "UNSPECIFIED"}`, content_type: code.contentType, size_bytes: code.archive.length };
    if (toStdout) {
      ctx.output.raw(code.archive);
      return;
    }
    if (outputDir !== undefined) {
      const extracted = await extractCode(code, at(outputDir), "source");
      ctx.output.success(`extracted version ${code.version} of ${formatAppRef(ref)} into ${outputDir} (${extracted.files} files, ${formatBytes(extracted.bytes)})`);
      return {
        data: { ...base, directory: outputDir, file_count: extracted.files },
        human: { kind: "record", fields: [["VERSION", String(code.version)], ["DIRECTORY", outputDir], ["FILES", String(extracted.files)], ["CODE HASH", code.codeHash], ["KIND", kind]] },
      };
    }
    const path = outputFile ?? defaultCodeFileName(ref, code);
    if (outputFile === undefined) await checkCodeTarget({ kind: "file", path: at(path), shown: path, force: opt.flag(options, "force") });
    const bytes = await writeCodeFile(code, at(path));
    ctx.output.success(`saved version ${code.version} of ${formatAppRef(ref)} to ${path} (${formatBytes(bytes)})`);
    return {
      data: { ...base, file: path },
      human: { kind: "record", fields: [["VERSION", String(code.version)], ["FILE", path], ["SIZE", formatBytes(bytes)], ["CODE HASH", code.codeHash], ["KIND", kind]] },
    };
  },
});
