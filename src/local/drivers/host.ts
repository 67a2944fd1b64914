/**
 * Host-process driver: "builds" an image by replaying a Dockerfile's filesystem steps into a
 * directory (rootfs/, host-dockerfile-replay.ts) and runs its ENTRYPOINT/CMD as a host process
 * group (host-process.ts). It cannot honour FROM (the host's tools stand in for the base image), RUN
 * (build commands are skipped) or USER (processes run as the control plane's user, or as the app's
 * own user in a sandbox), and says so in the build log. It never writes outside its own directories
 * under the data dir.
 *
 * Each running app process group is recorded under `processDir` (process-group.ts): a control
 * plane that was killed (SIGKILL, a crash) leaves its apps running, so the next start (init) stops
 * the recorded groups that are still alive.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { errorMessage } from "../errors.js";
import { contextDir, unpackBuildContext } from "./unpack-context.js";
import { instanceEndpoints } from "./instance.js";
import { DockerfileError, parseDockerfile, type Instruction } from "./dockerfile.js";
import { exists } from "../atomic-fs.js";
import { DEFAULT_PATH } from "./exec.js";
import { ProcessRecords } from "./process-group.js";
import { hostPathInside } from "./rootfs-paths.js";
import type { AppNetwork, AppNetworks } from "./app-network.js";
import { HostSandboxes, type AppSandbox } from "./host-sandbox.js";
import { replayDockerfile } from "./host-dockerfile-replay.js";
import { argvInImage, imageArgv, launchGroup, processEnvironment, pythonShim, sandboxedCommand, type ProcessPlace } from "./host-process.js";
import { BuildFailure, type BuildRequest, type BuiltImage, type Driver, type RunningInstance, type StartOptions } from "./types.js";

export interface HostDriverOptions {
  /** Where running process groups are recorded (inside the data dir); none: no records. */
  processDir?: string;
  log?: (line: string) => void;
  /** Users of their own per app (the plane runs as root); absent: apps run as the plane's user. */
  sandboxes?: HostSandboxes;
  /** A network namespace per instance; absent: apps listen on the host's loopback. */
  networks?: AppNetworks;
}

export class HostDriver implements Driver {
  readonly name = "host";
  private readonly records: ProcessRecords | undefined;

  constructor(private readonly o: HostDriverOptions = {}) {
    this.records = o.processDir ? new ProcessRecords(o.processDir) : undefined;
  }

  /** Stops the app processes a previous control plane on this data dir left running. */
  async init(): Promise<void> {
    await this.records?.stopLeftovers(this.o.log);
  }

  async build(req: BuildRequest, log: (line: string) => void, signal: AbortSignal): Promise<BuiltImage> {
    const stagesDir = path.join(req.imageDir, "stages");
    await fsp.rm(stagesDir, { recursive: true, force: true });
    try {
      const { root: contextRoot, dockerfile: dfReal } = await unpackBuildContext(req, log);
      let instructions: Instruction[];
      try {
        instructions = parseDockerfile(await fsp.readFile(dfReal, "utf8"));
      } catch (e) {
        throw new BuildFailure(`cannot parse ${req.dockerfilePath}: ${errorMessage(e)}`);
      }
      return await replayDockerfile({ req, instructions, contextRoot, stagesDir, driverName: this.name, log, signal });
    } catch (e) {
      if (e instanceof DockerfileError) throw new BuildFailure(e.message);
      throw e;
    } finally {
      await fsp.rm(contextDir(req), { recursive: true, force: true });
      await fsp.rm(stagesDir, { recursive: true, force: true });
    }
  }

  async imageAvailable(image: BuiltImage): Promise<boolean> {
    return (await exists(path.join(image.dir, "image.json"))) && (await exists(path.join(image.dir, "rootfs")));
  }

  /** Removes the sandboxes' run root (after the runtime stopped every instance). */
  async close(): Promise<void> {
    await this.o.sandboxes?.close();
  }

  async removeImage(image: BuiltImage): Promise<void> {
    await this.o.sandboxes?.removeImage(image.dir);
    await fsp.rm(image.dir, { recursive: true, force: true });
  }

  /**
   * Why this driver cannot keep organizations apart ("" when it can): that needs users of their
   * own and a network namespace per app.
   */
  tenantIsolationMissing(): string {
    if (!this.o.sandboxes) return HostSandboxes.missing() || "apps run as the control plane's user";
    if (!this.o.networks) return "apps share the host's loopback network (per-app network namespaces need root, ip and socat)";
    return "";
  }

  async start(image: BuiltImage, opts: StartOptions): Promise<RunningInstance> {
    const cfg = image.config;
    const imageCommand = imageArgv(image);
    await fsp.mkdir(opts.instanceDir, { recursive: true });
    const sandbox = this.o.sandboxes ? await this.o.sandboxes.prepare(opts.owner, image.dir, path.basename(opts.instanceDir)) : undefined;
    const { rootfs, cwd, place } = await this.instanceDirs(image, opts, sandbox);
    let network: AppNetwork | undefined;
    try {
      network = await this.o.networks?.create([opts.port, ...opts.extraPorts], opts.log);
    } catch (e) {
      await sandbox?.remove();
      throw e;
    }
    const { env, hostPath } = await processEnvironment(cfg, opts, place);
    await pythonShim(hostPath, place.shimDir, opts.log);
    const argv = await argvInImage(imageCommand, rootfs, env["PATH"] ?? DEFAULT_PATH, opts.log);
    if (sandbox) opts.log(`running as uid ${sandbox.uid} (this app's own user${cfg.user ? `; the image's USER ${cfg.user} is checked, not shared between apps` : ""})${network ? ` in network namespace ${network.name}` : ""}`);
    else if (cfg.user) opts.log(`USER ${cfg.user} not honoured: the process runs as the control plane's user`);

    const endpoints = instanceEndpoints(opts, network?.sockets);
    const command = sandboxedCommand(argv, sandbox, network);
    opts.log(`starting: ${argv.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(" ")} (cwd ${cfg.workdir || "/"}, PORT=${opts.port})`);
    return launchGroup({
      command,
      argv,
      cwd,
      env,
      stopSignal: (cfg.stopSignal || "SIGTERM") as NodeJS.Signals,
      opts,
      endpoints,
      records: this.records,
      // the namespace and the sandbox go with the process
      release: async () => {
        await network?.close();
        await sandbox?.remove();
      },
    });
  }

  /** The image filesystem the instance runs in, its working directory there, its HOME and shims. */
  private async instanceDirs(image: BuiltImage, opts: StartOptions, sandbox: AppSandbox | undefined): Promise<{ rootfs: string; cwd: string; place: ProcessPlace }> {
    const rootfs = sandbox?.rootfs ?? (await fsp.realpath(path.join(image.dir, "rootfs")));
    const cwd = await hostPathInside(rootfs, image.config.workdir || "/");
    await fsp.mkdir(cwd, { recursive: true });
    const home = sandbox?.home ?? path.join(opts.instanceDir, "home");
    await fsp.mkdir(home, { recursive: true });
    const shimDir = sandbox?.bin ?? path.join(opts.instanceDir, "bin");
    await fsp.mkdir(shimDir, { recursive: true });
    return { rootfs, cwd, place: { home, shimDir, sandbox } };
  }
}
