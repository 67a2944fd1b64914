/**
 * Build manager: runs driver builds in the background, persists each build's record and log
 * (JSON lines, one entry per line, offset = line index), and lets readers replay and follow logs.
 */
import { appendFileSync, promises as fsp } from "node:fs";
import * as path from "node:path";
import { BuildStatus } from "../../gen/dodil/ignite/v1/common_pb.js";
import { BuildFailure, RegistryUnreachable, type BuiltImage, type Driver } from "../drivers/types.js";
import { errorMessage } from "../errors.js";
import { redact } from "../drivers/build-args.js";
import type { BuildRecord, Store } from "../store/store.js";
import { readJson, writeJson } from "../atomic-fs.js";
import type { PlaneRegistry } from "../registry/plane-registry.js";
import { ulid } from "../ids.js";
import { localImageRef } from "../drivers/image-ownership.js";

export interface LogLine {
  offset: number;
  timestampMs: number;
  line: string;
}

interface ActiveBuild {
  record: BuildRecord;
  params: BuildParams;
  timedOut?: boolean;
  done: Promise<BuildRecord>;
  lines: number;
  listeners: Set<() => void>;
  abort: AbortController;
  /** The image build's last `STEP n/m: …` line so far (which step a failure is in). */
  step?: string;
  /** The build's `prepare` (the managed runtime's compile) is running. */
  inCompile?: boolean;
}

export interface BuildParams {
  org: string;
  app: string;
  contextDigest: string;
  contextName?: string;
  dockerfilePath: string;
  buildArgs: Record<string, string>;
  kind?: "draft" | "compile" | "standalone";
  /** Standalone builds: image name, tags (refs local.ignite/<org>/<name>:<tag>), platform. */
  name?: string;
  tags?: string[];
  platform?: string;
  /** 0 = no limit. */
  timeoutSecs?: number;
  /** Build args from build secrets: passed to the driver, shown as *** and scrubbed from the log. */
  secretArgs?: Record<string, string>;
  /** The org's build registry credentials (REGISTRY -> AUTH) for FROM images to pull; never stored. */
  registryCredentials?: Record<string, string>;
  /**
   * Runs first, inside the build (its lines go to the build log): may replace the context, e.g. the
   * managed runtime's compile step, which turns source code into a build context.
   */
  prepare?: (log: (line: string) => void, signal: AbortSignal) => Promise<{ contextDigest: string; contextName?: string; dockerfilePath?: string } | void>;
}

/** Who hears of a build's start and end (the drafts it belongs to, the app's events). */
export interface BuildEvents {
  /** A build was created (PENDING). */
  started(b: BuildRecord): void;
  /** A build ended: not awaited by the build; cancelAll() waits for it. */
  finished(b: BuildRecord): Promise<void>;
}

/** What the build manager builds with, where it keeps builds, and whom it tells. */
export interface BuildManagerDeps {
  store: Store;
  driver: Driver;
  log: (line: string) => void;
  events: BuildEvents;
  /** The plane's registry once it listens (undefined, or absent: images stay in the driver's storage). */
  registry?: () => PlaneRegistry | undefined;
}

export class BuildManager {
  private active = new Map<string, ActiveBuild>();
  private readonly store: Store;
  private readonly driver: Driver;
  private readonly log: (line: string) => void;
  private readonly events: BuildEvents;
  private readonly registry: () => PlaneRegistry | undefined;

  constructor(deps: BuildManagerDeps) {
    this.store = deps.store;
    this.driver = deps.driver;
    this.log = deps.log;
    this.events = deps.events;
    this.registry = deps.registry ?? (() => undefined);
  }

  /** Marks builds interrupted by a previous crash/stop as cancelled. */
  async recover(): Promise<void> {
    for (const id of await this.store.listBuildIds()) {
      const b = await this.store.getBuild(id);
      if (b && (b.status === BuildStatus.PENDING || b.status === BuildStatus.RUNNING)) {
        b.status = BuildStatus.CANCELLED;
        b.error = "the build was interrupted by a control plane restart";
        b.finishedAtMs = Date.now();
        await this.store.putBuild(b);
      }
    }
  }

  isActive(id: string): boolean {
    return this.active.has(id);
  }

  async start(p: BuildParams): Promise<BuildRecord> {
    const id = `bld_${ulid()}`;
    const record: BuildRecord = {
      id,
      org: p.org,
      app: p.app,
      status: BuildStatus.PENDING,
      contextDigest: p.contextDigest,
      ...(p.contextName ? { contextName: p.contextName } : {}),
      dockerfilePath: p.dockerfilePath,
      buildArgs: p.buildArgs,
      imageRef: p.name ? localImageRef(p.org, p.name, (p.tags ?? ["latest"])[0]!) : localImageRef(p.org, p.app, id.toLowerCase()),
      createdAtMs: Date.now(),
      ...(p.kind ? { kind: p.kind } : {}),
      ...(p.name ? { name: p.name, tags: p.tags ?? ["latest"], imageRefs: (p.tags ?? ["latest"]).map((t) => localImageRef(p.org, p.name!, t)) } : {}),
      ...(p.platform ? { platform: p.platform } : {}),
      ...(p.timeoutSecs ? { timeoutSecs: p.timeoutSecs } : {}),
      ...(p.secretArgs && Object.keys(p.secretArgs).length ? { secretArgNames: Object.keys(p.secretArgs).sort() } : {}),
    };
    await fsp.mkdir(this.store.buildDir(id), { recursive: true });
    await fsp.writeFile(path.join(this.store.buildDir(id), "log.jsonl"), "");
    await this.store.putBuild(record);
    const a: ActiveBuild = { record, params: p, lines: 0, listeners: new Set(), abort: new AbortController(), done: undefined as unknown as Promise<BuildRecord> };
    this.active.set(id, a);
    a.done = this.run(a);
    try {
      this.events.started({ ...record });
    } catch {
      // observers must not break builds
    }
    return { ...record };
  }

