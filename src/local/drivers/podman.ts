/**
 * Container driver: buildah builds (buildah-build.ts), podman with runc runs. All state (storage, run dirs, config) belongs to the control plane's data dir;
 * base images come from the local image store and the shared offline image cache only
 * (`--pull=never`). Containers run like platform pods: host network with the control plane's
 * loopback $PORT, read-only root filesystem with a writable tmpfs $HOME, all capabilities dropped,
 * no privilege escalation, the image's numeric USER.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { constants as fsConstants, promises as fsp } from "node:fs";
import * as path from "node:path";
import { errorMessage } from "../errors.js";
import { cacheStoreGraphRoot, defaultImageCacheDir, detectPipMirror, prepareContainersConfig, type ContainersConfig, type PipMirror } from "./containers.js";
import { run } from "./exec.js";
import { PrivatePulls, PullFailure, registryHost } from "./image-pull.js";
import { keepForOrg, localImageNames, podmanPull } from "./podman-pull.js";
import { DEFAULT_NON_ROOT_USER, type BuildRequest, type BuiltImage, type Driver, type InstanceExit, type PullRequest, type RunningInstance, type StartOptions } from "./types.js";
import { networkInstance, InstanceOutput } from "./instance.js";
import { MAX_INSTANCE_LOG_BYTES } from "./rotating-log.js";
import { podmanPullAs, podmanPush, type RegistryTransferOptions } from "./registry-transfer.js";
import type { AppNetworks } from "./app-network.js";
import { builtImageFromInspect, containerBuild, type PodmanImageInspect } from "./container-build.js";
import { BuildahBuilder } from "./buildah-build.js";

const STOP_GRACE_SECS = 5;
/** Default $HOME when neither the app nor the image sets one (the platform's samples use it). */
export const DEFAULT_CONTAINER_HOME = "/tmp/ignite";
const LABEL = "org.dodil.ignite.control-plane";

export interface PodmanDriverOptions {
  /** The control plane's data dir; container storage goes to <dataDir>/containers. */
  dataDir: string;
  /** Shared offline base images (default: defaultImageCacheDir()). */
  imageCacheDir?: string;
  /** Server-side log. */
  log?: (line: string) => void;
  /** Never pull (dev --offline): images come from local storage and the image cache only. */
  offline?: boolean;
  /** A network namespace per container; absent: containers share the host network. */
  networks?: AppNetworks;
  /** The plane's hosts file (its public names -> the gateway at 127.0.0.1), the containers' /etc/hosts. */
  hostsFile?: string;
}

export class PodmanDriver implements Driver {
  readonly name = "podman";
  private cfg: ContainersConfig | undefined;
  private pip: PipMirror = { env: {}, mounts: [], source: "" };
  private readonly instanceLabel: string;
  private readonly running = new Set<string>();
  /** catatonit, when installed: PID 1 of each container, so SIGTERM reaches the app (see start()). */
  private initPath: string | undefined;

  get offline(): boolean {
    return this.o.offline === true;
  }

  private readonly builder: BuildahBuilder;

  constructor(private o: PodmanDriverOptions) {
    this.instanceLabel = createHash("sha256").update(path.resolve(o.dataDir)).digest("hex").slice(0, 16);
    this.builder = new BuildahBuilder({ env: () => this.config.env, tmpRoot: path.join(o.dataDir, "containers", "build-tmp"), pip: () => this.pip, ...(o.networks ? { networks: o.networks } : {}) });
  }

  /** Writes the config, finds the pip mirror and reaps what a killed previous run left behind. */
  async init(): Promise<void> {
    const cache = this.o.imageCacheDir ?? defaultImageCacheDir();
    this.cfg = await prepareContainersConfig(path.join(this.o.dataDir, "containers"), { additionalImageStores: [cacheStoreGraphRoot(cache)] });
    this.pip = await detectPipMirror();
    this.initPath = await findInit();
    await this.reapLeftovers();
  }

