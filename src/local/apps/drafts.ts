/**
 * An app's draft and the code it comes from: inline archives, uploaded contexts, git clones,
 * prebuilt images and managed-runtime sources; the draft's build, and its outcome when it ends.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { create, toJson } from "@bufbuild/protobuf";
import * as tar from "tar";
import { BuildStatus, CodeKind, RuntimeSchema, VersionStatus, type CodeSource, type CompileSource, type ImageFromCode, type ImageFromGit, type ImageSource } from "../../gen/dodil/ignite/v1/common_pb.js";
import { DraftInfoSchema, type DraftInfo } from "../../gen/dodil/ignite/v1/compute_pb.js";
import { archiveHasFile, inspectArchive, type ArchiveInfo } from "../../wire/archive.js";
import { detectStack, managedRuntimeHint } from "../drivers/buildpacks.js";
import { checkImageRefOwner } from "../drivers/image-ownership.js";
import { ArchiveError, errorMessage, failedPrecondition, invalidArgument, notFound } from "../errors.js";
import type { BuildRecord, DraftRecord } from "../store/store.js";
import { sha256Hex } from "../ids.js";
import { startDraftBuild } from "../build/draft-build.js";
import { pullableRef } from "../build/build-manager.js";
import { requireSupportedRuntime } from "../managed-runtime/index.js";
import { requirementProblem } from "../../wire/requirement-spec.js";
import type { Platform, RoomDeps } from "./platform.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

/** What a save stores: the code, and the draft's contract. */
export interface DraftContent {
  code?: CodeSource;
  inputSchema: string;
  outputSchema: string;
  /** Requirement lines for the python runtime. */
  dependencies?: string[];
}

/** A build context in the blob store and its listing (`name`: a single-file context's file name). */
interface StoredContext {
  digest: string;
  size: number;
  info: ArchiveInfo;
  name?: string;
}

/** The context an image is built from, with how to build it. */
interface ImageContext {
  ctx: StoredContext;
  dockerfilePath: string;
  buildArgs: Record<string, string>;
  /** Where the context came from (a git url and ref). */
  extra: Partial<DraftRecord>;
}

export class Drafts {
  constructor(
    private readonly d: RoomDeps,
    private readonly p: Platform,
  ) {}

  draftInfo(d: DraftRecord): DraftInfo {
    return create(DraftInfoSchema, {
      status: VersionStatus.DRAFT,
      codeHash: d.codeHash,
      createdAtMs: BigInt(d.createdAtMs),
      codeKind: d.codeKind,
      deployId: d.deployId ?? "",
      error: d.error ?? "",
      imageRef: this.d.resolveImageRef(d.imageRef ?? ""),
      buildStatus: d.buildStatus,
      updatedAtMs: BigInt(d.updatedAtMs),
      dockerfilePath: d.dockerfilePath,
      sizeBytes: BigInt(d.sizeBytes),
    });
  }

  /** Validates an archive and returns its listing; maps archive problems to INVALID_ARGUMENT. */
  async inspect(file: string, name?: string): Promise<ArchiveInfo> {
    try {
      return await inspectArchive(file, name ? { singleFileName: name } : {});
    } catch (e) {
      if (e instanceof ArchiveError) throw invalidArgument(`invalid build context: ${e.message}`);
      throw e;
    }
  }