  /** Cancels an active build; false when it is not running in this process. */
  cancel(id: string): boolean {
    const a = this.active.get(id);
    if (!a) return false;
    if (!a.abort.signal.aborted) {
      this.append(a, "Cancelling the build (CancelBuild)");
      a.abort.abort();
    }
    return true;
  }

  private append(a: ActiveBuild, line: string): void {
    for (const v of Object.values(a.params.secretArgs ?? {})) if (v.length >= 3) line = line.split(v).join("***");
    if (/^STEP \d+\/\d+: /.test(line)) a.step = line;
    const entry = { offset: a.lines, timestampMs: Date.now(), line };
    // sync append: entries stay ordered and are on disk before listeners read them
    appendFileSync(path.join(this.store.buildDir(a.record.id), "log.jsonl"), JSON.stringify(entry) + "\n");
    a.lines++;
    for (const l of a.listeners) l();
  }

  private async run(a: ActiveBuild): Promise<BuildRecord> {
    const r = a.record;
    await new Promise((res) => setImmediate(res));
    r.status = BuildStatus.RUNNING;
    r.startedAtMs = Date.now();
    await this.store.putBuild(r);
    this.log(`build ${r.id} started for ${r.org}/${r.app}`);
    this.append(a, `Building ${r.org}/${r.app} with the ${this.driver.name} driver (build ${r.id})`);
    const secretArgs = a.params.secretArgs ?? {};
    const allArgs = { ...secretArgs, ...r.buildArgs };
    const args = Object.keys(allArgs);
    if (args.length) {
      this.append(a, `Build args: ${args.sort().map((k) => `${k}=${k in r.buildArgs ? redact(k, r.buildArgs[k]!) : "***"}`).join(" ")}`);
    }
    const timer = r.timeoutSecs
      ? setTimeout(() => {
          a.timedOut = true;
          this.append(a, `The build exceeded its timeout of ${r.timeoutSecs} s`);
          a.abort.abort();
        }, r.timeoutSecs * 1000)
      : undefined;
    try {
      await this.prepare(a);
      await this.buildImage(a, allArgs);
      await this.push(a);
      r.status = BuildStatus.SUCCEEDED;
      this.append(a, `Successfully built ${r.imageRef}`);
    } catch (e) {
      await this.fail(a, e);
    }
    if (timer) clearTimeout(timer);
    await this.finish(a);
    return { ...r };
  }

  /** The build's `prepare` (a compile), which may replace the context the image is built from. */
  private async prepare(a: ActiveBuild): Promise<void> {
    if (!a.params.prepare) return;
    const r = a.record;
    a.inCompile = true;
    const prep = await a.params.prepare((line) => this.append(a, line), a.abort.signal);
    a.inCompile = false;
    if (a.abort.signal.aborted) throw new BuildFailure("build cancelled");
    if (prep) {
      r.contextDigest = prep.contextDigest;
      if (prep.contextName) r.contextName = prep.contextName;
      else delete r.contextName;
      if (prep.dockerfilePath) r.dockerfilePath = prep.dockerfilePath;
      await this.store.putBuild(r);
    }
  }

  /** The driver's build of the context, into the build's image directory. */
  private async buildImage(a: ActiveBuild, buildArgs: Record<string, string>): Promise<void> {
    const r = a.record;
    const imageDir = this.store.imageDir(r.id);
    await fsp.rm(imageDir, { recursive: true, force: true });
    await fsp.mkdir(imageDir, { recursive: true });
    await this.driver.build(
      {
        buildId: r.id,
        org: r.org,
        contextFile: this.store.blobPath(r.contextDigest),
        ...(r.contextName ? { contextName: r.contextName } : {}),
        dockerfilePath: r.dockerfilePath,
        buildArgs,
        imageDir,
        imageRef: r.imageRef,
        privateRegistries: registryHosts(this.registry()),
        ...(a.params.registryCredentials ? { registryCredentials: a.params.registryCredentials } : {}),
      },
      (line) => this.append(a, line),
      a.abort.signal,
    );
  }

