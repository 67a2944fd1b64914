/**
 * Collects the state nothing refers to any more, so the data dir stops growing with every save:
 *
 * - builds of drafts and compiles that no current draft and no version refers to (record, log, the
 *   image directory and the driver's image), keeping the newest KEEP_BUILDS_PER_APP of each app so
 *   `build logs` of a recent save still works — with their manifests in the plane's registry (those
 *   no kept build shares), whose blobs its garbage collection then removes; builds in progress and standalone builds
 *   (BuildService.CreateBuild, which the caller names and tags) are never collected; a build
 *   directory whose build.json is gone (quarantined as unusable: the quarantine keeps the file
 *   itself) is collected with its log and image once its id is older than BLOB_GRACE_MS, unless a
 *   draft or version still names it;
 * - uploaded-context records older than CONTEXT_TTL_MS that no draft, version or build refers to;
 * - blobs (code archives) that no draft, version, build or context record refers to;
 * - directories of stopped instances (output.log, HOME), keeping the newest KEEP_STOPPED_INSTANCES of
 *   each app for debugging, and every directory of a deleted app.
 *
 * It runs at start-up, every collectIntervalMs, and SUPERSEDE_DELAY_MS after a save supersedes a
 * draft (collectSoon): however many saves come in that window, one collection follows them, so the
 * work stays bounded by the records on disk, never by the rate of saves.
 *
 * Only this process writes the data dir (store/data-dir-lock.ts), so what is in flight is known
 * here: a blob adopted in the last BLOB_GRACE_MS (a save between storing its archive and writing
 * the draft that refers to it) is never collected, and live instance directories come from the
 * runtime. The driver removes an image only by the ref this plane tagged it with, so an image
 * another build shares (same content, same id) keeps its other tags.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { BuildStatus } from "../../gen/dodil/ignite/v1/common_pb.js";
import { exists, readJson } from "../atomic-fs.js";
import { ulidTime } from "../ids.js";
import type { BuiltImage, Driver } from "../drivers/types.js";
import { errorMessage } from "../errors.js";
import { systemClock, type Clock, type ClockTimer } from "../../clock.js";
import type { BuildRecord, Store } from "./store.js";

export const KEEP_BUILDS_PER_APP = 3;
export const KEEP_STOPPED_INSTANCES = 2;
/** Uploads are used by the SaveDraft that follows; the CLI uploads again when one it remembers is gone. */
export const CONTEXT_TTL_MS = 10 * 60_000;
export const BLOB_GRACE_MS = 10 * 60_000;
/** How long after a superseding save its collection runs (later saves in the window join it). */
export const SUPERSEDE_DELAY_MS = 30_000;

export interface CollectorDeps {
  store: Store;
  driver: Pick<Driver, "removeImage">;
  /** Instance directories with a live process (the runtime's). */
  liveInstanceDirs: () => ReadonlySet<string>;
  /** Builds running in this process. */
  isBuildActive: (id: string) => boolean;
  log: (line: string) => void;
  /**
   * The plane's registry (registry/plane-registry.ts), where builds are pushed: the manifests of
   * removed builds go there too, then their blobs. Absent: no registry.
   */
  registry?: () => { storageDir: string; removeImages(refs: readonly string[], since: number): Promise<{ manifests: number; blobs: number }> } | undefined;
  /** The time grace periods are read on and collectSoon waits on (src/clock.ts). */
  clock?: Pick<Clock, "now" | "setTimeout">;
}

interface Refs {
  digests: Set<string>;
  buildIds: Set<string>;
  liveApps: Set<string>;
}

export interface CollectReport {
  builds: number;
  contexts: number;
  blobs: number;
  instanceDirs: number;
  /** Manifests deleted from the plane's registry, and the blobs its garbage collection removed. */
  registryManifests: number;
  registryBlobs: number;
  freedBytes: number;
}

/** An image this plane built for build `b` (prebuilt builds point at the user's own image). */
function ownImage(b: BuildRecord, img: BuiltImage | undefined): img is BuiltImage {
  return !!img && img.ref === b.imageRef && /^local\.ignite\/[^/]+\/[^:]+:bld_[0-9a-z]{26}$/.test(b.imageRef);
}