  /**
   * After a SIGKILL (of the plane, or of a supervisor's whole process group) its containers may
   * still run under conmon, a build's working container may still exist, and their overlay mounts
   * stay: removes this plane's containers (by label), buildah's working containers (the storage is
   * this data dir's own, so all of them are ours), then unmounts whatever is still mounted under
   * the data dir's container storage.
   */
  private async reapLeftovers(): Promise<void> {
    const left = await this.podman(["ps", "-a", "-q", "--filter", `label=${LABEL}=${this.instanceLabel}`], 30_000);
    const ids = left.stdout.split("\n").filter(Boolean);
    if (ids.length) {
      this.o.log?.(`podman: removing ${ids.length} container(s) left by a previous run`);
      await this.podman(["rm", "-f", "-t", "0", ...ids], 60_000);
    }
    const working = await run("buildah", ["containers", "-q"], { env: this.config.env, timeoutMs: 30_000 });
    if (working.code === 0 && working.stdout.trim()) {
      this.o.log?.(`podman: removing ${working.stdout.trim().split("\n").length} build container(s) left by a previous run`);
      await run("buildah", ["rm", "--all"], { env: this.config.env, timeoutMs: 60_000 });
    }
    const storage = path.join(this.o.dataDir, "containers");
    const stale = (await mountPointsUnder(storage)).reverse();
    if (stale.length) {
      this.o.log?.(`podman: unmounting ${stale.length} mount(s) left under ${storage}`);
      for (const m of stale) await run("umount", ["-l", m], { timeoutMs: 30_000 });
    }
  }

  get config(): ContainersConfig {
    if (!this.cfg) throw new Error("PodmanDriver.init() was not called");
    return this.cfg;
  }

  private podman(args: string[], timeoutMs = 60_000) {
    return run("podman", args, { env: this.config.env, timeoutMs });
  }

  async imageExists(ref: string): Promise<boolean> {
    return (await this.podman(["image", "exists", ref], 30_000)).code === 0;
  }

  async inspectImage(ref: string): Promise<PodmanImageInspect | undefined> {
    const r = await this.podman(["image", "inspect", "--format", "json", ref], 30_000);
    if (r.code !== 0) return undefined;
    try {
      return (JSON.parse(r.stdout) as PodmanImageInspect[])[0];
    } catch {
      return undefined;
    }
  }

  async build(req: BuildRequest, log: (line: string) => void, signal: AbortSignal): Promise<BuiltImage> {
    await this.refreshLocalNames();
    return containerBuild(
      {
        name: this.name,
        inspectImage: (ref) => this.inspectImage(ref),
        missingBaseImage: (base) =>
          `image ${base} is not available offline: ${this.offline ? "the local control plane runs with --offline" : "its registry cannot be reached"}. ` +
          `Local base images: ${this.localNamesHint()}. Create local stand-ins with 'dodil ignite dev setup' (python:3.12-slim, busybox) or tag a local image as ${base}`,
        ...(this.offline ? {} : { pullImage: (r: PullRequest) => this.pullImage(r) }),
        keepForOrg: (id, org, registry) => this.keepForOrg(id, org, registry),
        privatelyPulledElsewhere: (org, names) => this.privatelyPulledElsewhere(org, names),
        buildImage: (context, out, clean) => this.builder.build(req, { context, out, clean, signal }),
      },
      req,
      log,
    );
  }

  /** What local storage holds outside the plane's own namespace (named in the offline error). */
  private localNames: string[] = [];
  async localImageNames(): Promise<string[]> {
    await this.refreshLocalNames();
    return this.localNames;
  }
  private localNamesHint(): string {
    return this.localNames.length ? this.localNames.slice(0, 12).join(", ") : "none";
  }
  private async refreshLocalNames(): Promise<void> {
    this.localNames = (await localImageNames(this.config.env)) ?? this.localNames;
  }

  async pullImage(req: PullRequest): Promise<BuiltImage & { digest: string }> {
    const pulled = await podmanPull(this.config.env, path.join(this.o.dataDir, "pull-auth"), req, this.privatePulls);
    await this.refreshLocalNames();
    const inspect = await this.inspectImage(pulled.id);
    if (!inspect) throw new PullFailure("other", registryHost(req.ref), `the pulled image ${req.ref} cannot be found`);
    return { ...builtImageFromInspect(req.ref, this.name, inspect), digest: pulled.digest };
  }

  async keepForOrg(id: string, org: string, registry: string): Promise<void> {
    await keepForOrg(this.config.env, id, { org, registry, holds: this.privatePulls });
  }