  /** The built image, pushed to the plane's registry when it listens. */
  private async push(a: ActiveBuild): Promise<void> {
    const r = a.record;
    const registry = this.registry();
    if (!registry) return;
    a.step = "push";
    const pushStarted = Date.now();
    this.append(a, `Pushing ${r.imageRef} to ${registry.host}/${r.org}/${r.name ?? r.app}`);
    try {
      r.registryRef = await registry.push(r.imageRef, { org: r.org, repo: r.name ?? r.app, tag: r.name ? r.tags![0]! : r.id.toLowerCase() }, a.abort.signal);
    } catch (e) {
      if (!(e instanceof RegistryUnreachable) || a.abort.signal.aborted) throw e;
      this.append(a, `[Warning] ${e.message}: the image stays in the engine's local storage and the version points at ${r.imageRef}`);
      return;
    }
    this.append(a, `Pushed ${r.registryRef} in ${((Date.now() - pushStarted) / 1000).toFixed(1)} s`);
  }

  /** Why the build ended without an image: cancelled, timed out, or failed (in which step). */
  private async fail(a: ActiveBuild, e: unknown): Promise<void> {
    const r = a.record;
    r.status = a.abort.signal.aborted && !a.timedOut ? BuildStatus.CANCELLED : BuildStatus.FAILED;
    r.error = a.timedOut
      ? `the build timed out after ${r.timeoutSecs} s`
      : a.abort.signal.aborted
        ? "the build was cancelled"
        : e instanceof BuildFailure
          ? e.message
          : `internal error: ${errorMessage(e)}`;
    if (r.status === BuildStatus.FAILED) r.failedStep = a.inCompile ? "compile" : (a.step ?? "image build");
    this.append(a, `ERROR: ${r.error}`);
    await fsp.rm(this.store.imageDir(r.id), { recursive: true, force: true }).catch(() => undefined);
  }

  /** Records the end, wakes the log's followers and tells the events. */
  private async finish(a: ActiveBuild): Promise<void> {
    const r = a.record;
    r.finishedAtMs = Date.now();
    await this.store.putBuild(r);
    this.log(`build ${r.id} ${r.status === BuildStatus.SUCCEEDED ? "succeeded" : `failed: ${r.error}`}`);
    this.active.delete(r.id);
    for (const l of a.listeners) l();
    // Not awaited here (a publish holding the app's lock waits for `done`), but tracked so that
    // cancelAll, and so the control plane's stop(), returns only once the draft is written.
    const applying = this.events.finished({ ...r }).catch((e) => this.log(`updating the draft after build ${r.id}: ${errorMessage(e)}`));
    this.applying.add(applying);
    void applying.finally(() => this.applying.delete(applying));
  }

  /** Waits for a build to end; returns its final record (undefined when unknown). */
  async wait(id: string): Promise<BuildRecord | undefined> {
    const a = this.active.get(id);
    if (a) return a.done;
    return this.store.getBuild(id);
  }

  /**
   * The image of a finished build, ready to start: one removed from the driver's local storage is
   * pulled back from the plane's registry when the build was pushed there.
   */
  async image(b: BuildRecord): Promise<BuiltImage | undefined> {
    const file = path.join(this.store.imageDir(b.id), "image.json");
    const img = await readJson<BuiltImage>(file);
    if (!img) return undefined;
    if (await this.driver.imageAvailable(img)) return img;
    const registry = this.registry();
    if (!b.registryRef || !registry || !(await registry.pullBack(b.org, b.registryRef, img.ref))) return undefined;
    const pulled = await this.driver.localImage?.(img.ref);
    if (!pulled) return undefined;
    const restored = { ...pulled, ref: img.ref };
    await writeJson(file, restored);
    return restored;
  }

  async readLog(id: string, fromOffset: number): Promise<LogLine[]> {
    let text: string;
    try {
      text = await fsp.readFile(path.join(this.store.buildDir(id), "log.jsonl"), "utf8");
    } catch {
      return [];
    }
    const out: LogLine[] = [];
    for (const l of text.split("\n")) {
      if (!l) continue;
      try {
        const e = JSON.parse(l) as LogLine;
        if (e.offset >= fromOffset) out.push(e);
      } catch {
        // a torn last line after a crash
      }
    }
    return out;
  }

  /** Subscribes to new log lines / the end of an active build; returns an unsubscribe function. */
  subscribe(id: string, fn: () => void): () => void {
    const a = this.active.get(id);
    if (!a) return () => undefined;
    a.listeners.add(fn);
    return () => a.listeners.delete(fn);
  }

  async cancelAll(): Promise<void> {
    const pending = [...this.active.values()];
    for (const a of pending) a.abort.abort();
    await Promise.allSettled(pending.map((a) => a.done));
    await Promise.allSettled([...this.applying]);
  }

  /** Draft updates of finished builds still being written. */
  private readonly applying = new Set<Promise<void>>();
}

/**
 * The reference a finished build is known by outside the plane: the pullable
 * `<registry>/<org>/<repo>@sha256:…` where it was pushed, else the local one (no registry).
 */
export function pullableRef(b: Pick<BuildRecord, "imageRef" | "registryRef">): string {
  return b.registryRef ?? b.imageRef;
}

/** The plane's registry as an org namespace for image ownership (none without one). */
export function registryHosts(registry: PlaneRegistry | undefined): string[] {
  return registry ? [registry.host, ...registry.formerHosts] : [];
}
