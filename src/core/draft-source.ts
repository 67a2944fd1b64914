import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { isAbsolute, join, normalize } from "node:path";
import { UsageError } from "../errors.js";
import { RUNTIMES, RUST_TARGETS, type RuntimeName, type RustOptions } from "./flag-choices.js";
import { readInfoYaml, type InfoYaml } from "./info-yaml.js";

export type { RuntimeName };
import { parseKeyValues } from "./key-values.js";


/** The source flags of `draft save` (and `app deploy`) as typed. */
export interface SourceFlags {
  code?: string | undefined;
  dockerfilePath?: string | undefined;
  gitUrl?: string | undefined;
  gitRef?: string | undefined;
  gitDir?: string | undefined;
  gitSecretRef?: string | undefined;
  imageRef?: string | undefined;
  registrySecretRef?: string | undefined;
  buildArg?: string[] | undefined;
  runtime?: string | undefined;
  rustTarget?: string | undefined;
  toolchain?: string | undefined;
}

/** A validated source: exactly one of a local path, a git repository or a prebuilt image. */
export type DraftSource =
  | {
      kind: "directory";
      path: string;
      dockerfilePath: string | undefined;
      buildArgs: Record<string, string>;
      runtime: RuntimeName | undefined;
      rust?: RustOptions;
      /** Set when the runtime was not a flag but the directory's info.yaml. */
      runtimeFrom?: "info.yaml";
      /** The directory's info.yaml (its manifest), when it has one. */
      manifest?: InfoYaml;
    }
  | { kind: "archive"; path: string; dockerfilePath: string | undefined; buildArgs: Record<string, string>; runtime: RuntimeName | undefined; rust?: RustOptions }
  | { kind: "file"; path: string; runtime: RuntimeName | undefined; rust?: RustOptions }
  | { kind: "git"; url: string; ref: string; contextDir: string; dockerfilePath: string | undefined; secretRef: string; buildArgs: Record<string, string> }
  | { kind: "image"; imageRef: string; registrySecretRef: string };

const ARCHIVE = /\.(tar\.gz|tgz|tar|zip)$/i;

/**
 * Checks the source flags before anything touches the network (DESIGN §3 and the seed's gotchas):
 * every rule failure is a UsageError naming the flag.
 */
export async function resolveDraftSource(flags: SourceFlags, cwd: string): Promise<DraftSource> {
  const given = (["code", "gitUrl", "imageRef"] as const).filter((k) => flags[k] !== undefined);
  const names: Record<(typeof given)[number], string> = { code: "--code", gitUrl: "--git-url", imageRef: "--image-ref" };
  if (given.length > 1) {
    throw new UsageError(`${given.map((k) => names[k]).join(" and ")} cannot be used together: the source flags are mutually exclusive`);
  }
  const buildArgs = parseKeyValues(flags.buildArg ?? [], "--build-arg");
  const hasBuildArgs = (flags.buildArg ?? []).length > 0;
  const runtime = parseRuntime(flags.runtime);
  const rust = parseRustOptions(flags, runtime);
  const withRust = rust ? { rust } : {};

  if (flags.imageRef !== undefined) {
    if (flags.dockerfilePath !== undefined) throw new UsageError("--dockerfile-path cannot be used with --image-ref: a prebuilt image has no build step");
    if (hasBuildArgs) throw new UsageError("--build-arg cannot be used with --image-ref: a prebuilt image has no build step");
    if (runtime) throw new UsageError("--runtime cannot be used with --image-ref");
    rejectStray(flags, ["gitRef", "gitDir", "gitSecretRef"]);
    if (flags.imageRef.trim() === "") throw new UsageError("--image-ref needs an image reference, e.g. ghcr.io/acme/app:1.2.3");
    return { kind: "image", imageRef: flags.imageRef.trim(), registrySecretRef: flags.registrySecretRef ?? "" };
  }
  if (flags.registrySecretRef !== undefined) throw new UsageError("--registry-secret-ref needs --image-ref");

  if (flags.gitUrl !== undefined) {
    rejectStray(flags, []);
    if (runtime) throw new UsageError("--runtime cannot be used with --git-url: git sources build an image");
    const dockerfilePath = flags.dockerfilePath === undefined ? undefined : checkDockerfilePath(flags.dockerfilePath);
    return {
      kind: "git",
      url: flags.gitUrl,
      ref: flags.gitRef ?? "",
      contextDir: flags.gitDir ?? "",
      dockerfilePath,
      secretRef: flags.gitSecretRef ?? "",
      buildArgs,
    };
  }
  rejectStray(flags, ["gitRef", "gitDir", "gitSecretRef"]);

  if (flags.code === undefined) {
    if (flags.dockerfilePath !== undefined) {
      throw new UsageError("--dockerfile-path requires a context: point --code at a directory or archive that contains the Dockerfile");
    }
    throw new UsageError("no source given: pass one of --code <dir|archive|file>, --git-url <url> or --image-ref <image>");
  }

  if (runtime && flags.dockerfilePath !== undefined) {
    throw new UsageError("--runtime and --dockerfile-path cannot be used together: a Dockerfile selects the image build, --runtime the managed runtime");
  }
  const path = join(isAbsolute(flags.code) ? "" : cwd, flags.code);
  const info = await statReadable(path, flags.code);
  if (info.isDirectory()) {
    const dockerfilePath = flags.dockerfilePath === undefined ? undefined : checkDockerfilePath(flags.dockerfilePath);
    if (dockerfilePath !== undefined) {
      const dockerfile = join(path, dockerfilePath);
      const found = await stat(dockerfile).catch(() => undefined);
      if (!found?.isFile()) throw new UsageError(`--dockerfile-path ${dockerfilePath} not found in ${flags.code}: the path is relative to the context root`);
    }
    // The samples' info.yaml is the app's manifest; its runtime counts without --runtime or --dockerfile-path.
    const manifest = await readInfoYaml(path, flags.code);
    const withManifest = manifest ? { manifest } : {};
    const declared = runtime === undefined && dockerfilePath === undefined ? manifest?.runtime : undefined;
    if (declared) return { kind: "directory", path, dockerfilePath, buildArgs, runtime: declared.runtime, ...(declared.rust ? { rust: declared.rust } : {}), runtimeFrom: "info.yaml", ...withManifest };
    return { kind: "directory", path, dockerfilePath, buildArgs, runtime, ...withRust, ...withManifest };
  }
  if (!info.isFile()) throw new UsageError(`--code ${flags.code} is neither a file nor a directory`);
  if (ARCHIVE.test(path)) {
    const dockerfilePath = flags.dockerfilePath === undefined ? undefined : checkDockerfilePath(flags.dockerfilePath);
    return { kind: "archive", path, dockerfilePath, buildArgs, runtime, ...withRust };
  }
  if (flags.dockerfilePath !== undefined) {
    throw new UsageError("--dockerfile-path requires a context: --code names a single file; point it at a directory or archive that contains the Dockerfile");
  }
  if (hasBuildArgs) throw new UsageError("--build-arg needs an image build: use --code <dir> with --dockerfile-path");
  return { kind: "file", path, runtime, ...withRust };
}