  /** Stores inline archive bytes as a blob; returns digest/size/listing. */
  async storeInline(bytes: Uint8Array, name: string): Promise<{ digest: string; size: number; info: ArchiveInfo }> {
    const tmp = this.d.store.tmpPath("inline");
    await fsp.writeFile(tmp, bytes);
    try {
      const info = await this.inspect(tmp, name);
      const digest = `sha256:${sha256Hex(bytes)}`;
      await this.d.store.adoptBlob(tmp, digest);
      return { digest, size: bytes.length, info };
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }

  private async contextFromId(org: string, contextId: string) {
    const c = await this.d.store.getContext(org, contextId);
    if (!c) throw notFound(`build context ${contextId} not found (upload it with UploadBuildContext first)`);
    const info = await this.inspectStoredContext(c.digest, c.name);
    return { digest: c.digest, size: c.sizeBytes, info, name: c.name };
  }

  /**
   * Listings of stored contexts, by digest and name. A blob is immutable, so re-saving a draft from
   * an uploaded context (the CLI's unchanged-tree path) does not decompress it again; the cache
   * keeps the last few only.
   */
  private readonly contextListings = new Map<string, Promise<ArchiveInfo>>();

  /** Keeps the listing an upload made while it received `digest`, for the SaveDraft that follows. */
  rememberListing(digest: string, name: string, info: ArchiveInfo): void {
    this.cacheListing(`${digest}\0${name}`, Promise.resolve(info));
  }

  private cacheListing(key: string, listing: Promise<ArchiveInfo>): void {
    this.contextListings.delete(key);
    this.contextListings.set(key, listing);
    if (this.contextListings.size > 32) this.contextListings.delete(this.contextListings.keys().next().value as string);
  }

  private inspectStoredContext(digest: string, name: string): Promise<ArchiveInfo> {
    const key = `${digest}\0${name}`;
    let listing = this.contextListings.get(key);
    if (!listing) {
      listing = this.inspect(this.d.store.blobPath(digest), name);
      listing.catch(() => this.contextListings.delete(key));
      this.cacheListing(key, listing);
    }
    return listing;
  }

  /** Clones a repository into a context blob; `auth` (a git secret) goes to git as an HTTP header, never on the command line. */
  async cloneGit(url: string, ref: string, contextDir: string, auth?: { username: string; token: string }): Promise<{ digest: string; size: number; info: ArchiveInfo }> {
    if (!url) throw invalidArgument("from_git.url is required");
    if (/^-/.test(url) || /^-/.test(ref)) throw invalidArgument("invalid git url or ref");
    const dir = this.d.store.tmpPath("git");
    const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: "true" };
    if (auth) {
      const basic = Buffer.from(`${auth.username || "x-access-token"}:${auth.token}`).toString("base64");
      Object.assign(env, { GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: "http.extraHeader", GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}` });
    }
    try {
      try {
        await execFileP("git", ["clone", "--quiet", "--", url, dir], { timeout: 120_000, env });
        if (ref) await execFileP("git", ["-C", dir, "checkout", "--quiet", ref, "--"], { timeout: 60_000, env });
      } catch (e) {
        const stderr = String((e as { stderr?: string }).stderr ?? errorMessage(e)).trim().split("\n").slice(-3).join(" ");
        throw failedPrecondition(`git clone of ${url}${ref ? ` at ${ref}` : ""} failed: ${stderr}`);
      }
      await fsp.rm(path.join(dir, ".git"), { recursive: true, force: true });
      let root = dir;
      if (contextDir) {
        const rel = path.posix.normalize("/" + contextDir).replace(/^\/+/, "");
        root = path.join(dir, rel);
        const real = await fsp.realpath(root).catch(() => "");
        if (!real || !(real + path.sep).startsWith((await fsp.realpath(dir)) + path.sep)) {
          throw invalidArgument(`context_dir '${contextDir}' not found in the repository`);
        }
      }
      const tmpTar = this.d.store.tmpPath("git-ctx") + ".tar.gz";
      const entries = (await fsp.readdir(root)).sort();
      await tar.c({ gzip: true, file: tmpTar, cwd: root, portable: true, mtime: new Date(0) }, entries.length ? entries : []);
      const { digest, size } = await this.d.store.hashFile(tmpTar);
      const info = await this.inspect(tmpTar);
      await this.d.store.adoptBlob(tmpTar, digest);
      return { digest, size, info };
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }

  /** Saves the app's draft: checks the code and starts its build (image and compile sources). */
  async saveDraft(org: string, app: string, content: DraftContent): Promise<DraftInfo> {
    const key = `${org}/${app}`;
    await this.p.apps.requireApp(org, app);
    const { code } = content;
    if (!code?.source.case) throw invalidArgument("code is required: set code.image (from_code, from_git or prebuilt) or code.compile");
    const now = Date.now();
    const rec = code.source.case === "image" ? await this.imageDraft(org, code.source.value, now) : await this.compileDraft(org, code.source.value, now);
    addContract(rec, content);

    return this.d.appLocks.run(key, async () => {
      await this.p.apps.requireApp(org, app);
      // A compile this plane cannot run is refused now rather than saved as a draft that can only fail.
      if (rec.source === "compile") requireSupportedRuntime(rec.runtime, `save a draft for ${key}`);
      if (rec.source === "code" || rec.source === "git" || rec.source === "compile") {
        const b = await startDraftBuild(this.d, { org, app, draft: rec });
        rec.deployId = b.id;
        rec.buildStatus = b.status;
      }
      const previous = await this.d.store.getDraft(org, app);
      await this.d.store.putDraft(org, app, rec);
      this.d.log(`draft saved for ${key} (${rec.source}${rec.deployId ? `, build ${rec.deployId}` : ""})`);
      // The draft it replaced may have been the last to refer to its build and archive.
      if (previous && (previous.deployId !== rec.deployId || previous.contextDigest !== rec.contextDigest)) this.d.draftSuperseded?.();
      return this.draftInfo(rec);
    });
  }

  /** A draft of an image: a prebuilt reference (checked for its owner), or a context to build it from. */
  private async imageDraft(org: string, image: ImageSource, now: number): Promise<DraftRecord> {
    const img = image.source;
    if (!img.case) throw invalidArgument("code.image needs one of from_code, from_git, prebuilt");
    if (img.case !== "prebuilt") return this.contextDraft(org, img, now);
    const ref = img.value.imageRef.trim();
    if (!ref || /\s/.test(ref)) throw invalidArgument("image.prebuilt.image_ref is required");
    checkImageRefOwner(org, ref, "image", this.d.privateRegistries?.());
    if (img.value.registrySecretRef) await this.d.secrets.resolve(org, img.value.registrySecretRef, "registry_secret", "registry_secret_ref");
    return {
      codeHash: `sha256:${sha256Hex(ref)}`,
      createdAtMs: now,
      updatedAtMs: now,
      codeKind: CodeKind.PREBUILT,
      source: "prebuilt",
      sizeBytes: 0,
      dockerfilePath: "",
      buildArgs: {},
      imageRef: ref,
      ...(img.value.registrySecretRef ? { registrySecretRef: img.value.registrySecretRef } : {}),
      buildStatus: BuildStatus.UNSPECIFIED,
    };
  }

  /** A draft built from a context (an upload or a git clone) with its Dockerfile, or a detected stack's. */
  private async contextDraft(org: string, img: Extract<ImageSource["source"], { case: "fromCode" | "fromGit" }>, now: number): Promise<DraftRecord> {
    const { ctx, dockerfilePath, buildArgs, extra } = img.case === "fromCode" ? await this.uploadedContext(org, img.value) : await this.clonedContext(org, img.value);
    // No Dockerfile path: the buildpacks-like path generates one from the detected stack (buildpacks.ts).
    const paths = ctx.info.entries.map((e) => e.path);
    if (!dockerfilePath && !detectStack(paths)) {
      throw invalidArgument(
        "no dockerfile_path and no recognised stack in the build context (requirements.txt, pyproject.toml or main.py for Python; package.json for Node): pass dockerfile_path" +
          managedRuntimeHint(paths),
      );
    }
    for (const k of Object.keys(buildArgs)) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw invalidArgument(`invalid build arg name '${k}'`);
    let hasDf = !dockerfilePath;
    try {
      if (dockerfilePath) hasDf = archiveHasFile(ctx.info, dockerfilePath);
    } catch {
      throw invalidArgument(`dockerfile_path '${dockerfilePath}' must be a relative path inside the build context`);
    }
    if (!hasDf) throw invalidArgument(`Dockerfile '${dockerfilePath}' not found in the build context`);
    return {
      codeHash: ctx.digest,
      createdAtMs: now,
      updatedAtMs: now,
      codeKind: img.case === "fromCode" ? CodeKind.UPLOAD_IMAGE : CodeKind.GIT_IMAGE,
      source: img.case === "fromCode" ? "code" : "git",
      contextDigest: ctx.digest,
      ...(ctx.info.kind === "file" && ctx.name ? { contextName: ctx.name } : {}),
      sizeBytes: ctx.size,
      dockerfilePath,
      buildArgs,
      buildStatus: BuildStatus.PENDING,
      ...extra,
    };
  }

  private async uploadedContext(org: string, v: ImageFromCode): Promise<ImageContext> {
    if (v.contextId && v.archive.length) throw invalidArgument("from_code: set either context_id or archive, not both");
    let ctx: StoredContext;
    if (v.contextId) ctx = await this.contextFromId(org, v.contextId);
    else if (v.archive.length) ctx = await this.storeInline(v.archive, "source");
    else throw invalidArgument("from_code needs a build context: archive bytes or a context_id");
    return { ctx, dockerfilePath: v.dockerfilePath, buildArgs: { ...v.buildArgs }, extra: {} };
  }

  private async clonedContext(org: string, v: ImageFromGit): Promise<ImageContext> {
    let auth: { username: string; token: string } | undefined;
    if (v.secretRef) {
      const sv = await this.d.secrets.resolve(org, v.secretRef, "git_secret", "from_git.secret_ref");
      if (sv.value.case === "gitSecret") auth = { username: sv.value.value.username, token: sv.value.value.token };
    }
    const ctx = await this.cloneGit(v.url, v.ref, v.contextDir, auth);
    return { ctx, dockerfilePath: v.dockerfilePath || "Dockerfile", buildArgs: { ...v.buildArgs }, extra: { gitUrl: v.url, ...(v.ref ? { gitRef: v.ref } : {}) } };
  }

  /** A draft compiled by a managed runtime from its sources. */
  private async compileDraft(org: string, v: CompileSource, now: number): Promise<DraftRecord> {
    let ctx: { digest: string; size: number; name?: string } | undefined;
    if (v.contextId) ctx = await this.contextFromId(org, v.contextId);
    else if (v.sourceCode.length) ctx = await this.storeInline(v.sourceCode, "source");
    else throw invalidArgument("compile needs source_code or a context_id");
    return {
      codeHash: ctx.digest,
      createdAtMs: now,
      updatedAtMs: now,
      codeKind: CodeKind.SDK,
      source: "compile",
      contextDigest: ctx.digest,
      ...(ctx.name ? { contextName: ctx.name } : {}),
      sizeBytes: ctx.size,
      dockerfilePath: "",
      buildArgs: {},
      buildStatus: BuildStatus.UNSPECIFIED,
      ...(v.runtime ? { runtime: toJson(RuntimeSchema, v.runtime) } : {}),
    };
  }

  /** Applies a finished build to the draft it belongs to (ignored when a newer save superseded it). */
  async onBuildFinished(b: BuildRecord): Promise<void> {
    await this.d.appLocks.run(`${b.org}/${b.app}`, async () => {
      const d = await this.d.store.getDraft(b.org, b.app);
      if (!d || d.deployId !== b.id) return;
      d.buildStatus = b.status;
      d.updatedAtMs = Date.now();
      if (b.status === BuildStatus.SUCCEEDED) {
        // the pullable registry reference a published version gets too
        d.imageRef = pullableRef(b);
        delete d.error;
      } else if (b.error) d.error = b.error;
      await this.d.store.putDraft(b.org, b.app, d);
    });
  }

  async getDraft(org: string, app: string): Promise<DraftInfo | undefined> {
    await this.p.apps.requireApp(org, app);
    const d = await this.d.store.getDraft(org, app);
    if (!d) return undefined;
    // A build that died with a previous control plane is reported as such.
    if (d.deployId && (d.buildStatus === BuildStatus.PENDING || d.buildStatus === BuildStatus.RUNNING) && !this.d.builds.isActive(d.deployId)) {
      const b = await this.d.store.getBuild(d.deployId);
      if (b) {
        d.buildStatus = b.status;
        if (b.error) d.error = b.error;
      }
    }
    return this.draftInfo(d);
  }

  /** Returns the draft's successful build, waiting for it or rebuilding when it never finished. */
  async draftBuild(org: string, app: string, d: DraftRecord): Promise<BuildRecord> {
    let id = d.deployId;
    let b = id ? await this.d.builds.wait(id) : undefined;
    if (b && b.status === BuildStatus.SUCCEEDED && !(await this.d.builds.image(b))) b = undefined;
    if (!b || b.status === BuildStatus.CANCELLED || b.status === BuildStatus.PENDING || b.status === BuildStatus.RUNNING) {
      // never finished (e.g. interrupted by a restart) or image gone: build again
      const nb = await this.d.appLocks.run(`${org}/${app}`, async () => {
        const cur = await this.d.store.getDraft(org, app);
        if (!cur || cur.codeHash !== d.codeHash) throw failedPrecondition(`the draft of ${org}/${app} changed while publishing; publish again`);
        const started = await startDraftBuild(this.d, { org, app, draft: cur });
        cur.deployId = started.id;
        cur.buildStatus = started.status;
        delete cur.error;
        cur.updatedAtMs = Date.now();
        await this.d.store.putDraft(org, app, cur);
        return started;
      });
      this.d.log(`${org}/${app}: rebuilding the draft (build ${nb.id})`);
      id = nb.id;
      b = await this.d.builds.wait(nb.id);
    }
    if (!b) throw failedPrecondition(`build ${id} of ${org}/${app} not found`);
    if (b.status !== BuildStatus.SUCCEEDED) {
      const at = b.failedStep ? ` at ${b.failedStep}` : "";
      throw failedPrecondition(`the build of ${org}/${app} failed${at} (build ${b.id}): ${b.error ?? "unknown error"}; the whole log: dodil ignite draft compile-logs ${org}:${app}`);
    }
    return b;
  }
}

/** Dependencies (checked) and the input and output schemas, onto the draft record. */
function addContract(rec: DraftRecord, content: DraftContent): void {
  const { dependencies = [] } = content;
  // Dependencies are the python runtime's (requirements lines); an image build or another runtime
  // has its own manifest, and says so in its compile log rather than failing the save.
  for (const dep of dependencies) {
    const problem = requirementProblem(dep);
    if (problem) throw invalidArgument(`invalid dependency '${dep.slice(0, 80)}': ${problem}`);
  }
  if (dependencies.length > 100) throw invalidArgument(`too many dependencies (${dependencies.length}; at most 100)`);
  if (dependencies.length && rec.source === "compile") rec.dependencies = [...dependencies];
  if (content.inputSchema) rec.inputSchema = content.inputSchema;
  if (content.outputSchema) rec.outputSchema = content.outputSchema;
}
