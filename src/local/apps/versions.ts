/**
 * An app's published versions: publish (the draft's image becomes version n) and rollback both go
 * through activateVersion; listing, reading and the stored code of a version.
 */
import { promises as fsp } from "node:fs";
import { clone, create, fromJson, toJson } from "@bufbuild/protobuf";
import { AppMetaSchema, DeploymentMode, DeploymentState, RuntimeSchema, VersionStatus, type AppMeta } from "../../gen/dodil/ignite/v1/common_pb.js";
import { AppVersionInfoSchema, type AppVersionInfo } from "../../gen/dodil/ignite/v1/compute_pb.js";
import { detectArchiveKind } from "../../wire/archive.js";
import { prebuiltBuild, repullPrebuilt, type PrebuiltSource } from "../build/prebuilt.js";
import { pullableRef } from "../build/build-manager.js";
import { canonicalRegistry, normalizeServer, registryHost, type RegistryCredentials } from "../drivers/image-pull.js";
import { errorMessage, failedPrecondition, invalidArgument, notFound, resourceExhausted } from "../errors.js";
import type { AppRunSpec } from "../runtime/replica.js";
import type { DraftRecord, VersionRecord } from "../store/store.js";
import type { RunningInstance } from "../drivers/types.js";
import { organizationId } from "../ids.js";
import { MAX_MESSAGE_BYTES } from "../../wire/grpc-service.js";
import { requireSupportedRuntime } from "../managed-runtime/index.js";
import type { Platform, RoomDeps } from "./platform.js";
import type { ArchiveKind } from "../../wire/archive.js";
import { DEFAULT_PORT } from "./apps.js";
import { scalePolicy } from "./scaling.js";

function contentTypeOf(kind: ArchiveKind): string {
  return kind === "tar.gz" ? "application/gzip" : kind === "tar" ? "application/x-tar" : kind === "zip" ? "application/zip" : "application/octet-stream";
}

/** What a publish writes: the app record (updated in place) takes the draft's code and the snapshot's deployment. */
interface Publication {
  org: string;
  app: string;
  meta: AppMeta;
  draft: DraftRecord;
  /** The app as the new version records it. */
  snapshot: AppMeta;
  imageRef: string;
}

