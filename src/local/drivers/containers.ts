/**
 * Project-owned configuration for buildah and podman: a containers.conf and a storage.conf under the
 * control plane's data dir, handed to the tools through CONTAINERS_CONF / CONTAINERS_STORAGE_CONF,
 * so nothing in /etc is read for policy or changed. The settings are the ones that work on a VM
 * without CAP_SYS_RESOURCE and with hybrid cgroups: runc (crun cannot run there), cgroupfs, explicit
 * ulimits below the host's hard limits, native overlay storage without the private bind mount of its
 * home (see prepareContainersConfig), file-based events.
 *
 * A shared, read-only image store (the image cache that `dodil ignite dev setup` fills with offline
 * stand-ins for base images) is listed as an additional image store, so every data dir sees the
 * base images without copying them.
 */
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { atomicWrite } from "../atomic-fs.js";
import { run } from "./exec.js";

export interface ContainersConfig {
  /** Directory holding containers.conf, storage.conf and the storage itself. */
  dir: string;
  /** Environment for buildah/podman (process env + the two config variables). */
  env: NodeJS.ProcessEnv;
  graphRoot: string;
  runRoot: string;
  additionalImageStores: string[];
}

/** Lowered limits: the VM's hard nofile is 20000 and nproc above 32768 fails to apply. */
export const CONTAINER_ULIMITS = ["nofile=20000:20000", "nproc=32768:32768"];

/** Where offline base images are kept (shared by every data dir): $IGNITE_IMAGE_CACHE or ~/.cache/dodil/ignite-images. */
export function defaultImageCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env["IGNITE_IMAGE_CACHE"]) return path.resolve(env["IGNITE_IMAGE_CACHE"]);
  const base = env["XDG_CACHE_HOME"] || path.join(env["HOME"] || os.homedir(), ".cache");
  return path.join(base, "dodil", "ignite-images");
}

/** The image store inside an image cache dir. */
export function cacheStoreGraphRoot(cacheDir: string): string {
  return path.join(cacheDir, "storage", "graph");
}

function tomlString(s: string): string {
  return JSON.stringify(s);
}

/**
 * Writes the config files under `dir` and returns the environment that makes the tools use them.
 * `runRoot` is kept short (under /tmp, keyed by the dir) because conmon's attach socket lives there
 * and unix socket paths are limited to 108 bytes.
 */
export async function prepareContainersConfig(dir: string, o: { additionalImageStores?: string[] } = {}): Promise<ContainersConfig> {
  dir = path.resolve(dir);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const graphRoot = path.join(dir, "graph");
  const key = createHash("sha256").update(dir).digest("hex").slice(0, 12);
  const runRoot = path.join(os.tmpdir(), `ignite-run-${key}`);
  const tmpDir = path.join(runRoot, "libpod");
  await fsp.mkdir(graphRoot, { recursive: true, mode: 0o700 });
  await fsp.mkdir(tmpDir, { recursive: true, mode: 0o700 });
  await fsp.mkdir(path.join(dir, "networks"), { recursive: true, mode: 0o700 });
  const stores: string[] = [];
  for (const s of o.additionalImageStores ?? []) {
    // only stores that hold images: containers/storage refuses a missing one
    if (s !== graphRoot && (await fsp.stat(path.join(s, "overlay-images")).catch(() => undefined))) stores.push(s);
  }
  const containersConf = [
    "# written by the local Ignite control plane; see src/local/drivers/containers.ts",
    "[containers]",
    `default_ulimits = [${CONTAINER_ULIMITS.map(tomlString).join(", ")}]`,
    "",
    "[engine]",
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `tmp_dir = ${tomlString(tmpDir)}`,
    "",
    "[network]",
    `network_config_dir = ${tomlString(path.join(dir, "networks"))}`,
    "",
  ].join("\n");
  const storageConf = [
    "# written by the local Ignite control plane; see src/local/drivers/containers.ts",
    "[storage]",
    'driver = "overlay"',
    `runroot = ${tomlString(runRoot)}`,
    `graphroot = ${tomlString(graphRoot)}`,
    "",
    "[storage.options]",
    `additionalimagestores = [${stores.map(tomlString).join(", ")}]`,
    "",
    "[storage.options.overlay]",
    // Without this every buildah/podman process bind-mounts the overlay home onto itself at start and
    // lazily unmounts it when it exits, even while another process is mounting a layer below it: that
    // mount then fails with "creating overlay mount ... invalid argument" (the kernel logs "failed to
    // clone lowerpath"). The control plane runs many of these processes at once against one storage,
    // and every data dir reads the shared image cache, so none of them may touch the home's mount.
    'skip_mount_home = "true"',
    "",
  ].join("\n");
  // Atomic: the shared image cache's config is rewritten while other processes read it.
  await atomicWrite(path.join(dir, "containers.conf"), containersConf);
  await atomicWrite(path.join(dir, "storage.conf"), storageConf);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CONTAINERS_CONF: path.join(dir, "containers.conf"),
    CONTAINERS_STORAGE_CONF: path.join(dir, "storage.conf"),
  };
  // podman would otherwise read registries/policy from the user's config; only local images are used
  delete env["REGISTRY_AUTH_FILE"];
  return { dir, env, graphRoot, runRoot, additionalImageStores: stores };
}

