/**
 * On-disk state. Every JSON file is written atomically (temp + fsync + rename + fsync dir), so a
 * `kill -9` at any moment leaves either the old or the new file. Layout under the data dir:
 *
 *   tokens.json                                 generated token (only when none was configured)
 *   orgs/<org>/apps/<app>/app.json              AppMeta (protobuf JSON)
 *   orgs/<org>/apps/<app>/draft.json            DraftRecord
 *   orgs/<org>/apps/<app>/versions/<N>.json     VersionRecord (immutable; written before app.json points at it)
 *   orgs/<org>/contexts/<ctx_id>.json           ContextRecord (which contexts an org uploaded)
 *   blobs/sha256/<hex>                          archives, content-addressed
 *   builds/<build_id>/build.json, log.jsonl     builds and their persisted logs
 *   images/<build_id>/                          images built by the driver
 *   instances/<org>/<app>/<instance>/           HOME and output of running instances
 *   tmp/                                        uploads in progress, deleted trees
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import { toJson, type JsonValue } from "@bufbuild/protobuf";
import { AppMetaSchema, type AppMeta } from "../../gen/dodil/ignite/v1/common_pb.js";
import { exists, fsyncDir, writeJson } from "../atomic-fs.js";
import { checkApp, checkBuild, checkContext, checkDraft, checkVersion } from "./record-checks.js";
import { Quarantine } from "./quarantine.js";

export type SourceKind = "code" | "git" | "prebuilt" | "compile";

export interface DraftRecord {
  codeHash: string;
  createdAtMs: number;
  updatedAtMs: number;
  /** CodeKind enum value. */
  codeKind: number;
  source: SourceKind;
  contextDigest?: string;
  contextName?: string;
  sizeBytes: number;
  dockerfilePath: string;
  buildArgs: Record<string, string>;
  imageRef?: string;
  /** A prebuilt image's registry secret (the slot's name; resolved at publish and every cold start). */
  registrySecretRef?: string;
  gitUrl?: string;
  gitRef?: string;
  deployId?: string;
  /** BuildStatus enum value. */
  buildStatus: number;
  error?: string;
  inputSchema?: string;
  outputSchema?: string;
  /** Runtime of a compile draft (protobuf JSON). */
  runtime?: JsonValue;
  /** SaveDraftRequest.dependencies of a python compile draft: installed with its requirements. */
  dependencies?: string[];
}

export interface VersionRecord {
  version: number;
  codeHash: string;
  createdAtMs: number;
  resourceTier: number;
  codeKind: number;
  imageRef: string;
  deployId: string;
  contextDigest?: string;
  contextName?: string;
  /** AppMeta snapshot at publish time (protobuf JSON). */
  app: JsonValue;
  /** Written before app.json points at it and cleared after: a pending record is only a version while it is the active one. */
  pending?: boolean;
}

export interface ContextRecord {
  contextId: string;
  digest: string;
  sizeBytes: number;
  name: string;
  contentType: string;
  createdAtMs: number;
}

export interface BuildRecord {
  id: string;
  org: string;
  app: string;
  /** BuildStatus enum value. */
  status: number;
  contextDigest: string;
  contextName?: string;
  dockerfilePath: string;
  buildArgs: Record<string, string>;
  imageRef: string;
  /** The image in the plane's registry, `<registry>/<org>/<repo>@sha256:…` (absent without one). */
  registryRef?: string;
  error?: string;
  createdAtMs: number;
  startedAtMs?: number;
  finishedAtMs?: number;
  /** Standalone (BuildService.CreateBuild) builds: the image name, tags, platform, all refs. */
  name?: string;
  tags?: string[];
  platform?: string;
  imageRefs?: string[];
  /** "draft" (image draft), "compile" (managed runtime) or "standalone"; absent = draft. */
  kind?: "draft" | "compile" | "standalone";
  /** Names of build args whose values came from build secrets (values are never stored here). */
  secretArgNames?: string[];
  timeoutSecs?: number;
  /** Where a failed build stopped: "compile" (a managed runtime's), or the image build's step line. */
  failedStep?: string;
  /** A prebuilt image behind a registry secret: the slot's name, and the repo@digest published (pulled again at each cold start). */
  registrySecretRef?: string;
  pulledRef?: string;
}

