/**
 * The local platform's use cases, independent of gRPC: apps, drafts, builds, versions, runtime.
 * Handlers in services.ts authenticate, then call these with the caller's organization.
 */
import { execFile } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { clone, create, fromJson, toJson } from "@bufbuild/protobuf";
import * as tar from "tar";
import {
  AppMetaSchema,
  BuildStatus,
  CodeKind,
  DeploymentMode,
  DeploymentState,
  ResourceLimitsSchema,
  ResourceTier,
  RuntimeSchema,
  ScalingConfigSchema,
  VersionStatus,
  type AppMeta,
  type CodeSource,
  type ResourceLimits,
} from "../../gen/dodil/ignite/v1/common_pb.js";
import {
  AppSummarySchema,
  AppVersionInfoSchema,
  DraftInfoSchema,
  type AppSummary,
  type AppVersionInfo,
  type CreateAppRequest,
  type DraftInfo,
  type UpdateAppConfigRequest,
} from "../../gen/dodil/ignite/v1/compute_pb.js";
import { archiveHasFile, inspectArchive, type ArchiveInfo, type ArchiveKind, detectArchiveKind } from "../../wire/archive.js";
import type { BuildManager } from "../build/build-manager.js";
import { detectStack, managedRuntimeHint } from "../drivers/buildpacks.js";
import type { Driver } from "../drivers/types.js";
import { prebuiltBuild } from "../build/prebuilt.js";
import { checkImageRefOwner } from "../drivers/image-ownership.js";
import { checkNewAppName, hostLabels, HostNames, type HostTarget } from "./host-names.js";
import {
  alreadyExists,
  ArchiveError,
  errorMessage,
  failedPrecondition,
  invalidArgument,
  notFound,
  resourceExhausted,
} from "../errors.js";
import { QUEUE_TIMEOUT_MS, type AppRunSpec, type Lease, type RuntimeManager, type ScalePolicy, type Slot } from "../runtime/runtime-manager.js";
import type { BuildRecord, DraftRecord, Store, VersionRecord } from "../store/store.js";
import { checkAppName, organizationId, sha256Hex } from "../ids.js";
import { KeyedMutex } from "../keyed-mutex.js";
import { MAX_MESSAGE_BYTES } from "../../wire/grpc-service.js";
import { startDraftBuild } from "../build/draft-build.js";
import { requireSupportedRuntime } from "../managed-runtime/index.js";
import { SecretStore } from "../secrets/secret-store.js";

const execFileP = promisify(execFile);

export const TIER_LIMITS: Record<number, { memoryMb: number; cpuMillicores: number }> = {
  [ResourceTier.SMALL]: { memoryMb: 256, cpuMillicores: 250 },
  [ResourceTier.MEDIUM]: { memoryMb: 512, cpuMillicores: 500 },
  [ResourceTier.LARGE]: { memoryMb: 1024, cpuMillicores: 1000 },
  [ResourceTier.XLARGE]: { memoryMb: 2048, cpuMillicores: 2000 },
};
export const DEFAULT_TIMEOUT_SECS = 300;
export const DEFAULT_PORT = 8080;

export interface PlatformDeps {
  store: Store;
  builds: BuildManager;
  runtime: RuntimeManager;
  baseDomain: string;
  gatewayPort: () => number;
  /** "https" when the gateway serves TLS. */
  gatewayScheme?: "http" | "https";
  log: (line: string) => void;
  /** The build/run driver (prebuilt images are looked up in its local storage). */
  driver?: Driver;
}

function limitsFor(tier: ResourceTier, override?: ResourceLimits): ResourceLimits {
  const t = TIER_LIMITS[tier] ?? TIER_LIMITS[ResourceTier.SMALL]!;
  return create(ResourceLimitsSchema, {
    memoryMb: override?.memoryMb || t.memoryMb,
    cpuMillicores: override?.cpuMillicores || t.cpuMillicores,
    timeoutSecs: override?.timeoutSecs || DEFAULT_TIMEOUT_SECS,
  });
}

function checkPorts(ports: number[]): void {
  for (const p of ports) if (p < 1 || p > 65535) throw invalidArgument(`invalid port ${p}: use 1-65535`);
}

