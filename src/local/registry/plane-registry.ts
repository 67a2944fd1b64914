/**
 * The plane's image store: the distribution registry (registry-server.ts) under
 * `<data-dir>/registry`, behind token auth issued by the plane (registry-token.ts), that builds are
 * pushed to as `<registry>/<org>/<repo>` and that an image missing from the driver's local storage
 * is pulled back from. Its port is kept in `listen.json` so that the image refs of versions stay
 * valid across restarts. A taken port falls back to a free one, and the hosts it had before stay
 * in `listen.json` as `former`: refs stored under a former host are this registry's, resolved to
 * the current host wherever they are used or shown (resolve()).
 *
 * Manifests of builds the disk collector removes are deleted (in process, with a `delete` token
 * the token endpoint never grants) and then `registry garbage-collect` reclaims their blobs, with
 * the registry stopped as distribution requires: pushes and pulls of the plane wait meanwhile.
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { atomicWrite, readJson, writeJson } from "../atomic-fs.js";
import type { Driver } from "../drivers/types.js";
import { errorMessage } from "../errors.js";
import { parseListen } from "../net.js";
import { findRegistryBinary, garbageCollect, startRegistry, type RunningRegistry } from "./registry-server.js";
import { REGISTRY_SERVICE, REGISTRY_TOKEN_ISSUER, RegistryTokenIssuer } from "./registry-token.js";

/** `<data-dir>/registry/listen.json`. */
interface ListenFile {
  listen?: string;
  former?: string[];
}

/**
 * A digest pushed this long before the caller looked is still kept: its build may not have
 * written its record (which names it) by then.
 */
const RECENT_PUSH_MS = 10 * 60_000;

/** Former hosts kept: one per restart whose port was taken. */
const MAX_FORMER_HOSTS = 16;

export interface PlaneRegistryOptions {
  dataDir: string;
  /** Loopback HOST:PORT; absent: the port used last time in this data dir, else a free one. */
  listen?: string;
  /** The token endpoint URL clients are sent to (the plane's token server + REGISTRY_TOKEN_PATH). */
  realm: string;
  issuer: RegistryTokenIssuer;
  driver: Driver;
  log: (line: string) => void;
}

/** Why there is no registry, for `dev doctor` and the start-up log. */
export async function registryAbsence(driver: Pick<Driver, "name" | "pushImage">): Promise<string | undefined> {
  if (!(await findRegistryBinary())) return "the registry package is not installed (apt-get install -y docker-registry): built images stay in the driver's local storage and versions point at local refs";
  if (!driver.pushImage) return `the ${driver.name} driver does not push images: built images stay in its local storage and versions point at local refs`;
  return undefined;
}

export class PlaneRegistry {
  /** Pushes and pulls in progress; a garbage collection waits for none and starts none meanwhile. */
  private ops = 0;
  private idle: (() => void) | undefined;
  private paused: Promise<void> | undefined;
  /** Repositories with a push in flight, and when each `repository@digest` was last pushed. */
  private readonly pushing = new Map<string, number>();
  private readonly pushedAt = new Map<string, number>();
  /** stop() was called: a garbage collection in flight does not start the registry again. */
  private stopped = false;

  private constructor(
    private running: RunningRegistry,
    private readonly o: PlaneRegistryOptions,
    /** The registry's directory (config, storage) and where one-off auth files go. */
    private readonly paths: { dir: string; authDir: string },
    /** HOST:PORTs this registry listened on in earlier runs of the data dir (newest last). */
    private former: string[],
  ) {}

  /** Starts the registry, or answers undefined (with a log line) where the plane keeps local storage only. */
  static async open(o: PlaneRegistryOptions): Promise<PlaneRegistry | undefined> {
    const absent = await registryAbsence(o.driver);
    if (absent) {
      o.log(`registry: ${absent}`);
      return undefined;
    }
    const dir = path.join(o.dataDir, "registry");
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const { running, former } = await listen(o, dir, o.listen);
    const authDir = path.join(dir, "auth");
    await fsp.rm(authDir, { recursive: true, force: true });
    await fsp.mkdir(authDir, { recursive: true, mode: 0o700 });
    o.log(`registry listening on ${running.url} (images at ${running.host}/<org>/<app>, token auth at ${o.realm})`);
    return new PlaneRegistry(running, o, { dir, authDir }, former);
  }

