/**
 * The plane's image store: the distribution registry (registry-server.ts) under
 * `<data-dir>/registry`, behind token auth issued by the plane (registry-token.ts), that builds are
 * pushed to as `<registry>/<org>/<repo>` and that an image missing from the driver's local storage
 * is pulled back from. Its port is kept in `listen.json` so that the image refs of versions stay
 * valid across restarts. A taken port falls back to a free one, and the hosts it had before stay
 * in `listen.json` as `former`: refs stored under a former host are this registry's, resolved to
 * the current host wherever they are used or shown (resolve()).
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { atomicWrite, readJson, writeJson } from "../atomic-fs.js";
import type { Driver } from "../drivers/types.js";
import { errorMessage } from "../errors.js";
import { parseListen } from "../net.js";
import { findRegistryBinary, startRegistry, type RunningRegistry } from "./registry-server.js";
import { REGISTRY_SERVICE, REGISTRY_TOKEN_ISSUER, RegistryTokenIssuer } from "./registry-token.js";

/** `<data-dir>/registry/listen.json`. */
interface ListenFile {
  listen?: string;
  former?: string[];
}

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
  private constructor(
    private readonly running: RunningRegistry,
    private readonly o: PlaneRegistryOptions,
    private readonly authDir: string,
    /** HOST:PORTs this registry listened on in earlier runs of the data dir (newest last). */
    readonly formerHosts: readonly string[],
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
    const listenFile = path.join(dir, "listen.json");
    const saved = await readJson<ListenFile>(listenFile);
    const wanted = o.listen ?? saved?.listen ?? "127.0.0.1:0";
    const start = (listen: string) =>
      startRegistry({
        dir,
        listen,
        auth: { kind: "token", realm: o.realm, service: REGISTRY_SERVICE, issuer: REGISTRY_TOKEN_ISSUER, rootCertBundleFile: o.issuer.rootCertBundleFile },
        log: o.log,
      });
    let running: RunningRegistry;
    try {
      running = await start(wanted);
    } catch (e) {
      // The remembered port was taken meanwhile: a free one (older refs name the old port).
      if (o.listen || !saved?.listen || !/address already in use/.test(errorMessage(e))) throw e;
      o.log(`registry: ${saved.listen} is in use; listening on a free port (image refs naming ${saved.listen} are resolved to it)`);
      running = await start(`${parseListen(saved.listen).host}:0`);
    }
    const former = [...new Set([...(saved?.former ?? []), ...(saved?.listen ? [saved.listen] : [])])].filter((h) => h !== running.host).slice(-MAX_FORMER_HOSTS);
    if (running.host !== saved?.listen) await writeJson(listenFile, { listen: running.host, former } satisfies ListenFile);
    const authDir = path.join(dir, "auth");
    await fsp.rm(authDir, { recursive: true, force: true });
    await fsp.mkdir(authDir, { recursive: true, mode: 0o700 });
    o.log(`registry listening on ${running.url} (images at ${running.host}/<org>/<app>, token auth at ${o.realm})`);
    return new PlaneRegistry(running, o, authDir, former);
  }

  /** HOST:PORT of image refs. */
  get host(): string {
    return this.running.host;
  }

  /**
   * `ref` with a former host of this registry replaced by the current one (the same repository
   * and digest: the storage is the same); any other ref unchanged.
   */
  resolve(ref: string): string {
    const slash = ref.indexOf("/");
    return slash > 0 && this.formerHosts.includes(ref.slice(0, slash)) ? `${this.host}${ref.slice(slash)}` : ref;
  }

  /** A containers auth.json with the plane's credentials for `org`, removed after `use`. */
  private async withAuthFile<T>(org: string, use: (authFile: string) => Promise<T>): Promise<T> {
    const { username, password } = this.o.issuer.planeCredentials(org);
    const file = path.join(this.authDir, `${randomBytes(8).toString("hex")}.json`);
    await atomicWrite(file, JSON.stringify({ auths: { [this.host]: { auth: Buffer.from(`${username}:${password}`).toString("base64") } } }));
    try {
      return await use(file);
    } finally {
      await fsp.rm(file, { force: true });
    }
  }

  /** Pushes a built image as `<host>/<org>/<repo>:<tag>`; resolves to its digest reference. */
  async push(org: string, repo: string, tag: string, localRef: string, signal?: AbortSignal): Promise<string> {
    const driver = this.o.driver;
    if (!driver.pushImage) throw new Error(`the ${driver.name} driver cannot push`);
    const dest = `${this.host}/${org}/${repo}`;
    const digest = await this.withAuthFile(org, (authFile) => driver.pushImage!(localRef, `${dest}:${tag}`, { authFile, ...(signal ? { signal } : {}) }));
    return `${dest}@${digest}`;
  }

  /**
   * Pulls `registryRef` (one of `org`'s, pushed by push()) back into the driver's local storage as
   * `localRef`: the image was removed locally (dev images rm, a storage reset). False when it cannot.
   */
  async pullBack(org: string, storedRef: string, localRef: string): Promise<boolean> {
    const driver = this.o.driver;
    const registryRef = this.resolve(storedRef);
    if (!driver.pullImageAs || !registryRef.startsWith(`${this.host}/${org}/`)) return false;
    try {
      await this.withAuthFile(org, (authFile) => driver.pullImageAs!(registryRef, localRef, { authFile }));
      this.o.log(`registry: pulled ${registryRef} back as ${localRef}`);
      return true;
    } catch (e) {
      this.o.log(`registry: ${errorMessage(e)}`);
      return false;
    }
  }

  stop(): Promise<void> {
    return this.running.stop();
  }
}