  /** Images pulled with an org's credentials that still carry their registry names (image-pull.ts). */
  private readonly privatePulls = new PrivatePulls();
  privatelyPulledElsewhere(org: string, names: readonly string[]): boolean {
    return this.privatePulls.heldElsewhere(org, names);
  }

  /** Describes an image already in local storage (for prebuilt images); undefined when absent. */
  async localImage(ref: string): Promise<BuiltImage | undefined> {
    const i = await this.inspectImage(ref);
    return i && builtImageFromInspect(ref, this.name, i);
  }

  async imageAvailable(image: BuiltImage): Promise<boolean> {
    return image.driver === this.name && (await this.imageExists(image.dir));
  }

  pushImage(localRef: string, dest: string, o: RegistryTransferOptions): Promise<string> {
    return podmanPush(this.config.env, localRef, dest, o);
  }

  async pullImageAs(ref: string, localRef: string, o: RegistryTransferOptions): Promise<void> {
    await podmanPullAs(this.config.env, ref, localRef, o);
  }

  /** Untags the image's ref: the image goes with its last tag, and one another build shares stays. */
  async removeImage(image: BuiltImage): Promise<void> {
    await this.podman(["rmi", image.ref], 60_000).catch(() => undefined);
  }

  async start(image: BuiltImage, opts: StartOptions): Promise<RunningInstance> {
    const cfg = image.config;
    if (!cfg.cmd && !cfg.entrypoint) throw new Error(`image ${image.ref} has no CMD or ENTRYPOINT`);
    const name = `ignite-${path.basename(opts.instanceDir).replace(/[^a-zA-Z0-9_.-]/g, "-")}-${randomBytes(3).toString("hex")}`.slice(0, 120);
    await fsp.mkdir(opts.instanceDir, { recursive: true });
    const network = await this.o.networks?.create([opts.port, ...opts.extraPorts], opts.log);
    const home = opts.env["HOME"] || cfg.env["HOME"] || DEFAULT_CONTAINER_HOME;
    const env = await containerEnvArgs(path.join(opts.instanceDir, "container.env"), { ...opts.env, PORT: String(opts.port), HOME: home });
    const args = [...this.runArgs(name, image, opts, home), ...env, "--network", network ? `ns:${network.path}` : "host", image.dir];
    opts.log(`starting container ${name} from ${image.ref} (${image.dir.slice(0, 12)}), PORT=${opts.port}, HOME=${home} (tmpfs), read-only root filesystem, ${network ? `network namespace ${network.name}` : "host network"}`);

    const output = new InstanceOutput(opts);
    let child: ChildProcess;
    try {
      child = spawn("podman", args, { env: this.config.env, stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      output.end();
      await network?.close();
      throw new Error(`cannot run podman: ${errorMessage(e)}`);
    }
    this.running.add(name);
    child.stdout!.on("data", (chunk: Buffer) => output.write("stdout", chunk));
    child.stderr!.on("data", (chunk: Buffer) => output.write("stderr", chunk));
    let alive = true;
    const exited = new Promise<InstanceExit>((resolve) => {
      child.once("error", (e) => {
        output.remember(`cannot run podman: ${e.message}`);
        alive = false;
        output.end();
        resolve({ code: null, signal: null });
      });
      child.once("close", (code, sig) => {
        alive = false;
        this.running.delete(name);
        output.end();
        resolve({ code, signal: sig });
      });
    });
    void exited.then(() => network?.close());
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        if (alive) {
          await this.podman(["stop", "-t", String(STOP_GRACE_SECS), name], (STOP_GRACE_SECS + 30) * 1000);
          const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
          await exited;
          clearTimeout(t);
        }
        // --rm removes it; make sure even when the attached client died first
        await this.podman(["rm", "-f", "-t", "0", "--ignore", name], 30_000);
        this.running.delete(name);
      })();
      return stopping;
    };
    return networkInstance({ id: name, opts, ...(network ? { sockets: network.sockets } : {}), exited, alive: () => alive, output, stop });
  }

  /** `podman run` options of an instance (all but its network and image): the pod-like sandbox. */
  private runArgs(name: string, image: BuiltImage, opts: StartOptions, home: string): string[] {
    const cfg = image.config;
    const args = [
      "run",
      "--rm",
      "--name",
      name,
      "--label",
      `${LABEL}=${this.instanceLabel}`,
      "--read-only",
      "--read-only-tmpfs=false",
      "--tmpfs",
      `${home}:rw,mode=1777,size=268435456`,
      "--cap-drop",
      "all",
      "--security-opt",
      "no-new-privileges",
      "--stop-timeout",
      String(STOP_GRACE_SECS),
      "--log-driver",
      "k8s-file",
      "--log-opt",
      `path=${path.join(opts.instanceDir, "container.log")}`,
      // podman's own copy of the output, bounded like output.log
      "--log-opt",
      `max-size=${MAX_INSTANCE_LOG_BYTES}`,
    ];
    if (!cfg.user.trim()) args.push("--user", DEFAULT_NON_ROOT_USER);
    // an app calls another by its public URL: the name resolves to the gateway (in the container's
    // namespace, or on the host network), read-only, current as apps come and go (host-names.ts)
    if (this.o.hostsFile) args.push("-v", `${this.o.hostsFile}:/etc/hosts:ro`);
    // The tier's limits, as the platform's pods get them: memory without extra swap, CPU as a share.
    const { memoryMb = 0, cpuMillicores = 0 } = opts.limits ?? {};
    if (memoryMb > 0) args.push("--memory", `${memoryMb}m`, "--memory-swap", `${memoryMb}m`);
    if (cpuMillicores > 0) args.push("--cpus", String(cpuMillicores / 1000));
    // The app as PID 1 ignores SIGTERM unless it installs a handler (most do not), so every stop
    // would wait out the grace period and end in SIGKILL; an init process forwards the signal.
    if (this.initPath) args.push("--init", "--init-path", this.initPath);
    return args;
  }

  /** Removes every container of this control plane at once, without a grace period. */
  async forceStop(): Promise<void> {
    await this.removeAll();
  }

  private async removeAll(): Promise<string[]> {
    if (!this.cfg) return [];
    const r = await this.podman(["ps", "-a", "-q", "--filter", `label=${LABEL}=${this.instanceLabel}`], 30_000);
    const ids = r.stdout.split("\n").filter(Boolean);
    if (ids.length) await this.podman(["rm", "-f", "-t", "0", ...ids], 60_000);
    return ids;
  }

  /** Removes every container of this control plane (after the runtime stopped its instances). */
  async close(): Promise<void> {
    if (!this.cfg) return;
    const ids = await this.removeAll();
    // a build cancelled as buildah ran may have left its working container (no build runs now)
    await run("buildah", ["rm", "--all"], { env: this.config.env, timeoutMs: 60_000 });
    // the run root (under /tmp) only holds state of containers that are gone now
    if (!ids.length || (await this.podman(["ps", "-a", "-q"], 30_000)).stdout.trim() === "") {
      await fsp.rm(this.cfg.runRoot, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

/**
 * The app's environment for `podman run`: in a 0600 file of the instance (`--env-file`), not as
 * `-e K=V`, which every local user (another org's app, a compile) reads in the podman client's
 * command line. podman's env file holds one line per variable, so a value with a line break
 * (a PEM key) still goes as `-e` (docs/threat-model.md, "Not done").
 */
async function containerEnvArgs(file: string, env: Record<string, string>): Promise<string[]> {
  const lines: string[] = [];
  const args: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (/[\r\n]/.test(v)) args.push("-e", `${k}=${v}`);
    else lines.push(`${k}=${v}`);
  }
  await fsp.writeFile(file, lines.join("\n") + "\n", { mode: 0o600 });
  return ["--env-file", file, ...args];
}

/** catatonit where podman or Debian's package puts it; undefined when not installed. */
async function findInit(): Promise<string | undefined> {
  for (const p of ["/usr/libexec/podman/catatonit", "/usr/bin/catatonit"]) {
    if (await fsp.access(p, fsConstants.X_OK).then(() => true, () => false)) return p;
  }
  return undefined;
}

/** Mount points at or below `dir`, in mount order (field 5 of /proc/self/mountinfo). */
export async function mountPointsUnder(dir: string): Promise<string[]> {
  const text = await fsp.readFile("/proc/self/mountinfo", "utf8").catch(() => "");
  const unescape = (p: string) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split("\n")
    .map((l) => unescape(l.split(" ")[4] ?? ""))
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}