  /** HOST:PORT of image refs. */
  get host(): string {
    return this.running.host;
  }

  /** Where the registry keeps its blobs and repositories (its filesystem storage). */
  get storageDir(): string {
    return this.running.storageDir;
  }

  /** HOST:PORTs of earlier runs whose refs resolve() maps to the current host. */
  get formerHosts(): readonly string[] {
    return this.former;
  }

  /**
   * `ref` with a former host of this registry replaced by the current one (the same repository
   * and digest: the storage is the same); any other ref unchanged.
   */
  resolve(ref: string): string {
    const slash = ref.indexOf("/");
    return slash > 0 && this.former.includes(ref.slice(0, slash)) ? `${this.host}${ref.slice(slash)}` : ref;
  }

  /** Runs a push or pull once no garbage collection is under way (the registry is stopped for it). */
  private async op<T>(f: () => Promise<T>): Promise<T> {
    while (this.paused) await this.paused;
    this.ops++;
    try {
      return await f();
    } finally {
      if (--this.ops === 0) this.idle?.();
    }
  }

  /** A containers auth.json with the plane's credentials for `org`, removed after `use`. */
  private async withAuthFile<T>(org: string, use: (authFile: string) => Promise<T>): Promise<T> {
    const { username, password } = this.o.issuer.planeCredentials(org);
    const file = path.join(this.paths.authDir, `${randomBytes(8).toString("hex")}.json`);
    await atomicWrite(file, JSON.stringify({ auths: { [this.host]: { auth: Buffer.from(`${username}:${password}`).toString("base64") } } }));
    try {
      return await use(file);
    } finally {
      await fsp.rm(file, { force: true });
    }
  }

  /** Pushes a built image as `<host>/<org>/<repo>:<tag>`; resolves to its digest reference. */
  async push(localRef: string, to: { org: string; repo: string; tag: string }, signal?: AbortSignal): Promise<string> {
    const driver = this.o.driver;
    if (!driver.pushImage) throw new Error(`the ${driver.name} driver cannot push`);
    const repository = `${to.org}/${to.repo}`;
    this.pushing.set(repository, (this.pushing.get(repository) ?? 0) + 1);
    try {
      return await this.op(async () => {
        const dest = `${this.host}/${repository}`;
        const digest = await this.withAuthFile(to.org, (authFile) => driver.pushImage!(localRef, `${dest}:${to.tag}`, { authFile, ...(signal ? { signal } : {}) }));
        this.pushedAt.set(`${repository}@${digest}`, Date.now());
        return `${dest}@${digest}`;
      });
    } finally {
      const n = (this.pushing.get(repository) ?? 1) - 1;
      if (n > 0) this.pushing.set(repository, n);
      else this.pushing.delete(repository);
    }
  }

  /**
   * Pulls `storedRef` (one of `org`'s, pushed by push()) back into the driver's local storage as
   * `localRef`: the image was removed locally (dev images rm, a storage reset). False when it cannot.
   */
  async pullBack(org: string, storedRef: string, localRef: string): Promise<boolean> {
    const driver = this.o.driver;
    if (!driver.pullImageAs) return false;
    return this.op(async () => {
      const registryRef = this.resolve(storedRef);
      if (!registryRef.startsWith(`${this.host}/${org}/`)) return false;
      try {
        await this.withAuthFile(org, (authFile) => driver.pullImageAs!(registryRef, localRef, { authFile }));
        this.o.log(`registry: pulled ${registryRef} back as ${localRef}`);
        return true;
      } catch (e) {
        this.o.log(`registry: ${errorMessage(e)}`);
        return false;
      }
    });
  }