function checkHealthPath(p: string): void {
  if (p && !p.startsWith("/")) throw invalidArgument(`health_path '${p}' must start with '/'`);
}

function contentTypeOf(kind: ArchiveKind): string {
  return kind === "tar.gz" ? "application/gzip" : kind === "tar" ? "application/x-tar" : kind === "zip" ? "application/zip" : "application/octet-stream";
}

export class Platform {
  readonly appLocks = new KeyedMutex();
  readonly secrets: SecretStore;
  readonly hostNames: HostNames;

  constructor(private d: PlatformDeps) {
    this.secrets = new SecretStore(d.store.dataDir, d.store.quarantine);
    this.hostNames = new HostNames(d.store);
  }

  get builds(): BuildManager {
    return this.d.builds;
  }
  get runtime(): RuntimeManager {
    return this.d.runtime;
  }

  get store(): Store {
    return this.d.store;
  }

  // ---- presentation ----

  publicUrls(meta: AppMeta): string[] {
    if (!meta.activeVersion) return [];
    const port = this.d.gatewayPort();
    const scheme = this.d.gatewayScheme ?? "http";
    return hostLabels(meta.organizationName, meta.name, meta.ports).map((l) => `${scheme}://${l}.${this.d.baseDomain}:${port}`);
  }

  /** AppMeta as callers see it: live deployment state, URLs, org id. */
  present(meta: AppMeta): AppMeta {
    const m = clone(AppMetaSchema, meta);
    m.organizationId = organizationId(m.organizationName);
    m.publicUrls = this.publicUrls(m);
    if (m.activeVersion) {
      const slot = this.d.runtime.running(m.id);
      m.deploymentState = slot ? DeploymentState.ACTIVE : DeploymentState.SCALED_TO_ZERO;
    }
    return m;
  }

  summary(meta: AppMeta): AppSummary {
    const m = this.present(meta);
    return create(AppSummarySchema, {
      id: m.id,
      name: m.name,
      description: m.description,
      deploymentState: m.deploymentState,
      activeVersion: m.activeVersion,
      codeKind: m.codeKind,
      resourceTier: m.resourceTier,
      updatedAtMs: m.updatedAtMs,
      publicUrls: m.publicUrls,
    });
  }

  draftInfo(d: DraftRecord): DraftInfo {
    return create(DraftInfoSchema, {
      status: VersionStatus.DRAFT,
      codeHash: d.codeHash,
      createdAtMs: BigInt(d.createdAtMs),
      codeKind: d.codeKind,
      deployId: d.deployId ?? "",
      error: d.error ?? "",
      imageRef: d.imageRef ?? "",
      buildStatus: d.buildStatus,
      updatedAtMs: BigInt(d.updatedAtMs),
      dockerfilePath: d.dockerfilePath,
      sizeBytes: BigInt(d.sizeBytes),
    });
  }

  // ---- apps ----

  async requireApp(org: string, app: string): Promise<AppMeta> {
    checkAppName(app);
    const meta = await this.d.store.getApp(org, app);
    if (!meta) throw notFound(`app ${org}/${app} not found`);
    return meta;
  }

