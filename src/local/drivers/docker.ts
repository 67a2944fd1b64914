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
import { builtImageFromInspect, containerBuild, DEFAULT_CONTAINER_HOME, type PodmanImageInspect } from "./podman.js";
import { BuildFailure, DEFAULT_NON_ROOT_USER, type BuildRequest, type BuiltImage, type Driver, type InstanceExit, type RunningInstance, type StartOptions } from "./types.js";
import { hostNetworkInstance, InstanceOutput } from "./instance.js";

const STOP_GRACE_SECS = 5;
const LABEL = "org.dodil.ignite.control-plane";

export class DockerDriver implements Driver {
  readonly name = "docker";
  private readonly running = new Set<string>();

  constructor(
    private ep: DockerEndpoint,
    private label: string,
  ) {}

  async init(): Promise<void> {
    await this.removeLeftovers();
  }

  private async removeLeftovers(): Promise<void> {
    const list = await dockerJson<{ Id: string }[]>(this.ep, {
      path: "/containers/json",
      query: { all: "1", filters: JSON.stringify({ label: [`${LABEL}=${this.label}`] }) },
    });
    for (const c of list ?? []) await this.remove(c.Id);
  }

  private async remove(id: string): Promise<void> {
    await dockerRequest(this.ep, { method: "DELETE", path: `/containers/${encodeURIComponent(id)}`, query: { force: "1" }, timeoutMs: 30_000 })
      .then((r) => r.resume())
      .catch(() => undefined);
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
        missingBaseImage: (base) => `image ${base} is not available offline: the local control plane cannot pull from a registry; load or tag a local image as ${base}`,
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
    const push = (stream: "stdout" | "stderr", text: string) => output.write(stream, text);
    // logs: the multiplexed stream (8-byte frame headers) of a container without a TTY
    void dockerRequest(this.ep, { path: `/containers/${id}/logs`, query: { follow: "1", stdout: "1", stderr: "1" } })
      .then(async (res) => {
        let buf = Buffer.alloc(0);
        for await (const chunk of res) {
          buf = Buffer.concat([buf, chunk as Buffer]);
          while (buf.length >= 8) {
            const size = buf.readUInt32BE(4);
            if (buf.length < 8 + size) break;
            push(buf[0] === 2 ? "stderr" : "stdout", buf.subarray(8, 8 + size).toString("utf8"));
            buf = buf.subarray(8 + size);
          }
        }
      })
      .catch(() => undefined);
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
          await dockerRequest(this.ep, { method: "POST", path: `/containers/${id}/stop`, query: { t: String(STOP_GRACE_SECS) }, timeoutMs: (STOP_GRACE_SECS + 30) * 1000 })
            .then((r) => r.resume())
            .catch(() => undefined);
          await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
        }
        await this.remove(id);
        this.running.delete(id);
      })();
      return stopping;
    };
    return hostNetworkInstance({ id: name, opts, exited, alive: () => alive, output, stop });
  }

  async close(): Promise<void> {
    await this.removeLeftovers().catch(() => undefined);
  }
}