async function sizeOf(p: string): Promise<number> {
  const st = await fsp.lstat(p).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.blocks * 512;
  let n = st.blocks * 512;
  for (const e of await fsp.readdir(p).catch(() => [] as string[])) n += await sizeOf(path.join(p, e));
  return n;
}

export class DiskCollector {
  private running: Promise<CollectReport> | undefined;
  private stopped = false;
  private again = false;
  private soon: ClockTimer | undefined;
  private readonly clock: Pick<Clock, "now" | "setTimeout">;
  private readonly now: () => number;

  constructor(private readonly d: CollectorDeps) {
    this.clock = d.clock ?? systemClock;
    this.now = () => this.clock.now();
  }

  /**
   * A save superseded a draft (its build, image and archive may now be unreferenced): one
   * collection SUPERSEDE_DELAY_MS from the first such save, shared by every save until it runs.
   */
  collectSoon(): void {
    if (this.stopped || this.soon) return;
    this.soon = this.clock.setTimeout(() => {
      this.soon = undefined;
      void this.collect().catch((e: unknown) => this.d.log(`disk collection failed: ${errorMessage(e)}`));
    }, SUPERSEDE_DELAY_MS);
  }

  /** Runs a collection; one at a time (a request during a run makes one more run after it). */
  collect(): Promise<CollectReport> {
    if (this.stopped) return Promise.resolve({ builds: 0, contexts: 0, blobs: 0, instanceDirs: 0, registryManifests: 0, registryBlobs: 0, freedBytes: 0 });
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        let report: CollectReport;
        do {
          this.again = false;
          report = await this.collectOnce();
        } while (this.again && !this.stopped);
        return report;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Ends a collection in flight at its next step, and starts none after. */
  stop(): void {
    this.stopped = true;
    this.soon?.cancel();
    this.soon = undefined;
  }

  /** Resolves when no collection runs (stop waits for one in flight, and starts none). */
  async settled(): Promise<void> {
    this.again = false;
    await this.running?.catch(() => undefined);
  }

  private async collectOnce(): Promise<CollectReport> {
    const report: CollectReport = { builds: 0, contexts: 0, blobs: 0, instanceDirs: 0, registryManifests: 0, registryBlobs: 0, freedBytes: 0 };
    // Blobs are listed first: anything adopted after this point is younger than the grace anyway.
    const blobs = await fsp.readdir(this.blobDir()).catch(() => [] as string[]);
    const refs = await this.references();
    await this.collectBuilds(refs, report);
    await this.collectContexts(refs, report);
    await this.collectBlobs(blobs, refs, report);
    await this.collectInstanceDirs(refs, report);
    const total = report.builds + report.contexts + report.blobs + report.instanceDirs + report.registryManifests;
    if (total) {
      const registry = report.registryManifests ? `, ${report.registryManifests} registry manifest(s) and ${report.registryBlobs} registry blob(s)` : "";
      this.d.log(
        `disk collection: removed ${report.builds} build(s), ${report.contexts} upload record(s), ${report.blobs} archive(s) and ${report.instanceDirs} stopped instance dir(s)${registry}, ${(report.freedBytes / 1e6).toFixed(1)} MB`,
      );
    }
    return report;
  }

  private blobDir(): string {
    return path.join(this.d.store.dataDir, "blobs", "sha256");
  }

  /** What the apps' drafts and versions refer to (builds and uploads add theirs as they are kept). */
  private async references(): Promise<Refs> {
    const { store } = this.d;
    const refs: Refs = { digests: new Set(), buildIds: new Set(), liveApps: new Set() };
    for (const org of await store.listOrgs()) {
      for (const app of await store.listApps(org)) {
        refs.liveApps.add(`${org}/${app}`);
        const d = await store.getDraft(org, app);
        if (d?.contextDigest) refs.digests.add(d.contextDigest);
        if (d?.deployId) refs.buildIds.add(d.deployId);
        for (const n of await store.listVersions(org, app)) {
          const v = await store.getVersion(org, app, n);
          if (v?.contextDigest) refs.digests.add(v.contextDigest);
          if (v?.deployId) refs.buildIds.add(v.deployId);
        }
      }
    }
    return refs;
  }

  private async collectBuilds(refs: Refs, report: CollectReport): Promise<void> {
    // wall time, as the registry stamps its pushes: what was pushed after this is not judged here
    const listedAt = Date.now();
    const byApp = new Map<string, BuildRecord[]>();
    for (const id of await this.d.store.listBuildIds()) {
      const b = await this.d.store.getBuild(id);
      if (!b) {
        if (this.stopped) return;
        const freed = await this.collectRecordless(id, refs);
        if (freed !== undefined) {
          report.builds++;
          report.freedBytes += freed;
        }
        continue;
      }
      const list = byApp.get(`${b.org}/${b.app}`) ?? [];
      list.push(b);
      byApp.set(`${b.org}/${b.app}`, list);
    }
    const doomed: BuildRecord[] = [];
    const kept: BuildRecord[] = [];
    for (const [key, list] of byApp) {
      list.sort((a, b) => b.createdAtMs - a.createdAtMs || (a.id < b.id ? 1 : -1));
      const recent = new Set(refs.liveApps.has(key) ? list.slice(0, KEEP_BUILDS_PER_APP).map((b) => b.id) : []);
      for (const b of list) {
        const inProgress = b.status === BuildStatus.PENDING || b.status === BuildStatus.RUNNING || this.d.isBuildActive(b.id);
        if (refs.buildIds.has(b.id) || recent.has(b.id) || inProgress || b.kind === "standalone") {
          if (b.contextDigest) refs.digests.add(b.contextDigest);
          kept.push(b);
        } else doomed.push(b);
      }
    }
    if (this.stopped) return;
    // The registry's manifests first: a failure there keeps the records that name them for the next run.
    if (!(await this.removeRegistryImages(doomed, kept, listedAt, report))) return;
    for (const b of doomed) {
      if (this.stopped) return;
      report.freedBytes += await this.removeBuild(b);
      report.builds++;
    }
  }

  /**
   * Deletes from the plane's registry the manifests of `doomed` builds that no `kept` build shares
   * (two builds of the same content push the same digest), then its unreferenced blobs. False when
   * the registry failed: the builds stay until a collection where it answers.
   */
  private async removeRegistryImages(doomed: BuildRecord[], kept: BuildRecord[], listedAt: number, report: CollectReport): Promise<boolean> {
    const registry = this.d.registry?.();
    // repository@digest, without the host: a former port of the registry names the same image
    const key = (ref: string) => ref.slice(ref.indexOf("/") + 1);
    const keep = new Set(kept.flatMap((b) => (b.registryRef ? [key(b.registryRef)] : [])));
    const refs = [...new Set(doomed.flatMap((b) => (b.registryRef && !keep.has(key(b.registryRef)) ? [b.registryRef] : [])))];
    if (!registry || !refs.length) return true;
    const before = await sizeOf(registry.storageDir);
    try {
      const r = await registry.removeImages(refs, listedAt);
      report.registryManifests += r.manifests;
      report.registryBlobs += r.blobs;
      report.freedBytes += Math.max(0, before - (await sizeOf(registry.storageDir)));
      return true;
    } catch (e) {
      this.d.log(`disk collection: the registry's images of removed builds: ${errorMessage(e)} (kept for the next collection)`);
      return false;
    }
  }

  private async collectContexts(refs: Refs, report: CollectReport): Promise<void> {
    const { store } = this.d;
    for (const org of await store.listOrgs()) {
      const dir = path.join(store.dataDir, "orgs", org, "contexts");
      for (const n of await fsp.readdir(dir).catch(() => [] as string[])) {
        if (!n.endsWith(".json")) continue;
        const c = await store.getContext(org, n.slice(0, -".json".length));
        if (!c) continue;
        if (refs.digests.has(c.digest) || this.now() - c.createdAtMs < CONTEXT_TTL_MS) {
          refs.digests.add(c.digest);
          continue;
        }
        await fsp.rm(path.join(dir, n), { force: true });
        report.contexts++;
      }
    }
  }

  private async collectBlobs(blobs: string[], refs: Refs, report: CollectReport): Promise<void> {
    for (const hex of blobs) {
      if (this.stopped) return;
      const digest = `sha256:${hex}`;
      if (refs.digests.has(digest) || this.now() - (this.d.store.blobAdoptedAtMs(digest) ?? 0) < BLOB_GRACE_MS) continue;
      const file = path.join(this.blobDir(), hex);
      report.freedBytes += await sizeOf(file);
      await fsp.rm(file, { force: true });
      report.blobs++;
    }
  }

  private async collectInstanceDirs(refs: Refs, report: CollectReport): Promise<void> {
    const live = this.d.liveInstanceDirs();
    const instances = path.join(this.d.store.dataDir, "instances");
    for (const org of await fsp.readdir(instances).catch(() => [] as string[])) {
      for (const app of await fsp.readdir(path.join(instances, org)).catch(() => [] as string[])) {
        const appDir = path.join(instances, org, app);
        // instance ids are v<version>-<ulid>: newest last by their ulid
        const dirs = (await fsp.readdir(appDir).catch(() => [] as string[])).sort((a, b) => (a.replace(/^v\d+-/, "") < b.replace(/^v\d+-/, "") ? -1 : 1));
        const stopped = dirs.filter((n) => !live.has(path.join(appDir, n)));
        const keep = refs.liveApps.has(`${org}/${app}`) ? KEEP_STOPPED_INSTANCES : 0;
        for (const n of stopped.slice(0, Math.max(0, stopped.length - keep))) {
          if (this.stopped) return;
          report.freedBytes += await sizeOf(path.join(appDir, n));
          await fsp.rm(path.join(appDir, n), { recursive: true, force: true });
          report.instanceDirs++;
        }
      }
    }
  }

  /**
   * A build directory without a usable record (its build.json was quarantined, or a crash came
   * between the directory and the record): removed with its image once it is past the grace a
   * starting build needs to write its record, and nothing running or referring to it.
   */
  private async collectRecordless(id: string, refs: Refs): Promise<number | undefined> {
    const mintedAt = ulidTime(id.replace(/^bld_/, ""));
    if (!Number.isFinite(mintedAt) || this.now() - mintedAt < BLOB_GRACE_MS || refs.buildIds.has(id) || this.d.isBuildActive(id)) return undefined;
    if (await exists(path.join(this.d.store.buildDir(id), "build.json"))) return undefined;
    const imageDir = this.d.store.imageDir(id);
    const img = await readJson<BuiltImage>(path.join(imageDir, "image.json")).catch(() => undefined);
    // only the image this plane tagged for this very build (its ref ends with the build id)
    if (img && img.dir !== imageDir && img.ref.endsWith(`:${id.toLowerCase()}`) && /^local\.ignite\//.test(img.ref)) {
      await this.d.driver.removeImage(img).catch((e: unknown) => this.d.log(`disk collection: removing image ${img.ref}: ${errorMessage(e)}`));
    }
    const freed = (await sizeOf(imageDir)) + (await sizeOf(this.d.store.buildDir(id)));
    await fsp.rm(imageDir, { recursive: true, force: true });
    await fsp.rm(this.d.store.buildDir(id), { recursive: true, force: true });
    this.d.log(`disk collection: build ${id} had no usable record (see dev doctor's quarantine): removed its log and image`);
    return freed;
  }

  private async removeBuild(b: BuildRecord): Promise<number> {
    const { store } = this.d;
    const imageDir = store.imageDir(b.id);
    const img = await readJson<BuiltImage>(path.join(imageDir, "image.json")).catch(() => undefined);
    let freed = 0;
    if (ownImage(b, img) && img.dir !== imageDir) {
      // a container driver's image (the host driver's image is the directory itself)
      await this.d.driver.removeImage(img).catch((e: unknown) => this.d.log(`disk collection: removing image ${img.ref}: ${errorMessage(e)}`));
    }
    freed += await sizeOf(imageDir);
    freed += await sizeOf(store.buildDir(b.id));
    // the record last: a crash in between leaves a build whose image is gone, which reads as such
    await fsp.rm(imageDir, { recursive: true, force: true });
    await fsp.rm(store.buildDir(b.id), { recursive: true, force: true });
    return freed;
  }
}
