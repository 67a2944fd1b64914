/**
 * Which drivers can work on this machine, and why not: `--driver auto` takes the first usable of
 * podman, docker, host; `dodil ignite dev doctor` prints these reports (doctor.ts).
 */
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BASE_IMAGES } from "./base-images.js";
import { errorMessage } from "../errors.js";
import { cacheStoreGraphRoot, defaultImageCacheDir, prepareContainersConfig } from "./containers.js";
import { dockerEndpoint, dockerPing } from "./docker-api.js";
import { run, tail, which } from "./exec.js";

export type DriverName = "podman" | "docker" | "host";

export interface DriverReport {
  name: DriverName;
  /** Tools and endpoints found, with versions where known. */
  found: Record<string, string>;
  usable: boolean;
  /** Why it is unusable (or a note when usable). */
  why: string;
  /** What would make it usable. */
  fix?: string;
}

const INSTALL = "apt-get install -y --no-install-recommends buildah podman runc fuse-overlayfs debootstrap busybox-static";

/** The first line of `cmd --version`, without its "version" prefix; undefined when it fails. */
export async function toolVersion(cmd: string, args = ["--version"]): Promise<string | undefined> {
  const r = await run(cmd, args, { timeoutMs: 10_000 });
  if (r.code !== 0) return undefined;
  return r.stdout.trim().split("\n")[0]?.replace(/^.*?version\s+/i, "") ?? "";
}

/**
 * Checks buildah, podman and runc, then runs one tiny container with the project-owned config
 * (about 0.3 s) when a busybox image is in the image cache, else `podman info`.
 */
export async function probePodman(o: { stateDir?: string; imageCacheDir?: string } = {}): Promise<DriverReport> {
  const rep: DriverReport = { name: "podman", found: {}, usable: false, why: "" };
  for (const tool of ["buildah", "podman", "runc"]) {
    const p = await which(tool);
    if (!p) {
      rep.why = `${tool} is not installed`;
      rep.fix = INSTALL;
      return rep;
    }
    rep.found[tool] = (await toolVersion(p)) ?? "unknown version";
  }
  const tmp = o.stateDir ? undefined : await fsp.mkdtemp(path.join(os.tmpdir(), "ignite-probe-"));
  try {
    const cache = o.imageCacheDir ?? defaultImageCacheDir();
    const cfg = await prepareContainersConfig(o.stateDir ?? tmp!, { additionalImageStores: [cacheStoreGraphRoot(cache)] });
    const bb = BASE_IMAGES.busybox.refs[0]!;
    const hasBusybox = (await run("podman", ["image", "exists", bb], { env: cfg.env, timeoutMs: 20_000 })).code === 0;
    const r = hasBusybox
      ? await run("podman", ["run", "--rm", "--network", "host", "--read-only", bb, "true"], { env: cfg.env, timeoutMs: 30_000 })
      : await run("podman", ["info", "--format", "{{.Store.GraphDriverName}} {{.Host.OCIRuntime.Name}}"], { env: cfg.env, timeoutMs: 30_000 });
    if (r.code !== 0) {
      rep.why = `podman cannot ${hasBusybox ? "run a container" : "start"} here: ${tail(r.stderr || r.stdout, 2) || `exit ${r.code ?? r.signal}`}`;
      return rep;
    }
    rep.usable = true;
    rep.why = hasBusybox ? "ran a test container (runc, overlay, host network)" : "podman info works (no busybox in the image cache to run a test container)";
    return rep;
  } catch (e) {
    rep.why = `probe failed: ${errorMessage(e)}`;
    return rep;
  } finally {
    if (tmp) {
      const cfgRun = await prepareContainersConfig(tmp).then((c) => c.runRoot).catch(() => undefined);
      await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      if (cfgRun) await fsp.rm(cfgRun, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

export async function probeDocker(env: NodeJS.ProcessEnv = process.env): Promise<DriverReport> {
  const rep: DriverReport = { name: "docker", found: {}, usable: false, why: "" };
  const ep = dockerEndpoint(env);
  if (!ep) {
    rep.why = `DOCKER_HOST is not a unix:// or loopback tcp:// endpoint (${env["DOCKER_HOST"]})`;
    return rep;
  }
  rep.found["endpoint"] = ep.display;
  try {
    const v = await dockerPing(ep, 3_000);
    rep.found["engine"] = `${v.name} ${v.version} (API ${v.apiVersion})`;
    rep.usable = true;
    rep.why = "the Docker Engine API answers";
  } catch (e) {
    rep.why = `no Docker Engine API at ${ep.display}: ${errorMessage(e)}`;
    rep.fix = "start dockerd, or `podman system service --time=0 unix:///path/podman.sock` and set DOCKER_HOST=unix:///path/podman.sock";
  }
  return rep;
}

export function hostReport(): DriverReport {
  return {
    name: "host",
    found: { node: process.version },
    usable: true,
    why: "always available: runs CMD/ENTRYPOINT as host processes; FROM, RUN and USER are not honoured",
  };
}
