/**
 * `dodil ignite dev images`: the images the podman driver of a data dir sees, listed, loaded from
 * an archive, tagged and removed. The data dir's own store (`<data-dir>/containers`) is written;
 * the shared image cache that `dev setup` fills is read as well (builds see both), and written only
 * when asked (`cache: true`). Names in the plane's own namespace (local.ignite/<org>/…) are the
 * builds' and stay out of reach: a tag there would hand an image to an organization.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { cacheStoreGraphRoot, defaultImageCacheDir, prepareContainersConfig, type ContainersConfig } from "./containers.js";
import { run, tail } from "./exec.js";
import { LOCAL_REGISTRY, localRefOrg } from "./image-ownership.js";
import { qualifiedRef } from "./image-pull.js";

export interface LocalImage {
  /** The image's names (repo:tag), or "<none>" for an untagged one. */
  refs: string[];
  id: string;
  /** The manifest digest (sha256:…), when the engine knows one. */
  digest: string;
  sizeBytes: number;
  createdAt: string;
  /** "data-dir" (the plane's own store) or "cache" (the shared image cache, read-only here). */
  store: "data-dir" | "cache";
}

export class LocalImageError extends Error {
  constructor(
    readonly kind: "not-found" | "invalid" | "failed",
    message: string,
  ) {
    super(message);
    this.name = "LocalImageError";
  }
}

export interface LocalImagesOptions {
  dataDir: string;
  imageCacheDir?: string;
  /** Act on the shared image cache instead of the data dir's store (load, tag, rm). */
  cache?: boolean;
}

async function configs(o: LocalImagesOptions): Promise<{ target: ContainersConfig; cacheRoot: string }> {
  const cacheDir = path.resolve(o.imageCacheDir ?? defaultImageCacheDir());
  const cacheRoot = cacheStoreGraphRoot(cacheDir);
  const target = o.cache
    ? await prepareContainersConfig(path.join(cacheDir, "storage"))
    : await prepareContainersConfig(path.join(path.resolve(o.dataDir), "containers"), { additionalImageStores: [cacheRoot] });
  return { target, cacheRoot };
}

const podman = (c: ContainersConfig, args: string[], timeoutMs = 120_000) => run("podman", args, { env: c.env, timeoutMs });

/** A reference a user may write: registry/repo:tag or @sha256, no spaces or control characters. */
function checkRef(ref: string, what: string): void {
  if (!ref || ref.length > 512 || !/^[a-z0-9][a-z0-9._\-/:@]*$/i.test(ref)) throw new LocalImageError("invalid", `invalid image reference '${ref.replace(/[^\x20-\x7e]/g, "?").slice(0, 80)}' for ${what}`);
}

function refuseOwnNamespace(ref: string, what: string): void {
  if (localRefOrg(ref) !== undefined) throw new LocalImageError("invalid", `${what} ${ref} is in the plane's own namespace (${LOCAL_REGISTRY}/<org>/…), which only builds write`);
}

interface PodmanImagesRow {
  Id: string;
  Names?: string[] | null;
  Digest?: string;
  Size?: number;
  Created?: number;
  ReadOnly?: boolean;
}

export async function listLocalImages(o: LocalImagesOptions): Promise<LocalImage[]> {
  const { target } = await configs(o);
  const r = await podman(target, ["images", "--format", "json"]);
  if (r.code !== 0) throw new LocalImageError("failed", `podman images failed: ${tail(r.stderr, 2)}`);
  const rows = JSON.parse(r.stdout || "[]") as PodmanImagesRow[];
  return rows
    .map((i) => ({
      refs: i.Names?.length ? [...i.Names].sort() : ["<none>"],
      id: i.Id.replace(/^sha256:/, ""),
      digest: i.Digest ?? "",
      sizeBytes: i.Size ?? 0,
      createdAt: i.Created !== undefined ? new Date(i.Created * 1000).toISOString() : "",
      store: (o.cache ? "cache" : i.ReadOnly ? "cache" : "data-dir") as LocalImage["store"],
    }))
    .sort((a, b) => a.refs[0]!.localeCompare(b.refs[0]!));
}

/** podman load -i FILE (a `docker save` tar or an OCI archive); the names it loaded. */
export async function loadLocalImage(o: LocalImagesOptions, file: string): Promise<string[]> {
  const st = await fsp.stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new LocalImageError("invalid", `${file} is not a file (give a docker save or OCI archive)`);
  const { target } = await configs(o);
  const r = await podman(target, ["load", "-q", "-i", file], 30 * 60_000);
  if (r.code !== 0) throw new LocalImageError("invalid", `${path.basename(file)} is not an image archive podman can load (docker save or OCI archive): ${tail(r.stderr, 1)}`);
  const names = [...r.stdout.matchAll(/^Loaded image(?:\(s\))?: (.+)$/gm)].flatMap((m) => m[1]!.split(",").map((s) => s.trim()));
  for (const n of names) {
    if (localRefOrg(n) !== undefined) {
      // An archive naming the plane's namespace: loaded without that name.
      await podman(target, ["untag", n, n]);
      throw new LocalImageError("invalid", `${path.basename(file)} names ${n}, in the plane's own namespace (${LOCAL_REGISTRY}/<org>/…): not loaded under that name; tag it with 'dev images tag'`);
    }
  }
  return names;
}

export async function tagLocalImage(o: LocalImagesOptions, src: string, given: string): Promise<string> {
  checkRef(src, "SRC");
  checkRef(given, "DST");
  // A short name as Docker reads it (`node:22-alpine` is docker.io/library/node:22-alpine): podman
  // would name it localhost/…, which a Dockerfile's `FROM node:22-alpine` does not resolve to.
  const dst = qualifiedRef(given);
  refuseOwnNamespace(dst, "DST");
  const { target } = await configs(o);
  if ((await podman(target, ["image", "exists", src])).code !== 0) throw new LocalImageError("not-found", `no local image ${src} (see 'dodil ignite dev images list')`);
  const r = await podman(target, ["tag", src, dst]);
  if (r.code !== 0) throw new LocalImageError("failed", `tagging ${src} as ${dst} failed: ${tail(r.stderr, 1)}`);
  return dst;
}

/** Removes a name (the image goes with its last name); an image only in the cache needs `cache`. */
export async function removeLocalImage(o: LocalImagesOptions, ref: string): Promise<void> {
  checkRef(ref, "REF");
  refuseOwnNamespace(ref, "REF");
  const { target } = await configs(o);
  if ((await podman(target, ["image", "exists", ref])).code !== 0) throw new LocalImageError("not-found", `no local image ${ref} (see 'dodil ignite dev images list')`);
  const r = await podman(target, ["rmi", ref]);
  if (r.code !== 0) {
    const why = tail(r.stderr, 1);
    if (/read-only|readonly|additional/i.test(why)) throw new LocalImageError("invalid", `${ref} is in the shared image cache: remove it there with --cache`);
    throw new LocalImageError("failed", `removing ${ref} failed: ${why}`);
  }
}