  async createApp(org: string, req: CreateAppRequest): Promise<AppMeta> {
    checkNewAppName(req.name);
    checkPorts(req.ports);
    checkHealthPath(req.healthPath);
    const key = `${org}/${req.name}`;
    const meta = await this.hostNames.claim(org, req.name, req.ports, this.d.baseDomain, () => this.appLocks.run(key, async () => {
      if (await this.d.store.getApp(org, req.name)) throw alreadyExists(`app ${key} already exists`);
      const tier = req.resourceTier || ResourceTier.SMALL;
      const now = BigInt(Date.now());
      const meta = create(AppMetaSchema, {
        id: key,
        name: req.name,
        organizationName: org,
        organizationId: organizationId(org),
        description: req.description,
        resourceTier: tier,
        limits: limitsFor(tier, req.limits),
        env: req.env,
        scaling: req.scaling ?? create(ScalingConfigSchema, { reservedCapacity: 0, maxReplicas: 1 }),
        storageMode: req.storageMode,
        ttlSeconds: req.ttlSeconds,
        ports: req.ports,
        healthPath: req.healthPath,
        mcpEnabled: req.mcpEnabled,
        inputSchema: req.inputSchema,
        outputSchema: req.outputSchema,
        allowUnauthenticated: req.allowUnauthenticated,
        maxConcurrency: req.maxConcurrency,
        deploymentState: DeploymentState.CREATED,
        createdAtMs: now,
        updatedAtMs: now,
        ...(req.runtime ? { runtime: req.runtime } : {}),
      });
      await this.d.store.putApp(meta);
      return meta;
    }));
    this.d.log(`app ${key} created`);
    if (req.code?.source.case) {
      await this.saveDraft(org, req.name, req.code, req.inputSchema, req.outputSchema);
    }
    return (await this.d.store.getApp(org, req.name)) ?? meta;
  }

  async listApps(org: string, limit: number, cursor: string): Promise<{ apps: AppMeta[]; next: string }> {
    const names = await this.d.store.listApps(org);
    const lim = Math.min(limit || 100, 1000);
    const after = cursor ? Buffer.from(cursor, "base64url").toString("utf8") : "";
    const page = names.filter((n) => n > after).slice(0, lim + 1);
    const more = page.length > lim;
    const chosen = page.slice(0, lim);
    const apps: AppMeta[] = [];
    for (const n of chosen) {
      const m = await this.d.store.getApp(org, n);
      if (m) apps.push(m);
    }
    return { apps, next: more ? Buffer.from(chosen[chosen.length - 1]!, "utf8").toString("base64url") : "" };
  }

  async updateAppConfig(org: string, req: UpdateAppConfigRequest): Promise<AppMeta> {
    const key = `${org}/${req.appName}`;
    checkAppName(req.appName);
    let restart = false;
    const change = () => this.appLocks.run(key, async () => {
      const m = await this.requireApp(org, req.appName);
      if (req.description !== undefined) m.description = req.description;
      if (req.resourceTier !== undefined && req.resourceTier !== ResourceTier.UNSPECIFIED) {
        m.resourceTier = req.resourceTier;
        m.limits = limitsFor(req.resourceTier, req.limits);
      } else if (req.limits) {
        m.limits = create(ResourceLimitsSchema, {
          memoryMb: req.limits.memoryMb || m.limits?.memoryMb || 0,
          cpuMillicores: req.limits.cpuMillicores || m.limits?.cpuMillicores || 0,
          timeoutSecs: req.limits.timeoutSecs || m.limits?.timeoutSecs || DEFAULT_TIMEOUT_SECS,
        });
      }
      if (req.scaling) m.scaling = req.scaling;
      if (req.storageMode !== undefined) m.storageMode = req.storageMode;
      if (req.ttlSeconds !== undefined) m.ttlSeconds = req.ttlSeconds;
      const envBefore = JSON.stringify(m.env);
      if (req.replaceEnv) m.env = { ...req.envSet };
      else {
        for (const [k, v] of Object.entries(req.envSet)) m.env[k] = v;
        for (const k of req.envUnset) delete m.env[k];
      }
      if (JSON.stringify(m.env) !== envBefore) restart = true;
      checkPorts(req.ports);
      const portsBefore = m.ports.join(",");
      m.ports = await this.portsAfter(org, req);
      if (m.ports.join(",") !== portsBefore) restart = true;
      if (req.healthPath !== undefined) {
        checkHealthPath(req.healthPath);
        m.healthPath = req.healthPath;
      }
      if (req.mcpEnabled !== undefined) m.mcpEnabled = req.mcpEnabled;
      if (req.inputSchema !== undefined) m.inputSchema = req.inputSchema;
      if (req.outputSchema !== undefined) m.outputSchema = req.outputSchema;
      if (req.allowUnauthenticated !== undefined) m.allowUnauthenticated = req.allowUnauthenticated;
      if (req.maxConcurrency !== undefined) m.maxConcurrency = req.maxConcurrency;
      m.updatedAtMs = BigInt(Date.now());
      await this.d.store.putApp(m);
      return m;
    });
    // new ports are new host names (`<app>-<org>-<port>`): claimed like an app's name
    const meta = req.ports.length ? await this.hostNames.claim(org, req.appName, await this.portsAfter(org, req), this.d.baseDomain, change) : await change();
    // Config that the process sees takes effect on the next (cold) start.
    if (restart && this.d.runtime.running(key)) {
      this.d.log(`${key}: configuration changed; stopping the running instance (next call cold-starts it)`);
      await this.d.runtime.stopApp(key);
    }
    return meta;
  }