export class Versions {
  constructor(
    private readonly d: RoomDeps,
    private readonly p: Platform,
  ) {}

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
      limits: { memoryMb: meta.limits?.memoryMb ?? 0, cpuMillicores: meta.limits?.cpuMillicores ?? 0 },
    };
  }

  /** A prebuilt draft's image and, when it names one, its registry secret resolved now. */
  private async prebuiltSource(org: string, app: string, d: DraftRecord): Promise<PrebuiltSource> {
    const ref = d.imageRef ?? "";
    const privateRegistries = this.d.privateRegistries?.() ?? [];
    if (!d.registrySecretRef) return { org, app, ref, privateRegistries };
    return { org, app, ref, privateRegistries, secret: { name: d.registrySecretRef, credentials: await this.registryCredentials(org, d.registrySecretRef, ref) } };
  }

  /** The slot's credentials, for the registry of `ref` only: they are never sent to another host. */
  private async registryCredentials(org: string, name: string, ref: string): Promise<RegistryCredentials> {
    const sv = await this.d.secrets.resolve(org, name, "registry_secret", "registry_secret_ref");
    if (sv.value.case !== "registrySecret") throw failedPrecondition(`registry_secret_ref: secret '${name}' is not a registry secret`);
    const server = normalizeServer(sv.value.value.serverAddress || "docker.io");
    const registry = registryHost(ref).toLowerCase();
    if (canonicalRegistry(server) !== canonicalRegistry(registry)) {
      throw failedPrecondition(`registry_secret_ref: secret '${name}' is for registry ${server}, but image ${ref} is on ${registry}`);
    }
    return { username: sv.value.value.username, password: sv.value.value.password };
  }

  /**
   * The image a version starts from. One behind a registry secret is pulled again (by its published
   * digest, with the secret as it is now) at every cold start and rollback, as the platform resolves
   * the slot at every cold start.
   */
  private async imageOfVersion(org: string, app: string, v: VersionRecord) {
    const b = await this.d.store.getBuild(v.deployId);
    if (b?.registrySecretRef) return repullPrebuilt(this.d.store, this.d.driver, b, await this.registryCredentials(org, b.registrySecretRef, b.imageRef));
    let img = b ? await this.d.builds.image(b) : undefined;
    // a pulled image without a secret whose local copy is gone: missing, so pulled (by its digest)
    if (!img && b?.pulledRef) img = await repullPrebuilt(this.d.store, this.d.driver, b, undefined);
    if (!img) throw failedPrecondition(`the image of version ${v.version} of ${org}/${app} (${v.imageRef}) is no longer available`);
    return img;
  }

  /**
   * Makes `version` the app's active one, for publish and rollback alike: `record` writes the new
   * state (the instance, started and probed, serves nothing yet), then the instance takes over the
   * app's replicas. When the write fails a newly launched instance is stopped.
   */
  private async activateVersion(org: string, app: string, a: { meta: AppMeta; version: number; instance: RunningInstance; launched: boolean }, record: () => Promise<void>): Promise<void> {
    try {
      await record();
    } catch (e) {
      if (a.launched) await a.instance.stop();
      throw e;
    }
    await this.d.runtime.install(`${org}/${app}`, { version: a.version, instance: a.instance }, scalePolicy(a.meta), this.activeSpec(org, app));
  }

  /** The two writes of a publish: the (pending) version record, then the app record pointing at it. */
  private async writePublished(v: VersionRecord, p: Publication): Promise<void> {
    const { meta, draft: d, snapshot } = p;
    await this.d.store.putVersion(p.org, p.app, v);
    meta.version = v.version;
    meta.activeVersion = v.version;
    meta.codeKind = d.codeKind;
    meta.codeHash = d.codeHash;
    meta.imageRef = p.imageRef;
    meta.deploymentMode = snapshot.deploymentMode;
    if (snapshot.runtime) meta.runtime = snapshot.runtime;
    meta.deploymentState = DeploymentState.ACTIVE;
    if (d.inputSchema) meta.inputSchema = d.inputSchema;
    if (d.outputSchema) meta.outputSchema = d.outputSchema;
    meta.updatedAtMs = BigInt(Date.now());
    await this.d.store.putApp(meta);
  }

  async publish(org: string, app: string): Promise<{ version: number; app: AppMeta; deployId: string }> {
    const key = `${org}/${app}`;
    await this.p.apps.requireApp(org, app);
    const d = await this.d.store.getDraft(org, app);
    if (!d) throw failedPrecondition(`app ${key} has no draft to publish; save one first (SaveDraft)`);
    if (d.source === "compile") requireSupportedRuntime(d.runtime, `publish ${key}`);
    // a prebuilt image: local, or pulled (with its registry secret, always pulled) (prebuilt.ts)
    const build = d.source === "prebuilt" ? await prebuiltBuild(this.d.store, this.d.driver, await this.prebuiltSource(org, app, d)) : await this.p.drafts.draftBuild(org, app, d);
    const image = (await this.d.builds.image(build))!;
    const imageRef = pullableRef(build);
    return this.d.appLocks.run(key, async () => {
      const meta = await this.p.apps.requireApp(org, app);
      const versions = await this.d.store.listVersions(org, app);
      const n = (versions[versions.length - 1] ?? 0) + 1;
      const snapshot = clone(AppMetaSchema, meta);
      snapshot.version = n;
      snapshot.activeVersion = n;
      snapshot.codeKind = d.codeKind;
      snapshot.codeHash = d.codeHash;
      snapshot.imageRef = imageRef;
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
        imageRef,
        deployId: build.id,
        ...(d.contextDigest ? { contextDigest: d.contextDigest } : {}),
        ...(d.contextName ? { contextName: d.contextName } : {}),
        app: toJson(AppMetaSchema, snapshot),
      };
      // Start and probe the new version before anything points at it.
      const instance = await this.d.runtime.launch(this.runSpecFor(meta, v, image));
      // Three writes make the publish atomic: the version record marked pending (listed and
      // usable only while the app points at it), the app record pointing at it (the commit), then
      // the mark removed. A crash before the commit leaves a pending record nothing lists, removed
      // at the next start (Store.settleVersions); after it, the version is active either way.
      await this.activateVersion(org, app, { meta, version: n, instance, launched: true }, async () => {
        try {
          await this.writePublished({ ...v, pending: true }, { org, app, meta, draft: d, snapshot, imageRef });
        } catch (e) {
          await this.d.store.removeVersion(org, app, n).catch(() => undefined);
          throw e;
        }
        // committed: a failure to clear the mark only leaves it for the next start to clear
        await this.d.store.putVersion(org, app, v).catch((e: unknown) => this.d.log(`${key}: version ${n}: ${errorMessage(e)}`));
      });
      this.d.log(`${key}: version ${n} published and active`);
      return { version: n, app: this.p.apps.present(meta), deployId: build.id };
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
      imageRef: this.d.resolveImageRef(v.imageRef),
      deployId: v.deployId,
      ...(snap.runtime ? { runtime: snap.runtime } : {}),
    });
  }

  async listVersions(org: string, app: string): Promise<AppVersionInfo[]> {
    const meta = await this.p.apps.requireApp(org, app);
    const out: AppVersionInfo[] = [];
    for (const n of await this.d.store.listVersions(org, app)) {
      const v = await this.d.store.getVersion(org, app, n);
      if (v && isPublished(meta, v)) out.push(this.versionInfo(meta, v));
    }
    return out;
  }

  async requireVersion(org: string, app: string, n: number): Promise<{ meta: AppMeta; v: VersionRecord }> {
    const meta = await this.p.apps.requireApp(org, app);
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
    snap.imageRef = this.d.resolveImageRef(snap.imageRef);
    snap.organizationId = organizationId(org);
    snap.publicUrls = this.p.apps.publicUrls(meta);
    snap.deploymentState = v.version === meta.activeVersion ? this.p.apps.present(meta).deploymentState : DeploymentState.UNSPECIFIED;
    return snap;
  }

  async rollback(org: string, app: string, n: number): Promise<{ app: AppMeta; previous: number }> {
    const key = `${org}/${app}`;
    if (!n) throw invalidArgument("version is required");
    return this.d.appLocks.run(key, async () => {
      const { meta, v } = await this.requireVersion(org, app, n);
      const previous = meta.activeVersion;
      const image = await this.imageOfVersion(org, app, v);
      const running = this.d.runtime.running(key);
      const reused = running && running.version === n ? running.instance : undefined;
      const instance = reused ?? (await this.d.runtime.launch(this.runSpecFor(meta, v, image)));
      meta.activeVersion = n;
      meta.version = n;
      meta.imageRef = v.imageRef;
      meta.codeHash = v.codeHash;
      meta.codeKind = v.codeKind;
      meta.deploymentState = DeploymentState.ACTIVE;
      meta.updatedAtMs = BigInt(Date.now());
      await this.activateVersion(org, app, { meta, version: n, instance, launched: !reused }, () => this.d.store.putApp(meta));
      this.d.log(`${key}: rolled back from version ${previous} to ${n}`);
      return { app: this.p.apps.present(meta), previous };
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

  /** The run spec of the app's version that is active when it is called. */
  activeSpec(org: string, app: string): () => Promise<AppRunSpec> {
    return async () => {
      const { meta: m, v } = await this.requireVersion(org, app, 0);
      const image = await this.imageOfVersion(org, app, v);
      return this.runSpecFor(m, v, image);
    };
  }
}

/** A version record that became active: not one of a publish still under way (or cut short by a crash). */
function isPublished(meta: AppMeta, v: VersionRecord): boolean {
  return !v.pending || v.version === meta.activeVersion;
}
