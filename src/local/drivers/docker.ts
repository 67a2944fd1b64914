/**
 * Docker Engine API driver: builds with POST /build (the extracted context re-packed as a tar
 * stream), runs containers with the same platform rules as the podman driver (host network with a
 * loopback $PORT, read-only root filesystem, tmpfs $HOME, capabilities dropped, no new privileges,
 * lowered ulimits). Works against dockerd and `podman system service` (DOCKER_HOST=unix://…).
 * Unlike buildah, the build API cannot mount the machine's pip mirror into RUN steps.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import * as tar from "tar";
import { errorMessage } from "../errors.js";
import { DockerApiError, dockerJson, dockerRequest, jsonLines, type DockerEndpoint } from "./docker-api.js";
import { DEFAULT_CONTAINER_HOME } from "./podman.js";
import { builtImageFromInspect, containerBuild, type PodmanImageInspect } from "./container-build.js";
import { BuildFailure, DEFAULT_NON_ROOT_USER, type BuildRequest, type BuiltImage, type Driver, type InstanceExit, type PullRequest, type RunningInstance, type StartOptions } from "./types.js";
import { dockerPull, dockerPullAs, dockerPush, keepForOrgDocker } from "./docker-pull.js";
import { PrivatePulls } from "./image-pull.js";
import { networkInstance, InstanceOutput } from "./instance.js";
import { LogFrameParser, MAX_FRAME_BYTES } from "./docker-log-frames.js";
import { MAX_INSTANCE_LOG_BYTES } from "./rotating-log.js";

const STOP_GRACE_SECS = 5;
/** How long the engine gets to answer a stop beyond the grace (the podman driver's bound too). */
const STOP_ANSWER_SECS = 30;
/** After the stop call, how long the container gets to be seen gone before it is removed by force. */
const KILL_WAIT_MS = 10_000;
/** Each removal of a forced stop (DELETE ?force=1: the engine kills at once). */
const FORCE_REMOVE_MS = 10_000;
const LABEL = "org.dodil.ignite.control-plane";

export class DockerDriver implements Driver {
  readonly name = "docker";
  private readonly running = new Set<string>();

  /** Never pull (dev --offline): a missing image is "not available offline". */
  readonly offline: boolean;

  constructor(
    private ep: DockerEndpoint,
    private label: string,
    o: { offline?: boolean } = {},
  ) {
    this.offline = o.offline ?? false;
  }

  async init(): Promise<void> {
    await this.removeLeftovers();
  }

  /** Every container of this control plane (its label), removed at once, each removal bounded. */
  private async removeLeftovers(timeoutMs = 30_000): Promise<number> {
    const list = await dockerJson<{ Id: string }[]>(this.ep, {
      path: "/containers/json",
      query: { all: "1", filters: JSON.stringify({ label: [`${LABEL}=${this.label}`] }) },
      timeoutMs,
    });
    await Promise.all((list ?? []).map((c) => this.remove(c.Id, timeoutMs)));
    return (list ?? []).length;
  }

  private async remove(id: string, timeoutMs = 30_000): Promise<void> {
    await dockerRequest(this.ep, { method: "DELETE", path: `/containers/${encodeURIComponent(id)}`, query: { force: "1" }, timeoutMs })
      .then((r) => r.resume())
      .catch(() => undefined);
  }

  /** Removes every container of this control plane at once, without a grace period (the plane's stop overran its bound). */
  async forceStop(): Promise<void> {
    await this.removeLeftovers(FORCE_REMOVE_MS);
    this.running.clear();
  }