  /** The ports an UpdateAppConfig leaves the app with (as the update applies them). */
  private async portsAfter(org: string, req: UpdateAppConfigRequest): Promise<number[]> {
    const m = await this.requireApp(org, req.appName);
    return req.replacePorts ? [...req.ports] : [...m.ports, ...req.ports.filter((p) => !m.ports.includes(p))];
  }

  async deleteApp(org: string, app: string): Promise<void> {
    const key = `${org}/${app}`;
    await this.appLocks.run(key, async () => {
      await this.requireApp(org, app);
      await this.d.runtime.stopApp(key);
      await this.d.store.deleteApp(org, app);
    });
    this.d.log(`app ${key} deleted`);
  }

  // ---- drafts ----

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

  private inspectStoredContext(digest: string, name: string): Promise<ArchiveInfo> {
    const key = `${digest}\0${name}`;
    let listing = this.contextListings.get(key);
    if (!listing) {
      listing = this.inspect(this.d.store.blobPath(digest), name);
      listing.catch(() => this.contextListings.delete(key));
      this.contextListings.set(key, listing);
      if (this.contextListings.size > 32) this.contextListings.delete(this.contextListings.keys().next().value as string);
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

  async saveDraft(org: string, app: string, code: CodeSource | undefined, inputSchema: string, outputSchema: string): Promise<DraftInfo> {
    const key = `${org}/${app}`;
    await this.requireApp(org, app);
    if (!code?.source.case) throw invalidArgument("code is required: set code.image (from_code, from_git or prebuilt) or code.compile");
    const now = Date.now();
    let rec: DraftRecord;
    if (code.source.case === "image") {
      const img = code.source.value.source;
      if (!img.case) throw invalidArgument("code.image needs one of from_code, from_git, prebuilt");
      if (img.case === "prebuilt") {
        const ref = img.value.imageRef.trim();
        if (!ref || /\s/.test(ref)) throw invalidArgument("image.prebuilt.image_ref is required");
        checkImageRefOwner(org, ref);
        if (img.value.registrySecretRef) await this.secrets.resolve(org, img.value.registrySecretRef, "registry_secret", "registry_secret_ref");
        rec = {
          codeHash: `sha256:${sha256Hex(ref)}`,
          createdAtMs: now,
          updatedAtMs: now,
          codeKind: CodeKind.PREBUILT,
          source: "prebuilt",
          sizeBytes: 0,
          dockerfilePath: "",
          buildArgs: {},
          imageRef: ref,
          buildStatus: BuildStatus.UNSPECIFIED,
        };
      } else {
        let ctx: { digest: string; size: number; info: ArchiveInfo; name?: string };
        let dockerfilePath: string;
        let buildArgs: Record<string, string>;
        let extra: Partial<DraftRecord> = {};
        if (img.case === "fromCode") {
          const v = img.value;
          dockerfilePath = v.dockerfilePath;
          buildArgs = { ...v.buildArgs };
          if (v.contextId && v.archive.length) throw invalidArgument("from_code: set either context_id or archive, not both");
          if (v.contextId) ctx = await this.contextFromId(org, v.contextId);
          else if (v.archive.length) ctx = await this.storeInline(v.archive, "source");
          else throw invalidArgument("from_code needs a build context: archive bytes or a context_id");
        } else {
          const v = img.value;
          dockerfilePath = v.dockerfilePath || "Dockerfile";
          buildArgs = { ...v.buildArgs };
          let auth: { username: string; token: string } | undefined;
          if (v.secretRef) {
            const sv = await this.secrets.resolve(org, v.secretRef, "git_secret", "from_git.secret_ref");
            if (sv.value.case === "gitSecret") auth = { username: sv.value.value.username, token: sv.value.value.token };
          }
          ctx = await this.cloneGit(v.url, v.ref, v.contextDir, auth);
          extra = { gitUrl: v.url, ...(v.ref ? { gitRef: v.ref } : {}) };
        }
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
        rec = {
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
    } else {
      const v = code.source.value;
      let ctx: { digest: string; size: number; name?: string } | undefined;
      if (v.contextId) ctx = await this.contextFromId(org, v.contextId);
      else if (v.sourceCode.length) ctx = await this.storeInline(v.sourceCode, "source");
      else throw invalidArgument("compile needs source_code or a context_id");
      rec = {
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
    if (inputSchema) rec.inputSchema = inputSchema;
    if (outputSchema) rec.outputSchema = outputSchema;

    return this.appLocks.run(key, async () => {
      await this.requireApp(org, app);
      // A compile this plane cannot run is refused now rather than saved as a draft that can only fail.
      if (rec.source === "compile") requireSupportedRuntime(rec.runtime, `save a draft for ${key}`);
      if (rec.source === "code" || rec.source === "git" || rec.source === "compile") {
        const b = await startDraftBuild(this.d.builds, this.d.store, this.secrets, org, app, rec);
        rec.deployId = b.id;
        rec.buildStatus = b.status;
      }
      await this.d.store.putDraft(org, app, rec);
      this.d.log(`draft saved for ${key} (${rec.source}${rec.deployId ? `, build ${rec.deployId}` : ""})`);
      return this.draftInfo(rec);
    });
  }

  /** Applies a finished build to the draft it belongs to (ignored when a newer save superseded it). */
  async onBuildFinished(b: BuildRecord): Promise<void> {
    await this.appLocks.run(`${b.org}/${b.app}`, async () => {
      const d = await this.d.store.getDraft(b.org, b.app);
      if (!d || d.deployId !== b.id) return;
      d.buildStatus = b.status;
      d.updatedAtMs = Date.now();
      if (b.status === BuildStatus.SUCCEEDED) {
        d.imageRef = b.imageRef;
        delete d.error;
      } else if (b.error) d.error = b.error;
      await this.d.store.putDraft(b.org, b.app, d);
    });
  }

  async getDraft(org: string, app: string): Promise<DraftInfo | undefined> {
    await this.requireApp(org, app);
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

  // ---- publish / versions ----

  /** Returns the draft's successful build, waiting for it or rebuilding when it never finished. */
  async draftBuild(org: string, app: string, d: DraftRecord): Promise<BuildRecord> {
    let id = d.deployId;
    let b = id ? await this.d.builds.wait(id) : undefined;
    if (b && b.status === BuildStatus.SUCCEEDED && !(await this.d.builds.image(b))) b = undefined;
    if (!b || b.status === BuildStatus.CANCELLED || b.status === BuildStatus.PENDING || b.status === BuildStatus.RUNNING) {
      // never finished (e.g. interrupted by a restart) or image gone: build again
      const nb = await this.appLocks.run(`${org}/${app}`, async () => {
        const cur = await this.d.store.getDraft(org, app);
        if (!cur || cur.codeHash !== d.codeHash) throw failedPrecondition(`the draft of ${org}/${app} changed while publishing; publish again`);
        const started = await startDraftBuild(this.d.builds, this.d.store, this.secrets, org, app, cur);
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

  runSpecFor(meta: AppMeta, v: VersionRecord, image: import("../drivers/types.js").BuiltImage) {
    const snap = fromJson(AppMetaSchema, v.app, { ignoreUnknownFields: true });
    void snap;
    return {
      org: meta.organizationName,
      app: meta.name,
      version: v.version,
      image,
      // the app's current env and ports apply to whichever version runs
      env: { ...meta.env },
      ports: meta.ports.length ? [...meta.ports] : [DEFAULT_PORT],
      healthPath: meta.healthPath,
    };
  }

  private async imageOfVersion(org: string, app: string, v: VersionRecord) {
    const b = await this.d.store.getBuild(v.deployId);
    const img = b ? await this.d.builds.image(b) : undefined;
    if (!img) throw failedPrecondition(`the image of version ${v.version} of ${org}/${app} (${v.imageRef}) is no longer available`);
    return img;
  }

  async publish(org: string, app: string): Promise<{ version: number; app: AppMeta; deployId: string }> {
    const key = `${org}/${app}`;
    await this.requireApp(org, app);
    const d = await this.d.store.getDraft(org, app);
    if (!d) throw failedPrecondition(`app ${key} has no draft to publish; save one first (SaveDraft)`);
    if (d.source === "compile") requireSupportedRuntime(d.runtime, `publish ${key}`);
    // a prebuilt image must already be in the driver's local storage (prebuilt.ts)
    const build = d.source === "prebuilt" ? await prebuiltBuild(this.d.store, this.d.driver, org, app, d.imageRef ?? "") : await this.draftBuild(org, app, d);
    const image = (await this.d.builds.image(build))!;
    return this.appLocks.run(key, async () => {
      const meta = await this.requireApp(org, app);
      const versions = await this.d.store.listVersions(org, app);
      const n = (versions[versions.length - 1] ?? 0) + 1;
      const snapshot = clone(AppMetaSchema, meta);
      snapshot.version = n;
      snapshot.activeVersion = n;
      snapshot.codeKind = d.codeKind;
      snapshot.codeHash = d.codeHash;
      snapshot.imageRef = build.imageRef;
      snapshot.deploymentMode = d.source === "compile" ? DeploymentMode.COMPILE : DeploymentMode.IMAGE;
      if (d.source === "compile" && d.runtime) snapshot.runtime = fromJson(RuntimeSchema, d.runtime);
      snapshot.deploymentState = DeploymentState.ACTIVE;
      if (d.inputSchema) snapshot.inputSchema = d.inputSchema;
      if (d.outputSchema) snapshot.outputSchema = d.outputSchema;
      const v: VersionRecord = {
        version: n,
        codeHash: d.codeHash,
        createdAtMs: Date.now(),
        resourceTier: meta.resourceTier,
        codeKind: d.codeKind,
        imageRef: build.imageRef,
        deployId: build.id,
        ...(d.contextDigest ? { contextDigest: d.contextDigest } : {}),
        ...(d.contextName ? { contextName: d.contextName } : {}),
        app: toJson(AppMetaSchema, snapshot),
      };
      // Start and probe the new version before anything points at it.
      const inst = await this.d.runtime.launch(this.runSpecFor(meta, v, image));
      // Three writes make the publish atomic: the version record marked pending (listed and
      // usable only while the app points at it), the app record pointing at it (the commit), then
      // the mark removed. A crash before the commit leaves a pending record nothing lists, removed
      // at the next start (Store.settleVersions); after it, the version is active either way.
      try {
        await this.d.store.putVersion(org, app, { ...v, pending: true });
        meta.version = n;
        meta.activeVersion = n;
        meta.codeKind = d.codeKind;
        meta.codeHash = d.codeHash;
        meta.imageRef = build.imageRef;
        meta.deploymentMode = snapshot.deploymentMode;
        if (snapshot.runtime) meta.runtime = snapshot.runtime;
        meta.deploymentState = DeploymentState.ACTIVE;
        if (d.inputSchema) meta.inputSchema = d.inputSchema;
        if (d.outputSchema) meta.outputSchema = d.outputSchema;
        meta.updatedAtMs = BigInt(Date.now());
        await this.d.store.putApp(meta);
      } catch (e) {
        await inst.stop();
        await this.d.store.removeVersion(org, app, n).catch(() => undefined);
        throw e;
      }
      // committed: a failure to clear the mark only leaves it for the next start to clear
      await this.d.store.putVersion(org, app, v).catch((e: unknown) => this.d.log(`${key}: version ${n}: ${errorMessage(e)}`));
      await this.d.runtime.install(key, { version: n, instance: inst }, scalePolicy(meta), this.activeSpec(org, app));
      this.d.log(`${key}: version ${n} published and active`);
      return { version: n, app: this.present(meta), deployId: build.id };
    });
  }

  versionInfo(meta: AppMeta, v: VersionRecord): AppVersionInfo {
    const snap = fromJson(AppMetaSchema, v.app, { ignoreUnknownFields: true });
    return create(AppVersionInfoSchema, {
      version: v.version,
      codeHash: v.codeHash,
      createdAtMs: BigInt(v.createdAtMs),
      status: v.version === meta.activeVersion ? VersionStatus.ACTIVE : VersionStatus.SUPERSEDED,
      resourceTier: v.resourceTier,
      codeKind: v.codeKind,
      imageRef: v.imageRef,
      deployId: v.deployId,
      ...(snap.runtime ? { runtime: snap.runtime } : {}),
    });
  }

  async listVersions(org: string, app: string): Promise<AppVersionInfo[]> {
    const meta = await this.requireApp(org, app);
    const out: AppVersionInfo[] = [];
    for (const n of await this.d.store.listVersions(org, app)) {
      const v = await this.d.store.getVersion(org, app, n);
      if (v && isPublished(meta, v)) out.push(this.versionInfo(meta, v));
    }
    return out;
  }

  async requireVersion(org: string, app: string, n: number): Promise<{ meta: AppMeta; v: VersionRecord }> {
    const meta = await this.requireApp(org, app);
    const want = n || meta.activeVersion;
    if (!want) throw notFound(`app ${org}/${app} has no published version`);
    const v = await this.d.store.getVersion(org, app, want);
    if (!v || !isPublished(meta, v)) throw notFound(`version ${want} of app ${org}/${app} not found`);
    return { meta, v };
  }

  async getVersion(org: string, app: string, n: number): Promise<AppMeta> {
    const { meta, v } = await this.requireVersion(org, app, n);
    const snap = fromJson(AppMetaSchema, v.app, { ignoreUnknownFields: true });
    snap.activeVersion = meta.activeVersion;
    snap.organizationId = organizationId(org);
    snap.publicUrls = this.publicUrls(meta);
    snap.deploymentState = v.version === meta.activeVersion ? this.present(meta).deploymentState : DeploymentState.UNSPECIFIED;
    return snap;
  }

  async rollback(org: string, app: string, n: number): Promise<{ app: AppMeta; previous: number }> {
    const key = `${org}/${app}`;
    if (!n) throw invalidArgument("version is required");
    return this.appLocks.run(key, async () => {
      const { meta, v } = await this.requireVersion(org, app, n);
      const previous = meta.activeVersion;
      const image = await this.imageOfVersion(org, app, v);
      const running = this.d.runtime.running(key);
      let inst = running && running.version === n ? running.instance : undefined;
      if (!inst) inst = await this.d.runtime.launch(this.runSpecFor(meta, v, image));
      meta.activeVersion = n;
      meta.version = n;
      meta.imageRef = v.imageRef;
      meta.codeHash = v.codeHash;
      meta.codeKind = v.codeKind;
      meta.deploymentState = DeploymentState.ACTIVE;
      meta.updatedAtMs = BigInt(Date.now());
      try {
        await this.d.store.putApp(meta);
      } catch (e) {
        if (inst !== running?.instance) await inst.stop();
        throw e;
      }
      await this.d.runtime.install(key, { version: n, instance: inst }, scalePolicy(meta), this.activeSpec(org, app));
      this.d.log(`${key}: rolled back from version ${previous} to ${n}`);
      return { app: this.present(meta), previous };
    });
  }

  async getCode(org: string, app: string, n: number) {
    const { v } = await this.requireVersion(org, app, n);
    if (!v.contextDigest) throw failedPrecondition(`version ${v.version} of ${org}/${app} has no stored code`);
    const file = this.d.store.blobPath(v.contextDigest);
    const st = await fsp.stat(file);
    if (st.size > MAX_MESSAGE_BYTES - 1024 * 1024) throw resourceExhausted(`the code of version ${v.version} is ${st.size} bytes, above the message limit`);
    const kind = await detectArchiveKind(file);
    return { version: v.version, codeHash: v.codeHash, codeKind: v.codeKind, contentType: contentTypeOf(kind), archive: await fsp.readFile(file) };
  }

  // ---- runtime ----

  runtimeLastError(key: string): string {
    return this.d.runtime.lastError.get(key) ?? "";
  }
  runtimeLastInvoked(key: string): number {
    return this.d.runtime.lastInvokedMs.get(key) ?? 0;
  }
  runningSlot(key: string): Slot | undefined {
    return this.d.runtime.running(key);
  }

  /** The run spec of the app's version that is active when it is called. */
  private activeSpec(org: string, app: string): () => Promise<AppRunSpec> {
    return async () => {
      const { meta: m, v } = await this.requireVersion(org, app, 0);
      const image = await this.imageOfVersion(org, app, v);
      return this.runSpecFor(m, v, image);
    };
  }

  /** All running replicas of the app (one version). */
  replicas(key: string): Slot[] {
    return this.d.runtime.replicas(key);
  }
  /** Replicas wanted now: the running ones, those starting, and at least the reserved capacity. */
  desiredReplicas(meta: AppMeta): number {
    const key = meta.id;
    const p = scalePolicy(meta);
    return Math.max(p.reserved, this.d.runtime.replicas(key).length + this.d.runtime.startingReplicas(key));
  }

  /**
   * Takes a replica of the app's active version for one call (starting it when none runs); used by
   * Invoke, executions and the gateway. Under `max_concurrency` the call may wait for a slot, at most
   * the app's timeout (and QUEUE_TIMEOUT_MS), or until `signal` aborts. The caller must call
   * `release()` when the call ends.
   */
  async ensureRunning(org: string, app: string, signal?: AbortSignal): Promise<{ meta: AppMeta } & Lease> {
    const meta = await this.requireApp(org, app);
    if (!meta.activeVersion) throw failedPrecondition(`app ${org}/${app} has no published version; publish a draft first`);
    const key = `${org}/${app}`;
    // No call waits for a slot longer than the app lets a call run: a short timeout_secs fails fast.
    const timeoutMs = Math.min(QUEUE_TIMEOUT_MS, (meta.limits?.timeoutSecs || DEFAULT_TIMEOUT_SECS) * 1000);
    const lease = await this.d.runtime.ensure(key, this.activeSpec(org, app), meta.activeVersion, scalePolicy(meta), { timeoutMs, signal });
    this.d.runtime.lastInvokedMs.set(key, Date.now());
    if (lease.coldStart) this.d.log(`${key}: cold start of version ${lease.slot.version}`);
    return { meta, ...lease };
  }

  /** Starts apps with reserved capacity (kept warm) after a restart, in the background. */
  async warmReserved(): Promise<void> {
    for (const org of await this.d.store.listOrgs()) {
      for (const app of await this.d.store.listApps(org)) {
        const m = await this.d.store.getApp(org, app);
        if (m && m.activeVersion && (m.scaling?.reservedCapacity ?? 0) > 0) {
          this.ensureRunning(org, app).then((l) => l.release()).catch((e) => this.d.log(`${org}/${app}: warm start failed: ${errorMessage(e)}`));
        }
      }
    }
  }

  /** Finds the app a gateway host label names: "<app>-<org>" or "<app>-<org>-<port>". */
  resolveHostLabel(label: string): Promise<HostTarget | undefined> {
    return this.hostNames.resolve(label);
  }
}

/** A version record that became active: not one of a publish still under way (or cut short by a crash). */
function isPublished(meta: AppMeta, v: VersionRecord): boolean {
  return !v.pending || v.version === meta.activeVersion;
}

/** The app's scaling config as the local runtime applies it (see runtime/runtime-manager.ts). */
export function scalePolicy(meta: AppMeta): ScalePolicy {
  const sc = meta.scaling;
  return {
    reserved: sc?.reservedCapacity ?? 0,
    maxReplicas: sc?.maxReplicas || 1,
    target: meta.maxConcurrency || sc?.target || 1,
    maxConcurrency: meta.maxConcurrency,
  };
}
