/**
 * BuildService use cases beyond uploads: standalone builds (CreateBuild) through the same
 * BuildManager and driver as draft builds, listing, cancelling, org-wide build secrets.
 */
import { create } from "@bufbuild/protobuf";
import { BuildStatus } from "../../gen/dodil/ignite/v1/common_pb.js";
import { BuildSchema, type Build, type CreateBuildRequest, type GitSource, type SaveBuildSecretsRequest } from "../../gen/dodil/ignite/v1/build_pb.js";
import { archiveHasFile, type ArchiveInfo } from "../../wire/archive.js";
import type { BuildParams } from "./build-manager.js";
import { redact } from "../drivers/build-args.js";
import { BuildFailure } from "../drivers/types.js";
import { errorMessage, failedPrecondition, invalidArgument, notFound, resourceExhausted } from "../errors.js";
import type { Platform } from "../apps/platform.js";
import { RpcError } from "../errors.js";
import type { BuildRecord } from "../store/store.js";

/** Inline `zipped_code` must be smaller than this (documented: < 4 MB). */
export const MAX_INLINE_BUILD_BYTES = 4 * 1024 * 1024;
const IMAGE_NAME_RE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const ARG_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function buildMessage(b: BuildRecord): Build {
  const args: Record<string, string> = {};
  for (const [k, v] of Object.entries(b.buildArgs)) args[k] = redact(k, v);
  for (const k of b.secretArgNames ?? []) args[k] = "***";
  return create(BuildSchema, {
    buildId: b.id,
    name: b.name ?? `${b.org}/${b.app}`,
    status: b.status,
    imageRefs: b.status === BuildStatus.SUCCEEDED ? (b.imageRefs ?? [b.imageRef]) : [],
    buildArgs: args,
    createdAtMs: BigInt(b.createdAtMs),
    startedAtMs: BigInt(b.startedAtMs ?? 0),
    finishedAtMs: BigInt(b.finishedAtMs ?? 0),
    error: b.error ?? "",
    organizationName: b.org,
    dockerfile: b.dockerfilePath,
    tags: b.tags ?? [],
    platform: b.platform ?? "",
  });
}

export async function createBuild(platform: Platform, org: string, req: CreateBuildRequest): Promise<BuildRecord> {
  const { name, tags, dockerfile } = checkBuildRequest(req);
  const source = await buildSource(platform, org, { req, dockerfile });
  const bs = await platform.secrets.buildSecrets(org);
  const secretArgs: Record<string, string> = {};
  for (const [k, v] of Object.entries(bs.buildSecrets)) if (!(k in req.buildArgs)) secretArgs[k] = v;
  const notes = buildNotes(req);
  return platform.builds.start({
    org,
    app: "",
    kind: "standalone",
    name,
    tags,
    ...(req.platform ? { platform: req.platform } : {}),
    timeoutSecs: Number(req.timeoutSecs),
    contextDigest: source.contextDigest,
    ...(source.contextName ? { contextName: source.contextName } : {}),
    dockerfilePath: dockerfile,
    buildArgs: { ...req.buildArgs },
    secretArgs,
    registryCredentials: bs.registryCredentials,
    prepare: async (log, signal) => {
      for (const n of notes) log(n);
      if (source.prepareGit) return source.prepareGit(log, signal);
    },
  });
}

/** The request's image name, tags and Dockerfile path, checked (as are its build arg names, timeout and platform). */
function checkBuildRequest(req: CreateBuildRequest): { name: string; tags: string[]; dockerfile: string } {
  const name = req.name.trim();
  if (!name) throw invalidArgument("name is required (the image name, e.g. my-app)");
  if (name.length > 128 || !IMAGE_NAME_RE.test(name)) throw invalidArgument(`invalid image name '${req.name}': use lowercase letters, digits and . _ - / separators`);
  const tags = req.tags.length ? [...new Set(req.tags)] : ["latest"];
  for (const t of tags) if (!TAG_RE.test(t)) throw invalidArgument(`invalid tag '${t}': use up to 128 letters, digits, '_', '.', '-' (not starting with '.' or '-')`);
  for (const k of Object.keys(req.buildArgs)) if (!ARG_RE.test(k)) throw invalidArgument(`invalid build arg name '${k}'`);
  if (req.timeoutSecs < 0n) throw invalidArgument("timeout_secs must not be negative");
  if (req.platform && !/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/.test(req.platform)) throw invalidArgument(`invalid platform '${req.platform}' (e.g. linux/amd64)`);
  return { name, tags, dockerfile: req.dockerfile || "Dockerfile" };
}

/** Where a standalone build's context is: stored now (an upload, inline bytes), or cloned inside the build (git). */
interface BuildSource {
  contextDigest: string;
  contextName?: string;
  prepareGit?: BuildParams["prepare"];
}