export class Store {
  /** Where records that fail their check go (every getter reads through it). */
  readonly quarantine: Quarantine;

  constructor(
    readonly dataDir: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.quarantine = new Quarantine(dataDir, log);
  }

  async init(): Promise<void> {
    for (const d of ["orgs", "blobs/sha256", "builds", "images", "instances", "tmp"]) {
      await fsp.mkdir(path.join(this.dataDir, d), { recursive: true });
    }
    // leftovers of uploads and deletions interrupted by a crash
    for (const n of await fsp.readdir(this.tmpDir())) await fsp.rm(path.join(this.tmpDir(), n), { recursive: true, force: true });
  }

  tmpDir(): string {
    return path.join(this.dataDir, "tmp");
  }
  tmpPath(prefix: string): string {
    return path.join(this.tmpDir(), `${prefix}-${randomBytes(8).toString("hex")}`);
  }
  appDir(org: string, app: string): string {
    return path.join(this.dataDir, "orgs", org, "apps", app);
  }
  blobPath(digest: string): string {
    const hex = digest.replace(/^sha256:/, "");
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`bad digest ${digest}`);
    return path.join(this.dataDir, "blobs", "sha256", hex);
  }
  buildDir(id: string): string {
    return path.join(this.dataDir, "builds", id);
  }
  imageDir(id: string): string {
    return path.join(this.dataDir, "images", id);
  }
  instanceDir(org: string, app: string, id: string): string {
    return path.join(this.dataDir, "instances", org, app, id);
  }

  // ---- apps ----
  async getApp(org: string, app: string): Promise<AppMeta | undefined> {
    return this.quarantine.read(path.join(this.appDir(org, app), "app.json"), checkApp);
  }
  async putApp(meta: AppMeta): Promise<void> {
    await writeJson(path.join(this.appDir(meta.organizationName, meta.name), "app.json"), toJson(AppMetaSchema, meta));
  }
  async listOrgs(): Promise<string[]> {
    return (await fsp.readdir(path.join(this.dataDir, "orgs")).catch(() => [] as string[])).sort();
  }
  async listApps(org: string): Promise<string[]> {
    const dir = path.join(this.dataDir, "orgs", org, "apps");
    const names = await fsp.readdir(dir).catch(() => [] as string[]);
    const out: string[] = [];
    for (const n of names) if (await exists(path.join(dir, n, "app.json"))) out.push(n);
    return out.sort();
  }
  async deleteApp(org: string, app: string): Promise<void> {
    const dir = this.appDir(org, app);
    const trash = this.tmpPath("deleted-app");
    // rename first: the app disappears atomically, the tree is removed afterwards
    await fsp.rename(dir, trash);
    await fsyncDir(path.dirname(dir));
    await fsp.rm(trash, { recursive: true, force: true });
    await fsp.rm(path.join(this.dataDir, "instances", org, app), { recursive: true, force: true });
  }

  // ---- drafts ----
  async getDraft(org: string, app: string): Promise<DraftRecord | undefined> {
    return this.quarantine.read(path.join(this.appDir(org, app), "draft.json"), checkDraft<DraftRecord>);
  }
  async putDraft(org: string, app: string, d: DraftRecord): Promise<void> {
    await writeJson(path.join(this.appDir(org, app), "draft.json"), d);
  }

  // ---- versions ----
  async getVersion(org: string, app: string, v: number): Promise<VersionRecord | undefined> {
    return this.quarantine.read(path.join(this.appDir(org, app), "versions", `${v}.json`), checkVersion<VersionRecord>);
  }
  async putVersion(org: string, app: string, v: VersionRecord): Promise<void> {
    await writeJson(path.join(this.appDir(org, app), "versions", `${v.version}.json`), v);
  }
  async removeVersion(org: string, app: string, v: number): Promise<void> {
    await fsp.rm(path.join(this.appDir(org, app), "versions", `${v}.json`), { force: true });
  }

  /**
   * Finishes or undoes publishes a crash cut short (see Platform.publish): a pending record the app
   * points at is a published version (the mark is cleared); one it does not point at never became
   * active and is removed. Returns how many were undone.
   */
  async settleVersions(org: string, app: string): Promise<number> {
    const meta = await this.getApp(org, app);
    if (!meta) return 0;
    let undone = 0;
    for (const n of await this.listVersions(org, app)) {
      const v = await this.getVersion(org, app, n);
      if (!v?.pending) continue;
      if (n === meta.activeVersion) {
        delete v.pending;
        await this.putVersion(org, app, v);
      } else {
        await this.removeVersion(org, app, n);
        undone++;
      }
    }
    return undone;
  }

  async listVersions(org: string, app: string): Promise<number[]> {
    const names = await fsp.readdir(path.join(this.appDir(org, app), "versions")).catch(() => [] as string[]);
    return names
      .map((n) => /^(\d+)\.json$/.exec(n))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  // ---- contexts and blobs ----
  async getContext(org: string, id: string): Promise<ContextRecord | undefined> {
    if (!/^ctx_[0-9a-f]{24}$/.test(id)) return undefined;
    return this.quarantine.read(path.join(this.dataDir, "orgs", org, "contexts", `${id}.json`), checkContext<ContextRecord>);
  }
  async putContext(org: string, c: ContextRecord): Promise<void> {
    await writeJson(path.join(this.dataDir, "orgs", org, "contexts", `${c.contextId}.json`), c);
  }
  /** When this process last stored each blob: the disk collector leaves recent ones alone (a save in flight). */
  private readonly adoptedAtMs = new Map<string, number>();

  blobAdoptedAtMs(digest: string): number | undefined {
    return this.adoptedAtMs.get(digest);
  }

  /** Moves a fully written temp file into the blob store under its digest. */
  async adoptBlob(tmpFile: string, digest: string): Promise<string> {
    const dest = this.blobPath(digest);
    const now = Date.now();
    this.adoptedAtMs.set(digest, now);
    // an hour of saves at most: older entries are past any grace
    if (this.adoptedAtMs.size > 4096) for (const [k, t] of this.adoptedAtMs) if (now - t > 3_600_000) this.adoptedAtMs.delete(k);
    if (await exists(dest)) {
      await fsp.rm(tmpFile, { force: true });
    } else {
      const fh = await fsp.open(tmpFile, "r+");
      await fh.sync();
      await fh.close();
      await fsp.rename(tmpFile, dest);
      await fsyncDir(path.dirname(dest));
    }
    return dest;
  }
  async hashFile(file: string): Promise<{ digest: string; size: number }> {
    const h = createHash("sha256");
    let size = 0;
    for await (const chunk of createReadStream(file)) {
      h.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    return { digest: `sha256:${h.digest("hex")}`, size };
  }

  // ---- builds ----
  async getBuild(id: string): Promise<BuildRecord | undefined> {
    if (!/^bld_[0-9A-Z]{26}$/.test(id)) return undefined;
    return this.quarantine.read(path.join(this.buildDir(id), "build.json"), checkBuild<BuildRecord>);
  }
  async putBuild(b: BuildRecord): Promise<void> {
    await writeJson(path.join(this.buildDir(b.id), "build.json"), b);
  }
  async listBuildIds(): Promise<string[]> {
    return (await fsp.readdir(path.join(this.dataDir, "builds")).catch(() => [] as string[])).sort();
  }

  /**
   * Reads every app, draft, version, context and build record once, so that start-up reports ready
   * only after what it serves has loaded: a record that fails its check is quarantined here, with
   * one log line naming it, instead of failing a request (or a background task) later. Returns the
   * number of records quarantined.
   */
  async checkAll(): Promise<number> {
    const before = (await this.quarantine.list()).length;
    for (const org of await this.listOrgs()) {
      const apps = await fsp.readdir(path.join(this.dataDir, "orgs", org, "apps")).catch(() => [] as string[]);
      for (const app of apps) {
        await this.getApp(org, app);
        await this.getDraft(org, app);
        for (const v of await this.listVersions(org, app)) await this.getVersion(org, app, v);
        const undone = await this.settleVersions(org, app);
        if (undone) this.log(`${org}/${app}: removed ${undone} version record(s) of a publish interrupted before it took effect`);
      }
      const contexts = await fsp.readdir(path.join(this.dataDir, "orgs", org, "contexts")).catch(() => [] as string[]);
      for (const c of contexts) if (c.endsWith(".json")) await this.getContext(org, c.slice(0, -".json".length));
    }
    for (const id of await this.listBuildIds()) await this.getBuild(id);
    return (await this.quarantine.list()).length - before;
  }
}