  async inspectImage(ref: string) {
    try {
      return await dockerJson<PodmanImageInspect>(this.ep, { path: `/images/${encodeURIComponent(ref)}/json`, timeoutMs: 30_000 });
    } catch (e) {
      if (e instanceof DockerApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  async build(req: BuildRequest, log: (line: string) => void, signal: AbortSignal): Promise<BuiltImage> {
    return containerBuild(
      {
        name: this.name,
        inspectImage: (ref) => this.inspectImage(ref),
        missingBaseImage: (base) =>
          `image ${base} is not available offline: ${this.offline ? "the local control plane runs with --offline" : "its registry cannot be reached"}; load or tag a local image as ${base}`,
        ...(this.offline ? {} : { pullImage: (r: PullRequest) => this.pullImage(r) }),
        keepForOrg: (id, org, registry) => this.keepForOrg(id, org, registry),
        privatelyPulledElsewhere: (org, names) => this.privatelyPulledElsewhere(org, names),
        buildImage: async ({ root, dockerfile }, out, clean) => {
          const entries = (await fsp.readdir(root)).sort();
          const stream = tar.c({ cwd: root, portable: true }, entries);
          let res: IncomingMessage;
          try {
            res = await dockerRequest(this.ep, {
              method: "POST",
              path: "/build",
              query: {
                t: req.imageRef,
                dockerfile: path.relative(root, dockerfile),
                buildargs: JSON.stringify(req.buildArgs),
                labels: JSON.stringify({ "org.dodil.ignite.build": req.buildId }),
                pull: "0",
                rm: "1",
                networkmode: "host",
              },
              stream: stream as unknown as NodeJS.ReadableStream,
              contentType: "application/x-tar",
              signal,
            });
          } catch (e) {
            throw new BuildFailure(clean(`the Docker Engine refused the build: ${errorMessage(e)}`));
          }
          let failure = "";
          let partial = "";
          await jsonLines(res, (o) => {
            if (typeof o["error"] === "string") failure = o["error"];
            const text = typeof o["stream"] === "string" ? o["stream"] : "";
            const lines = (partial + text).split("\n");
            partial = lines.pop() ?? "";
            for (const l of lines) if (l.trim()) out(l.replace(/\s+$/, ""));
          }).catch((e: unknown) => {
            failure ||= errorMessage(e);
          });
          if (partial.trim()) out(partial);
          if (signal.aborted) throw new BuildFailure("build cancelled");
          if (failure) throw new BuildFailure(clean(failure.trim()));
        },
      },
      req,
      log,
    );
  }

  async pullImage(req: PullRequest): Promise<BuiltImage & { digest: string }> {
    const pulled = await dockerPull(this.ep, req, this.privatePulls);
    return { ...builtImageFromInspect(req.ref, this.name, pulled.inspect), digest: pulled.digest };
  }

  pushImage(localRef: string, dest: string, o: { authFile: string; signal?: AbortSignal }): Promise<string> {
    return dockerPush(this.ep, localRef, dest, o);
  }

  pullImageAs(ref: string, localRef: string, o: { authFile: string; signal?: AbortSignal }): Promise<void> {
    return dockerPullAs(this.ep, ref, localRef, o);
  }

  async keepForOrg(id: string, org: string, registry: string): Promise<void> {
    await keepForOrgDocker(this.ep, id, { org, registry, holds: this.privatePulls });
  }

  /** Images pulled with an org's credentials that still carry their registry names (image-pull.ts). */
  private readonly privatePulls = new PrivatePulls();
  privatelyPulledElsewhere(org: string, names: readonly string[]): boolean {
    return this.privatePulls.heldElsewhere(org, names);
  }

  async localImage(ref: string): Promise<BuiltImage | undefined> {
    const i = await this.inspectImage(ref);
    return i && builtImageFromInspect(ref, this.name, i);
  }

  async imageAvailable(image: BuiltImage): Promise<boolean> {
    return image.driver === this.name && !!(await this.inspectImage(image.dir).catch(() => undefined));
  }

  /** Untags the image's ref: the image goes with its last tag, and one another build shares stays. */
  async removeImage(image: BuiltImage): Promise<void> {
    await dockerRequest(this.ep, { method: "DELETE", path: `/images/${encodeURIComponent(image.ref)}`, timeoutMs: 60_000 })
      .then((r) => r.resume())
      .catch(() => undefined);
  }

  async start(image: BuiltImage, opts: StartOptions): Promise<RunningInstance> {
    const cfg = image.config;
    if (!cfg.cmd && !cfg.entrypoint) throw new Error(`image ${image.ref} has no CMD or ENTRYPOINT`);
    await fsp.mkdir(opts.instanceDir, { recursive: true });
    const home = opts.env["HOME"] || cfg.env["HOME"] || DEFAULT_CONTAINER_HOME;
    const name = `ignite-${path.basename(opts.instanceDir).replace(/[^a-zA-Z0-9_.-]/g, "-")}-${randomBytes(3).toString("hex")}`.slice(0, 120);
    const env = { ...opts.env, PORT: String(opts.port), HOME: home };
    const created = await dockerJson<{ Id: string }>(this.ep, {
      method: "POST",
      path: "/containers/create",
      query: { name },
      body: {
        Image: image.dir,
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        ...(cfg.user.trim() ? {} : { User: DEFAULT_NON_ROOT_USER }),
        Labels: { [LABEL]: this.label },
        StopTimeout: STOP_GRACE_SECS,
        HostConfig: {
          NetworkMode: "host",
          ReadonlyRootfs: true,
          Tmpfs: { [home]: "rw,mode=1777,size=268435456" },
          CapDrop: ["ALL"],
          SecurityOpt: ["no-new-privileges"],
          Ulimits: [
            { Name: "nofile", Soft: 20000, Hard: 20000 },
            { Name: "nproc", Soft: 32768, Hard: 32768 },
          ],
          // the tier's limits: memory without extra swap, CPU in nano-CPUs
          ...(opts.limits?.memoryMb ? { Memory: opts.limits.memoryMb * 1024 * 1024, MemorySwap: opts.limits.memoryMb * 1024 * 1024 } : {}),
          ...(opts.limits?.cpuMillicores ? { NanoCpus: opts.limits.cpuMillicores * 1_000_000 } : {}),
          // the engine's own copy of the output, bounded like output.log (one file, no rotation kept)
          LogConfig: { Type: "json-file", Config: { "max-size": String(MAX_INSTANCE_LOG_BYTES), "max-file": "1" } },
        },
      },
    });
    const id = created.Id;
    this.running.add(id);
    opts.log(`starting container ${name} from ${image.ref}, PORT=${opts.port}, HOME=${home} (tmpfs), read-only root filesystem`);
    try {
      (await dockerRequest(this.ep, { method: "POST", path: `/containers/${id}/start`, timeoutMs: 60_000 })).resume();
    } catch (e) {
      await this.remove(id);
      this.running.delete(id);
      throw new Error(`the container did not start: ${errorMessage(e)}`);
    }
    const output = new InstanceOutput(opts);
    this.followLogs(id, name, output);
    let alive = true;
    const exited: Promise<InstanceExit> = dockerJson<{ StatusCode?: number }>(this.ep, { method: "POST", path: `/containers/${id}/wait` })
      .then((w) => ({ code: w?.StatusCode ?? null, signal: null }))
      .catch(() => ({ code: null, signal: null }))
      .then(async (x) => {
        alive = false;
        await new Promise((r) => setTimeout(r, 100)); // let the log stream drain
        output.end();
        return x;
      });
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        if (alive) {
          // bounded as the podman driver's stop: the grace, then the engine's own kill, then removal
          await dockerRequest(this.ep, { method: "POST", path: `/containers/${id}/stop`, query: { t: String(STOP_GRACE_SECS) }, timeoutMs: (STOP_GRACE_SECS + STOP_ANSWER_SECS) * 1000 })
            .then((r) => r.resume())
            .catch(() => undefined);
          let t: NodeJS.Timeout | undefined;
          await Promise.race([exited, new Promise((r) => (t = setTimeout(r, KILL_WAIT_MS)))]);
          clearTimeout(t);
        }
        await this.remove(id);
        this.running.delete(id);
      })();
      return stopping;
    };
    return networkInstance({ id: name, opts, exited, alive: () => alive, output, stop });
  }

  /** The container's output into `output`: the multiplexed stream (8-byte frame headers) of a container without a TTY, each frame bounded. */
  private followLogs(id: string, name: string, output: InstanceOutput): void {
    void dockerRequest(this.ep, { path: `/containers/${id}/logs`, query: { follow: "1", stdout: "1", stderr: "1" } })
      .then(async (res) => {
        const frames = new LogFrameParser();
        for await (const chunk of res) {
          if (!frames.push(chunk as Buffer, (stream, payload) => output.write(stream, payload.toString("utf8")))) {
            output.remember(`the engine's log stream of ${name} was corrupt (a frame over ${MAX_FRAME_BYTES} bytes): output after it is not captured`);
            res.destroy();
            break;
          }
        }
      })
      .catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.removeLeftovers().catch(() => undefined);
  }
}