async function buildSource(platform: Platform, org: string, of: { req: CreateBuildRequest; dockerfile: string }): Promise<BuildSource> {
  const { dockerfile } = of;
  const src = of.req.source;
  if (!src.case) throw invalidArgument("a source is required: context_id, zipped_code (< 4 MB) or git_source");
  if (src.case === "contextId") {
    const c = await platform.store.getContext(org, src.value);
    if (!c) throw notFound(`build context ${src.value} not found (upload it with UploadBuildContext first)`);
    const info = await platform.drafts.inspect(platform.store.blobPath(c.digest), c.name);
    requireDockerfile(info, dockerfile);
    return { contextDigest: c.digest, ...(info.kind === "file" ? { contextName: c.name } : {}) };
  }
  if (src.case === "zippedCode") {
    if (src.value.length >= MAX_INLINE_BUILD_BYTES) {
      throw resourceExhausted(`zipped_code is ${src.value.length} bytes; inline contexts must be under 4 MB: upload it with UploadBuildContext and pass context_id`);
    }
    if (!src.value.length) throw invalidArgument("zipped_code is empty");
    const s = await platform.drafts.storeInline(src.value, "context");
    if (s.info.kind === "file") throw invalidArgument("zipped_code must be a tar.gz, tar or zip archive");
    requireDockerfile(s.info, dockerfile);
    return { contextDigest: s.digest };
  }
  return { contextDigest: "", prepareGit: await gitClone(platform, org, { git: src.value, dockerfile }) };
}

/** The build's first step for a git source: the clone (with the source's secret, or the org's git credentials). */
async function gitClone(platform: Platform, org: string, of: { git: GitSource; dockerfile: string }): Promise<BuildParams["prepare"]> {
  const g = of.git;
  if (!g.url) throw invalidArgument("git_source.url is required");
  let auth: { username: string; token: string } | undefined;
  if (g.secretRef) {
    const sv = await platform.secrets.resolve(org, g.secretRef, "git_secret", "git_source.secret_ref");
    if (sv.value.case === "gitSecret") auth = { username: sv.value.value.username, token: sv.value.value.token };
  } else {
    const gc = (await platform.secrets.buildSecrets(org)).gitCredentials;
    if (gc?.password) auth = { username: gc.username, token: gc.password };
  }
  return async (log) => {
    log(`Cloning ${g.url}${g.reference ? ` at ${g.reference}` : ""}${g.contextDir ? ` (context ${g.contextDir})` : ""}`);
    let c;
    try {
      c = await platform.drafts.cloneGit(g.url, g.reference, g.contextDir, auth);
    } catch (e) {
      throw new BuildFailure(e instanceof RpcError ? e.message : `git clone failed: ${errorMessage(e)}`);
    }
    try {
      requireDockerfile(c.info, of.dockerfile);
    } catch (e) {
      throw new BuildFailure(errorMessage(e));
    }
    return { contextDigest: c.digest };
  };
}

function requireDockerfile(info: ArchiveInfo, dockerfile: string): void {
  let ok = false;
  try {
    ok = archiveHasFile(info, dockerfile);
  } catch {
    throw invalidArgument(`dockerfile '${dockerfile}' must be a relative path inside the build context`);
  }
  if (!ok) throw invalidArgument(`Dockerfile '${dockerfile}' not found in the build context (standalone builds always need a Dockerfile)`);
}

/** What the local drivers record but do not do, said in the build log. */
function buildNotes(req: CreateBuildRequest): string[] {
  const notes: string[] = [];
  if (req.platform) notes.push(`Platform ${req.platform}: recorded; the local driver builds for this machine`);
  if (req.noCache) notes.push("no_cache: the local drivers do not reuse cached layers between builds anyway");
  if (req.registry || req.repository) notes.push(`registry/repository (${[req.registry, req.repository].filter(Boolean).join("/")}): nothing is pushed; the image stays local`);
  return notes;
}

export async function listBuilds(
  platform: Platform,
  org: string,
  o: { limit: number; cursor: string; status: BuildStatus; name: string },
): Promise<{ builds: BuildRecord[]; nextCursor: string }> {
  const ids = (await platform.store.listBuildIds()).sort().reverse(); // newest first (ULIDs)
  let after = "";
  if (o.cursor) {
    after = Buffer.from(o.cursor, "base64url").toString("utf8");
    if (!/^bld_[0-9A-Z]{26}$/.test(after)) throw invalidArgument(`invalid cursor '${o.cursor}'`);
  }
  const lim = Math.min(o.limit || 50, 1000);
  const out: BuildRecord[] = [];
  let more = false;
  for (const id of ids) {
    if (after && id >= after) continue;
    const b = await platform.store.getBuild(id).catch(() => undefined);
    if (!b || b.org !== org) continue;
    if (o.status && b.status !== o.status) continue;
    if (o.name && b.name !== o.name && `${b.org}/${b.app}` !== o.name && b.app !== o.name) continue;
    if (out.length === lim) {
      more = true;
      break;
    }
    out.push(b);
  }
  return { builds: out, nextCursor: more ? Buffer.from(out[out.length - 1]!.id, "utf8").toString("base64url") : "" };
}

export async function cancelBuild(platform: Platform, b: BuildRecord): Promise<BuildRecord> {
  if (platform.builds.cancel(b.id)) return (await platform.builds.wait(b.id)) ?? b;
  if (b.status === BuildStatus.CANCELLED) return b;
  if (b.status === BuildStatus.SUCCEEDED || b.status === BuildStatus.FAILED) {
    throw failedPrecondition(`build ${b.id} already finished (${BuildStatus[b.status]}); only a pending or running build can be cancelled`);
  }
  return b;
}

export async function saveBuildSecrets(platform: Platform, org: string, req: SaveBuildSecretsRequest): Promise<void> {
  await platform.secrets.saveBuildSecrets(org, {
    registryCredentials: { ...req.registryCredentials },
    ...(req.gitCredentials ? { gitCredentials: { username: req.gitCredentials.username, password: req.gitCredentials.password } } : {}),
    buildSecrets: { ...req.buildSecrets },
  });
}
