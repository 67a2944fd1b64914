/**
 * `dodil ignite dev doctor`'s report: what each driver found (drivers/detect.ts), the offline base
 * images, the pip mirror, and the toolchains each managed runtime compiles with.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { BASE_IMAGES, DENO_VERSION } from "./drivers/base-images.js";
import { defaultImageCacheDir, detectPipMirror, prepareContainersConfig } from "./drivers/containers.js";
import { hostReport, probeDocker, probePodman, toolVersion, type DriverName, type DriverReport } from "./drivers/detect.js";
import { run } from "./drivers/exec.js";
import { findRegistryBinary } from "./registry/registry-server.js";
import { cargoRegistryDir, CRATES_PACKAGES } from "./managed-runtime/rust/rust-runtime.js";

export interface DoctorReport {
  drivers: DriverReport[];
  /** What --driver auto picks. */
  auto: DriverName;
  imageCache: { dir: string; images: { ref: string; present: boolean }[] };
  pipMirror: { indexUrl: string; mounts: string[] };
  /** The plane's image registry (Debian's docker-registry): its binary, or why builds stay local. */
  registry: { binary: string; skopeo: boolean; why: string; fix: string };
  /** The toolchains the compile path of each managed runtime uses on this machine (empty: missing). */
  runtimes: { runtime: "python" | "go" | "rust" | "deno"; tool: string; version: string; fix: string }[];
}

/** The report `dodil ignite dev doctor` prints. */
export async function doctor(o: { imageCacheDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<DoctorReport> {
  const cache = path.resolve(o.imageCacheDir ?? defaultImageCacheDir(o.env));
  const [podman, docker] = await Promise.all([probePodman({ imageCacheDir: cache }), probeDocker(o.env)]);
  const drivers = [podman, docker, hostReport()];
  const images: { ref: string; present: boolean }[] = [];
  if (podman.found["podman"]) {
    const cfg = await prepareContainersConfig(path.join(cache, "storage"));
    for (const spec of Object.values(BASE_IMAGES)) {
      for (const ref of spec.refs) images.push({ ref, present: (await run("podman", ["image", "exists", ref], { env: cfg.env, timeoutMs: 20_000 })).code === 0 });
    }
  }
  const pip = await detectPipMirror(o.env);
  const [python, go, cargo, deno] = await Promise.all([toolVersion("python3"), toolVersion("go", ["version"]), toolVersion("cargo"), toolVersion("deno")]);
  const denoVersion = /^deno (\S+)/.exec(deno ?? "")?.[1] ?? deno ?? "";
  const crates = await fsp.stat(cargoRegistryDir(o.env)).then((st) => st.isDirectory(), () => false);
  const registryBinary = await findRegistryBinary(o.env?.["PATH"]);
  const skopeo = (await run("skopeo", ["--version"], { timeoutMs: 10_000 })).code === 0;
  return {
    drivers,
    registry: registryBinary
      ? { binary: registryBinary, skopeo, why: "builds on the podman and docker drivers are pushed to <registry>/<org>/<app>; versions point at …@sha256: refs", fix: "" }
      : { binary: "", skopeo, why: "not installed: built images stay in the driver's local storage and versions point at local refs", fix: "apt-get install -y docker-registry" },
    auto: drivers.find((d) => d.usable)!.name,
    imageCache: { dir: cache, images },
    pipMirror: { indexUrl: pip.env["PIP_INDEX_URL"] ?? "", mounts: pip.mounts },
    runtimes: [
      { runtime: "python", tool: "python3", version: python ?? "", fix: python ? "" : "apt-get install -y python3" },
      { runtime: "go", tool: "go", version: go ?? "", fix: go ? "" : "apt-get install -y --no-install-recommends golang-go" },
      {
        runtime: "rust",
        tool: cargo && !crates ? `the crates in ${cargoRegistryDir(o.env)}` : "cargo",
        version: cargo && crates ? cargo : "",
        fix: cargo && crates ? "" : `apt-get install -y --no-install-recommends ${cargo ? "" : "cargo "}${CRATES_PACKAGES}`,
      },
      {
        runtime: "deno",
        tool: denoVersion && denoVersion !== DENO_VERSION ? `deno (the runtime pins ${DENO_VERSION})` : "deno",
        version: denoVersion,
        fix: denoVersion === DENO_VERSION ? "" : `npm install -g deno@${DENO_VERSION}`,
      },
    ],
  };
}
