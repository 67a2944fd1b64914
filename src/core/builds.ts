import { readFile } from "node:fs/promises";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CallOptions, IgniteApi } from "../api/ignite-api.js";
import { BuildStatus } from "../gen/dodil/ignite/v1/common_pb.js";
import { BuildService, type Build, type CreateBuildRequestSchema, type StreamBuildLogsResponse } from "../gen/dodil/ignite/v1/build_pb.js";
import { CliError, UsageError } from "../errors.js";
import type { PreparedArchive } from "./drafts.js";
import { parseKeyValues } from "./key-values.js";
import { uploadBuildContext, type UploadedContext } from "./upload.js";

/** `build upload` sends ~512 KB per message, as the platform recommends. */
export const BUILD_UPLOAD_CHUNK_BYTES = 512 * 1024;
/** The platform's limit for an inline context (`zipped_code`). */
export const INLINE_CONTEXT_LIMIT_BYTES = 4 * 1024 * 1024;

const IMAGE_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function checkImageName(name: string, what = "build name"): string {
  if (!IMAGE_NAME.test(name) || name.length > 128) throw new UsageError(`invalid ${what} "${name}": use a lowercase image name such as my-app or team/my-app`);
  return name;
}

/** Build ids are what CreateBuild returned; only their shape is checked here. */
export function checkBuildId(text: string): string {
  const id = text.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/.test(id)) throw new UsageError(`malformed build id "${text}"`);
  return id;
}

/** UploadBuildContext with ~512 KB chunks; prints nothing (the caller shows progress). */
export function uploadContext(api: IgniteApi, archive: PreparedArchive, onProgress?: (sent: number, total: number) => void): Promise<UploadedContext> {
  return uploadBuildContext(api, archive, onProgress, BUILD_UPLOAD_CHUNK_BYTES);
}

/** `build create` flags as typed. */
export interface BuildFlags {
  name: string;
  contextId?: string | undefined;
  context?: string | undefined;
  gitUrl?: string | undefined;
  gitRef?: string | undefined;
  gitDir?: string | undefined;
  gitSecretRef?: string | undefined;
  dockerfile?: string | undefined;
  tags: string[];
  buildArgs: string[];
  platform?: string | undefined;
  noCache: boolean;
  timeoutSecs?: string | undefined;
}

export type BuildSource = { kind: "context-id"; contextId: string } | { kind: "inline"; dir: string } | { kind: "git"; url: string; ref: string; dir: string; secretRef: string };

export type BuildRequest = Omit<MessageInitShape<typeof CreateBuildRequestSchema>, "source" | "$typeName">;