function parseRustOptions(flags: SourceFlags, runtime: RuntimeName | undefined): RustOptions | undefined {
  if (flags.rustTarget === undefined && flags.toolchain === undefined) return undefined;
  const flag = flags.rustTarget !== undefined ? "--rust-target" : "--toolchain";
  if (runtime !== "rust") throw new UsageError(`${flag} goes with --runtime rust${runtime ? `, not --runtime ${runtime}` : ""}`);
  const target = flags.rustTarget ?? "native";
  if (!(RUST_TARGETS as readonly string[]).includes(target)) throw new UsageError(`invalid value "${target}" for --rust-target: use native or wasm`);
  const toolchain = (flags.toolchain ?? "").trim();
  if (flags.toolchain !== undefined && !/^(\d+\.\d+(\.\d+)?|stable|beta|nightly)$/.test(toolchain)) {
    throw new UsageError(`invalid value "${flags.toolchain}" for --toolchain: a Rust version such as 1.82 (or stable)`);
  }
  return { target: target as RustOptions["target"], toolchain };
}

function parseRuntime(text: string | undefined): RuntimeName | undefined {
  if (text === undefined) return undefined;
  if ((RUNTIMES as readonly string[]).includes(text)) return text as RuntimeName;
  throw new UsageError(`invalid value "${text}" for --runtime: use one of ${RUNTIMES.join(", ")}`);
}

function rejectStray(flags: SourceFlags, keys: Array<"gitRef" | "gitDir" | "gitSecretRef">): void {
  const flagNames = { gitRef: "--git-ref", gitDir: "--git-dir", gitSecretRef: "--git-secret-ref" };
  for (const key of keys) if (flags[key] !== undefined) throw new UsageError(`${flagNames[key]} needs --git-url`);
}

function checkDockerfilePath(text: string): string {
  const cleaned = normalize(text).replace(/\\/g, "/");
  if (text.trim() === "" || isAbsolute(text) || cleaned === ".." || cleaned.startsWith("../")) {
    throw new UsageError(`--dockerfile-path ${text} must be a path inside the context, relative to its root`);
  }
  return cleaned;
}

async function statReadable(path: string, shown: string) {
  try {
    const info = await stat(path);
    await access(path, constants.R_OK | (info.isDirectory() ? constants.X_OK : 0));
    return info;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UsageError(`--code ${shown} does not exist`);
    throw new UsageError(`--code ${shown} cannot be read (${code ?? (error as Error).message})`);
  }
}