  /**
   * Deletes the manifests of `refs` (this registry's `<host>/<org>/<repo>@sha256:…`, current or
   * former host; others are ignored) and, when any was deleted, garbage-collects the blobs only
   * they referred to. The caller passes only refs no kept build named when it looked at `since`
   * (ms): a ref pushed since then or shortly before (a new build of the same content pushes the same
   * digest, and writes its record after), or to a repository with a push in flight, is kept.
   * Resolves to what went.
   */
  async removeImages(refs: readonly string[], since = Date.now()): Promise<{ manifests: number; blobs: number }> {
    let manifests = 0;
    for (const stored of refs) {
      const m = /^([^/]+)\/([a-z0-9._/-]+)@(sha256:[0-9a-f]{64})$/.exec(this.resolve(stored));
      if (!m || m[1] !== this.host) continue;
      const [, , repository, digest] = m as unknown as [string, string, string, string];
      if (this.pushing.has(repository) || (this.pushedAt.get(`${repository}@${digest}`) ?? 0) >= since - RECENT_PUSH_MS) continue;
      const res = await this.op(() =>
        fetch(`${this.running.url}/v2/${repository}/manifests/${digest}`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${this.o.issuer.planeDeleteToken(repository)}` },
          signal: AbortSignal.timeout(30_000),
        }),
      );
      await res.body?.cancel();
      if (res.status === 202) manifests++;
      else if (res.status !== 404) this.o.log(`registry: deleting ${repository}@${digest} answered ${res.status}`);
    }
    return { manifests, blobs: manifests ? await this.collectGarbage() : 0 };
  }

  /**
   * Stops the registry (once no push or pull runs; new ones wait), runs `garbage-collect`, and
   * starts it again on the same port. Resolves to the number of blobs removed.
   */
  private async collectGarbage(): Promise<number> {
    while (this.paused) await this.paused;
    let release!: () => void;
    this.paused = new Promise<void>((r) => (release = r));
    try {
      if (this.ops > 0) await new Promise<void>((r) => (this.idle = r));
      this.idle = undefined;
      await this.running.stop();
      try {
        const blobs = await garbageCollect(this.paths.dir);
        this.o.log(`registry: garbage collection removed ${blobs} blob(s)`);
        return blobs;
      } finally {
        if (!this.stopped) {
          const again = await listen(this.o, this.paths.dir, this.host);
          this.running = again.running;
          this.former = again.former;
          // stop() came while it was starting: it stopped the old process only
          if (this.stopped) await this.running.stop();
        }
      }
    } finally {
      this.paused = undefined;
      release();
    }
  }

  stop(): Promise<void> {
    this.stopped = true;
    return this.running.stop();
  }
}

/**
 * Starts the registry of `dir` on `wanted` (else the port of the last run, else a free one); a
 * remembered port taken meanwhile falls back to a free one, the old host kept as a former one.
 */
async function listen(o: PlaneRegistryOptions, dir: string, wanted: string | undefined): Promise<{ running: RunningRegistry; former: string[] }> {
  const listenFile = path.join(dir, "listen.json");
  const saved = await readJson<ListenFile>(listenFile);
  const start = (at: string) =>
    startRegistry({
      dir,
      listen: at,
      auth: { kind: "token", realm: o.realm, service: REGISTRY_SERVICE, issuer: REGISTRY_TOKEN_ISSUER, rootCertBundleFile: o.issuer.rootCertBundleFile },
      log: o.log,
    });
  const remembered = wanted === undefined || wanted === saved?.listen;
  let running: RunningRegistry;
  try {
    running = await start(wanted ?? saved?.listen ?? "127.0.0.1:0");
  } catch (e) {
    // The remembered port was taken meanwhile: a free one.
    if ((wanted !== undefined && o.listen) || !remembered || !saved?.listen || !/address already in use/.test(errorMessage(e))) throw e;
    o.log(`registry: ${saved.listen} is in use; listening on a free port (image refs naming ${saved.listen} are resolved to it)`);
    running = await start(`${parseListen(saved.listen).host}:0`);
  }
  const former = [...new Set([...(saved?.former ?? []), ...(saved?.listen ? [saved.listen] : [])])].filter((h) => h !== running.host).slice(-MAX_FORMER_HOSTS);
  if (running.host !== saved?.listen) await writeJson(listenFile, { listen: running.host, former } satisfies ListenFile);
  return { running, former };
}