/** Checks every `build create` flag before the network is touched. */
export function checkBuildFlags(flags: BuildFlags): { request: BuildRequest; source: BuildSource } {
  const name = checkImageName(flags.name);
  const given = [flags.contextId !== undefined && "--context-id", flags.context !== undefined && "--context", flags.gitUrl !== undefined && "--git-url"].filter(Boolean) as string[];
  if (given.length > 1) throw new UsageError(`${given.join(" and ")} cannot be used together: give exactly one build source`);
  if (given.length === 0) throw new UsageError("no build source: pass --context <dir> (inline, under 4 MB), --context-id <id> (from `build upload`) or --git-url <url>");
  if (flags.gitUrl === undefined) {
    for (const [value, flag] of [[flags.gitRef, "--git-ref"], [flags.gitDir, "--git-dir"], [flags.gitSecretRef, "--git-secret-ref"]] as const) {
      if (value !== undefined) throw new UsageError(`${flag} needs --git-url`);
    }
  }
  for (const tag of flags.tags) if (!TAG.test(tag)) throw new UsageError(`invalid --tag "${tag}": tags are up to 128 letters, digits, '_', '.' and '-'`);
  const timeoutSecs = flags.timeoutSecs === undefined ? 0 : Number(flags.timeoutSecs);
  if (flags.timeoutSecs !== undefined && (!/^\d{1,9}$/.test(flags.timeoutSecs) || timeoutSecs < 1)) {
    throw new UsageError(`invalid value "${flags.timeoutSecs}" for --timeout-secs: use a whole number of seconds (1 or more)`);
  }
  if (flags.platform !== undefined && !/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/.test(flags.platform)) {
    throw new UsageError(`invalid value "${flags.platform}" for --platform: use os/arch such as linux/amd64`);
  }
  const dockerfile = flags.dockerfile ?? "";
  if (dockerfile.startsWith("/") || dockerfile.split(/[\\/]/).includes("..")) throw new UsageError(`--dockerfile ${dockerfile} must be a path inside the context, relative to its root`);
  const source: BuildSource =
    flags.contextId !== undefined
      ? { kind: "context-id", contextId: nonEmpty(flags.contextId, "--context-id") }
      : flags.context !== undefined
        ? { kind: "inline", dir: flags.context }
        : { kind: "git", url: nonEmpty(flags.gitUrl ?? "", "--git-url"), ref: flags.gitRef ?? "", dir: flags.gitDir ?? "", secretRef: flags.gitSecretRef ?? "" };
  return {
    request: {
      name,
      dockerfile,
      tags: flags.tags,
      buildArgs: parseKeyValues(flags.buildArgs, "--build-arg"),
      platform: flags.platform ?? "",
      noCache: flags.noCache,
      timeoutSecs: BigInt(timeoutSecs),
    },
    source,
  };
}

function nonEmpty(text: string, flag: string): string {
  if (text.trim() === "") throw new UsageError(`${flag} needs a value`);
  return text.trim();
}

/** CreateBuild from a checked request; an inline source is the packed archive (refused at 4 MB and over). */
export async function createBuild(api: IgniteApi, request: BuildRequest, source: BuildSource, inlineArchive?: PreparedArchive): Promise<{ buildId: string; status: BuildStatus }> {
  let sourceField: MessageInitShape<typeof CreateBuildRequestSchema>["source"];
  if (source.kind === "context-id") sourceField = { case: "contextId", value: source.contextId };
  else if (source.kind === "git") sourceField = { case: "gitSource", value: { url: source.url, reference: source.ref, contextDir: source.dir, secretRef: source.secretRef } };
  else {
    if (!inlineArchive) throw new Error("createBuild: an inline source needs its packed archive");
    if (inlineArchive.sizeBytes >= INLINE_CONTEXT_LIMIT_BYTES) {
      throw new CliError("RESOURCE_EXHAUSTED", `the packed context is ${inlineArchive.sizeBytes} bytes; inline contexts must be under 4 MB`, {
        hint: "upload it first: `dodil ignite build upload --folder <dir> --name <name>`, then `build create <name> --context-id <id>`",
      });
    }
    sourceField = { case: "zippedCode", value: await readFile(inlineArchive.path) };
  }
  const response = await api.unary(BuildService.method.createBuild, { ...request, source: sourceField });
  return { buildId: response.buildId, status: response.status };
}

export async function getBuild(api: IgniteApi, id: string): Promise<Build> {
  const build = (await api.unary(BuildService.method.getBuild, { buildId: id })).build;
  if (!build) throw new CliError("NOT_FOUND", `build ${id} not found`);
  return build;
}

const STATUSES: Record<string, BuildStatus> = {
  pending: BuildStatus.PENDING,
  running: BuildStatus.RUNNING,
  succeeded: BuildStatus.SUCCEEDED,
  failed: BuildStatus.FAILED,
  cancelled: BuildStatus.CANCELLED,
};

export function parseBuildStatus(text: string | undefined): BuildStatus | undefined {
  if (text === undefined) return undefined;
  const status = STATUSES[text.toLowerCase()];
  if (status === undefined) throw new UsageError(`invalid value "${text}" for --status: use ${Object.keys(STATUSES).join(", ")}`);
  return status;
}