export interface PipMirror {
  /** PIP_* environment for builds (empty when no local mirror is configured). */
  env: Record<string, string>;
  /** Host directories the mirror URLs point into; mounted read-only into RUN steps. */
  mounts: string[];
  /** Where the configuration came from, for logs. */
  source: string;
}

/**
 * This machine's pip configuration (`pip config list` plus PIP_* variables): the index and
 * find-links locations pip uses. Local (file://, plain path or loopback http) locations are passed
 * through to builds; the first local index becomes PIP_INDEX_URL so pip never waits on the public
 * index. Nothing is hard-coded: without a configured mirror the result is empty.
 */
export async function detectPipMirror(env: NodeJS.ProcessEnv = process.env): Promise<PipMirror> {
  const conf = new Map<string, string>();
  for (const cmd of [["pip3", "config", "list"], ["pip", "config", "list"], ["python3", "-m", "pip", "config", "list"]] as const) {
    const r = await run(cmd[0], cmd.slice(1), { timeoutMs: 15_000, env: { ...env, PIP_DISABLE_PIP_VERSION_CHECK: "1" } });
    if (r.code !== 0) continue;
    for (const line of r.stdout.split("\n")) {
      const m = /^([^.\s]*)\.([\w-]+)='(.*)'$/.exec(line.trim());
      if (m && !conf.has(m[2]!)) conf.set(m[2]!, m[3]!);
    }
    break;
  }
  const fromEnv = (k: string) => env[`PIP_${k.toUpperCase().replace(/-/g, "_")}`];
  const get = (k: string) => fromEnv(k) ?? conf.get(k) ?? "";
  const words = (s: string) => s.split(/\s+/).filter(Boolean);
  const isLocal = (u: string) => /^file:\/\//.test(u) || u.startsWith("/") || /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\//.test(u);
  const indexes = [...words(get("index-url")), ...words(get("extra-index-url"))].filter(isLocal);
  const findLinks = words(get("find-links")).filter(isLocal);
  const out: PipMirror = { env: {}, mounts: [], source: "pip config list" };
  const mounts = new Set<string>();
  const addMount = async (u: string) => {
    let p = u.startsWith("file://") ? decodeURIComponent(u.slice("file://".length)) : u.startsWith("/") ? u : "";
    if (!p) return;
    p = p.replace(/\/+$/, "");
    // a "simple" index links to ../../packages/..., so its parent is what must be visible
    if (path.basename(p) === "simple") p = path.dirname(p);
    if (await fsp.stat(p).catch(() => undefined)) mounts.add(p);
  };
  for (const u of [...indexes, ...findLinks]) await addMount(u);
  if (indexes.length) {
    out.env["PIP_INDEX_URL"] = indexes[0]!;
    if (indexes.length > 1) out.env["PIP_EXTRA_INDEX_URL"] = indexes.slice(1).join(" ");
  }
  if (findLinks.length) out.env["PIP_FIND_LINKS"] = findLinks.join(" ");
  if (Object.keys(out.env).length) {
    out.env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1";
    out.env["PIP_NO_INPUT"] = "1";
  }
  out.mounts = [...mounts].sort();
  return out;
}