/** The org's builds, newest first, following cursors up to `limit` (0 = all). */
export async function listBuilds(api: IgniteApi, filter: { limit: number; status?: BuildStatus | undefined; name?: string | undefined }): Promise<Build[]> {
  const builds: Build[] = [];
  let cursor = "";
  do {
    const page = await api.unary(BuildService.method.listBuilds, { limit: filter.limit || 100, cursor, status: filter.status ?? BuildStatus.UNSPECIFIED, name: filter.name ?? "" });
    builds.push(...page.builds);
    cursor = page.nextCursor;
  } while (cursor && (filter.limit === 0 || builds.length < filter.limit));
  return filter.limit ? builds.slice(0, filter.limit) : builds;
}

/** The build's log; `fromStart` replays the persisted log first. Ends with `finished` once the build has ended. */
export async function* streamBuildLogs(api: IgniteApi, id: string, fromStart: boolean, options: CallOptions = {}): AsyncGenerator<StreamBuildLogsResponse["item"]> {
  for await (const message of api.serverStream(BuildService.method.streamBuildLogs, { buildId: id, fromStart }, options)) yield message.item;
}

export async function cancelBuild(api: IgniteApi, id: string): Promise<Build> {
  const build = (await api.unary(BuildService.method.cancelBuild, { buildId: id })).build;
  if (!build) throw new CliError("NOT_FOUND", `build ${id} not found`);
  return build;
}

export function isBuildEnded(status: BuildStatus): boolean {
  return status === BuildStatus.SUCCEEDED || status === BuildStatus.FAILED || status === BuildStatus.CANCELLED;
}

/** `build secrets set` flags as typed. */
export interface BuildSecretFlags {
  registryCredentials: string[];
  gitUsername?: string | undefined;
  gitPassword?: string | undefined;
  buildSecrets: string[];
}

export interface BuildSecretsRequest {
  registryCredentials: Record<string, string>;
  gitCredentials?: { username: string; password: string };
  buildSecrets: Record<string, string>;
}

/** Checks `build secrets set` flags: URL=AUTH pairs, git username and password together, K=V secrets. */
export function checkBuildSecretFlags(flags: BuildSecretFlags): BuildSecretsRequest {
  const registryCredentials: Record<string, string> = {};
  for (const item of flags.registryCredentials) {
    const eq = item.indexOf("=");
    const registry = eq < 0 ? "" : item.slice(0, eq).trim();
    const auth = eq < 0 ? "" : item.slice(eq + 1);
    // The value is never echoed back, not even in an error.
    if (!registry || !auth || /\s/.test(registry)) throw new UsageError(`invalid --registry-credential for "${registry || "?"}": use REGISTRY=AUTH, e.g. ghcr.io=<base64 user:token>`);
    registryCredentials[registry] = auth;
  }
  if ((flags.gitUsername === undefined) !== (flags.gitPassword === undefined)) throw new UsageError("--git-username and --git-password go together");
  const buildSecrets: Record<string, string> = {};
  for (const item of flags.buildSecrets) {
    const eq = item.indexOf("=");
    const key = eq < 0 ? item : item.slice(0, eq);
    if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new UsageError(`invalid --build-secret "${key}": use KEY=VALUE with KEY made of letters, digits and '_'`);
    buildSecrets[key] = item.slice(eq + 1);
  }
  const request: BuildSecretsRequest = { registryCredentials, buildSecrets };
  if (flags.gitUsername !== undefined && flags.gitPassword !== undefined) request.gitCredentials = { username: flags.gitUsername, password: flags.gitPassword };
  if (Object.keys(registryCredentials).length === 0 && !request.gitCredentials && Object.keys(buildSecrets).length === 0) {
    throw new UsageError("nothing to set: pass --registry-credential, --git-username/--git-password or --build-secret");
  }
  return request;
}

/** SaveBuildSecrets: replaces all of the org's build credentials. */
export async function saveBuildSecrets(api: IgniteApi, request: BuildSecretsRequest): Promise<void> {
  await api.unary(BuildService.method.saveBuildSecrets, request);
}
